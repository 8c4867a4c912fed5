//! The handler API of [wsboot](https://docs.rs/wsboot): what a WebSocket endpoint
//! and a plugin are made of. Applications depend on the `wsboot` crate, which
//! re-exports everything here; plugin crates may depend on this crate alone.
//!
//! The names follow Spring's WebSocket API: [`WebSocketHandler`], [`Session`]
//! (`WebSocketSession`), [`Message`], [`CloseStatus`], [`HandshakeInterceptor`],
//! [`HandlerRegistry`]. No async runtime and no protocol library appears in
//! this crate, nor in its dependencies: sockets, frames and tasks are the
//! runtime's business.
//!
//! # Map
//!
//! Every public item is at the crate root, in these groups:
//!
//! - **Handlers**: [`WebSocketHandler`] (the callbacks), [`Session`] (one
//!   connection: send, close, attributes, principal), [`Message`],
//!   [`CloseStatus`], [`Error`] and [`HandlerResult`].
//! - **Handshake**: [`HandshakeInterceptor`] sees a [`HandshakeRequest`] and may
//!   refuse it with a [`Rejection`] or set [`Attributes`] and a [`Principal`].
//! - **Broadcasting**: [`Hub`] (every session of a server, topics, per-user
//!   sends) and the [`Broker`] trait that carries topics between nodes
//!   ([`LocalBroker`] for one node); [`OverflowPolicy`] and [`QueueLimits`] bound
//!   what a slow client costs.
//! - **Continuity**: a [`TopicHistory`] keeps a topic's publications, each at a
//!   [`Position`], so that [`Session::subscribe_from`] can replay what a
//!   returning client missed ([`Resuming`]) and [`Hub::publish_idempotent`]
//!   never publishes a resend twice; brokers keep it ([`MemoryHistory`] in
//!   process).
//! - **Presence**: [`Session::track_presence`] makes a session a [`Member`] of
//!   a topic with a [`Presence`] (its info, unique or not);
//!   [`Hub::presence`] lists the cluster's members and [`Hub::on_presence`]
//!   observes every [`PresenceEvent`].
//! - **Registration**: [`HandlerRegistry`] holds a [`HandlerRegistration`] per
//!   path with its [`HandlerOptions`]; [`Page`]s serve plain HTTP beside them.
//! - **Wiring**: [`AppContext`] holds the values an application registers
//!   once ([`Beans`]), injected into factories by parameter type
//!   ([`FromContext`]); [`Background`] runs tasks that live as long as the
//!   server.
//! - **Extension**: [`RegistryPlugin`] (configure, decorate, start, shut down),
//!   [`HandlerDecorator`] and [`decorate`], [`AdHocPlugin`] for one hook;
//!   what each plugin did is recorded as [`PluginMark`]s.
//!
//! A session's life: the runtime accepts the upgrade (after the interceptors),
//! creates the [`Session`] and registers it with the [`Hub`]; every frame it
//! reads becomes one handler call, in order; what the handler (or any task
//! holding a clone of the session) sends waits in the session's bounded queue
//! until the runtime writes it; a [`Hub::publish`] queues one shared copy for
//! every subscriber on this node and hands it to the broker for the others.
//!
//! The one hidden module, `__runtime`, is what the runtime needs to create and
//! drain sessions and run the hub; it is not public API.
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
mod background;
mod broker;
mod close_status;
mod context;
mod decorator;
mod deflate;
mod error;
mod future;
mod handler;
mod handshake;
mod history;
mod hub;
mod location;
mod message;
mod outbound;
mod packed_request;
mod page;
mod plugin;
mod presence;
mod problem;
mod providers;
mod registry;
mod route;
mod rules;
mod session;
#[cfg(test)]
mod test_support;
mod transport;

#[doc(hidden)]
#[path = "runtime_api.rs"]
pub mod __runtime;

pub use attributes::{Attributes, Principal};
pub use background::Background;
pub use broker::{Broker, LocalBroker, RemoteDelivery, SharedBroker};
pub use bytes::Bytes;
pub use close_status::CloseStatus;
pub use context::{AppContext, Beans, FromContext};
pub use decorator::{
    ErasedDecorator, HandlerDecorator, LoggingHandlerDecorator, Next, SharedDecorator, decorate, decorate_shared,
    shared_decorator,
};
pub use deflate::DeflateConfig;
pub use error::{BoxError, Error, ErrorKind, HandlerResult};
pub use future::BoxFuture;
pub use handler::{ErasedHandler, SharedHandler, WebSocketHandler, shared_handler};
pub use handshake::{
    ErasedInterceptor, HandshakeInterceptor, HandshakeRequest, PathParams, Rejection, SharedInterceptor,
};
pub use history::{
    HistoryLimits, HistorySlice, MemoryHistory, Position, PositionParseError, Recorded, Stamp, TopicHistory,
};
pub use hub::{Hub, HubStats, Published, Resuming};
pub use location::SourceLocation;
pub use message::{Message, MessageKind, Utf8Bytes};
pub use outbound::{OverflowPolicy, QueueLimits};
pub use page::{Page, PageBody};
pub use plugin::{
    AdHocPlugin, ErasedPlugin, RegistryPlugin, ServerInfo, SharedPlugin, annotated_plugins, shared_plugin,
};
pub use presence::{MAX_PRESENCE_INFO, Member, Presence, PresenceChange, PresenceEvent, Tracked};
pub use problem::ConfigProblem;
pub use registry::{
    ContextFactory, HandlerFactory, HandlerOptions, HandlerRegistration, HandlerRegistry, PluginAction, PluginMark,
    RegistrationSource,
};
pub use route::{RoutePattern, RoutePatternError};
pub use session::{DeliveryRewrite, Session, SessionId};
