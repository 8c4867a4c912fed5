//! A handler call: run to completion under the exception guard (`guard`),
//! while the session keeps writing what it queues, with the handles it borrows
//! and the memory it leaves behind.

use std::task::Poll;

use wsboot_core::{BoxFuture, HandlerResult, Session, SharedHandler};

use super::driver::SessionDriver;
use super::guard::{self, Outcome};

/// The handles a handler call borrows while the session keeps writing (the
/// call's future holds them, `self` is written to meanwhile). Cloned once per
/// read step, not per message: two clones and two drops per message were four
/// atomic operations on the handler's and the session's reference counts.
pub(super) struct Handles {
    pub(super) handler: SharedHandler,
    pub(super) session: Session,
}

/// The last handler call of a read, finished, whose memory is given back only
/// once the next call of the same read has its own. mimalloc takes a page's
/// freed blocks back only when the page has none left to give, on its slow
/// path: a call freed before the next is made is one such block, taken back
/// alone, and a pipelined echo went through that path for nearly every message
/// (about 200 instructions per call, against 40 for the message's own
/// allocation). The last call of a read is freed with it: with one message per
/// read, the next session's call then reuses the same memory, still in the
/// cache (kept across reads, each of a thousand sessions would keep a block of
/// its own). A finished `async` call holds nothing but its memory; a
/// hand-written future's fields are dropped with the next call or the read.
pub(super) type SpentCall<'h> = Option<BoxFuture<'h, HandlerResult>>;

impl SessionDriver {
    /// The handles for [`on_readable`](SessionDriver::on_readable)'s handler calls.
    pub(super) fn handles(&self) -> Handles {
        Handles { handler: self.handler.clone(), session: self.session.clone() }
    }

    /// Runs one handler callback to completion while still writing what the
    /// session queues (a handler awaiting `send` on a full queue must not wait on
    /// itself), under the exception guard; returns the finished call, for the
    /// caller to free (see [`SpentCall`]).
    pub(super) async fn call_handler<'h>(
        &mut self,
        callback: &'static str,
        mut call: BoxFuture<'h, HandlerResult>,
    ) -> BoxFuture<'h, HandlerResult> {
        if !self.write.is_empty() {
            // A pong for a ping read with this message goes out now: a slow handler
            // must not hold up the answer to a keep-alive.
            self.flush().await;
        }
        // Most callbacks finish at their first poll (an echo's send finds room):
        // only one that waits goes on in a boxed future. Inline, the wait's state
        // (the writer running beside the call) would enlarge every step that
        // calls the handler, allocated once per read.
        let outcome = match std::future::poll_fn(|cx| Poll::Ready(guard::poll(&mut call, cx))).await {
            Poll::Ready(outcome) => outcome,
            Poll::Pending => Box::pin(self.finish_call(&mut call)).await,
        };
        if let Some(error) = guard::failure(outcome) {
            Box::pin(guard::report(&self.handler, &self.session, callback, error)).await;
        }
        call
    }

    /// Waits for a callback that did not finish at once, writing what the
    /// session queues meanwhile.
    async fn finish_call(&mut self, call: &mut BoxFuture<'_, HandlerResult>) -> Outcome {
        loop {
            tokio::select! {
                biased;
                outcome = std::future::poll_fn(|cx| guard::poll(call, cx)) => return outcome,
                // The call's future borrows the caller's handles, not `self`: the
                // writer runs while it is pending.
                () = self.transport.ready(), if !self.io_failed => self.flush().await,
            }
        }
    }
}
