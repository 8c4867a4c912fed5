//! wsboot inside an axum app (feature `axum`): the handlers, pages, health,
//! readiness and metrics endpoints of a wsboot server as an [`axum::Router`]
//! that the app merges or nests beside its own routes, under its own tower
//! middleware, on its own listener and TLS.
//!
//! ```no_run
//! use std::net::SocketAddr;
//!
//! use axum::routing::get;
//! use wsboot::axum::WsRoutes;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Every `#[ws_handler]` of the program (or `.registry(...)` for chosen ones).
//! let ws = WsRoutes::start(wsboot::Server::builder()).await?;
//! let app = axum::Router::new().route("/api/hello", get(|| async { "hello" })).merge(ws.router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! // `ConnectInfo` gives sessions the client's address; the graceful shutdown
//! // drains the sessions when the signal comes, then lets axum stop.
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
//!     .with_graceful_shutdown(ws.graceful_shutdown(wsboot::shutdown_signal()))
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! Everything wsboot does on its own listener holds here: the handshake
//! checks and their statuses, origins, subprotocols, interceptors,
//! permessage-deflate, limits, liveness, back-pressure, the hub and its
//! broker, metrics, and the drain. What axum adds:
//!
//! - Interceptors see the request's extensions
//!   ([`HandshakeRequest::extensions`](crate::HandshakeRequest::extensions)):
//!   an authentication middleware that inserts a [`Principal`](crate::Principal)
//!   makes it the session's principal.
//! - `axum::serve` upgrades HTTP/1.1 and, over HTTP/2 (h2c, or TLS with ALPN
//!   in front), opens WebSockets by extended CONNECT (RFC 8441): several
//!   sessions share one connection.
//! - Under [`nest`](axum::Router::nest), routes are matched below the prefix.
//! - The client's address comes from axum's `ConnectInfo<SocketAddr>`; without
//!   it, sessions see `0.0.0.0:0`.
//! - Set `TCP_NODELAY` on accepted sockets (axum's `ListenerExt::tap_io`), as
//!   wsboot's own listener does: small messages then leave at once.
//! - `max_connections` limits the WebSocket sessions (handshaking ones
//!   included); the app's other requests are its own to limit.
//! - `management.addr` is a port of wsboot's own, served by
//!   [`WsRoutes::graceful_shutdown`]'s future.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::routing::any;

use crate::server::Shared;
use crate::{AppContext, Error, Hub, RouteListing, Server, ServerBuilder, ServerConfig, ShutdownHandle};

/// The address sessions see when the app is served without `ConnectInfo`.
const UNKNOWN_REMOTE: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

/// A wsboot server started without a listener of its own: its hub, broker,
/// plugins and background tasks run, and [`router`](Self::router) serves its
/// routes inside an axum app.
#[derive(Debug)]
pub struct WsRoutes {
    server: Server,
}

impl WsRoutes {
    /// Assembles and starts what `builder` describes (its settings, including
    /// the configuration sources, are applied as
    /// [`ServerBuilder::listen`] does; `addr` and `tls` are the app's business
    /// and are not used). With [`management_addr`](ServerConfig::management_addr)
    /// set, it binds that listener too: [`graceful_shutdown`](Self::graceful_shutdown)'s
    /// future, which axum polls from the start, serves it until the drain is
    /// over. Fails as [`ServerBuilder::bind`] does for an invalid setting or
    /// registry, or an address that cannot be bound.
    pub async fn start(builder: ServerBuilder) -> Result<WsRoutes, Error> {
        Ok(WsRoutes { server: builder.hosted().await? })
    }

    /// The address of the management listener (health, readiness and metrics
    /// only), if [`management_addr`](ServerConfig::management_addr) is set.
    pub fn management_addr(&self) -> Option<SocketAddr> {
        self.server.management_addr()
    }

    /// The routes, for [`Router::merge`] or [`Router::nest`]: each handler's
    /// path (any method: an HTTP/1.1 upgrade is a `GET`, an HTTP/2 one a
    /// `CONNECT`), each [page](crate::Page), and the health, readiness and
    /// metrics paths that are enabled. Works under any state type, so it merges
    /// into a router that calls `with_state` before or after. A path the app
    /// routes too makes axum panic at `merge`, naming it: no route vanishes.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let shared = self.server.shared().clone();
        let mut router = Router::new();
        for path in paths(&shared) {
            let shared = shared.clone();
            let handler = move |request: Request| {
                let shared = shared.clone();
                let remote =
                    request.extensions().get::<ConnectInfo<SocketAddr>>().map_or(UNKNOWN_REMOTE, |info| info.0);
                async move { crate::hosted::serve_request(request, remote, shared).await }
            };
            router = router.route(&path, any(handler));
        }
        router
    }

    /// A future for axum's `with_graceful_shutdown`: it serves the management
    /// listener, if there is one, and waits for `signal`
    /// (or a [`ShutdownHandle`]), then drains the sessions as
    /// [`Server::serve_with_shutdown`] describes (readiness and new upgrades
    /// answer `503` through the app meanwhile; each session gets its close
    /// frame after everything it queued), stops the background tasks, the
    /// broker and the plugins, and completes: axum then stops accepting and
    /// finishes its other requests.
    // Not an `async fn`: the signature promises `Send + 'static`, which axum's
    // `with_graceful_shutdown` requires and an `async fn` would only imply.
    #[allow(clippy::manual_async_fn)]
    pub fn graceful_shutdown(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        async move {
            if let Err(e) = self.server.serve_with_shutdown(signal).await {
                tracing::error!("shutting down: {e}");
            }
        }
    }

    /// A handle that starts the graceful shutdown from any task.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.server.shutdown_handle()
    }

    /// The hub: every open session, topics, publishing from any task (an
    /// axum handler can publish to sessions with it).
    pub fn hub(&self) -> &Hub {
        self.server.hub()
    }

    /// The application context: the beans and the hub.
    pub fn context(&self) -> &AppContext {
        self.server.context()
    }

    /// The settings in force.
    pub fn config(&self) -> &ServerConfig {
        self.server.config()
    }

    /// Every route with its handler, options and what plugins did to it.
    pub fn route_listing(&self) -> &RouteListing {
        self.server.route_listing()
    }
}

/// Every path wsboot answers, once each (a page may share its path with a
/// handler: the upgrade goes to the handler, a plain `GET` to the page).
fn paths(shared: &Arc<Shared>) -> std::collections::BTreeSet<String> {
    let config = &shared.config;
    let mut paths: std::collections::BTreeSet<String> = shared.router.routes().map(|r| r.path.to_string()).collect();
    paths.extend(shared.pages.paths().into_iter().map(str::to_owned));
    if config.health_enabled {
        paths.insert(config.health_path.clone());
    }
    if config.ready_enabled {
        paths.insert(config.ready_path.clone());
    }
    if shared.metrics.is_some() {
        paths.insert(config.metrics_path.clone());
    }
    paths
}
