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
//! and the session loop over tokio and tungstenite's frame codec.
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

mod app;
mod config;
mod connection;
mod extensions;
mod http;
mod origin;
mod protocol;
mod routing;
mod server;
mod shutdown;
mod upgrade;

pub use app::{AppOptions, run};
pub use config::ServerConfig;
pub use server::{Server, ServerBuilder};
pub use wsboot_core::DeflateConfig;

/// The `http` crate's types used in the API (status codes, headers, URIs).
pub use ::http as http_types;
pub use wsboot_core::{
    Attributes, BoxError, Broker, Bytes, CloseStatus, EncodedFrame, Error, ErrorKind, HandlerFactory, HandlerOptions,
    HandlerRegistration, HandlerRegistry, HandlerResult, HandshakeInterceptor, HandshakeRequest, Hub, HubStats,
    LocalBroker, Message, MessageKind, Offered, OverflowPolicy, PathParams, Principal, QueueLimits, RegistrationSource,
    Rejection, RemoteDelivery, RoutePattern, Session, SessionId, Utf8Bytes, WebSocketHandler,
};

#[cfg(feature = "macros")]
pub use wsboot_macros::ws_handler;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
