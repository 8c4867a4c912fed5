//! Server-wide settings, with defaults that are safe on the open internet.
//!
//! A [`ServerConfig`] starts from these defaults; the builder's setters change it
//! in code, and [`ConfigSources`](crate::ConfigSources) (a TOML file, `WSBOOT_*`
//! environment variables, command-line flags) are applied over it when the
//! server starts. [`ServerConfig::validate`] checks the result and names the key
//! of any setting out of range.

use std::time::Duration;

use wsboot_core::{CloseStatus, ConfigProblem, DeflateConfig, Error, HandlerRegistration, OverflowPolicy, QueueLimits};

use crate::tls::TlsConfig;

/// The address [`wsboot::run`](crate::run) listens on when nothing says otherwise.
pub(crate) const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// Settings of a [`Server`](crate::Server). Per-handler options (set with
/// `#[ws_handler(...)]`, a [`HandlerRegistration`], or [`HandlerSettings`] from a
/// configuration file) override the message limits for their route.
///
/// Each field's documentation gives its configuration key; the
/// [`ConfigSources`](crate::ConfigSources) reference lists them all with their
/// environment variables and forms.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Where [`ServerBuilder::listen`](crate::ServerBuilder::listen) binds, as
    /// `HOST:PORT`. Key `addr`. Default: `127.0.0.1:8080`.
    pub addr: String,
    /// Largest message accepted (text or binary), in bytes. Larger closes with
    /// 1009. Key `limits.max_message_size`. Default: 1 MiB.
    pub max_message_size: usize,
    /// Largest single frame accepted, in bytes. Larger closes with 1009.
    /// Key `limits.max_frame_size`. Default: 1 MiB.
    pub max_frame_size: usize,
    /// Bounds of each session's outbound queue. Keys `limits.queue_max_messages`
    /// and `limits.queue_max_bytes`. Default: 1,024 messages, 4 MiB.
    pub queue: QueueLimits,
    /// Smallest read a session reserves, from 256 bytes to 128 KiB. Reads grow
    /// with the traffic (to the rest of a large frame plus up to 128 KiB); a
    /// busy session reuses the buffer from one message to the next and gives it
    /// back once quiet, so an idle session holds none. Key
    /// `limits.read_buffer_size`. Default: 1 KiB, which small messages fit.
    pub read_buffer_size: usize,
    /// Time allowed for a client to complete the TLS handshake (if any) and send
    /// its HTTP request after connecting (slowloris guard). Key
    /// `timeouts.handshake`. Default: 10 s.
    pub handshake_timeout: Duration,
    /// How long to wait for the client's close frame (and to finish writing)
    /// after the server sent its own. Key `timeouts.close`. Default: 5 s.
    pub close_timeout: Duration,
    /// How long a write to a client may stay blocked (the client not reading)
    /// before the connection is dropped. Key `timeouts.write`. Default: 30 s.
    pub write_timeout: Duration,
    /// How often the server pings each session; `None` disables keep-alive pings.
    /// Key `timeouts.ping_interval`. Default: 30 s.
    pub ping_interval: Option<Duration>,
    /// How long a ping may go unanswered (no pong, nor any other frame) before the
    /// session is considered dead: it is dropped and reported closed with 1006.
    /// Key `timeouts.pong`. Default: 10 s.
    pub pong_timeout: Duration,
    /// Close a session (1001) after this long without a data message in either
    /// direction. Key `timeouts.idle`. Default: none.
    pub idle_timeout: Option<Duration>,
    /// Close a session (1001) after this long, however busy. Key
    /// `timeouts.max_lifetime`. Default: none.
    pub max_lifetime: Option<Duration>,
    /// Most connections served at once (handshaking or open); beyond it new
    /// connections get `503` with `Retry-After`. Inside an axum app it counts
    /// the WebSocket sessions; a WebSocket over HTTP/2 counts beside its
    /// connection. Key `limits.max_connections`. Default: none.
    pub max_connections: Option<usize>,
    /// Largest HTTP request head (request line and headers), in bytes. Larger
    /// answers 431. Key `limits.max_request_head_size`. Default: 16 KiB.
    pub max_request_head_size: usize,
    /// Most request headers accepted. More answers 431. Key
    /// `limits.max_headers`. Default: 64.
    pub max_headers: usize,
    /// permessage-deflate compression for every handler that does not set its
    /// own. Default: off, since with context takeover each compressing
    /// connection keeps its compression state, about 330 KiB of RSS (see
    /// [`DeflateConfig`] for the figures and the other defaults). Keys
    /// `deflate.enabled`, `deflate.level`, `deflate.threshold`,
    /// `deflate.context_takeover`, `deflate.max_window_bits`.
    pub deflate: DeflateConfig,
    /// The close frame every open session receives when the server shuts down,
    /// after the messages already queued for it. Key `shutdown.close_code`.
    /// Default: 1012 Service Restart, which tells clients to reconnect (to
    /// another node, after a short random delay); `1001` or `"going_away"` is
    /// the other usual choice.
    pub shutdown_status: CloseStatus,
    /// How long a shutdown waits for sessions to finish their closing handshake
    /// once the last batch of them was told to close (within the
    /// [`drain_period`](Self::drain_period)); sessions still open then are
    /// dropped (reported closed with 1006). The whole shutdown takes at most
    /// `drain_period + shutdown_timeout`. Key `shutdown.timeout`. Default: 10 s.
    pub shutdown_timeout: Duration,
    /// The time over which a shutdown spreads the closing of the open sessions,
    /// in batches of at most [`drain_batch`](Self::drain_batch), so that their
    /// clients do not all reconnect elsewhere in the same instant. Sessions
    /// keep being served until their batch; the first batch closes at once and
    /// the last one within the period. Zero closes every session at once. Key
    /// `shutdown.drain_period`. Default: 10 s, which with the 10 s shutdown
    /// timeout fits in Kubernetes' default 30 s termination grace period.
    pub drain_period: Duration,
    /// Most sessions the drain closes at once: `n` open sessions are closed in
    /// `ceil(n / drain_batch)` equal batches, evenly spaced over the
    /// [`drain_period`](Self::drain_period) (so a node with fewer sessions than
    /// this closes them all at once). Key `shutdown.drain_batch`. Default: 100.
    pub drain_batch: usize,
    /// Answer plain `GET` requests at [`ready_path`](Self::ready_path) with
    /// `200` while the server takes new sessions and `503` from the moment it
    /// starts shutting down, for load balancers' readiness checks. Key
    /// `health.ready_enabled`. Default: on.
    pub ready_enabled: bool,
    /// The readiness check's path. Key `health.ready_path`. Default: `/readyz`.
    pub ready_path: String,
    /// A second listener, as `HOST:PORT`, serving only the health, readiness
    /// and metrics endpoints (plain HTTP, no WebSocket routes, no pages), for
    /// probes and scrapers kept off the public port. The main listener still
    /// answers them too. Key `management.addr`. Default: none.
    pub management_addr: Option<String>,
    /// `wss://`: the certificate chain and key to serve TLS with (feature `tls`).
    /// Keys `tls.cert_file` and `tls.key_file`. Default: none (plain `ws://`).
    pub tls: Option<TlsConfig>,
    /// Serve HTTP/2 on wsboot's own listener, where the build has it (feature
    /// `http2`): offered first by ALPN with TLS, and to a client that opens
    /// with HTTP/2's preface without. Off, ALPN offers HTTP/1.1 only and the
    /// preface is answered `505`. Inside an axum app, the app's server
    /// decides. Key `http2.enabled`. Default: on.
    pub http2_enabled: bool,
    /// Serve Prometheus metrics at [`metrics_path`](Self::metrics_path). Key
    /// `metrics.enabled`. Default: on.
    pub metrics_enabled: bool,
    /// Where plain `GET` requests get the metrics. Key `metrics.path`. Default:
    /// `/metrics`.
    pub metrics_path: String,
    /// Answer `200 ok` to plain `GET` requests at [`health_path`](Self::health_path),
    /// for load balancers. Key `health.enabled`. Default: on.
    pub health_enabled: bool,
    /// The health check's path. Key `health.path`. Default: `/healthz`.
    pub health_path: String,
    /// The URL of the cross-node broker (e.g. `redis://127.0.0.1:6379`), for a
    /// broker that connects to one. Key `broker.url`. Default: none (the
    /// in-process broker, a single node).
    pub broker_url: Option<String>,
    /// Per-handler settings by route path, from configuration; applied over the
    /// handlers' own options when the server starts. Tables `[handlers."/path"]`.
    pub handlers: Vec<HandlerSettings>,
    /// Topic history by pattern, from configuration; applied over the app's
    /// own [`TopicHistory`](wsboot_core::TopicHistory)s when the server starts.
    /// Tables `[history."PATTERN"]`.
    pub histories: Vec<crate::HistorySettings>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: DEFAULT_ADDR.to_owned(),
            max_message_size: 1 << 20,
            max_frame_size: 1 << 20,
            queue: QueueLimits::default(),
            read_buffer_size: 1 << 10,
            handshake_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(30),
            ping_interval: Some(Duration::from_secs(30)),
            pong_timeout: Duration::from_secs(10),
            idle_timeout: None,
            max_lifetime: None,
            max_connections: None,
            max_request_head_size: 16 << 10,
            max_headers: 64,
            deflate: DeflateConfig::default(),
            shutdown_status: default_shutdown_status(CloseStatus::SERVICE_RESTARTED.code()),
            shutdown_timeout: Duration::from_secs(10),
            drain_period: Duration::from_secs(10),
            drain_batch: 100,
            tls: None,
            http2_enabled: true,
            metrics_enabled: true,
            metrics_path: "/metrics".to_owned(),
            health_enabled: true,
            health_path: "/healthz".to_owned(),
            ready_enabled: true,
            ready_path: "/readyz".to_owned(),
            management_addr: None,
            broker_url: None,
            histories: Vec::new(),
            handlers: Vec::new(),
        }
    }
}

/// The close status sent at shutdown for `code`, with a reason clients can log.
pub(crate) fn default_shutdown_status(code: u16) -> CloseStatus {
    match code {
        1001 => CloseStatus::GOING_AWAY.with_reason("server shutting down"),
        1012 => CloseStatus::SERVICE_RESTARTED.with_reason("server restarting"),
        other => CloseStatus::new(other),
    }
}

impl ServerConfig {
    /// The defaults with `sources` applied over them, validated.
    ///
    /// ```
    /// use wsboot::{ConfigSources, ServerConfig};
    ///
    /// let sources = ConfigSources::new().toml("inline", "[limits]\nmax_message_size = \"64KiB\"");
    /// let config = ServerConfig::load(&sources)?;
    /// assert_eq!(config.max_message_size, 64 * 1024);
    /// # Ok::<(), wsboot::Error>(())
    /// ```
    pub fn load(sources: &crate::ConfigSources) -> Result<Self, Error> {
        let mut config = ServerConfig::default();
        sources.apply(&mut config)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every setting: a configuration [`Error`] with one
    /// [problem](Error::problems) per key out of range, naming the key and the
    /// form expected.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, key: &str, expected: &str| {
            if !ok {
                problems.push(ConfigProblem::new(format!("must be {expected}")).with_key(key));
            }
        };
        check(crate::settings::is_host_port(&self.addr), "addr", "HOST:PORT, e.g. \"0.0.0.0:8080\"");
        check(self.max_message_size > 0, "limits.max_message_size", "at least 1 byte");
        check(self.max_frame_size > 0, "limits.max_frame_size", "at least 1 byte");
        check(self.queue.max_messages > 0, "limits.queue_max_messages", "at least 1");
        check(self.queue.max_bytes > 0, "limits.queue_max_bytes", "at least 1 byte");
        check(
            (256..=128 << 10).contains(&self.read_buffer_size),
            "limits.read_buffer_size",
            "from 256 bytes to 128 KiB",
        );
        check(self.max_connections != Some(0), "limits.max_connections", "at least 1, or \"off\"");
        check(self.max_request_head_size >= 256, "limits.max_request_head_size", "at least 256 bytes");
        check(self.max_headers > 0, "limits.max_headers", "at least 1");
        check(!self.handshake_timeout.is_zero(), "timeouts.handshake", "longer than zero");
        check(!self.close_timeout.is_zero(), "timeouts.close", "longer than zero");
        check(!self.write_timeout.is_zero(), "timeouts.write", "longer than zero");
        check(!self.pong_timeout.is_zero(), "timeouts.pong", "longer than zero");
        check(
            self.ping_interval.is_none_or(|d| !d.is_zero()),
            "timeouts.ping_interval",
            "longer than zero, or \"off\"",
        );
        check(self.idle_timeout.is_none_or(|d| !d.is_zero()), "timeouts.idle", "longer than zero, or \"off\"");
        check(self.max_lifetime.is_none_or(|d| !d.is_zero()), "timeouts.max_lifetime", "longer than zero, or \"off\"");
        check(!self.shutdown_timeout.is_zero(), "shutdown.timeout", "longer than zero");
        check(
            crate::settings::is_shutdown_code(self.shutdown_status.code()),
            "shutdown.close_code",
            crate::settings::CLOSE_CODE_FORM,
        );
        check(self.drain_batch > 0, "shutdown.drain_batch", "at least 1");
        check(crate::settings::is_route_path(&self.metrics_path), "metrics.path", "a path starting with `/`");
        check(crate::settings::is_route_path(&self.health_path), "health.path", "a path starting with `/`");
        check(crate::settings::is_route_path(&self.ready_path), "health.ready_path", "a path starting with `/`");
        check(
            !(self.metrics_enabled && self.health_enabled && self.metrics_path == self.health_path),
            "health.path",
            "different from `metrics.path`",
        );
        check(
            !(self.ready_enabled && self.health_enabled && self.ready_path == self.health_path),
            "health.ready_path",
            "different from `health.path`",
        );
        check(
            !(self.ready_enabled && self.metrics_enabled && self.ready_path == self.metrics_path),
            "health.ready_path",
            "different from `metrics.path`",
        );
        if let Some(addr) = &self.management_addr {
            check(crate::settings::is_host_port(addr), "management.addr", "HOST:PORT, e.g. \"127.0.0.1:9090\"");
        }
        if let Some(url) = &self.broker_url {
            check(crate::settings::is_url(url), "broker.url", "a URL such as \"redis://127.0.0.1:6379\"");
        }
        if let Err(error) = self.deflate.validate() {
            problems.extend_from_slice(error.problems());
        }
        if let Some(tls) = &self.tls {
            if let Err(problem) = tls.check_complete() {
                problems.push(ConfigProblem::new(problem));
            }
        }
        for handler in &self.handlers {
            handler.check(&mut problems);
        }
        if problems.is_empty() { Ok(()) } else { Err(Error::config_with_summary("invalid settings", problems)) }
    }
}

/// Settings for the handler at one route path, from configuration
/// (`[handlers."/chat/{room}"]` in a TOML file). Each `Some` replaces the
/// handler's own option; `None` leaves it.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct HandlerSettings {
    /// The route exactly as registered, e.g. `/chat/{room}`.
    pub path: String,
    /// Largest message accepted, in bytes. Key `max_message_size`.
    pub max_message_size: Option<usize>,
    /// Largest frame accepted, in bytes. Key `max_frame_size`.
    pub max_frame_size: Option<usize>,
    /// Origins allowed to connect. Key `allowed_origins`.
    pub allowed_origins: Option<Vec<String>>,
    /// Subprotocols, in order of preference. Key `subprotocols`.
    pub subprotocols: Option<Vec<String>>,
    /// permessage-deflate on or off. Key `deflate`.
    pub deflate: Option<bool>,
    /// What a publish does when a session's queue is full. Key `overflow`.
    pub overflow: Option<OverflowPolicy>,
    /// How long a write may stay blocked before the session is dropped. Key
    /// `send_time_limit`.
    pub send_time_limit: Option<Duration>,
    /// Most messages queued per session. Key `queue_max_messages`.
    pub queue_max_messages: Option<usize>,
    /// Most bytes queued per session. Key `queue_max_bytes`.
    pub queue_max_bytes: Option<usize>,
}

impl HandlerSettings {
    /// Empty settings for the route `path`.
    pub fn new(path: impl Into<String>) -> Self {
        HandlerSettings { path: path.into(), ..HandlerSettings::default() }
    }

    fn check(&self, problems: &mut Vec<ConfigProblem>) {
        let key = |name: &str| format!("handlers.\"{}\".{name}", self.path);
        for (name, value) in [
            ("max_message_size", self.max_message_size),
            ("max_frame_size", self.max_frame_size),
            ("queue_max_messages", self.queue_max_messages),
            ("queue_max_bytes", self.queue_max_bytes),
        ] {
            if value == Some(0) {
                problems.push(ConfigProblem::new("must be at least 1").with_key(key(name)));
            }
        }
        if self.send_time_limit.is_some_and(|d| d.is_zero()) {
            problems.push(ConfigProblem::new("must be longer than zero").with_key(key("send_time_limit")));
        }
    }

    /// Applies these settings over a registration's own options; `server` gives
    /// the queue limits a partial queue setting completes.
    pub(crate) fn apply(&self, registration: &mut HandlerRegistration, server: &ServerConfig) {
        if let Some(bytes) = self.max_message_size {
            registration.max_message_size(bytes);
        }
        if let Some(bytes) = self.max_frame_size {
            registration.max_frame_size(bytes);
        }
        if let Some(origins) = &self.allowed_origins {
            registration.allowed_origins(origins.iter().cloned());
        }
        if let Some(protocols) = &self.subprotocols {
            registration.subprotocols(protocols.iter().cloned());
        }
        if let Some(enabled) = self.deflate {
            registration.deflate(enabled);
        }
        if let Some(policy) = &self.overflow {
            registration.overflow_policy(policy.clone());
        }
        if let Some(limit) = self.send_time_limit {
            registration.send_time_limit(limit);
        }
        if self.queue_max_messages.is_some() || self.queue_max_bytes.is_some() {
            let mut queue = registration.options().queue.unwrap_or(server.queue);
            queue.max_messages = self.queue_max_messages.unwrap_or(queue.max_messages);
            queue.max_bytes = self.queue_max_bytes.unwrap_or(queue.max_bytes);
            registration.queue_limits(queue);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        ServerConfig::default().validate().unwrap();
    }

    #[test]
    fn validation_names_every_bad_key() {
        let config = ServerConfig {
            max_message_size: 0,
            pong_timeout: Duration::ZERO,
            metrics_path: "metrics".into(),
            shutdown_status: CloseStatus::NO_CLOSE_FRAME,
            handlers: vec![HandlerSettings { queue_max_bytes: Some(0), ..HandlerSettings::new("/chat") }],
            ..ServerConfig::default()
        };
        let error = config.validate().unwrap_err().to_string();
        for expected in [
            "`limits.max_message_size` must be at least 1 byte",
            "`timeouts.pong` must be longer than zero",
            "`metrics.path` must be a path starting with `/`",
            "`shutdown.close_code` must be",
            "`handlers.\"/chat\".queue_max_bytes` must be at least 1",
        ] {
            assert!(error.contains(expected), "missing {expected:?} in {error}");
        }
    }

    #[test]
    fn each_bad_key_is_its_own_problem() {
        let mut deflate = DeflateConfig::default();
        deflate.level = 10;
        let config = ServerConfig {
            max_frame_size: 0,
            deflate,
            handlers: vec![HandlerSettings { send_time_limit: Some(Duration::ZERO), ..HandlerSettings::new("/a") }],
            ..ServerConfig::default()
        };
        let error = config.validate().unwrap_err();
        let keys: Vec<Option<&str>> = error.problems().iter().map(ConfigProblem::key).collect();
        assert_eq!(
            keys,
            [Some("limits.max_frame_size"), Some("deflate.level"), Some("handlers.\"/a\".send_time_limit")]
        );
        assert_eq!(error.problems()[0].message(), "must be at least 1 byte");
        assert!(error.to_string().starts_with("invalid settings: `limits.max_frame_size` must be at least 1 byte; "));
    }

    #[test]
    fn metrics_and_health_paths_must_differ() {
        let config = ServerConfig { health_path: "/metrics".into(), ..ServerConfig::default() };
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("`health.path` must be different from `metrics.path`"), "{error}");
    }

    #[test]
    fn drain_readiness_and_management_settings_are_checked() {
        let config = ServerConfig {
            drain_batch: 0,
            ready_path: "/healthz".into(),
            management_addr: Some("nowhere".into()),
            ..ServerConfig::default()
        };
        let error = config.validate().unwrap_err().to_string();
        for expected in [
            "`shutdown.drain_batch` must be at least 1",
            "`health.ready_path` must be different from `health.path`",
            "`management.addr` must be HOST:PORT",
        ] {
            assert!(error.contains(expected), "missing {expected:?} in {error}");
        }
        let config = ServerConfig { ready_path: "/metrics".into(), ..ServerConfig::default() };
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("`health.ready_path` must be different from `metrics.path`"), "{error}");
        let config = ServerConfig { drain_period: Duration::ZERO, ..ServerConfig::default() };
        config.validate().expect("a drain period of zero closes every session at once");
    }
}
