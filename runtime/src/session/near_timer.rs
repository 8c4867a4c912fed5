//! [`NearTimer`]: a session's precise timer for a deadline that is near (a
//! busy session's rest check, a closing handshake), polled on every turn of
//! the session loop without re-registering the task each time.

use std::future::Future;
use std::pin::Pin;
use std::task::Context;

use tokio::time::{Instant, Sleep};

/// A `Sleep` that is polled once per deadline, then only looked at.
///
/// Polling a `Sleep` stores a fresh clone of the task's waker every time (and
/// drops the one it replaces): two reference-count updates on the task and a
/// registration per poll. A busy session's loop turns once per message, and
/// its waker is always the same task's, so one registration per deadline is
/// enough; later turns only ask whether the timer fired.
#[derive(Debug)]
pub(super) struct NearTimer {
    sleep: Pin<Box<Sleep>>,
    /// Polled since the deadline was set, and still pending: the task's waker
    /// is registered and the timer wakes it when it fires.
    registered: bool,
}

impl NearTimer {
    /// A timer for `at`.
    pub(super) fn new(at: Instant) -> Self {
        NearTimer { sleep: Box::pin(tokio::time::sleep_until(at)), registered: false }
    }

    /// Moves the deadline to `at`; the next [`is_due`](Self::is_due) registers again.
    pub(super) fn reset(&mut self, at: Instant) {
        self.sleep.as_mut().reset(at);
        self.registered = false;
    }

    /// Whether the deadline has passed; wakes the task of `cx` when it does.
    /// The session is only ever polled by its connection's task, so the waker
    /// registered first stays the right one.
    pub(super) fn is_due(&mut self, cx: &mut Context<'_>) -> bool {
        if self.registered {
            return self.sleep.is_elapsed();
        }
        let due = self.sleep.as_mut().poll(cx).is_ready();
        self.registered = !due;
        due
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};
    use std::time::Duration;

    use super::*;

    /// A waker that counts its wakes, standing in for the connection's task.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn task() -> (Arc<Counting>, Waker) {
        let counting = Arc::new(Counting::default());
        (counting.clone(), Waker::from(counting))
    }

    #[tokio::test(start_paused = true)]
    async fn wakes_the_task_once_registered_and_is_only_looked_at_after() {
        let (wakes, waker) = task();
        let mut cx = Context::from_waker(&waker);
        let mut timer = NearTimer::new(Instant::now() + Duration::from_millis(100));
        assert!(!timer.is_due(&mut cx), "not yet");
        // Later turns look without registering; an unrelated waker is never stored.
        let (other_wakes, other) = task();
        assert!(!timer.is_due(&mut Context::from_waker(&other)));

        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "the task that registered is woken when it fires");
        assert_eq!(other_wakes.0.load(Ordering::SeqCst), 0);
        assert!(timer.is_due(&mut cx));
    }

    #[tokio::test(start_paused = true)]
    async fn a_moved_deadline_registers_again() {
        let (wakes, waker) = task();
        let mut cx = Context::from_waker(&waker);
        let mut timer = NearTimer::new(Instant::now() + Duration::from_millis(100));
        assert!(!timer.is_due(&mut cx));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(timer.is_due(&mut cx));

        // Fired once, its waker is spent: a reset must register it again.
        timer.reset(Instant::now() + Duration::from_millis(50));
        assert!(!timer.is_due(&mut cx), "the new deadline is ahead");
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!timer.is_due(&mut cx));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(wakes.0.load(Ordering::SeqCst), 2, "woken at the moved deadline too");
        assert!(timer.is_due(&mut cx));
    }
}
