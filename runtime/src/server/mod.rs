//! [`Server`]: binds a listener, accepts connections and hands each to its own
//! task, until shut down.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, ToSocketAddrs};
use wsboot_core::__runtime::{shutdown_hub, start_hub};
use wsboot_core::{AppContext, Error, ErrorKind, Hub, ServerInfo, SharedInterceptor};

use crate::background::{Hooks, Tasks};
use crate::config::ServerConfig;
use crate::connection;
use crate::metrics::ServerMetrics;
use crate::pages::Pages;
use crate::plugins::Plugins;
use crate::routes::RouteListing;
use crate::routing::Router;
use crate::shutdown::{Shutdown, ShutdownHandle};
use crate::timer_wheel::TimerWheel;
use crate::{management, tls};

mod builder;

pub use self::builder::ServerBuilder;

/// What every connection task shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) router: Router,
    /// Plain HTTP pages, answered beside the WebSocket routes.
    pub(crate) pages: Pages,
    pub(crate) config: ServerConfig,
    pub(crate) interceptors: Vec<SharedInterceptor>,
    pub(crate) shutdown: Arc<Shutdown>,
    pub(crate) hub: Hub,
    /// The beans and the hub, for factories, plugins and sessions.
    pub(crate) context: AppContext,
    /// The Prometheus registry; `None` when metrics are off.
    pub(crate) metrics: Option<Arc<ServerMetrics>>,
    /// Accepts `wss://` connections; `None` serves plain `ws://`.
    pub(crate) tls: Option<tls::Acceptor>,
    /// The sessions' far deadlines (keep-alive pings, time limits).
    pub(crate) timers: TimerWheel,
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
    /// `None` for an in-memory server (the test kit's).
    listener: Option<TcpListener>,
    /// The management listener, if `management.addr` is set.
    management: Option<TcpListener>,
    shared: Arc<Shared>,
    plugins: Plugins,
    listing: RouteListing,
    tasks: Arc<Tasks>,
}

/// A server assembled, not yet started.
struct Assembled {
    shared: Shared,
    plugins: Plugins,
    listing: RouteListing,
    background: Hooks,
}

impl Assembled {
    /// Starts the broker, the plugins, then the background tasks.
    async fn start(self, listener: Option<TcpListener>, management: Option<TcpListener>) -> Result<Server, Error> {
        let Assembled { shared, plugins, listing, background } = self;
        start_hub(&shared.hub).await?;
        let local_addr = match &listener {
            Some(listener) => {
                listener.local_addr().map_err(|e| Error::with_source(ErrorKind::Io, format!("{e}"), e))?
            }
            None => SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let tasks = Tasks::new();
        let info = ServerInfo::new(local_addr, listing.paths()).with_context(shared.context.clone(), tasks.spawner());
        if let Err(e) = plugins.start(&info, shared.config.close_timeout).await {
            tasks.stop(shared.config.close_timeout).await;
            shutdown_hub(&shared.hub).await;
            return Err(e);
        }
        background.start(&shared.context, &info.background);
        Ok(Server { listener, management, shared: Arc::new(shared), plugins, listing, tasks })
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
        match &self.listener {
            Some(listener) => listener.local_addr().expect("a bound listener has an address"),
            None => SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }

    /// The address of the management listener (health, readiness and metrics
    /// only), if [`management_addr`](ServerConfig::management_addr) is set.
    pub fn management_addr(&self) -> Option<SocketAddr> {
        self.management.as_ref().map(|listener| listener.local_addr().expect("a bound listener has an address"))
    }

    /// A handle that starts this server's graceful shutdown from any task:
    /// what [`serve_with_shutdown`](Self::serve_with_shutdown)'s signal does.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle::new(self.shared.shutdown.clone())
    }

    /// What every connection task shares (the test kit starts sessions with
    /// it; an axum router serves requests with it).
    #[cfg(any(feature = "test-util", feature = "axum"))]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The settings in force (defaults, builder, configuration sources).
    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// Makes this server's metrics registry the process-wide recorder of the
    /// [`metrics`](crate::metrics) facade, so `metrics::counter!` and friends
    /// anywhere in the program show at `/metrics` too. [`wsboot::run`](crate::run)
    /// does this. Fails if metrics are off or another recorder is installed.
    pub fn install_metrics_recorder(&self) -> Result<(), Error> {
        match &self.shared.metrics {
            Some(metrics) => metrics.install_global(),
            None => Err(Error::new(ErrorKind::Config, "metrics are off (`metrics.enabled = false`)")),
        }
    }

    /// The hub: every open session, topics, publishing from any task.
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    /// The application context: the beans and the hub.
    pub fn context(&self) -> &AppContext {
        &self.shared.context
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

    /// The paths of the plain HTTP pages served, sorted.
    pub fn pages(&self) -> Vec<String> {
        self.shared.pages.paths().into_iter().map(str::to_owned).collect()
    }

    /// Serves until the process ends, or a [`ShutdownHandle`] starts the
    /// graceful shutdown (see [`serve_with_shutdown`](Self::serve_with_shutdown)).
    pub async fn serve(self) -> Result<(), Error> {
        self.serve_with_shutdown(std::future::pending()).await
    }

    /// Serves until `signal` completes (or a [`ShutdownHandle`] asks), then
    /// shuts down gracefully, draining the sessions rather than dropping them
    /// all at once:
    ///
    /// 1. The readiness endpoint answers `503` and WebSocket upgrades are
    ///    refused with `503` and `Retry-After`; the listeners keep answering
    ///    health checks, metrics and pages until the end.
    /// 2. The open sessions are closed in batches of at most
    ///    [`drain_batch`](ServerConfig::drain_batch), evenly spread over the
    ///    [`drain_period`](ServerConfig::drain_period); each gets the
    ///    [shutdown close frame](ServerConfig::shutdown_status) (1012 Service
    ///    Restart by default) after every message it already queued, and the
    ///    others are served normally until their turn. Background tasks are
    ///    cancelled and awaited before the last batch.
    /// 3. The server waits for the closing handshakes up to the
    ///    [shutdown timeout](ServerConfig::shutdown_timeout); sessions still
    ///    open then are dropped. `after_connection_closed` runs once for every
    ///    session either way. Plugins' `on_shutdown` hooks run last.
    ///
    /// All of it takes at most `drain_period + shutdown_timeout` (and a second
    /// for the last `after_connection_closed` calls, and the plugins' hooks).
    pub async fn serve_with_shutdown(self, signal: impl Future<Output = ()>) -> Result<(), Error> {
        let Server { listener, management, shared, plugins, listing: _, tasks } = self;
        let accepting = accept_all(listener.as_ref(), management.as_ref(), &shared);
        tokio::pin!(accepting, signal);
        tokio::select! {
            () = &mut accepting => {}
            () = &mut signal => {}
            () = shared.shutdown.requested() => {}
        }
        // The same accept loop goes on through the drain: probes, scrapes and
        // pages are answered, upgrades refused.
        tokio::select! {
            () = &mut accepting => {}
            () = crate::shutdown::drain(&shared, &tasks, &plugins) => {}
        }
        Ok(())
    }
}

/// Accepts connections on the listener and the management listener, each
/// into a task of its own, until dropped.
async fn accept_all(listener: Option<&TcpListener>, management: Option<&TcpListener>, shared: &Arc<Shared>) {
    loop {
        let (accepted, from_management) = tokio::select! {
            accepted = accept(listener) => (accepted, false),
            accepted = accept(management) => (accepted, true),
        };
        match accepted {
            Ok((stream, remote)) if from_management => {
                let shared = shared.clone();
                tokio::spawn(async move { management::serve(stream, remote, &shared).await });
            }
            Ok((stream, remote)) => serve_connection(stream, remote, shared),
            Err(e) => {
                // Usually out of file descriptors: back off instead of spinning,
                // and keep serving the connections already open.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Serves a connection of the main listener in a task of its own, or refuses
/// it over `max_connections`.
fn serve_connection(stream: tokio::net::TcpStream, remote: SocketAddr, shared: &Arc<Shared>) {
    // Counted here, not in the connection's task: connections accepted in a
    // burst, before any of their tasks ran, must see each other.
    match connection::admit(shared) {
        // Unconstrained: a connection task yields when its socket has nothing
        // for it, not when tokio's cooperative budget runs out, which would
        // only add a reschedule to busy connections.
        Some(live) => {
            tokio::spawn(tokio::task::unconstrained(connection::serve(stream, remote, shared.clone(), live)));
        }
        None => {
            tokio::spawn(connection::refuse_overloaded(stream, shared.clone()));
        }
    }
}

/// The next connection, or never for a server without a listener.
async fn accept(listener: Option<&TcpListener>) -> std::io::Result<(tokio::net::TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}
