//! Prometheus metrics, served as text at `GET /metrics` on the server's own
//! listener (the path is [`ServerConfig::metrics_path`](crate::ServerConfig::metrics_path);
//! [`metrics_enabled`](crate::ServerConfig::metrics_enabled) turns them off), and
//! the [`metrics`](https://docs.rs/metrics) facade for your own.
//!
//! # What wsboot measures
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `wsboot_sessions_open` | gauge | `path` | sessions open now |
//! | `wsboot_sessions_total` | counter | `path` | sessions opened |
//! | `wsboot_sessions_closed_total` | counter | `path`, `code` | sessions closed, by the close code reported to `after_connection_closed` (1006: dropped without a close frame) |
//! | `wsboot_messages_in_total` | counter | `path` | messages received from clients |
//! | `wsboot_bytes_in_total` | counter | `path` | their payload bytes |
//! | `wsboot_messages_out_total` | counter | `path` | messages written to clients (sent and published) |
//! | `wsboot_bytes_out_total` | counter | `path` | their bytes |
//! | `wsboot_handshake_rejections_total` | counter | `reason`, `status` | requests refused before a session opened: `not_found`, `bad_request`, `upgrade_required`, `method_not_allowed`, `request_too_large`, `forbidden` (origin), `unauthorized`, `too_many_requests`, `overloaded`, `draining` (an upgrade during the shutdown), other statuses by name, `timeout` and `tls` (no status) |
//! | `wsboot_connections_open` | gauge | | TCP connections open, handshaking or in a session |
//! | `wsboot_draining` | gauge | | 1 from the moment the server starts shutting down (its readiness answers `503`), else 0 |
//! | `wsboot_drain_closed_total` | counter | | sessions the shutdown's drain closed (those still open when their batch came) |
//! | `wsboot_published_total` | counter | | publishes and per-user sends made on this node |
//! | `wsboot_delivered_total` | counter | | published messages queued for local sessions |
//! | `wsboot_send_queue_dropped_total` | counter | | published messages dropped for slow sessions |
//! | `wsboot_send_queue_terminated_total` | counter | | slow sessions closed because their queue overflowed |
//! | `wsboot_broker_errors_total` | counter | | broker calls that failed |
//!
//! Message counters are kept per session and added to the shared ones once per
//! socket read or write (not per message), so measuring costs next to nothing on
//! the message path; a scrape sees every message up to the last read or write.
//!
//! # Your own metrics
//!
//! Applications started with [`wsboot::run`](crate::run) make the server's
//! registry the process-wide `metrics` recorder, so the facade's macros,
//! re-exported here, record into the same `/metrics` page:
//!
//! ```
//! use wsboot::{HandlerResult, Session, Utf8Bytes, WebSocketHandler};
//!
//! struct Chat;
//!
//! impl WebSocketHandler for Chat {
//!     async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
//!         wsboot::metrics::counter!("chat_lines_total", "room" => session.route().to_owned()).increment(1);
//!         Ok(session.send(text).await?)
//!     }
//! }
//! ```
//!
//! A server built with [`Server::builder`](crate::Server::builder) does the same
//! after [`Server::install_metrics_recorder`](crate::Server::install_metrics_recorder).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ::metrics::{Counter, Gauge, Key, Label, Level, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use wsboot_core::{CloseStatus, Error, ErrorKind, HandlerRegistry, HubStats};

use crate::config::ServerConfig;

pub use ::metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};

/// The `Content-Type` of the Prometheus text exposition format.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const METADATA: Metadata<'static> = Metadata::new("wsboot", Level::INFO, Some(module_path!()));

/// One server's registry and the handles resolved at startup.
#[derive(Debug)]
pub(crate) struct ServerMetrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
    routes: HashMap<Arc<str>, Arc<RouteMetrics>>,
    connections_open: Gauge,
    draining: Gauge,
    drain_closed: Counter,
    hub: HubCounters,
}

/// The hub's own tallies, copied into counters at each scrape.
#[derive(Debug)]
struct HubCounters {
    published: Counter,
    delivered: Counter,
    dropped: Counter,
    terminated: Counter,
    broker_errors: Counter,
}

/// The shared counters of one route.
#[derive(Debug)]
pub(crate) struct RouteMetrics {
    path: Arc<str>,
    recorder: Arc<PrometheusRecorder>,
    sessions_open: Gauge,
    sessions_total: Counter,
    messages_in: Counter,
    bytes_in: Counter,
    messages_out: Counter,
    bytes_out: Counter,
    /// What the route's sessions add each turn, copied into the four counters
    /// above at each scrape: one atomic add per tally instead of the two a
    /// Prometheus counter makes (its value and its generation).
    tallies: [AtomicU64; 4],
}

/// Indices into [`RouteMetrics::tallies`].
const MESSAGES_IN: usize = 0;
const BYTES_IN: usize = 1;
const MESSAGES_OUT: usize = 2;
const BYTES_OUT: usize = 3;

fn describe(recorder: &PrometheusRecorder) {
    let counters = [
        ("wsboot_sessions_total", "WebSocket sessions opened", None),
        ("wsboot_sessions_closed_total", "WebSocket sessions closed, by close code", None),
        ("wsboot_messages_in_total", "Messages received from clients", None),
        ("wsboot_bytes_in_total", "Payload bytes received from clients", Some(Unit::Bytes)),
        ("wsboot_messages_out_total", "Messages written to clients", None),
        ("wsboot_bytes_out_total", "Bytes of messages written to clients", Some(Unit::Bytes)),
        ("wsboot_handshake_rejections_total", "Requests refused before a session opened, by reason", None),
        ("wsboot_published_total", "Publishes and per-user sends made on this node", None),
        ("wsboot_delivered_total", "Published messages queued for local sessions", None),
        ("wsboot_send_queue_dropped_total", "Published messages dropped for slow sessions", None),
        ("wsboot_send_queue_terminated_total", "Slow sessions closed because their queue overflowed", None),
        ("wsboot_broker_errors_total", "Broker calls that failed", None),
        ("wsboot_drain_closed_total", "Sessions closed by the shutdown's drain", None),
    ];
    for (name, help, unit) in counters {
        recorder.describe_counter(name.into(), unit, SharedString::const_str(help));
    }
    recorder.describe_gauge("wsboot_sessions_open".into(), None, SharedString::const_str("WebSocket sessions open"));
    recorder.describe_gauge(
        "wsboot_connections_open".into(),
        None,
        SharedString::const_str("TCP connections open, handshaking or in a session"),
    );
    recorder.describe_gauge(
        "wsboot_draining".into(),
        None,
        SharedString::const_str("1 while the server shuts down, draining its sessions"),
    );
}

fn counter(recorder: &PrometheusRecorder, name: &'static str, labels: Vec<Label>) -> Counter {
    recorder.register_counter(&Key::from_parts(name, labels), &METADATA)
}

fn path_label(path: &str) -> Vec<Label> {
    vec![Label::new("path", path.to_owned())]
}

impl ServerMetrics {
    /// A registry with every route's handles, so each route shows (at zero)
    /// from the first scrape.
    pub(crate) fn new<'a>(paths: impl IntoIterator<Item = &'a Arc<str>>) -> Self {
        let recorder = Arc::new(PrometheusBuilder::new().build_recorder());
        describe(&recorder);
        let routes = paths
            .into_iter()
            .map(|path| {
                let labels = || path_label(path);
                let route = RouteMetrics {
                    path: path.clone(),
                    recorder: recorder.clone(),
                    sessions_open: recorder
                        .register_gauge(&Key::from_parts("wsboot_sessions_open", labels()), &METADATA),
                    sessions_total: counter(&recorder, "wsboot_sessions_total", labels()),
                    messages_in: counter(&recorder, "wsboot_messages_in_total", labels()),
                    bytes_in: counter(&recorder, "wsboot_bytes_in_total", labels()),
                    messages_out: counter(&recorder, "wsboot_messages_out_total", labels()),
                    bytes_out: counter(&recorder, "wsboot_bytes_out_total", labels()),
                    tallies: Default::default(),
                };
                (path.clone(), Arc::new(route))
            })
            .collect();
        let hub = HubCounters {
            published: counter(&recorder, "wsboot_published_total", Vec::new()),
            delivered: counter(&recorder, "wsboot_delivered_total", Vec::new()),
            dropped: counter(&recorder, "wsboot_send_queue_dropped_total", Vec::new()),
            terminated: counter(&recorder, "wsboot_send_queue_terminated_total", Vec::new()),
            broker_errors: counter(&recorder, "wsboot_broker_errors_total", Vec::new()),
        };
        let connections_open = recorder.register_gauge(&Key::from_name("wsboot_connections_open"), &METADATA);
        let draining = recorder.register_gauge(&Key::from_name("wsboot_draining"), &METADATA);
        let drain_closed = counter(&recorder, "wsboot_drain_closed_total", Vec::new());
        // The family shows from the first scrape; each reason appears once it happens.
        let rejections = vec![Label::new("reason", "not_found"), status_label(Some(404))];
        let _ = counter(&recorder, "wsboot_handshake_rejections_total", rejections);
        ServerMetrics { handle: recorder.handle(), recorder, routes, connections_open, draining, drain_closed, hub }
    }

    /// The handles of the route registered at `path` (as registered, e.g.
    /// `/rooms/{room}`): looked up once per session.
    pub(crate) fn route(&self, path: &str) -> Option<Arc<RouteMetrics>> {
        self.routes.get(path).cloned()
    }

    /// Counts a request refused before a session opened. `status` is the HTTP
    /// answer, `None` when the connection was dropped without one.
    pub(crate) fn rejected(&self, reason: &'static str, status: Option<u16>) {
        let labels = vec![Label::new("reason", reason), status_label(status)];
        counter(&self.recorder, "wsboot_handshake_rejections_total", labels).increment(1);
    }

    /// Counts a request refused with `status`, its reason named after the status.
    pub(crate) fn rejected_with(&self, status: http::StatusCode) {
        self.rejected(rejection_reason(status), Some(status.as_u16()));
    }

    /// Counts `sessions` closed by a batch of the shutdown's drain.
    pub(crate) fn drained(&self, sessions: u64) {
        self.drain_closed.increment(sessions);
    }

    /// The Prometheus text, with the hub's tallies, the open connections and
    /// whether the server drains, as of now.
    pub(crate) fn render(&self, hub: HubStats, connections_open: usize, draining: bool) -> String {
        self.hub.published.absolute(hub.published);
        self.hub.delivered.absolute(hub.delivered);
        self.hub.dropped.absolute(hub.dropped);
        self.hub.terminated.absolute(hub.terminated);
        self.hub.broker_errors.absolute(hub.broker_errors);
        for route in self.routes.values() {
            route.copy_tallies();
        }
        self.connections_open.set(connections_open as f64);
        self.draining.set(if draining { 1.0 } else { 0.0 });
        // Histograms recorded through the facade are compacted here rather than
        // by a background task.
        self.handle.run_upkeep();
        self.handle.render()
    }

    /// Makes this registry the process-wide recorder of the `metrics` facade.
    pub(crate) fn install_global(&self) -> Result<(), Error> {
        ::metrics::set_global_recorder(self.recorder.clone()).map_err(|_| {
            Error::new(ErrorKind::Config, "a global `metrics` recorder is already installed in this process")
        })
    }
}

/// Creates the metrics registry (`None` when metrics are off) and checks that
/// no page of the application sits at the metrics, health or readiness path
/// (the endpoint would hide it): the error names both.
pub(crate) fn registry_for(
    config: &ServerConfig,
    registry: &HandlerRegistry,
) -> Result<Option<Arc<ServerMetrics>>, Error> {
    let endpoints = [
        (config.metrics_enabled, &config.metrics_path, "metrics.path"),
        (config.health_enabled, &config.health_path, "health.path"),
        (config.ready_enabled, &config.ready_path, "health.ready_path"),
    ];
    for (enabled, path, key) in endpoints {
        if let (true, Some(page)) = (enabled, registry.pages().find(|page| page.path() == path.as_str())) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "`{key}` is {path}, where the application serves a page (added at {}): \
                     set `{key}` to another path, or turn it off",
                    page.location()
                ),
            ));
        }
    }
    if !config.metrics_enabled {
        return Ok(None);
    }
    let paths: Vec<Arc<str>> =
        registry.iter().filter_map(|r| r.pattern().ok()).map(|pattern| Arc::from(pattern.as_str())).collect();
    Ok(Some(Arc::new(ServerMetrics::new(&paths))))
}

fn status_label(status: Option<u16>) -> Label {
    Label::new("status", status.map_or_else(|| "none".to_owned(), |s| s.to_string()))
}

/// The `reason` label of a refusal with `status`.
fn rejection_reason(status: http::StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        426 => "upgrade_required",
        429 => "too_many_requests",
        431 => "request_too_large",
        503 => "overloaded",
        code if code < 500 => "client_error",
        _ => "server_error",
    }
}

impl RouteMetrics {
    /// Adds one session's tallies since its last turn.
    #[inline]
    fn add(&self, tally: usize, amount: u64) {
        self.tallies[tally].fetch_add(amount, Ordering::Relaxed);
    }

    /// Sets the message counters to the tallies, for a scrape.
    fn copy_tallies(&self) {
        let counters = [&self.messages_in, &self.bytes_in, &self.messages_out, &self.bytes_out];
        for (counter, tally) in counters.into_iter().zip(&self.tallies) {
            counter.absolute(tally.load(Ordering::Relaxed));
        }
    }

    /// A session opened on this route.
    pub(crate) fn opened(&self) {
        self.sessions_total.increment(1);
        self.sessions_open.increment(1.0);
    }

    /// A session of this route closed with `status`.
    pub(crate) fn closed(&self, status: &CloseStatus) {
        self.sessions_open.decrement(1.0);
        let labels = vec![Label::new("path", self.path.to_string()), Label::new("code", status.code().to_string())];
        counter(&self.recorder, "wsboot_sessions_closed_total", labels).increment(1);
    }
}

/// One session's message tallies, added to its route's tallies once a turn.
#[derive(Debug, Default)]
pub(crate) struct SessionCounters {
    route: Option<Arc<RouteMetrics>>,
    messages_in: u64,
    bytes_in: u64,
    messages_out: u64,
    bytes_out: u64,
}

impl SessionCounters {
    /// Tallies for a session of `route` (`None`: metrics are off).
    pub(crate) fn new(route: Option<Arc<RouteMetrics>>) -> Self {
        SessionCounters { route, ..SessionCounters::default() }
    }

    /// A message of `len` payload bytes arrived.
    #[inline]
    pub(crate) fn received(&mut self, len: usize) {
        self.messages_in += 1;
        self.bytes_in += len as u64;
    }

    /// Payload bytes of a message still arriving in fragments.
    #[inline]
    pub(crate) fn received_part(&mut self, len: usize, is_last: bool) {
        self.messages_in += u64::from(is_last);
        self.bytes_in += len as u64;
    }

    /// A message of `len` bytes is being written.
    #[inline]
    pub(crate) fn sent(&mut self, len: usize) {
        self.messages_out += 1;
        self.bytes_out += len as u64;
    }

    /// Adds what was tallied since the last call to the route's counters.
    #[inline]
    pub(crate) fn publish(&mut self) {
        if self.messages_in | self.messages_out == 0 {
            return;
        }
        if let Some(route) = &self.route {
            if self.messages_in > 0 {
                route.add(MESSAGES_IN, self.messages_in);
                route.add(BYTES_IN, self.bytes_in);
            }
            if self.messages_out > 0 {
                route.add(MESSAGES_OUT, self.messages_out);
                route.add(BYTES_OUT, self.bytes_out);
            }
        }
        (self.messages_in, self.bytes_in, self.messages_out, self.bytes_out) = (0, 0, 0, 0);
    }

    /// The session opened.
    pub(crate) fn opened(&self) {
        if let Some(route) = &self.route {
            route.opened();
        }
    }

    /// The session closed with `status`; publishes what is left.
    pub(crate) fn closed(&mut self, status: &CloseStatus) {
        self.publish();
        if let Some(route) = &self.route {
            route.closed(status);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_with_route_labels() {
        let path: Arc<str> = Arc::from("/chat/{room}");
        let metrics = ServerMetrics::new([&path]);
        let mut session = SessionCounters::new(metrics.route(&path));
        session.opened();
        session.received(5);
        session.sent(7);
        session.sent(3);
        session.publish();
        metrics.rejected_with(http::StatusCode::NOT_FOUND);
        metrics.drained(3);
        let text = metrics.render(HubStats::default(), 1, false);
        for line in [
            "# TYPE wsboot_sessions_open gauge",
            "wsboot_sessions_open{path=\"/chat/{room}\"} 1",
            "# TYPE wsboot_messages_in_total counter",
            "wsboot_messages_in_total{path=\"/chat/{room}\"} 1",
            "wsboot_bytes_in_total{path=\"/chat/{room}\"} 5",
            "wsboot_messages_out_total{path=\"/chat/{room}\"} 2",
            "wsboot_bytes_out_total{path=\"/chat/{room}\"} 10",
            "wsboot_handshake_rejections_total{reason=\"not_found\",status=\"404\"} 1",
            "wsboot_connections_open 1",
            "wsboot_draining 0",
            "wsboot_drain_closed_total 3",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        session.closed(&CloseStatus::GOING_AWAY);
        let text = metrics.render(HubStats::default(), 0, true);
        assert!(text.contains("wsboot_draining 1"), "{text}");
        assert!(text.contains("wsboot_sessions_open{path=\"/chat/{room}\"} 0"), "{text}");
        assert!(text.contains("wsboot_sessions_closed_total{path=\"/chat/{room}\",code=\"1001\"} 1"), "{text}");
    }
}
