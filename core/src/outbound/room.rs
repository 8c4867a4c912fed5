//! Senders waiting for room in a full outbound queue, and the wake-up that a
//! drain gives them all.
//!
//! A `send().await` on a full queue is the rare, slow path (a client that does
//! not keep up), so this is a plain waker list under a mutex with a generation
//! counter: a waiter remembers the generation it saw before its last look at the
//! queue and is ready as soon as a drain has moved it on. It replaces a
//! dependency on an async runtime's notification primitive, which would tie the
//! handler API to one runtime.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Poll, Waker};

#[derive(Debug, Default)]
pub(super) struct Room {
    /// Moves on at every wake-up; a waiter whose generation is old is ready.
    generation: AtomicU64,
    /// Senders counted between their first look at the queue and their return:
    /// a drain that sees none skips the lock below.
    waiting: AtomicUsize,
    wakers: Mutex<Vec<Waker>>,
}

/// Counts one waiting sender for as long as it lives, so a sender whose future
/// is dropped mid-wait stops counting too.
pub(super) struct Waiting<'a>(&'a Room);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Room {
    /// Counts a sender as waiting until the returned guard is dropped. Call it
    /// before the sender's next look at the queue: a drain that then sees no
    /// waiter happened before that look, and the sender finds the room itself.
    pub(super) fn enter(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(self)
    }

    /// The current generation: take it before looking at the queue, then
    /// [`wait`](Self::wait) with it.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Waits until a wake-up happened after `seen` was taken.
    pub(super) async fn wait(&self, seen: u64) {
        std::future::poll_fn(|cx| {
            if self.generation() != seen {
                return Poll::Ready(());
            }
            {
                let mut wakers = self.lock();
                if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    wakers.push(cx.waker().clone());
                }
            }
            // Checked again after registering: a wake-up in between found no waker.
            if self.generation() != seen { Poll::Ready(()) } else { Poll::Pending }
        })
        .await
    }

    /// Wakes every waiting sender (room was made, or the queue closed).
    pub(super) fn wake_all(&self) {
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        self.generation.fetch_add(1, Ordering::SeqCst);
        let wakers = std::mem::take(&mut *self.lock());
        for waker in wakers {
            waker.wake();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Waker>> {
        // A list of wakers cannot be left inconsistent by a panic.
        self.wakers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
