//! [`Server`]: binds a listener, accepts connections and hands each to its own
//! task, until shut down.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, ToSocketAddrs};
use wsboot_core::handshake::SharedInterceptor;
use wsboot_core::plugin::{PluginSource, RegistryPlugin, ServerInfo, shared_plugin};
use wsboot_core::registry::SourceLocation;
use wsboot_core::{
    Broker, DeflateConfig, Error, ErrorKind, HandlerRegistry, HandshakeInterceptor, Hub, LocalBroker, QueueLimits,
    SharedBroker,
};

use crate::config::ServerConfig;
use crate::connection;
use crate::plugins::{PluginOptions, Plugins};
use crate::routes::RouteListing;
use crate::routing::Router;
use crate::shutdown::Shutdown;

/// What every connection task shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) router: Router,
    pub(crate) config: ServerConfig,
    pub(crate) interceptors: Vec<SharedInterceptor>,
    pub(crate) shutdown: Arc<Shutdown>,
    pub(crate) hub: Hub,
}

/// A bound WebSocket server, ready to [`serve`](Server::serve).
///
/// ```no_run
/// # async fn run() -> Result<(), wsboot::Error> {
/// // Every `#[ws_handler]` in the program, on port 8080:
/// let server = wsboot::Server::bind("127.0.0.1:8080").await?;
/// println!("listening on ws://{}", server.local_addr());
/// server.serve().await
/// # }
/// ```
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    plugins: Plugins,
    listing: RouteListing,
}

/// Builds a [`Server`]: which handlers, which settings, where.
#[derive(Debug, Default)]
pub struct ServerBuilder {
    registry: Option<HandlerRegistry>,
    config: ServerConfig,
    interceptors: Vec<SharedInterceptor>,
    broker: Option<SharedBroker>,
    plugins: PluginOptions,
}

impl ServerBuilder {
    /// Carries topics between nodes through `broker` (default: [`LocalBroker`],
    /// a single node).
    pub fn broker(mut self, broker: impl Broker) -> Self {
        self.broker = Some(Arc::new(broker));
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

    /// Most connections served at once; more get `503`.
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
        let source = PluginSource::Added { type_name: std::any::type_name::<P>(), location: SourceLocation::caller() };
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

    /// Whether every handler is wrapped in the built-in decorators (a
    /// callback's error or panic → logged, close 1011; lifecycle and message
    /// logging through `tracing`). Default: on. Off saves a boxed future per
    /// callback; errors and panics still close the session with 1011.
    pub fn builtin_decorators(mut self, enabled: bool) -> Self {
        self.plugins.set_builtin_decorators(enabled);
        self
    }

    /// The routes this builder would serve, plugins applied, without binding:
    /// what `--print-routes` prints. Fails as [`bind`](Self::bind) would on an
    /// invalid registry or a failing plugin `configure`.
    pub fn routes(&self) -> Result<RouteListing, Error> {
        let prepared = self.plugins.prepare(self.registry.clone())?;
        Router::new(&prepared.registry, &self.config)?;
        Ok(RouteListing::new(&prepared, &self.interceptors))
    }

    /// Adds an interceptor run for every route, before the route's own.
    pub fn interceptor<I: HandshakeInterceptor>(mut self, interceptor: I) -> Self {
        self.interceptors.push(Arc::new(interceptor));
        self
    }

    /// Binds the listener. Fails if the registry is invalid (bad path, two
    /// handlers on one route: the error names both) or the address is unavailable.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> Result<Server, Error> {
        let prepared = self.plugins.prepare(self.registry)?;
        let router = Router::new(&prepared.registry, &self.config)?;
        let listing = RouteListing::new(&prepared, &self.interceptors);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| Error::with_source(ErrorKind::Io, format!("cannot listen: {e}"), e))?;
        let hub = Hub::with_shared_broker(self.broker.unwrap_or_else(|| Arc::new(LocalBroker)));
        hub.start().await?;
        let local_addr = listener.local_addr().map_err(|e| Error::with_source(ErrorKind::Io, format!("{e}"), e))?;
        let plugins = prepared.plugins;
        if let Err(e) = plugins.start(&ServerInfo::new(local_addr, listing.paths()), self.config.close_timeout).await {
            hub.shutdown().await;
            return Err(e);
        }
        let shared = Arc::new(Shared {
            router,
            config: self.config,
            interceptors: self.interceptors,
            shutdown: Arc::new(Shutdown::default()),
            hub,
        });
        Ok(Server { listener, shared, plugins, listing })
    }
}

impl Server {
    /// A builder, to choose handlers and settings.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// Binds `addr` and serves every `#[ws_handler]` in the program with default
    /// settings.
    pub async fn bind(addr: impl ToSocketAddrs) -> Result<Server, Error> {
        Server::builder().bind(addr).await
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The hub: every open session, topics, publishing from any task.
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    /// Every route with its handler, options, interceptors, decorators and
    /// what plugins did to it, and the plugins in the order they run.
    pub fn route_listing(&self) -> &RouteListing {
        &self.listing
    }

    /// The routes served, as `(path, handler type)` pairs.
    pub fn routes(&self) -> Vec<(String, &'static str)> {
        self.shared.router.routes().map(|r| (r.path.to_string(), r.source.type_name())).collect()
    }

    /// Serves until the process ends.
    pub async fn serve(self) -> Result<(), Error> {
        self.serve_with_shutdown(std::future::pending()).await
    }

    /// Serves until `signal` completes, then stops accepting, sends every open
    /// session a 1001 (Going Away) close after what it already queued, and waits
    /// for the sessions to end, at most the close timeout plus the write timeout.
    pub async fn serve_with_shutdown(self, signal: impl Future<Output = ()>) -> Result<(), Error> {
        tokio::pin!(signal);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, remote)) => {
                        let full = self.shared.config.max_connections.is_some_and(|max| self.shared.shutdown.live() >= max);
                        if full {
                            tokio::spawn(connection::refuse_overloaded(stream));
                        } else {
                            tokio::spawn(connection::serve(stream, remote, self.shared.clone()));
                        }
                    }
                    Err(e) => {
                        // Usually out of file descriptors: back off instead of spinning,
                        // and keep serving the connections already open.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                () = &mut signal => break,
            }
        }
        drop(self.listener);
        let shutdown = &self.shared.shutdown;
        tracing::info!(open = shutdown.live(), "shutting down");
        shutdown.trigger();
        let grace = self.shared.config.close_timeout + self.shared.config.write_timeout;
        if tokio::time::timeout(grace, shutdown.all_closed()).await.is_err() {
            tracing::warn!(open = shutdown.live(), "sessions still open after the shutdown deadline");
        }
        self.shared.hub.shutdown().await;
        // Plugins go last: what they provide stays up while sessions close.
        self.plugins.shutdown(self.shared.config.close_timeout).await;
        Ok(())
    }
}
