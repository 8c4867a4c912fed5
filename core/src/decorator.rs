//! Handler decorators (Spring's `WebSocketHandlerDecorator`): wrappers that see
//! every callback of a handler before it does, and the two that wrap every
//! handler by default.
//!
//! A decorator implements [`HandlerDecorator`], overriding the callbacks it
//! cares about; each receives [`Next`], the handler it wraps, and passes the
//! event on by calling it (or does not, to swallow it). [`decorate`] wraps a
//! [`SharedHandler`]; decorators compose like tower's layers, each wrapping the
//! result of the previous one, so the last applied sees an event first.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! use wsboot_core::{HandlerDecorator, Next, decorate, shared_handler};
//! use wsboot_core::{HandlerResult, Message, Session, WebSocketHandler};
//!
//! /// Counts the messages a handler receives.
//! #[derive(Default)]
//! struct CountMessages(AtomicU64);
//!
//! impl HandlerDecorator for CountMessages {
//!     async fn handle_message(&self, session: &Session, message: Message, next: &Next) -> HandlerResult {
//!         self.0.fetch_add(1, Ordering::Relaxed);
//!         next.handle_message(session, message).await
//!     }
//! }
//!
//! struct Chat;
//! impl WebSocketHandler for Chat {}
//!
//! let counted = decorate(shared_handler(Chat), CountMessages::default());
//! assert!(counted.type_name().ends_with("Chat"), "logs keep naming the handler");
//! ```
//!
//! # The built-in decorators
//!
//! Every handler a server runs is wrapped, outermost first, in
//! [`ExceptionHandlerDecorator`] (a callback's error or panic closes the session
//! with 1011 and is logged) and [`LoggingHandlerDecorator`] (lifecycle events and
//! message sizes, through `tracing`), as Spring wraps every handler in its
//! `ExceptionWebSocketHandlerDecorator` and `LoggingWebSocketHandlerDecorator`.
//! [`with_builtin_decorators`] applies them (the exception guard through the
//! server's session loop, which guards every callback anyway).

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::close_status::CloseStatus;
use crate::error::{Error, ErrorKind, HandlerResult};
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
/// handler unless told not to.
///
/// The wrapper logs what [`LoggingHandlerDecorator`] logs, synchronously, and
/// passes each callback's future through: it allocates nothing per message.
/// [`ExceptionHandlerDecorator`]'s part is not repeated here, because the
/// server's session loop already runs every callback under the same guard (the
/// error or panic is logged, `handle_transport_error` runs, the session closes
/// with 1011), with or without the built-ins. To get both behaviours outside a
/// wsboot server, write
/// `decorate(decorate(handler, LoggingHandlerDecorator), ExceptionHandlerDecorator)`.
pub fn with_builtin_decorators(handler: SharedHandler) -> SharedHandler {
    Arc::new(Builtins { next: Next::new(handler) })
}

/// The names of the built-in decorators, outermost first, for route listings.
pub fn builtin_decorator_names() -> [&'static str; 2] {
    [HandlerDecorator::name(&ExceptionHandlerDecorator), HandlerDecorator::name(&LoggingHandlerDecorator)]
}

/// Turns a callback's error or panic into a logged error, a call to
/// `handle_transport_error`, and a close with 1011 (Spring's
/// `ExceptionWebSocketHandlerDecorator`). Other sessions are unaffected.
///
/// On by default, outermost, so it also catches failures of the decorators
/// inside it. A panic in `handle_transport_error` or `after_connection_closed`
/// is logged and goes no further.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExceptionHandlerDecorator;

impl HandlerDecorator for ExceptionHandlerDecorator {
    async fn after_connection_established(&self, session: &Session, next: &Next) -> HandlerResult {
        guard("after_connection_established", session, next, next.after_connection_established(session)).await
    }

    async fn handle_message(&self, session: &Session, message: Message, next: &Next) -> HandlerResult {
        guard("handle_message", session, next, next.handle_message(session, message)).await
    }

    async fn handle_partial_message(
        &self,
        session: &Session,
        fragment: Message,
        is_last: bool,
        next: &Next,
    ) -> HandlerResult {
        guard("handle_partial_message", session, next, next.handle_partial_message(session, fragment, is_last)).await
    }

    async fn handle_transport_error(&self, session: &Session, error: &Error, next: &Next) {
        contain("handle_transport_error", next, next.handle_transport_error(session, error)).await
    }

    async fn after_connection_closed(&self, session: &Session, status: &CloseStatus, next: &Next) {
        contain("after_connection_closed", next, next.after_connection_closed(session, status)).await
    }

    fn name(&self) -> &'static str {
        "ExceptionHandlerDecorator"
    }
}

/// Runs `call`; its error or panic is logged, reported to
/// `handle_transport_error` and closes the session with 1011 instead of
/// going further. The failure path is boxed so that the future of the
/// common, successful path stays small.
async fn guard(
    callback: &'static str,
    session: &Session,
    next: &Next,
    call: BoxFuture<'_, HandlerResult>,
) -> HandlerResult {
    match CatchUnwind(call).await {
        Ok(Ok(())) => Ok(()),
        failed => {
            fail(callback, session, next, failed).await;
            Ok(())
        }
    }
}

fn fail<'a>(
    callback: &'static str,
    session: &'a Session,
    next: &'a Next,
    failed: Result<HandlerResult, Box<dyn Any + Send>>,
) -> BoxFuture<'a, ()> {
    Box::pin(async move {
        let error = match failed {
            Ok(Ok(())) => return,
            Ok(Err(error)) => Error::with_source(ErrorKind::Handler, format!("handler error: {error}"), error),
            Err(panic) => Error::new(ErrorKind::Handler, format!("handler panicked: {}", panic_message(&*panic))),
        };
        tracing::error!(
            handler = next.handler_type_name(),
            session = %session.id(),
            callback,
            "{error}; closing the session with 1011"
        );
        contain("handle_transport_error", next, next.handle_transport_error(session, &error)).await;
        session.close(CloseStatus::SERVER_ERROR);
    })
}

/// Runs a callback that returns nothing; a panic is logged and goes no further.
async fn contain(callback: &'static str, next: &Next, call: BoxFuture<'_, ()>) {
    if let Err(panic) = CatchUnwind(call).await {
        tracing::error!(handler = next.handler_type_name(), "{callback} panicked: {}", panic_message(&*panic));
    }
}

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
        "LoggingHandlerDecorator"
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
/// inner call, and the inner future is returned as it is (the session loop
/// guards it; see [`with_builtin_decorators`]).
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

/// Resolves to the future's output, or to the panic it raised while polled.
struct CatchUnwind<'a, T>(BoxFuture<'a, T>);

impl<T> Future for CatchUnwind<'_, T> {
    type Output = Result<T, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        // The future is dropped right after a panic and never polled again, so
        // no broken invariant inside it can be observed.
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic)")
}
