//! The session loop: reads frames, calls the handler in order (each call under
//! the one guard, `call` and `guard`), and writes what the session queued
//! (through the one writer path, `writer`), until the closing handshake is over.

use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::AsyncWriteExt;
use wsboot_core::__runtime::{Transport, register_session, unregister_session};
use wsboot_core::{BoxFuture, CloseStatus, HandlerResult, Message, Session, SharedHandler};

use super::call::{Handles, SpentCall};
use super::guard;
use super::near_timer::NearTimer;
use super::rest::RestClock;
use super::state::State;
use super::step::Work;
use crate::deadline::{Deadline, earlier};
use crate::io::Stream;
use crate::liveness::{Due, Liveness};
use crate::metrics::SessionCounters;
use crate::protocol::{Decoded, DecoderLimits, FrameDecoder, Violation, WriteBuffer};
use crate::read_buffer::ReadBuffer;
use crate::routing::Route;
use crate::server::Shared;
use crate::shutdown::LiveGuard;
use crate::timer_wheel::{NEAR, Tick};

/// What ended the session loop's wait.
#[derive(Debug)]
enum Wake {
    Readable,
    Disconnected,
    /// The session queued something to send.
    Queued,
    Timer,
    /// The shutdown deadline passed while waiting for the peer's close frame.
    ShutdownExpired,
}

/// One session's connection and state, from the 101 to the end.
///
/// In declaration order (`repr(C)`), so that a turn that only writes what a
/// publish queued (most of what a topic's subscriber does) touches the first
/// four of its five cache lines: what reads and handler calls use (decoder,
/// handler, route) fills the last. With thousands of sessions each line is a
/// cache miss per delivery.
#[repr(C)]
pub(crate) struct SessionDriver {
    // Every turn: the state, the socket, the queue, the write buffer, the counters.
    pub(super) state: State,
    pub(super) stream: Stream,
    pub(super) transport: Transport,
    pub(super) shared: Arc<Shared>,
    pub(super) write: WriteBuffer,
    /// Messages and bytes in and out, for the route's metrics.
    pub(super) counters: SessionCounters,
    // Every turn: the timers, the rest clock, the span, the failure flags (and
    // the session handle, for a timer-wheel registration).
    pub(super) liveness: Liveness,
    /// The earliest deadline (ping, pong, idle, lifetime, close, rest).
    pub(super) timer_at: Option<Deadline>,
    /// A precise timer at `timer_at`, only while it is near; a far one waits on
    /// the server's timer wheel (`timer_wheel`).
    pub(super) timer: Option<NearTimer>,
    /// The wheel's bucket this session is registered in, if any.
    pub(super) wheel_tick: Option<Tick>,
    /// When the session, gone quiet, gives back its working memory.
    pub(super) rest: RestClock,
    /// The session's tracing span, when it is enabled (`RUST_LOG=wsboot=debug`).
    pub(super) span: Option<Box<tracing::Span>>,
    pub(super) session: Session,
    /// The socket failed: nothing more can be written.
    pub(super) io_failed: bool,
    /// The peer broke the protocol: the connection is failed, its input discarded.
    pub(super) failed: bool,
    // Reads and handler calls.
    pub(super) read_buf: ReadBuffer,
    /// Bytes the decoder needs buffered to complete the current frame.
    pub(super) needed: usize,
    pub(super) decoder: FrameDecoder,
    pub(super) handler: SharedHandler,
    pub(super) route: Arc<Route>,
    /// Counts the connection as live for the shutdown until the session ends.
    pub(super) _live: LiveGuard,
}

impl SessionDriver {
    /// Runs the session loop until it has work that may wait on its own:
    /// writes what the session queued, then waits for the socket, the queue or
    /// the timer, and handles what needs no waiting (a queued message, a
    /// deadline, the peer leaving).
    pub(super) fn turn(&mut self, cx: &mut Context<'_>) -> Poll<Work> {
        loop {
            // Flush first: a close echo or an error close written by the last step
            // must reach the socket before the session ends.
            if !self.flush_now() {
                return Poll::Ready(Work::FinishWrite);
            }
            if let Some(status) = self.final_status() {
                return Poll::Ready(Work::Close(status));
            }
            self.arm_timer(cx);
            if matches!(self.state, State::CloseSent(_)) {
                return Poll::Ready(Work::AwaitClose);
            }
            let Poll::Ready(woken_by) = self.poll_wake(cx) else {
                if self.rest.rest_after_turn() {
                    self.give_back();
                }
                return Poll::Pending;
            };
            if let Some(work) = self.on_wake(woken_by) {
                return Poll::Ready(work);
            }
        }
    }

    /// The status to report if the session is over: it finished its closing
    /// handshake, or can no longer write.
    fn final_status(&self) -> Option<CloseStatus> {
        match &self.state {
            State::Done(status) => Some(CloseStatus::clone(status)),
            State::CloseSent(sent) if self.io_failed => Some(sent.status.clone()),
            State::Open if self.io_failed => Some(CloseStatus::NO_CLOSE_FRAME),
            State::Open | State::CloseSent(_) => None,
        }
    }

    /// Polls what the session waits for, most urgent first.
    fn poll_wake(&mut self, cx: &mut Context<'_>) -> Poll<Wake> {
        // The stream's own waker slot rather than `readable()`, which joins a
        // waiter list under a mutex on every turn.
        if let Poll::Ready(readable) = self.stream.poll_read_ready(cx) {
            return Poll::Ready(if readable.is_ok() { Wake::Readable } else { Wake::Disconnected });
        }
        if self.transport.poll_ready(cx).is_ready() {
            return Poll::Ready(Wake::Queued);
        }
        if let Some(at) = self.timer_at {
            let due = match &mut self.timer {
                Some(timer) => timer.is_due(cx),
                None => self.shared.timers.has_fired(self.shared.timers.tick_of(at)),
            };
            if due {
                return Poll::Ready(Wake::Timer);
            }
        }
        Poll::Pending
    }

    /// Acts on what ended the wait; returns the work it calls for, if any.
    fn on_wake(&mut self, woken_by: Wake) -> Option<Work> {
        // Running again, before any handler call: what a handler queues from here
        // on is flushed by this loop, so it must not wake this task again (a
        // spurious extra poll per message, measured at 0.9 per echoed message).
        self.transport.set_active();
        match woken_by {
            Wake::Readable => return Some(Work::Read),
            Wake::Disconnected => self.on_disconnect(),
            Wake::Queued => {}
            Wake::Timer => {
                self.timer_at = None;
                self.on_timer();
            }
            Wake::ShutdownExpired => {
                tracing::debug!("shutdown deadline passed before the peer answered the close frame");
                self.state.finish_with_sent_status();
            }
        }
        None
    }

    /// One wait while our close frame is out: as in [`turn`](Self::turn),
    /// and the shutdown's deadline too. A session closed early in a drain set
    /// its close deadline before the shutdown had one: the shutdown's still
    /// ends its wait.
    pub(super) async fn await_close(&mut self) {
        let shared = self.shared.clone();
        let woken_by = tokio::select! {
            biased;
            woken_by = std::future::poll_fn(|cx| self.poll_wake(cx)) => woken_by,
            () = shared.shutdown.expired() => Wake::ShutdownExpired,
        };
        if let Some(Work::Read) = self.on_wake(woken_by) {
            self.on_readable(&self.handles()).await;
        }
    }

    /// Registers the session and runs `after_connection_established`.
    pub(super) async fn open(&mut self) {
        tracing::debug!("session open");
        register_session(&self.shared.hub, &self.session).await;
        // Shutdown closes every registered session; one that registers after the
        // server started stopping closes itself (trigger and register are both
        // SeqCst, so one of the two sides always sees the other).
        if self.shared.shutdown.is_triggered() {
            self.session.close(self.shared.config.shutdown_status.clone());
        }
        self.counters.opened();
        let (handler, session) = (self.handler.clone(), self.session.clone());
        // Freed at once: one call per session, not a run of them.
        let _finished =
            self.call_handler("after_connection_established", handler.after_connection_established(&session)).await;
    }

    /// Unregisters the session, closes the stream and runs
    /// `after_connection_closed` with `status`.
    pub(super) async fn close(&mut self, status: CloseStatus) {
        if let Some(tick) = self.wheel_tick.take() {
            self.shared.timers.cancel(self.session.id(), tick);
        }
        let undelivered = self.transport.finish();
        // Leaves the registry and every topic exactly when it closes.
        unregister_session(&self.shared.hub, &self.session).await;
        if undelivered > 0 {
            tracing::debug!(undelivered, "connection ended with messages still queued");
        }
        let _ = self.stream.shutdown().await;
        self.counters.closed(&status);
        guard::contain("after_connection_closed", self.handler.after_connection_closed(&self.session, &status)).await;
        tracing::debug!(%status, "session closed");
        if self.failed {
            // Unread input makes closing send a reset, which can destroy our close
            // frame before the peer reads it: read and discard until it closes too.
            crate::http1::linger(&mut self.stream).await;
        }
    }

    /// Points the session's timer at the earliest deadline: a precise `Sleep`
    /// while it is near, the server's timer wheel while it is far (an idle
    /// session's next ping), so that an idle session holds no `Sleep`.
    fn arm_timer(&mut self, cx: &mut Context<'_>) {
        let state_deadline = match &self.state {
            State::Open => self.liveness.earliest(),
            State::CloseSent(sent) => Some(sent.deadline),
            State::Done(_) => None,
        };
        let next = earlier(state_deadline, self.rest.deadline());
        if next != self.timer_at {
            self.timer_at = next;
            let clock = self.shared.timers.clock();
            match next {
                Some(at) if at <= clock.now() + NEAR => match &mut self.timer {
                    Some(timer) => timer.reset(clock.instant(at)),
                    None => self.timer = Some(NearTimer::new(clock.instant(at))),
                },
                _ => self.timer = None,
            }
        }
        if let (Some(at), None) = (self.timer_at, &self.timer) {
            let wheel = &self.shared.timers;
            let tick = wheel.tick_of(at);
            let registered = self.wheel_tick.filter(|&t| !wheel.has_fired(t));
            // An earlier registration wakes the session in time to register again.
            if registered.is_none_or(|t| t > tick) {
                wheel.register(self.session.id(), tick, cx.waker(), registered);
                self.wheel_tick = Some(tick);
            }
        }
    }

    /// Gives back what only a busy session needs (the session rests): the read
    /// buffer and a hosted stream's read-ahead, the spare room of the queue and
    /// of the write buffer, and (context takeover) the compressor's and
    /// decompressor's state, kept as the window they would resume from.
    fn give_back(&mut self) {
        if self.read_buf.release() {
            self.stream.release_read_ahead();
        }
        self.transport.release_spare_room();
        self.write.rest();
        self.decoder.rest();
    }

    /// Acts on every deadline that has passed.
    fn on_timer(&mut self) {
        let now = self.shared.timers.clock().now();
        if self.rest.due(now) {
            self.give_back();
        }
        if let State::CloseSent(sent) = &self.state {
            if sent.deadline <= now {
                tracing::debug!("peer did not answer the close frame in time");
                self.state.finish_with_sent_status();
            }
            return;
        }
        if !self.state.is_open() {
            return;
        }
        match self.liveness.due(now, &self.shared.config) {
            None => {}
            Some(Due::PongMissing(waited)) => {
                tracing::debug!("no pong within {waited:?}; dropping the connection");
                self.transport.finish();
                let reason = format!("no pong within {waited:?}");
                self.state = State::done(CloseStatus::NO_CLOSE_FRAME.with_reason(reason));
            }
            Some(Due::EndOfLife) => {
                self.transport.begin_close(CloseStatus::GOING_AWAY.with_reason("session lifetime exceeded"));
            }
            Some(Due::Idle) => {
                self.transport.begin_close(CloseStatus::GOING_AWAY.with_reason("idle timeout"));
            }
            Some(Due::Ping) => self.write.push_message(&Message::Ping(bytes::Bytes::new())),
        }
    }

    /// Reads what is available and handles every complete frame.
    pub(super) async fn on_readable(&mut self, handles: &Handles) {
        match self.read_buf.read_from(&mut self.stream, self.needed) {
            None => return,
            Some(Ok(0)) => return self.on_disconnect(),
            Some(Ok(_)) => {
                // Any frame from the peer proves it is alive, not only a pong.
                self.liveness.peer_alive();
                self.rest.touch(self.shared.timers.clock());
            }
            Some(Err(e)) => {
                tracing::debug!("read failed: {e}");
                return self.on_disconnect();
            }
        }
        let mut spent: SpentCall<'_> = None;
        loop {
            if matches!(self.state, State::Done(_)) {
                return;
            }
            let Some(decoded) = self.decode() else { break };
            if let Some((callback, call)) = self.on_decoded(decoded, handles) {
                // The previous call is freed now that this one has its memory.
                drop(spent.replace(self.call_handler(callback, call).await));
            }
        }
    }

    /// Decodes the next frame, under the limits as they are now (a handler may
    /// have changed them); `None` when more bytes are needed or the frame broke
    /// the protocol (the connection is then failed).
    fn decode(&mut self) -> Option<Decoded> {
        let limits = DecoderLimits {
            max_frame_size: self.route.max_frame_size,
            max_text_message_size: self.session.text_message_size_limit(),
            max_binary_message_size: self.session.binary_message_size_limit(),
        };
        match self.decoder.decode(self.read_buf.bytes(), &limits, &mut self.needed) {
            Ok(decoded) => decoded,
            Err(violation) => {
                self.on_violation(violation);
                None
            }
        }
    }

    /// Acts on a decoded frame; returns the handler call it asks for, if any.
    /// The caller awaits it: only the call's own state is kept across the wait,
    /// not the frame's (every message writes what is kept into the read step's
    /// future, a cache line or two more per message at thousands of sessions).
    fn on_decoded<'h>(
        &mut self,
        decoded: Decoded,
        Handles { handler, session }: &'h Handles,
    ) -> Option<(&'static str, BoxFuture<'h, HandlerResult>)> {
        let open = self.state.is_open();
        if matches!(decoded, Decoded::Message(_) | Decoded::Fragment(..)) {
            self.liveness.data_moved(&self.shared.config, self.shared.timers.clock());
        }
        match decoded {
            Decoded::Message(message) if open => {
                self.counters.received(message.len());
                return Some(("handle_message", handler.handle_message(session, message)));
            }
            Decoded::Fragment(fragment, is_last) if open => {
                self.counters.received_part(fragment.len(), is_last);
                return Some(("handle_partial_message", handler.handle_partial_message(session, fragment, is_last)));
            }
            Decoded::Ping(payload) if open => self.write.push_message(&Message::Pong(payload)),
            Decoded::Pong(payload) if open => {
                return Some(("handle_message", handler.handle_message(session, Message::Pong(payload))));
            }
            Decoded::Close(peer_status) => self.on_peer_close(peer_status),
            // After our close frame went out, data from the peer is discarded.
            Decoded::Message(_) | Decoded::Fragment(..) | Decoded::Ping(_) | Decoded::Pong(_) => {}
        }
        None
    }

    fn on_peer_close(&mut self, peer_status: Option<CloseStatus>) {
        match &self.state {
            State::Open => {
                let reported = peer_status.clone().unwrap_or(CloseStatus::NO_STATUS_CODE);
                // Messages queued before the peer's close still go out, then our echo.
                let echo = peer_status.map_or(CloseStatus::NO_STATUS_CODE, |s| CloseStatus::new(s.code()));
                self.transport.begin_close(echo);
                self.drain_queue();
                // The echo is written by the next flush; then the session is over.
                self.state = State::done(reported);
            }
            State::CloseSent(_) => self.state.finish_with_sent_status(),
            State::Done(_) => {}
        }
    }

    /// Fails the connection (RFC 6455 §7.1.7): our close frame goes out, then the
    /// TCP connection is closed without processing anything more from the peer,
    /// not even its close frame. What follows a violation cannot be framed anyway.
    fn on_violation(&mut self, violation: Violation) {
        tracing::debug!(status = %violation.status, "protocol violation");
        self.failed = true;
        if self.state.is_open() {
            self.transport.begin_close(violation.status.clone());
            self.drain_queue();
            self.state = State::done(violation.status);
        } else {
            self.state.finish_with_sent_status();
        }
    }

    fn on_disconnect(&mut self) {
        match &self.state {
            State::Open => {
                self.transport.finish();
                self.state = State::done(CloseStatus::NO_CLOSE_FRAME);
            }
            State::CloseSent(_) => self.state.finish_with_sent_status(),
            State::Done(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::mem::offset_of;

    use super::SessionDriver;

    #[test]
    fn a_turn_that_only_writes_stays_in_the_first_four_cache_lines() {
        // Everything up to `failed` is what such a turn touches; the read side
        // starts on the fifth line.
        assert!(offset_of!(SessionDriver, failed) < 4 * 64);
        assert!(offset_of!(SessionDriver, decoder) >= 4 * 64);
    }
}
