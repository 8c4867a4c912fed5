//! The exception guard of every handler callback (Spring's
//! `ExceptionWebSocketHandlerDecorator`, built into the session loop so it
//! covers every callback, decorators included, with no wrapper per message): a
//! callback's error or panic is logged, reported to `handle_transport_error`,
//! and closes the session with 1011; other sessions are unaffected. A panic in
//! a callback that returns nothing is logged and goes no further.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use wsboot_core::{BoxFuture, CloseStatus, Error, ErrorKind, HandlerResult, Session, SharedHandler};

/// A callback's outcome, a panic included.
pub(super) type Outcome = Result<HandlerResult, Box<dyn Any + Send>>;

/// Polls a callback once, catching a panic. Once it is ready (a panic
/// included) it must not be polled again.
pub(super) fn poll(call: &mut BoxFuture<'_, HandlerResult>, cx: &mut Context<'_>) -> Poll<Outcome> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| call.as_mut().poll(cx))) {
        Ok(Poll::Ready(result)) => Poll::Ready(Ok(result)),
        Ok(Poll::Pending) => Poll::Pending,
        Err(panic) => Poll::Ready(Err(panic)),
    }
}

/// The error a callback ended with, its panic included; `None` when it succeeded.
pub(super) fn failure(outcome: Outcome) -> Option<Error> {
    match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(Error::with_source(ErrorKind::Handler, format!("handler error: {error}"), error)),
        Err(panic) => Some(Error::new(ErrorKind::Handler, format!("handler panicked: {}", panic_message(&panic)))),
    }
}

/// Acts on a callback's failure: logs it, reports it to `handle_transport_error`
/// and closes the session with 1011.
pub(super) async fn report(handler: &SharedHandler, session: &Session, callback: &'static str, error: Error) {
    tracing::error!(
        handler = handler.type_name(),
        session = %session.id(),
        callback,
        "{error}; closing the session with 1011"
    );
    contain("handle_transport_error", handler.handle_transport_error(session, &error)).await;
    session.close(CloseStatus::SERVER_ERROR);
}

/// Runs a callback that returns nothing; a panic is logged and goes no further.
pub(super) async fn contain(callback: &'static str, call: BoxFuture<'_, ()>) {
    if let Err(panic) = AssertUnwindSafe(call).catch_unwind().await {
        tracing::error!("{callback} panicked: {}", panic_message(&panic));
    }
}

/// The text of a panic's payload.
pub(crate) fn panic_message(panic: &Box<dyn Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic)")
}
