//! The steps of a session that may wait on their own ([`Work`]): each runs
//! in a boxed future owning the session ([`SessionDriver::start`]), between
//! the waits of the connection's task ([`SessionDriver::poll_turn`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tracing::Instrument;
use wsboot_core::CloseStatus;

use super::driver::SessionDriver;

/// Runs `step` inside `span`, if the session has one.
fn in_span(
    span: Option<tracing::Span>,
    step: impl Future<Output = Option<Box<SessionDriver>>> + Send + 'static,
) -> Step {
    match span {
        Some(span) => Box::pin(step.instrument(span)),
        None => Box::pin(step),
    }
}

/// What a session does next that may wait on its own, so it runs as a boxed
/// future owning the session ([`SessionDriver::start`]) rather than inline in
/// the connection's task.
pub(crate) enum Work {
    /// Register and run `after_connection_established`.
    Open,
    /// Read what arrived and handle every complete frame (handler calls).
    Read,
    /// Finish a write that did not complete at once, within its deadline.
    FinishWrite,
    /// Our close frame is out: wait for the peer's, or a deadline.
    AwaitClose,
    /// The session is over with this status: unregister, close, report.
    Close(CloseStatus),
}

/// A step of the session in flight: it hands the session back when done, or
/// nothing once the connection is over.
pub(crate) type Step = Pin<Box<dyn Future<Output = Option<Box<SessionDriver>>> + Send>>;

impl SessionDriver {
    /// Starts `work` in a boxed future that owns the session while it runs.
    /// Boxed because each of these awaits handler callbacks, writes or timers,
    /// whose state is far larger than the wait between them: inline, it would
    /// stay in the task of every resting session.
    pub(crate) fn start(mut self: Box<Self>, work: Work) -> Step {
        let span = self.span.as_deref().cloned();
        match work {
            Work::Open => in_span(span, async move {
                self.open().await;
                Some(self)
            }),
            Work::Read => in_span(span, async move {
                self.on_readable().await;
                Some(self)
            }),
            Work::FinishWrite => in_span(span, async move {
                self.finish_write().await;
                Some(self)
            }),
            Work::AwaitClose => in_span(span, async move {
                self.await_close().await;
                Some(self)
            }),
            Work::Close(status) => in_span(span, async move {
                self.close(status).await;
                None
            }),
        }
    }

    /// [`turn`](Self::turn) inside the session's tracing span, if it has one.
    pub(crate) fn poll_turn(&mut self, cx: &mut Context<'_>) -> Poll<Work> {
        let Some(span) = self.span.take() else {
            return self.turn(cx);
        };
        let turn = span.in_scope(|| self.turn(cx));
        self.span = Some(span);
        turn
    }
}
