//! Handler decorators (Spring's `WebSocketHandlerDecorator`): wrappers that see
//! every callback of a handler before it does, and the built-in one.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::close_status::CloseStatus;
use crate::error::{Error, HandlerResult};
use crate::future::BoxFuture;
use crate::handler::{ErasedHandler, SharedHandler};
use crate::message::Message;
use crate::session::Session;

/// Wraps a handler: sees each callback first and decides whether, when and how
/// to pass it on to [`Next`] (Spring's `WebSocketHandlerDecorator`). Every
/// method defaults to passing the event on unchanged, so a decorator overrides
/// only what it needs; write the overrides as `async fn`.
///
/// Returning `Err` from a callback has the same effect as the handler returning
/// it: [`WebSocketHandler::handle_transport_error`](crate::WebSocketHandler::handle_transport_error)
/// runs and the session closes with 1011.
///
/// The same decorator value wraps many handlers (every session of a
/// per-connection handler gets a freshly wrapped instance), so per-session state
/// goes in a map keyed by [`Session::id`], or in the session's attributes.
///
/// A decorator implements [`HandlerDecorator`], overriding the callbacks it
/// cares about; each receives [`Next`], the handler it wraps, and passes the
/// event on by calling it (or does not, to swallow it). [`decorate`] wraps a
/// [`SharedHandler`]; decorators compose like tower's layers, each wrapping the
/// result of the previous one, so the last applied sees an event first.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// use wsboot_core::{HandlerDecorator, Next, decorate, shared_handler};
/// use wsboot_core::{HandlerResult, Message, Session, WebSocketHandler};
///
/// /// Counts the messages a handler receives.
/// #[derive(Default)]
/// struct CountMessages(AtomicU64);
///
/// impl HandlerDecorator for CountMessages {
///     async fn handle_message(&self, session: &Session, message: Message, next: &Next) -> HandlerResult {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         next.handle_message(session, message).await
///     }
/// }
///
/// struct Chat;
/// impl WebSocketHandler for Chat {}
///
/// let counted = decorate(shared_handler(Chat), CountMessages::default());
/// assert!(counted.type_name().ends_with("Chat"), "logs keep naming the handler");
/// ```
///
/// # The built-in decorator
///
/// Every handler a server runs is wrapped in [`LoggingHandlerDecorator`]
/// (lifecycle events and message sizes, through `tracing`), as Spring wraps every
/// handler in its `LoggingWebSocketHandlerDecorator`; the server applies it
/// outermost (`ServerBuilder::builtin_decorators(false)` turns it off).
/// Spring's other default, `ExceptionWebSocketHandlerDecorator`, has no
/// counterpart here: the server's session loop runs every callback, with or
/// without decorators, under that guard (a callback's error or panic is
/// logged, reported to `handle_transport_error`, and closes the session with
/// 1011).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a handler decorator",
    label = "`{Self}` does not implement `wsboot::HandlerDecorator`",
    note = "add `impl wsboot::HandlerDecorator for {Self} {{}}` and override the callbacks it wraps"
)]
pub trait HandlerDecorator: Send + Sync + 'static {
    /// The connection is open; `next` is the wrapped handler.
    fn after_connection_established(
        &self,
        session: &Session,
        next: &Next,
    ) -> impl Future<Output = HandlerResult> + Send {
        async move { next.after_connection_established(session).await }
    }

    /// A complete message (text, binary or pong) arrived.
    fn handle_message(
        &self,
        session: &Session,
        message: Message,
        next: &Next,
    ) -> impl Future<Output = HandlerResult> + Send {
        async move { next.handle_message(session, message).await }
    }

    /// A fragment arrived, for handlers that take partial messages.
    fn handle_partial_message(
        &self,
        session: &Session,
        fragment: Message,
        is_last: bool,
        next: &Next,
    ) -> impl Future<Output = HandlerResult> + Send {
        async move { next.handle_partial_message(session, fragment, is_last).await }
    }

    /// A callback or the transport failed; the session is about to close.
    fn handle_transport_error(&self, session: &Session, error: &Error, next: &Next) -> impl Future<Output = ()> + Send {
        async move { next.handle_transport_error(session, error).await }
    }

    /// The connection closed with `status`.
    fn after_connection_closed(
        &self,
        session: &Session,
        status: &CloseStatus,
        next: &Next,
    ) -> impl Future<Output = ()> + Send {
        async move { next.after_connection_closed(session, status).await }
    }

    /// A name for route listings and logs.
    fn name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}

/// The handler a decorator wraps: the decorated handler itself, or the next
/// decorator around it. Calling a method passes the event on.
#[derive(Clone)]
pub struct Next {
    handler: SharedHandler,
}

impl Next {
    /// The next step is `handler`.
    pub fn new(handler: SharedHandler) -> Self {
        Next { handler }
    }

    /// Passes on `after_connection_established`.
    pub fn after_connection_established<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, HandlerResult> {
        self.handler.after_connection_established(session)
    }

    /// Passes on a complete message.
    pub fn handle_message<'a>(&'a self, session: &'a Session, message: Message) -> BoxFuture<'a, HandlerResult> {
        self.handler.handle_message(session, message)
    }

    /// Passes on a fragment.
    pub fn handle_partial_message<'a>(
        &'a self,
        session: &'a Session,
        fragment: Message,
        is_last: bool,
    ) -> BoxFuture<'a, HandlerResult> {
        self.handler.handle_partial_message(session, fragment, is_last)
    }

    /// Passes on a transport error.
    pub fn handle_transport_error<'a>(&'a self, session: &'a Session, error: &'a Error) -> BoxFuture<'a, ()> {
        self.handler.handle_transport_error(session, error)
    }

    /// Passes on the close.
    pub fn after_connection_closed<'a>(&'a self, session: &'a Session, status: &'a CloseStatus) -> BoxFuture<'a, ()> {
        self.handler.after_connection_closed(session, status)
    }

    /// Whether the wrapped handler takes partial messages.
    pub fn supports_partial_messages(&self) -> bool {
        self.handler.supports_partial_messages()
    }

    /// The type name of the handler at the end of the chain (not a decorator's).
    pub fn handler_type_name(&self) -> &'static str {
        self.handler.type_name()
    }
}

impl fmt::Debug for Next {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Next").field(&self.handler.type_name()).finish()
    }
}

/// The object-safe form of [`HandlerDecorator`], implemented for every
/// decorator; registrations keep decorators as [`SharedDecorator`]s.
#[doc(hidden)]
pub trait ErasedDecorator: Send + Sync + 'static {
    fn after_connection_established<'a>(&'a self, session: &'a Session, next: &'a Next)
    -> BoxFuture<'a, HandlerResult>;
    fn handle_message<'a>(
        &'a self,
        session: &'a Session,
        message: Message,
        next: &'a Next,
    ) -> BoxFuture<'a, HandlerResult>;
    fn handle_partial_message<'a>(
        &'a self,
        session: &'a Session,
        fragment: Message,
        is_last: bool,
        next: &'a Next,
    ) -> BoxFuture<'a, HandlerResult>;
    fn handle_transport_error<'a>(
        &'a self,
        session: &'a Session,
        error: &'a Error,
        next: &'a Next,
    ) -> BoxFuture<'a, ()>;
    fn after_connection_closed<'a>(
        &'a self,
        session: &'a Session,
        status: &'a CloseStatus,
        next: &'a Next,
    ) -> BoxFuture<'a, ()>;
    fn name(&self) -> &'static str;
}

impl<D: HandlerDecorator> ErasedDecorator for D {
    fn after_connection_established<'a>(
        &'a self,
        session: &'a Session,
        next: &'a Next,
    ) -> BoxFuture<'a, HandlerResult> {
        Box::pin(HandlerDecorator::after_connection_established(self, session, next))
    }
    fn handle_message<'a>(
        &'a self,
        session: &'a Session,
        message: Message,
        next: &'a Next,
    ) -> BoxFuture<'a, HandlerResult> {
        Box::pin(HandlerDecorator::handle_message(self, session, message, next))
    }
    fn handle_partial_message<'a>(
        &'a self,
        session: &'a Session,
        fragment: Message,
        is_last: bool,
        next: &'a Next,
    ) -> BoxFuture<'a, HandlerResult> {
        Box::pin(HandlerDecorator::handle_partial_message(self, session, fragment, is_last, next))
    }
    fn handle_transport_error<'a>(
        &'a self,
        session: &'a Session,
        error: &'a Error,
        next: &'a Next,
    ) -> BoxFuture<'a, ()> {
        Box::pin(HandlerDecorator::handle_transport_error(self, session, error, next))
    }
    fn after_connection_closed<'a>(
        &'a self,
        session: &'a Session,
        status: &'a CloseStatus,
        next: &'a Next,
    ) -> BoxFuture<'a, ()> {
        Box::pin(HandlerDecorator::after_connection_closed(self, session, status, next))
    }
    fn name(&self) -> &'static str {
        HandlerDecorator::name(self)
    }
}

impl fmt::Debug for dyn ErasedDecorator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A decorator behind an `Arc`, to wrap many handlers with one value.
pub type SharedDecorator = Arc<dyn ErasedDecorator>;

/// Erases a decorator into a [`SharedDecorator`].
pub fn shared_decorator<D: HandlerDecorator>(decorator: D) -> SharedDecorator {
    Arc::new(decorator)
}

/// A handler wrapped in a decorator. It keeps the wrapped handler's type name,
/// so logs and errors name the user's handler, not the decorator.
struct Decorated {
    decorator: SharedDecorator,
    next: Next,
}

impl ErasedHandler for Decorated {
    fn after_connection_established<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, HandlerResult> {
        self.decorator.after_connection_established(session, &self.next)
    }
    fn handle_message<'a>(&'a self, session: &'a Session, message: Message) -> BoxFuture<'a, HandlerResult> {
        self.decorator.handle_message(session, message, &self.next)
    }
    fn handle_partial_message<'a>(
        &'a self,
        session: &'a Session,
        fragment: Message,
        is_last: bool,
    ) -> BoxFuture<'a, HandlerResult> {
        self.decorator.handle_partial_message(session, fragment, is_last, &self.next)
    }
    fn handle_transport_error<'a>(&'a self, session: &'a Session, error: &'a Error) -> BoxFuture<'a, ()> {
        self.decorator.handle_transport_error(session, error, &self.next)
    }
    fn after_connection_closed<'a>(&'a self, session: &'a Session, status: &'a CloseStatus) -> BoxFuture<'a, ()> {
        self.decorator.after_connection_closed(session, status, &self.next)
    }
    fn supports_partial_messages(&self) -> bool {
        self.next.supports_partial_messages()
    }
    fn type_name(&self) -> &'static str {
        self.next.handler_type_name()
    }
}

/// Wraps `handler` in `decorator`.
pub fn decorate<D: HandlerDecorator>(handler: SharedHandler, decorator: D) -> SharedHandler {
    decorate_shared(handler, &shared_decorator(decorator))
}

/// Wraps `handler` in an already shared decorator.
pub fn decorate_shared(handler: SharedHandler, decorator: &SharedDecorator) -> SharedHandler {
    Arc::new(Decorated { decorator: decorator.clone(), next: Next::new(handler) })
}

/// Wraps `handler` in the built-in decorators, as a wsboot server does for every
/// handler unless told not to: [`LoggingHandlerDecorator`].
///
/// The wrapper logs synchronously and passes each callback's future through: it
/// allocates nothing per message, where `decorate(handler, LoggingHandlerDecorator)`
/// boxes a second future per callback.
pub fn with_builtin_decorators(handler: SharedHandler) -> SharedHandler {
    Arc::new(Builtins { next: Next::new(handler) })
}

/// The names of the decorators [`with_builtin_decorators`] applies, outermost
/// first, for route listings.
pub fn builtin_decorator_names() -> &'static [&'static str] {
    &[LOGGING_HANDLER_DECORATOR]
}

const LOGGING_HANDLER_DECORATOR: &str = "LoggingHandlerDecorator";

/// Logs each session's lifecycle at `debug` (established, transport errors,
/// closed with which status) and each message's kind and size at `trace`
/// (Spring's `LoggingWebSocketHandlerDecorator`). On by default; the events
/// have target `wsboot::session`, so `RUST_LOG=wsboot::session=trace` shows them
/// all.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoggingHandlerDecorator;

impl HandlerDecorator for LoggingHandlerDecorator {
    async fn after_connection_established(&self, session: &Session, next: &Next) -> HandlerResult {
        log::established(session);
        next.after_connection_established(session).await
    }

    async fn handle_message(&self, session: &Session, message: Message, next: &Next) -> HandlerResult {
        log::message(session, &message);
        next.handle_message(session, message).await
    }

    async fn handle_partial_message(
        &self,
        session: &Session,
        fragment: Message,
        is_last: bool,
        next: &Next,
    ) -> HandlerResult {
        log::fragment(session, &fragment, is_last);
        next.handle_partial_message(session, fragment, is_last).await
    }

    async fn handle_transport_error(&self, session: &Session, error: &Error, next: &Next) {
        log::transport_error(session, error);
        next.handle_transport_error(session, error).await
    }

    async fn after_connection_closed(&self, session: &Session, status: &CloseStatus, next: &Next) {
        log::closed(session, status);
        next.after_connection_closed(session, status).await
    }

    fn name(&self) -> &'static str {
        LOGGING_HANDLER_DECORATOR
    }
}

/// The events of [`LoggingHandlerDecorator`].
mod log {
    use super::*;

    pub(super) fn established(session: &Session) {
        tracing::debug!(
            target: "wsboot::session",
            session = %session.id(),
            route = session.route(),
            remote = %session.remote_addr(),
            protocol = session.accepted_protocol(),
            principal = session.principal().map(|p| p.name()),
            "session established"
        );
    }

    pub(super) fn message(session: &Session, message: &Message) {
        tracing::trace!(
            target: "wsboot::session",
            session = %session.id(),
            kind = ?message.kind(),
            size = message.len(),
            "message received"
        );
    }

    pub(super) fn fragment(session: &Session, fragment: &Message, is_last: bool) {
        tracing::trace!(
            target: "wsboot::session",
            session = %session.id(),
            kind = ?fragment.kind(),
            size = fragment.len(),
            is_last,
            "fragment received"
        );
    }

    pub(super) fn transport_error(session: &Session, error: &Error) {
        tracing::debug!(target: "wsboot::session", session = %session.id(), kind = ?error.kind(), "transport error: {error}");
    }

    pub(super) fn closed(session: &Session, status: &CloseStatus) {
        tracing::debug!(target: "wsboot::session", session = %session.id(), %status, "session closed");
    }
}

/// The built-in decorators as one wrapper: the events are logged before the
/// inner call, and the inner future is returned as it is, unboxed a second time
/// (see [`with_builtin_decorators`]).
struct Builtins {
    next: Next,
}

impl ErasedHandler for Builtins {
    fn after_connection_established<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, HandlerResult> {
        log::established(session);
        self.next.after_connection_established(session)
    }
    fn handle_message<'a>(&'a self, session: &'a Session, message: Message) -> BoxFuture<'a, HandlerResult> {
        log::message(session, &message);
        self.next.handle_message(session, message)
    }
    fn handle_partial_message<'a>(
        &'a self,
        session: &'a Session,
        fragment: Message,
        is_last: bool,
    ) -> BoxFuture<'a, HandlerResult> {
        log::fragment(session, &fragment, is_last);
        self.next.handle_partial_message(session, fragment, is_last)
    }
    fn handle_transport_error<'a>(&'a self, session: &'a Session, error: &'a Error) -> BoxFuture<'a, ()> {
        log::transport_error(session, error);
        self.next.handle_transport_error(session, error)
    }
    fn after_connection_closed<'a>(&'a self, session: &'a Session, status: &'a CloseStatus) -> BoxFuture<'a, ()> {
        log::closed(session, status);
        self.next.after_connection_closed(session, status)
    }
    fn supports_partial_messages(&self) -> bool {
        self.next.supports_partial_messages()
    }
    fn type_name(&self) -> &'static str {
        self.next.handler_type_name()
    }
}
