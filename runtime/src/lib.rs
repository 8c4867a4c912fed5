//! # wsboot
//!
//! WebSocket servers the way Spring makes them: a handler type overrides the
//! callbacks it needs, one attribute puts it at a path, and [`run`] serves it.
//!
//! ```no_run
//! use wsboot::{ws_handler, CloseStatus, HandlerResult, Session, Utf8Bytes, WebSocketHandler};
//!
//! #[derive(Default)]
//! #[ws_handler("/myHandler")]
//! struct MyHandler;
//!
//! impl WebSocketHandler for MyHandler {
//!     async fn after_connection_established(&self, session: &Session) -> HandlerResult {
//!         tracing::info!("connection established: {}", session.id());
//!         Ok(())
//!     }
//!
//!     async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
//!         tracing::info!("payload: {text}");
//!         session.send(text).await?; // echo it back
//!         Ok(())
//!     }
//!
//!     async fn after_connection_closed(&self, session: &Session, status: &CloseStatus) {
//!         tracing::info!("closed: {} {status}", session.id());
//!     }
//! }
//!
//! fn main() {
//!     wsboot::run(); // --addr HOST:PORT, default 127.0.0.1:8080
//! }
//! ```
//!
//! This is the one crate an application depends on: it re-exports the handler API
//! of `wsboot-core` and the `#[ws_handler]` macro (feature `macros`, on by
//! default), and adds the runtime: HTTP/1.1 in front of the upgrade, routing,
//! and the session loop over tokio and tungstenite's frame codec. The tokio
//! pieces an application needs come with it: [`macro@main`] for `async fn main`,
//! [`macro@test`] for async tests, [`spawn`] for background tasks.
//!
//! Two ways to serve: wsboot's own listener ([`run`], [`Server`]), or inside an
//! axum app, beside its routes and under its middleware (feature `axum`,
//! `wsboot::axum::WsRoutes`). With feature `http2` (which `axum` implies),
//! WebSockets also open over HTTP/2 (RFC 8441's extended CONNECT), several
//! sessions sharing one connection: h2c, and `h2` by ALPN with TLS.
//!
//! For production: settings from a TOML file and `WSBOOT_*` variables
//! ([`ConfigSources`]), `wss://` (feature `tls`, [`TlsConfig`]), Prometheus
//! [`metrics`], health and readiness checks on the same listener (or a
//! management port of their own), and graceful shutdown that drains sessions
//! in batches ([`Server::serve_with_shutdown`], [`ShutdownHandle`]). For tests: `wsboot::test` (feature `test-util`),
//! a server on port 0 or in memory with a client that sees every frame.
//!
//! Handlers can also be registered in code, and a server built with exactly the
//! handlers you choose (no link-time collection), which is how tests run an
//! isolated server:
//!
//! ```
//! use wsboot::{HandlerRegistry, HandlerResult, Server, Session, Utf8Bytes, WebSocketHandler};
//!
//! struct Upper;
//!
//! impl WebSocketHandler for Upper {
//!     async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
//!         Ok(session.send(text.to_uppercase()).await?)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), wsboot::Error> {
//! let mut registry = HandlerRegistry::new();
//! registry.add_handler("/upper", Upper).max_message_size(64 * 1024);
//! let server = Server::builder().registry(registry).bind("127.0.0.1:0").await?;
//! let addr = server.local_addr();
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let serving = tokio::spawn(server.serve_with_shutdown(async { let _ = stopped.await; }));
//! // ... connect clients to ws://{addr}/upper ...
//! # let _ = addr;
//! stop.send(()).unwrap();
//! serving.await.unwrap()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Writing a plugin
//!
//! A [`RegistryPlugin`] extends a server from outside its handlers, as Spring's
//! `WebSocketConfigurer` and decorator factories do: `configure` changes the
//! [`HandlerRegistry`] (add, remove or move handlers; add interceptors, origins,
//! limits), `decorate` wraps each handler in a [`HandlerDecorator`], and
//! `on_start` / `on_shutdown` take part in the server's life. Every hook but
//! `name` defaults to doing nothing. A plugin crate may depend on
//! `wsboot-core` alone; register the plugin with `#[ws_plugin]` (at link time)
//! or [`ServerBuilder::plugin`]. Plugins run in a fixed order (annotated ones
//! by `order`, then builder ones in call order; see [`RegistryPlugin`]), and
//! `--print-routes` (or [`ServerBuilder::routes`]) shows what each did.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! use futures_util::{SinkExt, StreamExt};
//! use wsboot::{
//!     BoxError, HandlerDecorator, HandlerRegistry, HandlerResult, HandshakeInterceptor, HandshakeRequest, Message,
//!     Next, Principal, RegistryPlugin, Rejection, Server, ServerInfo, Session, SharedHandler, WebSocketHandler,
//!     decorate,
//! };
//!
//! /// Admits `?user=NAME` handshakes as NAME, and counts every message.
//! #[derive(Default)]
//! struct Audit {
//!     messages: Arc<AtomicU64>,
//! }
//!
//! struct RequireUser;
//!
//! impl HandshakeInterceptor for RequireUser {
//!     async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
//!         let user = request.query_param("user").ok_or_else(Rejection::unauthorized)?;
//!         request.set_principal(Principal::new(user));
//!         Ok(())
//!     }
//! }
//!
//! struct Count(Arc<AtomicU64>);
//!
//! impl HandlerDecorator for Count {
//!     async fn handle_message(&self, session: &Session, message: Message, next: &Next) -> HandlerResult {
//!         self.0.fetch_add(1, Ordering::Relaxed);
//!         next.handle_message(session, message).await
//!     }
//! }
//!
//! impl RegistryPlugin for Audit {
//!     fn name(&self) -> &str {
//!         "audit"
//!     }
//!
//!     fn configure(&self, registry: &mut HandlerRegistry) -> Result<(), BoxError> {
//!         for registration in registry.iter_mut() {
//!             registration.interceptor(RequireUser);
//!         }
//!         Ok(())
//!     }
//!
//!     fn decorate(&self, _path: &str, handler: SharedHandler) -> SharedHandler {
//!         decorate(handler, Count(self.messages.clone()))
//!     }
//!
//!     async fn on_start(&self, server: &ServerInfo) -> Result<(), BoxError> {
//!         println!("auditing {:?} on {}", server.routes, server.local_addr);
//!         Ok(())
//!     }
//! }
//!
//! /// Greets the user the interceptor admitted, and echoes.
//! struct Hello;
//!
//! impl WebSocketHandler for Hello {
//!     async fn after_connection_established(&self, session: &Session) -> HandlerResult {
//!         let user = session.principal().ok_or("no user")?.name().to_owned();
//!         Ok(session.send(format!("hello {user}")).await?)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let audit = Audit::default();
//! let messages = audit.messages.clone();
//! let mut registry = HandlerRegistry::new();
//! registry.add_handler("/hello", Hello);
//! let server = Server::builder().registry(registry).plugin(audit).bind("127.0.0.1:0").await?;
//! let listing = server.route_listing().to_string();
//! assert!(listing.contains("audit: added interceptor") && listing.contains("audit: decorated it"));
//!
//! let url = format!("ws://{}/hello?user=ada", server.local_addr());
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let serving = tokio::spawn(server.serve_with_shutdown(async { let _ = stopped.await; }));
//! let (mut client, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
//! assert_eq!(client.next().await.unwrap()?.into_text()?.as_str(), "hello ada");
//! client.send("one message".into()).await?;
//! client.close(None).await?;
//! while client.next().await.is_some() {}
//! stop.send(()).unwrap();
//! serving.await??;
//! assert_eq!(messages.load(Ordering::Relaxed), 1);
//! # Ok(())
//! # }
//! ```
//!
//! # How a server is built
//!
//! The handler API lives in `wsboot-core` (re-exported here by the same names);
//! this crate adds the runtime. A [`Server`] binds, accepts each TCP connection
//! and gives it one task, which runs the connection from its first byte to its
//! last:
//!
//! 1. **Handshake**: the HTTP request head is read within the handshake time
//!    limit, answered directly when it asks for `/metrics`, `/healthz`,
//!    `/readyz` or a [`Page`], otherwise routed, checked (upgrade headers, origin,
//!    subprotocol, permessage-deflate) and passed through the
//!    [`HandshakeInterceptor`]s. The outcome is either a response or an
//!    accepted upgrade, answered with `101 Switching Protocols`.
//! 2. **Session**: the session driver registers the [`Session`] with the
//!    [`Hub`], then reads frames and makes one handler call per message, in
//!    order, under one exception guard (an error or a panic closes with 1011),
//!    while one writer path writes what the session queued, many frames per
//!    system call, also while a handler call is in flight.
//! 3. **Close**: after the closing handshake the session leaves the hub and
//!    `after_connection_closed` runs once.
//!
//! A message a handler sends waits in its session's bounded queue until the
//! driver writes it; [`Hub::publish`] queues one shared copy for every
//! subscriber on this node and hands it to the [`Broker`] for the others. The
//! README's "Architecture" section maps each step to its module.

mod app;
#[cfg(feature = "axum")]
pub mod axum;
mod background;
mod config;
mod connection;
mod deadline;
mod discovery;
mod endpoints;
mod extensions;
mod handshake;
#[cfg(feature = "http2")]
mod hosted;
mod http1;
#[cfg(feature = "http2")]
mod http2;
mod io;
mod liveness;
mod management;
pub mod metrics;
mod origin;
mod pages;
mod plugins;
mod protocol;
mod read_buffer;
mod request;
mod routes;
mod routing;
mod server;
mod session;
mod settings;
mod shutdown;
#[cfg(feature = "test-util")]
pub mod test;
/// STOMP messaging over wsboot's WebSockets (feature `stomp`): the
/// [`wsboot-stomp`](https://docs.rs/wsboot-stomp) crate.
#[cfg(feature = "stomp")]
pub use wsboot_stomp as stomp;
mod timer_wheel;
mod tls;
mod wiring;

pub use app::{
    App, AppArgs, AppOption, AppOptions, CommandLineError, CommandLineErrorKind, init_logging, run, serve,
    shutdown_signal,
};
pub use config::{HandlerSettings, ServerConfig};
pub use routes::{PageInfo, PluginInfo, RouteInfo, RouteListing};
pub use server::{Server, ServerBuilder};
pub use settings::{ConfigSources, HistorySettings};
pub use shutdown::ShutdownHandle;
pub use tls::TlsConfig;

/// The `http` crate's types used in the API (status codes, headers, URIs).
pub use ::http;
/// The former name of [`http`](mod@http).
#[doc(hidden)]
pub use ::http as http_types;
/// Runs a future on the server's runtime as a task of its own (tokio's
/// `spawn`): push from a background task, or run a test's second client.
pub use tokio::spawn;
/// Timers (tokio's `time`: `sleep`, `interval`, `timeout`), on the runtime the
/// server runs on: a background task's ticker needs no tokio dependency.
pub use tokio::time;
// The handler API, from wsboot-core: everything public there, by the same names.
pub use wsboot_core::{
    AdHocPlugin, Attributes, BoxError, BoxFuture, Broker, Bytes, CloseStatus, ConfigProblem, DeflateConfig,
    DeliveryRewrite, ErasedDecorator, ErasedHandler, ErasedInterceptor, ErasedPlugin, Error, ErrorKind,
    HandlerDecorator, HandlerFactory, HandlerOptions, HandlerRegistration, HandlerRegistry, HandlerResult,
    HandshakeInterceptor, HandshakeRequest, Hub, HubStats, LocalBroker, LoggingHandlerDecorator, Message, MessageKind,
    Next, OverflowPolicy, Page, PageBody, PathParams, PluginAction, PluginMark, Principal, QueueLimits,
    RegistrationSource, RegistryPlugin, Rejection, RemoteDelivery, RoutePattern, RoutePatternError, ServerInfo,
    Session, SessionId, SharedBroker, SharedDecorator, SharedHandler, SharedInterceptor, SharedPlugin, SourceLocation,
    Utf8Bytes, WebSocketHandler, annotated_plugins, decorate, decorate_shared, shared_decorator, shared_handler,
    shared_plugin,
};
pub use wsboot_core::{AppContext, Background, Beans, ContextFactory, FromContext};
pub use wsboot_core::{
    HistoryLimits, HistorySlice, MAX_PRESENCE_INFO, Member, MemoryHistory, Position, PositionParseError, Presence,
    PresenceChange, PresenceEvent, Published, Recorded, Resuming, Stamp, TopicHistory, Tracked,
};

#[cfg(feature = "macros")]
pub use wsboot_macros::bean;
#[cfg(feature = "macros")]
pub use wsboot_macros::ws_handler;
#[cfg(feature = "macros")]
pub use wsboot_macros::ws_plugin;
// `test` is also the test kit's module: the attribute lives in the macro
// namespace, the module in the type namespace, so `#[wsboot::test]` and
// `wsboot::test::TestServer` are both what they say.
#[cfg(feature = "macros")]
pub use wsboot_macros::{main, test};

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
#[path = "fuzz.rs"]
pub mod __fuzz;

#[cfg(any(test, feature = "benchmarking"))]
#[doc(hidden)]
#[path = "bench.rs"]
pub mod __bench;
