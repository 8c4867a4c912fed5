//! The session's one writer path: what the session queued goes into the write
//! buffer (a queued close becomes the close frame and the `CloseSent` state),
//! then to the socket. The main loop and a handler call in flight both write
//! through it.

use futures_util::FutureExt;
use tokio::time::{Instant, timeout_at};
use wsboot_core::__runtime::Outgoing;

use super::driver::SessionDriver;
use super::state::State;

impl SessionDriver {
    /// Moves queued items into the write buffer, turning a queued close into a
    /// close frame and the `CloseSent` state.
    pub(super) fn drain_queue(&mut self) {
        // The queue's items, taken whole: one is held inline (no list), more
        // come in the queue's list, freed below rather than handed back (a
        // second lock of the queue per drain cost as much as the allocation
        // the next burst makes, and a list kept by the session would enlarge
        // every resting one).
        let drained = self.transport.drain();
        if drained.is_empty() {
            return;
        }
        let mut sent_any = false;
        for item in drained {
            match item {
                // Once our close frame is out, nothing else may follow it.
                Outgoing::Message(message) if self.state.is_open() => {
                    sent_any = true;
                    self.counters.sent(message.len());
                    self.write.push_message(&message);
                }
                Outgoing::Broadcast(broadcast) if self.state.is_open() => {
                    sent_any = true;
                    self.counters.sent(broadcast.message().len());
                    self.write.push_broadcast(&broadcast);
                }
                Outgoing::Message(_) | Outgoing::Broadcast(_) => {}
                Outgoing::Close(status) => {
                    self.write.push_close(&status);
                    if self.state.is_open() {
                        let deadline = self.shared.shutdown.cap(Instant::now() + self.shared.config.close_timeout);
                        self.state = State::close_sent(status, self.shared.timers.clock().at(deadline));
                    }
                }
                _ => {}
            }
        }
        if sent_any {
            // Once per drain, not per message: with an idle timeout it reads the clock.
            // A handler that keeps sending during a long call keeps the session
            // from going idle.
            self.liveness.data_moved(&self.shared.config, self.shared.timers.clock());
        }
    }

    /// Writes everything queued, as few syscalls as possible.
    pub(super) async fn flush(&mut self) {
        if !self.flush_now() {
            Box::pin(self.finish_write()).await;
        }
    }

    /// Writes everything queued if the socket takes it at once, as most writes
    /// do; returns false if part of it waits for room ([`finish_write`](Self::finish_write)
    /// writes the rest, as a partial write keeps its progress in `self.write`).
    pub(super) fn flush_now(&mut self) -> bool {
        self.drain_queue();
        // Counted before the bytes go out, so a client that has seen a message
        // finds it counted in a scrape.
        self.counters.publish();
        if self.write.is_empty() || self.io_failed {
            return true;
        }
        // Tried before reading the clock and setting up a deadline.
        match self.stream.write_frames(&mut self.write).now_or_never() {
            Some(written) => {
                self.after_write(written.map_err(|e| format!("write failed: {e}")));
                true
            }
            None => false,
        }
    }

    /// Finishes a write that did not complete at once.
    pub(super) async fn finish_write(&mut self) {
        let written = match self.write_with_deadline().await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("write failed: {e}")),
            Err(why) => Err(why.to_owned()),
        };
        self.after_write(written);
    }

    fn after_write(&mut self, written: Result<(), String>) {
        match written {
            Ok(()) => {
                // Only a compressor is worth a timer after a write: a session that
                // just receives (a topic's subscriber) would otherwise wake once more
                // per delivery to give back a few hundred bytes. Reads touch it always.
                if self.write.holds_compressor() {
                    self.rest.touch(self.shared.timers.clock());
                }
            }
            Err(failure) => {
                tracing::debug!("{failure}");
                self.io_failed = true;
                self.transport.finish();
            }
        }
    }

    /// Finishes writing what is buffered, within the route's send time limit
    /// and the shutdown deadline: a client that stops reading must not hold the
    /// session (or a handler sending to it) forever.
    async fn write_with_deadline(&mut self) -> Result<std::io::Result<()>, &'static str> {
        let write = self.stream.write_frames(&mut self.write);
        let deadline = self.shared.shutdown.cap(Instant::now() + self.route.send_time_limit);
        tokio::select! {
            biased;
            written = timeout_at(deadline, write) => written.map_err(|_| "write timed out"),
            // A write blocked since before a shutdown began is cut short at its
            // deadline (one that completes at once never polls this branch).
            () = self.shared.shutdown.expired() => Err("shutdown deadline passed during a write"),
        }
    }
}
