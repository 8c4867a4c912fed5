//! The session's bounded outbound queue: handlers (from any task) push, the
//! connection task drains many items per socket write.
//!
//! Bounded by messages and by bytes, so a slow client costs at most the configured
//! memory; `send().await` waits for room, `try_send` fails fast.

mod broadcast;
mod queued;
mod room;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

pub use self::broadcast::Broadcast;
pub use self::queued::Queued;
use self::room::Room;
use crate::close_status::CloseStatus;
use crate::error::{Error, ErrorKind};
use crate::message::Message;

/// An item waiting to be written to the socket.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Outgoing {
    /// A message to frame and write.
    Message(Message),
    /// A message published to many sessions, shared with them.
    Broadcast(Broadcast),
    /// Start the closing handshake with this status; nothing queued after it is sent.
    Close(CloseStatus),
}

impl Outgoing {
    fn cost(&self) -> usize {
        match self {
            Outgoing::Message(message) => message.len(),
            Outgoing::Broadcast(broadcast) => broadcast.message().len(),
            Outgoing::Close(_) => 0,
        }
    }
}

/// What a broadcast does for a session whose outbound queue is full (a slow
/// consumer). A publish never waits for one slow subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverflowPolicy {
    /// Close the session with this status (its queued messages are dropped): the
    /// default, with 1013 "outbound queue overflow", since a client that cannot keep
    /// up would otherwise see a silently incomplete stream.
    Terminate(CloseStatus),
    /// Drop the oldest queued messages to make room.
    DropOldest,
    /// Drop the message being published.
    DropNewest,
}

impl Default for OverflowPolicy {
    fn default() -> Self {
        OverflowPolicy::Terminate(CloseStatus::SERVICE_OVERLOAD.with_reason("outbound queue overflow"))
    }
}

/// What became of a broadcast offered to one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offered {
    /// Queued.
    Queued,
    /// Queued after dropping this many older messages.
    DroppedOldest(usize),
    /// Not queued: the queue was full.
    DroppedNewest,
    /// The queue was full: the session is being closed.
    Terminated,
    /// The session is closing or closed.
    Closed,
}

/// Limits of one session's outbound queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// At most this many messages wait to be written.
    pub max_messages: usize,
    /// At most this many payload bytes wait to be written. A single message larger
    /// than this is still accepted when the queue is empty, so it can be sent at all.
    pub max_bytes: usize,
}

impl Default for QueueLimits {
    fn default() -> Self {
        QueueLimits { max_messages: 1024, max_bytes: 4 << 20 }
    }
}

#[derive(Debug, Default)]
struct QueueState {
    items: Queued,
    bytes: usize,
    /// A close was queued: no more messages are accepted.
    closing: bool,
    /// The connection is gone: nothing will ever be written.
    finished: bool,
}

/// In declaration order (`repr(C)`): the lock and items fill one cache line,
/// the writer's waker and the signal start the next (see `SessionInner`).
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Outbound {
    state: Mutex<QueueState>,
    /// The connection task, woken when something is queued while it is parked.
    writer: AtomicWaker,
    /// [`QUEUED`] and [`PARKED`]: one word, so that a producer learns with one
    /// read-modify-write whether the writer must be woken, and the writer with
    /// one whether it may park.
    signal: AtomicU8,
    /// Senders waiting for room, made by the first `send` that finds the
    /// queue full (most sessions never have one: 8 bytes instead of 48 in
    /// each). A drain that finds none has no sender to wake: a sender makes
    /// it before its look at the queue, under the queue's lock.
    room: OnceLock<Box<Room>>,
}

/// Where the fields a message touches sit in [`Outbound`] (offset, size), for
/// the session's layout test: the lock and items, the writer's waker, the signal.
#[cfg(test)]
pub(crate) const HOT_OFFSETS: [(usize, usize); 3] = [
    (std::mem::offset_of!(Outbound, state), std::mem::size_of::<Mutex<QueueState>>()),
    (std::mem::offset_of!(Outbound, writer), std::mem::size_of::<AtomicWaker>()),
    (std::mem::offset_of!(Outbound, signal), std::mem::size_of::<AtomicU8>()),
];

/// Bit of [`Outbound::signal`]: something was queued since the writer last drained.
const QUEUED: u8 = 1;
/// Bit of [`Outbound::signal`]: the writer is parked and must be woken. Only the
/// writer sets and clears it, so a producer that sends from inside its own
/// session's handler (the writer is running) never wakes the task it runs in.
const PARKED: u8 = 2;

/// Whether `len` more bytes fit a queue in `state` under `limits`. A message
/// larger than the byte bound still fits an empty queue, so it can be sent at all.
fn fits(state: &QueueState, len: usize, limits: &QueueLimits) -> bool {
    state.items.is_empty() || (state.items.len() < limits.max_messages && state.bytes + len <= limits.max_bytes)
}

impl Outbound {
    pub(crate) fn new() -> Self {
        Outbound {
            state: Mutex::new(QueueState::default()),
            writer: AtomicWaker::new(),
            signal: AtomicU8::new(0),
            room: OnceLock::new(),
        }
    }

    /// Signals the writer after an item was queued (called after unlocking).
    fn wake_writer(&self) {
        // Ordered with the writer's park in `poll_ready` by the one word: either
        // the writer sees QUEUED before parking, or this sees it parked. Only the
        // first producer after a park wakes it: a later one finds QUEUED set.
        if self.signal.fetch_or(QUEUED, Ordering::AcqRel) & (PARKED | QUEUED) == PARKED {
            self.writer.wake();
        }
    }

    /// The writer task is running again (it will check the queue before parking).
    pub(crate) fn set_writer_active(&self) {
        // Only the writer sets PARKED, so its own plain read of it is exact.
        if self.signal.load(Ordering::Relaxed) & PARKED != 0 {
            self.signal.fetch_and(!PARKED, Ordering::AcqRel);
        }
    }

    fn wake_senders(&self) {
        if let Some(room) = self.room.get() {
            room.wake_all();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        // A panic while holding this lock cannot leave the queue inconsistent (every
        // critical section is a few field updates), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn is_accepting(&self) -> bool {
        let state = self.lock();
        !state.closing && !state.finished
    }

    /// Queues `message` if there is room within `limits` now.
    pub(crate) fn try_push(&self, message: Message, limits: &QueueLimits) -> Result<(), (Error, Message)> {
        let mut state = self.lock();
        if state.closing || state.finished {
            return Err((Error::closed(), message));
        }
        let len = message.len();
        if !fits(&state, len, limits) {
            let error = Error::new(
                ErrorKind::QueueFull,
                format!(
                    "outbound queue full ({} messages, {} bytes queued; limits {} messages, {} bytes)",
                    state.items.len(),
                    state.bytes,
                    limits.max_messages,
                    limits.max_bytes
                ),
            );
            return Err((error, message));
        }
        state.bytes += len;
        state.items.push_back(Outgoing::Message(message));
        drop(state);
        self.wake_writer();
        Ok(())
    }

    /// Queues a broadcast without waiting, applying the overflow policy when it
    /// does not fit the queue's bounds.
    ///
    /// `rules` gives the bounds and the policy. It is called only
    /// when the queue holds something already: a publish to many resting
    /// sessions then never reads where each keeps its route, one cache line
    /// less per subscriber.
    pub(crate) fn offer<'r>(
        &self,
        broadcast: Broadcast,
        rules: impl FnOnce() -> (&'r QueueLimits, &'r OverflowPolicy),
    ) -> Offered {
        let mut state = self.lock();
        if state.closing || state.finished {
            return Offered::Closed;
        }
        let len = broadcast.message().len();
        let mut outcome = Offered::Queued;
        // An empty queue takes any message (see `fits`).
        let full =
            if state.items.is_empty() { None } else { Some(rules()).filter(|(limits, _)| !fits(&state, len, limits)) };
        if let Some((limits, policy)) = full {
            match policy {
                OverflowPolicy::DropNewest => return Offered::DroppedNewest,
                OverflowPolicy::DropOldest => {
                    let mut dropped = 0;
                    while !fits(&state, len, limits) {
                        let Some(old) = state.items.pop_front() else { break };
                        state.bytes -= old.cost();
                        dropped += 1;
                    }
                    outcome = Offered::DroppedOldest(dropped);
                }
                OverflowPolicy::Terminate(status) => {
                    state.items = Queued::Empty;
                    state.bytes = 0;
                    state.closing = true;
                    state.items.push_back(Outgoing::Close(status.clone()));
                    drop(state);
                    self.wake_writer();
                    self.wake_senders();
                    return Offered::Terminated;
                }
            }
        }
        state.bytes += len;
        state.items.push_back(Outgoing::Broadcast(broadcast));
        drop(state);
        self.wake_writer();
        outcome
    }

    /// Queues `message`, waiting for room within `limits`.
    pub(crate) async fn push(&self, message: Message, limits: &QueueLimits) -> Result<(), Error> {
        // Fast path: room now, no waiter registration.
        let mut message = match self.try_push(message, limits) {
            Ok(()) => return Ok(()),
            Err((error, returned)) if error.kind() == ErrorKind::QueueFull => returned,
            Err((error, _)) => return Err(error),
        };
        let room = self.room.get_or_init(Box::default);
        let _waiting = room.enter();
        loop {
            // The generation is taken before looking again, so a drain between the
            // look and the wait still ends the wait.
            let seen = room.generation();
            match self.try_push(message, limits) {
                Ok(()) => return Ok(()),
                Err((error, returned)) if error.kind() == ErrorKind::QueueFull => message = returned,
                Err((error, _)) => return Err(error),
            }
            room.wait(seen).await;
        }
    }

    /// Queues a close after everything already queued. Returns false if a close was
    /// already queued or the connection is gone.
    pub(crate) fn push_close(&self, status: CloseStatus) -> bool {
        let mut state = self.lock();
        if state.closing || state.finished {
            return false;
        }
        state.closing = true;
        state.items.push_back(Outgoing::Close(status));
        drop(state);
        self.wake_writer();
        // Senders blocked on a full queue must learn the session is closing.
        self.wake_senders();
        true
    }

    /// Ready once something may have been queued, and ready until the drain
    /// that follows takes it; otherwise registers the waker and marks the
    /// writer parked. Only one task (the connection's) may wait at a time.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.signal.load(Ordering::Acquire) & QUEUED != 0 {
            return Poll::Ready(());
        }
        // Registered before parking, so a producer that sees PARKED finds the waker.
        self.writer.register(cx.waker());
        if self.signal.fetch_or(PARKED, Ordering::AcqRel) & QUEUED != 0 {
            // Queued since the first look, by a producer that saw the writer running.
            self.signal.fetch_and(!PARKED, Ordering::AcqRel);
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Waits until something may have been queued (see [`poll_ready`](Self::poll_ready)).
    pub(crate) async fn ready(&self) {
        std::future::poll_fn(|cx| self.poll_ready(cx)).await
    }

    /// Takes every queued item, in order, and wakes waiting senders.
    ///
    /// Looks at the queue only if something was queued since the last drain:
    /// every producer sets QUEUED after queueing, so a queue without it is
    /// empty, or its producer is about to set it, which
    /// [`poll_ready`](Self::poll_ready) sees before the writer parks. A writer
    /// drains at least twice per message it answers (once with the answer, once
    /// finding nothing before it waits), and the second takes no lock.
    pub(crate) fn drain(&self) -> Queued {
        if self.signal.load(Ordering::Acquire) & QUEUED == 0 {
            return Queued::Empty;
        }
        self.signal.fetch_and(!QUEUED, Ordering::AcqRel);
        let mut state = self.lock();
        if state.items.is_empty() {
            return Queued::Empty;
        }
        let drained = std::mem::take(&mut state.items);
        state.bytes = 0;
        drop(state);
        self.wake_senders();
        drained
    }

    /// Removes the first queued item, waking waiting senders.
    #[cfg(test)]
    pub(crate) fn pop(&self) -> Option<Outgoing> {
        let mut state = self.lock();
        let item = state.items.pop_front()?;
        state.bytes -= item.cost();
        drop(state);
        self.wake_senders();
        Some(item)
    }

    pub(crate) fn queued(&self) -> (usize, usize) {
        let state = self.lock();
        (state.items.len(), state.bytes)
    }

    /// Replaces an empty queue's allocation with none.
    pub(crate) fn release_spare_room(&self) {
        let mut state = self.lock();
        if state.items.is_empty() {
            state.items = Queued::Empty;
        }
    }

    /// The connection ended: refuse everything from now on and drop what is left.
    pub(crate) fn finish(&self) -> usize {
        let mut state = self.lock();
        state.finished = true;
        state.closing = true;
        let dropped = state.items.iter().filter(|item| !matches!(item, Outgoing::Close(_))).count();
        state.items = Queued::Empty;
        state.bytes = 0;
        drop(state);
        self.wake_senders();
        dropped
    }
}
