//! The steps of a session that may wait on their own ([`Work`]): each runs
//! in a boxed future owning the session ([`SessionDriver::start`]), between
//! the waits of the connection's task ([`SessionDriver::poll_turn`]).
//!
//! A busy session (one that keeps its working memory, `rest`) waits for its
//! next turns inside its read step: a read per message would otherwise cost an
//! allocation and a free of the step each (measured: 8% of the server's user
//! time in a small echo). It leaves the step, and waits in the task again,
//! when it rests.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tracing::Instrument;
use wsboot_core::CloseStatus;

use super::driver::SessionDriver;

/// Runs `step` inside `span`, if the session has one.
fn in_span(span: Option<tracing::Span>, step: impl Future<Output = StepEnd> + Send + 'static) -> Step {
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

/// How a step ended.
pub(crate) enum StepEnd {
    /// The session waits for its next turn.
    Wait(Box<SessionDriver>),
    /// The session has more work that may wait on its own.
    Then(Box<SessionDriver>, Work),
    /// The connection is over.
    Over,
}

/// A step of the session in flight: it hands the session back when done, with
/// the work to start next if there is some, or nothing once the connection is
/// over.
pub(crate) type Step = Pin<Box<dyn Future<Output = StepEnd> + Send>>;

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
                StepEnd::Wait(self)
            }),
            Work::Read => in_span(span, async move {
                let handles = self.handles();
                self.on_readable(&handles).await;
                // A busy session reads again soon: it stays in this future, and
                // waits for its next turn here, rather than freeing it and
                // allocating the next read's.
                while self.rest.is_busy() {
                    // Already inside the session's span: `turn`, not `poll_turn`.
                    let next = std::future::poll_fn(|cx| match self.turn(cx) {
                        Poll::Ready(work) => Poll::Ready(Some(work)),
                        Poll::Pending if self.rest.is_busy() => Poll::Pending,
                        // It rests: it waits in the task, without this future.
                        Poll::Pending => Poll::Ready(None),
                    })
                    .await;
                    match next {
                        Some(Work::Read) => self.on_readable(&handles).await,
                        Some(work) => return StepEnd::Then(self, work),
                        None => break,
                    }
                }
                StepEnd::Wait(self)
            }),
            Work::FinishWrite => in_span(span, async move {
                self.finish_write().await;
                StepEnd::Wait(self)
            }),
            Work::AwaitClose => in_span(span, async move {
                self.await_close().await;
                StepEnd::Wait(self)
            }),
            Work::Close(status) => in_span(span, async move {
                self.close(status).await;
                StepEnd::Over
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
