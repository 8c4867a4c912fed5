//! The handler API of [wsboot](https://docs.rs/wsboot): what a WebSocket endpoint
//! and a plugin are made of. Applications depend on the `wsboot` crate, which
//! re-exports everything here; plugin crates may depend on this crate alone.
//!
//! The names follow Spring's WebSocket API: [`WebSocketHandler`], [`Session`]
//! (`WebSocketSession`), [`Message`], [`CloseStatus`], [`HandshakeInterceptor`],
//! [`HandlerRegistry`]. No tokio or tungstenite type appears in this API.
//!
//! ```
//! use wsboot_core::{HandlerRegistry, HandlerResult, Session, Utf8Bytes, WebSocketHandler};
//!
//! /// Echoes every text message; binary messages are refused with 1003.
//! struct Echo;
//!
//! impl WebSocketHandler for Echo {
//!     async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
//!         session.send(text).await?;
//!         Ok(())
//!     }
//! }
//!
//! let mut registry = HandlerRegistry::new();
//! registry.add_handler("/echo", Echo);
//! registry.validate().unwrap();
//! ```

// Every module is private: each public item has one path, at the crate root.
mod attributes;
mod broker;
mod close_status;
mod decorator;
mod deflate;
mod error;
mod future;
mod handler;
mod handshake;
mod hub;
mod location;
mod message;
mod outbound;
mod page;
mod plugin;
mod registry;
mod route;
mod session;
#[cfg(test)]
mod test_support;
mod transport;

#[doc(hidden)]
#[path = "runtime_api.rs"]
pub mod __runtime;

pub use attributes::{Attributes, Principal};
pub use broker::{Broker, LocalBroker, RemoteDelivery, SharedBroker};
pub use bytes::Bytes;
pub use close_status::CloseStatus;
pub use decorator::{
    ErasedDecorator, ExceptionHandlerDecorator, HandlerDecorator, LoggingHandlerDecorator, Next, SharedDecorator,
    decorate, decorate_shared, shared_decorator,
};
pub use deflate::DeflateConfig;
pub use error::{BoxError, Error, ErrorKind, HandlerResult};
pub use future::BoxFuture;
pub use handler::{ErasedHandler, SharedHandler, WebSocketHandler, shared_handler};
pub use handshake::{
    ErasedInterceptor, HandshakeInterceptor, HandshakeRequest, PathParams, Rejection, SharedInterceptor,
};
pub use hub::{Hub, HubStats};
pub use location::SourceLocation;
pub use message::{Message, MessageKind, Utf8Bytes};
pub use outbound::{OverflowPolicy, QueueLimits};
pub use page::{Page, PageBody};
pub use plugin::{
    AdHocPlugin, ErasedPlugin, RegistryPlugin, ServerInfo, SharedPlugin, annotated_plugins, shared_plugin,
};
pub use registry::{
    HandlerFactory, HandlerOptions, HandlerRegistration, HandlerRegistry, PluginAction, PluginMark, RegistrationSource,
};
pub use route::{RoutePattern, RoutePatternError};
pub use session::{Session, SessionId};
