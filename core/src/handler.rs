//! [`WebSocketHandler`]: the callbacks of a WebSocket endpoint (Spring's
//! `WebSocketHandler`, `TextWebSocketHandler` and `BinaryWebSocketHandler` in one
//! trait).

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;

use crate::close_status::CloseStatus;
use crate::error::{Error, HandlerResult};
use crate::future::BoxFuture;
use crate::message::{Message, Utf8Bytes};
use crate::session::Session;

/// The callbacks of a WebSocket endpoint. Every method has a default, so a handler
/// overrides only what it needs; write the overrides as `async fn`.
///
/// # Text and binary handlers
/// Spring has `TextWebSocketHandler` (refuses binary) and `BinaryWebSocketHandler`
/// (refuses text). Here the same falls out of the defaults: override
/// [`handle_text_message`](Self::handle_text_message) and binary messages close the
/// session with 1003 "Binary messages not supported"; override
/// [`handle_binary_message`](Self::handle_binary_message) and text closes it with
/// 1003 "Text messages not supported". Override both to accept both, or
/// [`handle_message`](Self::handle_message) to see every message in one place.
///
/// # Errors
/// A callback's `Err` goes to [`handle_transport_error`](Self::handle_transport_error),
/// then the session closes with 1011 ([`CloseStatus::SERVER_ERROR`]). A panic in a
/// callback does the same; other sessions are unaffected.
///
/// # Concurrency
/// One instance serves every session of its route (Spring's singleton bean) unless
/// registered `per_connection`, so state shared between sessions needs `Sync`
/// (a `Mutex`, atomics, a concurrent map). Callbacks for one session run one at a
/// time, in frame order.
///
/// ```
/// use wsboot_core::{CloseStatus, HandlerResult, Session, Utf8Bytes, WebSocketHandler};
///
/// #[derive(Default)]
/// struct MyHandler;
///
/// impl WebSocketHandler for MyHandler {
///     async fn after_connection_established(&self, session: &Session) -> HandlerResult {
///         println!("connection established: {}", session.id());
///         Ok(())
///     }
///
///     async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
///         println!("received: {text}");
///         session.send(text).await?;
///         Ok(())
///     }
///
///     async fn after_connection_closed(&self, session: &Session, status: &CloseStatus) {
///         println!("closed: {} {status}", session.id());
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a WebSocket handler",
    label = "`{Self}` does not implement `wsboot::WebSocketHandler`",
    note = "add `impl wsboot::WebSocketHandler for {Self} {{}}` and override the callbacks you need"
)]
pub trait WebSocketHandler: Send + Sync + 'static {
    /// The connection is open and ready (Spring's `afterConnectionEstablished`).
    fn after_connection_established(&self, session: &Session) -> impl Future<Output = HandlerResult> + Send {
        let _ = session;
        async { Ok(()) }
    }

    /// A complete message arrived (Spring's `handleMessage`). The default dispatches
    /// to `handle_text_message`, `handle_binary_message` or `handle_pong_message`.
    /// Pings are answered by the server itself and not delivered.
    fn handle_message(&self, session: &Session, message: Message) -> impl Future<Output = HandlerResult> + Send {
        async move {
            match message {
                Message::Text(text) => self.handle_text_message(session, text).await,
                Message::Binary(data) => self.handle_binary_message(session, data).await,
                Message::Pong(data) => self.handle_pong_message(session, data).await,
                Message::Ping(_) => Ok(()),
            }
        }
    }

    /// A text message. The default refuses it: close 1003 "Text messages not supported".
    fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> impl Future<Output = HandlerResult> + Send {
        let _ = text;
        session.close(CloseStatus::NOT_ACCEPTABLE.with_reason("Text messages not supported"));
        async { Ok(()) }
    }

    /// A binary message. The default refuses it: close 1003 "Binary messages not supported".
    fn handle_binary_message(&self, session: &Session, data: Bytes) -> impl Future<Output = HandlerResult> + Send {
        let _ = data;
        session.close(CloseStatus::NOT_ACCEPTABLE.with_reason("Binary messages not supported"));
        async { Ok(()) }
    }

    /// A pong (including answers to the server's keep-alive pings). Default: ignore.
    fn handle_pong_message(&self, session: &Session, data: Bytes) -> impl Future<Output = HandlerResult> + Send {
        let _ = (session, data);
        async { Ok(()) }
    }

    /// One fragment of a message, when [`supports_partial_messages`](Self::supports_partial_messages)
    /// is true: `is_last` marks the final fragment. Text fragments are always whole
    /// characters (a character split across frames is delivered with the next
    /// fragment). The default passes the fragment to `handle_message`.
    fn handle_partial_message(
        &self,
        session: &Session,
        fragment: Message,
        is_last: bool,
    ) -> impl Future<Output = HandlerResult> + Send {
        let _ = is_last;
        self.handle_message(session, fragment)
    }

    /// A callback failed, or the transport did (Spring's `handleTransportError`).
    /// The session closes afterwards; this is for logging and cleanup.
    fn handle_transport_error(&self, session: &Session, error: &Error) -> impl Future<Output = ()> + Send {
        let _ = (session, error);
        async {}
    }

    /// The connection is closed (Spring's `afterConnectionClosed`). Runs exactly once
    /// per session, with the peer's close status, the handler's own, or 1006
    /// ([`CloseStatus::NO_CLOSE_FRAME`]) when the connection dropped.
    fn after_connection_closed(&self, session: &Session, status: &CloseStatus) -> impl Future<Output = ()> + Send {
        let _ = (session, status);
        async {}
    }

    /// Whether fragments are delivered as they arrive through
    /// [`handle_partial_message`](Self::handle_partial_message) instead of whole
    /// messages. Default: false.
    fn supports_partial_messages(&self) -> bool {
        false
    }
}

/// The object-safe form of [`WebSocketHandler`], implemented for every handler.
/// The runtime and decorators hold handlers as [`SharedHandler`]s.
#[doc(hidden)]
pub trait ErasedHandler: Send + Sync + 'static {
    fn after_connection_established<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, HandlerResult>;
    fn handle_message<'a>(&'a self, session: &'a Session, message: Message) -> BoxFuture<'a, HandlerResult>;
    fn handle_partial_message<'a>(
        &'a self,
        session: &'a Session,
        fragment: Message,
        is_last: bool,
    ) -> BoxFuture<'a, HandlerResult>;
    fn handle_transport_error<'a>(&'a self, session: &'a Session, error: &'a Error) -> BoxFuture<'a, ()>;
    fn after_connection_closed<'a>(&'a self, session: &'a Session, status: &'a CloseStatus) -> BoxFuture<'a, ()>;
    fn supports_partial_messages(&self) -> bool;
    fn type_name(&self) -> &'static str;
}

impl<H: WebSocketHandler> ErasedHandler for H {
    fn after_connection_established<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, HandlerResult> {
        Box::pin(WebSocketHandler::after_connection_established(self, session))
    }
    fn handle_message<'a>(&'a self, session: &'a Session, message: Message) -> BoxFuture<'a, HandlerResult> {
        Box::pin(WebSocketHandler::handle_message(self, session, message))
    }
    fn handle_partial_message<'a>(
        &'a self,
        session: &'a Session,
        fragment: Message,
        is_last: bool,
    ) -> BoxFuture<'a, HandlerResult> {
        Box::pin(WebSocketHandler::handle_partial_message(self, session, fragment, is_last))
    }
    fn handle_transport_error<'a>(&'a self, session: &'a Session, error: &'a Error) -> BoxFuture<'a, ()> {
        Box::pin(WebSocketHandler::handle_transport_error(self, session, error))
    }
    fn after_connection_closed<'a>(&'a self, session: &'a Session, status: &'a CloseStatus) -> BoxFuture<'a, ()> {
        Box::pin(WebSocketHandler::after_connection_closed(self, session, status))
    }
    fn supports_partial_messages(&self) -> bool {
        WebSocketHandler::supports_partial_messages(self)
    }
    fn type_name(&self) -> &'static str {
        std::any::type_name::<H>()
    }
}

/// A handler behind an `Arc`, shared by every session of its route.
pub type SharedHandler = Arc<dyn ErasedHandler>;

/// Erases a handler into a [`SharedHandler`].
pub fn shared_handler<H: WebSocketHandler>(handler: H) -> SharedHandler {
    Arc::new(handler)
}
