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

pub mod attributes;
pub mod broker;
pub mod close_status;
pub mod decorator;
pub mod deflate;
pub mod error;
pub mod frame;
pub mod handler;
pub mod handshake;
pub mod hub;
pub mod message;
mod outbound;
pub mod page;
pub mod plugin;
pub mod registry;
pub mod route;
pub mod session;
pub mod transport;

pub use attributes::{Attributes, Principal};
pub use broker::{Broker, LocalBroker, RemoteDelivery, SharedBroker};
pub use bytes::Bytes;
pub use close_status::CloseStatus;
pub use decorator::{HandlerDecorator, LoggingHandlerDecorator, Next, SharedDecorator, decorate, decorate_shared};
pub use deflate::DeflateConfig;
pub use error::{BoxError, Error, ErrorKind, HandlerResult};
pub use frame::EncodedFrame;
pub use handler::{SharedHandler, WebSocketHandler};
pub use handshake::{HandshakeInterceptor, HandshakeRequest, PathParams, Rejection};
pub use hub::{Hub, HubStats};
pub use message::{Message, MessageKind, Utf8Bytes};
pub use outbound::{Offered, Outgoing, OverflowPolicy, QueueLimits};
pub use page::{Page, PageBody};
pub use plugin::{AdHocPlugin, PluginSource, RegistryPlugin, ServerInfo, SharedPlugin};
pub use registry::{
    HandlerFactory, HandlerOptions, HandlerRegistration, HandlerRegistry, PluginAction, PluginMark, RegistrationSource,
    SourceLocation,
};
pub use route::{RoutePattern, RoutePatternError};
pub use session::{MessageLimits, Session, SessionConfig, SessionId};
pub use transport::Transport;
