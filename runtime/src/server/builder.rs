//! [`ServerBuilder`]: which handlers, plugins, beans and settings a server
//! has, and where it listens; `bind` assembles and starts it.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, ToSocketAddrs};
use wsboot_core::__runtime::{new_hub, set_topic_histories};
use wsboot_core::{
    Beans, Broker, DeflateConfig, Error, ErrorKind, HandlerRegistry, HandshakeInterceptor, LocalBroker, QueueLimits,
    RegistrationSource, RegistryPlugin, SharedBroker, SharedInterceptor, SourceLocation, TopicHistory, shared_plugin,
};

use crate::background::Hooks;
use crate::config::ServerConfig;
use crate::pages::Pages;
use crate::plugins::PluginOptions;
use crate::routes::RouteListing;
use crate::routing::Router;
use crate::settings::ConfigSources;
use crate::shutdown::Shutdown;
use crate::tls::{self, TlsConfig};
use crate::{settings, wiring};

use super::{Assembled, Server, Shared};
use crate::timer_wheel::TimerWheel;

/// Builds a [`Server`]: which handlers, which settings, where.
#[derive(Debug, Default)]
pub struct ServerBuilder {
    pub(crate) registry: Option<HandlerRegistry>,
    config: ServerConfig,
    interceptors: Vec<SharedInterceptor>,
    broker: Option<SharedBroker>,
    histories: Vec<TopicHistory>,
    plugins: PluginOptions,
    sources: ConfigSources,
    /// Beans, whether to add the `#[bean]`s' (`None`: if the registry is
    /// annotated) and background tasks: see `wiring`.
    pub(crate) beans: Beans,
    pub(crate) annotated_beans: Option<bool>,
    pub(crate) background: Hooks,
}

impl ServerBuilder {
    /// Carries topics between nodes through `broker` (default: [`LocalBroker`],
    /// a single node).
    pub fn broker(mut self, broker: impl Broker) -> Self {
        self.broker = Some(Arc::new(broker));
        self
    }

    /// Turns topic history on for the topics `history` matches, after any the
    /// registry adds (see [`TopicHistory`]; `[history."PATTERN"]` tables of a
    /// configuration file change their bounds or add more).
    pub fn topic_history(mut self, history: TopicHistory) -> Self {
        self.histories.push(history);
        self
    }

    /// Serves exactly this registry instead of the `#[ws_handler]` annotations:
    /// no link-time collection at all, for tests and embedding apps.
    pub fn registry(mut self, registry: HandlerRegistry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Replaces all settings.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Default largest message for every handler (each may set its own).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    /// Default largest frame for every handler.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.config.max_frame_size = bytes;
        self
    }

    /// Bounds of every session's outbound queue.
    pub fn queue_limits(mut self, limits: QueueLimits) -> Self {
        self.config.queue = limits;
        self
    }

    /// Time allowed for the HTTP request after the TCP connect.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.config.handshake_timeout = timeout;
        self
    }

    /// Time allowed for the peer's close frame after ours.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.config.close_timeout = timeout;
        self
    }

    /// Keep-alive pings: how often, and how long to wait for an answer.
    pub fn ping(mut self, interval: Option<Duration>, pong_timeout: Duration) -> Self {
        self.config.ping_interval = interval;
        self.config.pong_timeout = pong_timeout;
        self
    }

    /// Close sessions after this long without data messages.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// Close sessions after this long.
    pub fn max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.config.max_lifetime = lifetime;
        self
    }

    /// Most connections served at once; more get `503`. Inside an axum app
    /// (`wsboot::axum::WsRoutes`) it counts the WebSocket sessions,
    /// handshaking ones included; a WebSocket over HTTP/2 on wsboot's own
    /// listener counts beside its connection.
    pub fn max_connections(mut self, max: Option<usize>) -> Self {
        self.config.max_connections = max;
        self
    }

    /// Most request headers, and the largest request head in bytes (`431` beyond).
    pub fn request_limits(mut self, max_headers: usize, max_head_size: usize) -> Self {
        self.config.max_headers = max_headers;
        self.config.max_request_head_size = max_head_size;
        self
    }

    /// permessage-deflate settings for every handler that does not set its own
    /// (e.g. `.deflate(DeflateConfig::enabled())` to compress wherever clients
    /// offer it).
    pub fn deflate(mut self, config: DeflateConfig) -> Self {
        self.config.deflate = config;
        self
    }

    /// Adds a plugin, after the `#[ws_plugin]` ones and those added before (see
    /// [`RegistryPlugin`] for the order hooks run in).
    #[track_caller]
    pub fn plugin<P: RegistryPlugin>(mut self, plugin: P) -> Self {
        let source = RegistrationSource::Programmatic {
            type_name: std::any::type_name::<P>(),
            location: SourceLocation::caller(),
        };
        self.plugins.add(shared_plugin(plugin), source);
        self
    }

    /// Whether to run the `#[ws_plugin]` plugins of the program. By default
    /// they run unless an explicit [`registry`](Self::registry) was given, so
    /// a test's isolated server sees no link-time handlers nor plugins.
    pub fn annotated_plugins(mut self, run: bool) -> Self {
        self.plugins.set_annotated(run);
        self
    }

    /// Whether every handler is wrapped in the built-in decorators (lifecycle
    /// and message logging through `tracing`, [`LoggingHandlerDecorator`](crate::LoggingHandlerDecorator)).
    /// Default: on. Either way, a callback's error or panic is logged and closes
    /// the session with 1011: the session loop guards every callback.
    pub fn builtin_decorators(mut self, enabled: bool) -> Self {
        self.plugins.set_builtin_decorators(enabled);
        self
    }

    /// The routes this builder would serve, plugins applied, without binding:
    /// what `--print-routes` prints. Fails as [`bind`](Self::bind) would on an
    /// invalid registry, a failing plugin `configure`, or no routes at all.
    pub fn routes(&self) -> Result<RouteListing, Error> {
        let context =
            wiring::context(self.beans.clone(), self.provides_beans(), new_hub(Arc::new(LocalBroker::new())))?;
        let prepared = self.plugins.prepare(self.registry.clone(), &context)?;
        if self.registry.is_none() {
            crate::discovery::require_routes(&prepared.registry)?;
        }
        Router::new(&prepared.registry, &self.config)?;
        Ok(RouteListing::new(&prepared, &self.interceptors))
    }

    /// Settings from outside the code — a TOML file, `WSBOOT_*` variables,
    /// flags — applied over the builder's when the server starts, whatever the
    /// order of the calls (see [`ConfigSources`] for the keys and precedence).
    pub fn config_sources(mut self, sources: ConfigSources) -> Self {
        self.sources = sources;
        self
    }

    /// Where [`listen`](Self::listen) binds, as `HOST:PORT`.
    pub fn addr(mut self, addr: impl Into<String>) -> Self {
        self.config.addr = addr.into();
        self
    }

    /// Serves `wss://` with this certificate chain and key (feature `tls`).
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.config.tls = Some(tls);
        self
    }

    /// The close frame sessions receive at shutdown: 1012 Service Restart by
    /// default, which tells clients to reconnect (elsewhere, after a short
    /// random delay); [`CloseStatus::GOING_AWAY`](crate::CloseStatus::GOING_AWAY)
    /// (1001) is the other usual choice.
    pub fn shutdown_status(mut self, status: crate::CloseStatus) -> Self {
        self.config.shutdown_status = status;
        self
    }

    /// How long a shutdown waits for the last sessions to close, after the
    /// drain period, before dropping them.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown_timeout = timeout;
        self
    }

    /// The time a shutdown spreads the closing of sessions over (see
    /// [`ServerConfig::drain_period`]); zero closes them all at once.
    pub fn drain_period(mut self, period: Duration) -> Self {
        self.config.drain_period = period;
        self
    }

    /// Most sessions a shutdown closes at once (see [`ServerConfig::drain_batch`]).
    pub fn drain_batch(mut self, sessions: usize) -> Self {
        self.config.drain_batch = sessions;
        self
    }

    /// Prometheus metrics at `path` for plain `GET`s, or none (`None`).
    pub fn metrics_path(mut self, path: Option<&str>) -> Self {
        self.config.metrics_enabled = path.is_some();
        if let Some(path) = path {
            self.config.metrics_path = path.to_owned();
        }
        self
    }

    /// The health check (`200 ok`) at `path` for plain `GET`s, or none (`None`).
    pub fn health_path(mut self, path: Option<&str>) -> Self {
        self.config.health_enabled = path.is_some();
        if let Some(path) = path {
            self.config.health_path = path.to_owned();
        }
        self
    }

    /// The readiness check (`200 ready`, `503` once the server shuts down) at
    /// `path` for plain `GET`s, or none (`None`).
    pub fn ready_path(mut self, path: Option<&str>) -> Self {
        self.config.ready_enabled = path.is_some();
        if let Some(path) = path {
            self.config.ready_path = path.to_owned();
        }
        self
    }

    /// Serve HTTP/2 (feature `http2`) on wsboot's own listener: by ALPN with
    /// TLS, and to clients that open with its preface (on by default; see
    /// [`ServerConfig::http2_enabled`]).
    pub fn http2(mut self, enabled: bool) -> Self {
        self.config.http2_enabled = enabled;
        self
    }

    /// A second listener at `addr` (`HOST:PORT`) answering only the health,
    /// readiness and metrics endpoints, or none (`None`, the default).
    pub fn management_addr(mut self, addr: Option<&str>) -> Self {
        self.config.management_addr = addr.map(str::to_owned);
        self
    }

    /// Binds the configured [`addr`](ServerConfig::addr) (after the
    /// [`config_sources`](Self::config_sources) are applied): what
    /// [`wsboot::run`](crate::run) does.
    pub async fn listen(mut self) -> Result<Server, Error> {
        self.sources.apply(&mut self.config)?;
        self.sources = ConfigSources::new();
        let addr = self.config.addr.clone();
        self.bind(addr).await
    }

    /// Adds an interceptor run for every route, before the route's own.
    pub fn interceptor<I: HandshakeInterceptor>(mut self, interceptor: I) -> Self {
        self.interceptors.push(Arc::new(interceptor));
        self
    }

    /// Binds the listener at `addr` (the configured [`addr`](ServerConfig::addr)
    /// is for [`listen`](Self::listen)), and the
    /// [management listener](ServerConfig::management_addr) if one is set.
    /// Fails if a setting is invalid (the error names the key), the TLS
    /// certificate or key cannot be used (the error names the file), the
    /// registry is invalid (bad path, two handlers on one route: the error
    /// names both), an address is unavailable, or, without an explicit
    /// [`registry`](Self::registry), no `#[ws_handler]` nor page was found (the
    /// error says how to link them in).
    pub async fn bind(self, addr: impl ToSocketAddrs) -> Result<Server, Error> {
        let assembled = self.assemble()?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| Error::with_source(ErrorKind::Io, format!("cannot listen: {e}"), e))?;
        let management = bind_management(&assembled.shared.config).await?;
        assembled.start(Some(listener), management).await
    }

    /// A server that takes its requests from an HTTP framework (an axum app)
    /// instead of a listener of its own, with its management listener if
    /// one is set.
    #[cfg(feature = "axum")]
    pub(crate) async fn hosted(self) -> Result<Server, Error> {
        let assembled = self.assemble()?;
        let management = bind_management(&assembled.shared.config).await?;
        assembled.start(None, management).await
    }

    /// A server that accepts no TCP connections: the test kit hands it
    /// in-memory streams.
    #[cfg(feature = "test-util")]
    pub(crate) async fn without_listener(self) -> Result<Server, Error> {
        self.assemble()?.start(None, None).await
    }

    /// Everything but the listeners: settings resolved and checked, TLS loaded,
    /// plugins applied, routes built.
    fn assemble(mut self) -> Result<Assembled, Error> {
        self.sources.apply(&mut self.config)?;
        self.config.validate()?;
        let tls = self.config.tls.as_ref().map(|t| tls::acceptor(t, self.config.http2_enabled)).transpose()?;
        if let (Some(url), None) = (&self.config.broker_url, &self.broker) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "`broker.url` is set ({url}) but the server has no broker that connects to it: \
                     add one with `ServerBuilder::broker`, or unset `broker.url` for the in-process broker"
                ),
            ));
        }
        let hub = new_hub(self.broker.unwrap_or_else(|| Arc::new(LocalBroker::new())));
        let providers = self.annotated_beans.unwrap_or(self.registry.is_none());
        let context = wiring::context(self.beans, providers, hub.clone())?;
        let collected = self.registry.is_none();
        let mut prepared = self.plugins.prepare(self.registry, &context)?;
        if collected {
            crate::discovery::require_routes(&prepared.registry)?;
        }
        settings::apply_handler_settings(&self.config, &mut prepared.registry)?;
        let mut histories = prepared.registry.topic_histories().to_vec();
        histories.extend(self.histories);
        for settings in &self.config.histories {
            settings.apply(&mut histories);
        }
        set_topic_histories(&hub, histories)?;
        let shutdown = Arc::new(Shutdown::default());
        let metrics = crate::metrics::registry_for(&self.config, &prepared.registry)?;
        let router = Router::new(&prepared.registry, &self.config)?;
        let listing = RouteListing::new(&prepared, &self.interceptors);
        let shared = Shared {
            router,
            pages: Pages::new(&prepared.registry),
            config: self.config,
            interceptors: self.interceptors,
            shutdown,
            hub,
            context,
            metrics,
            tls,
            timers: TimerWheel::default(),
        };
        Ok(Assembled { shared, plugins: prepared.plugins, listing, background: self.background })
    }
}

/// Binds the [management listener](ServerConfig::management_addr), if one is set.
async fn bind_management(config: &ServerConfig) -> Result<Option<TcpListener>, Error> {
    let Some(addr) = &config.management_addr else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr.as_str())
        .await
        .map_err(|e| Error::with_source(ErrorKind::Io, format!("cannot listen on `management.addr` {addr}: {e}"), e))?;
    Ok(Some(listener))
}
