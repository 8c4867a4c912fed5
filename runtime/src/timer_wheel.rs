//! [`TimerWheel`]: the far deadlines of a server's sessions, on one shared
//! clock.
//!
//! Nearly every session has a deadline: the next keep-alive ping, 30 seconds
//! away by default. A tokio `Sleep` per session is 112 bytes in an allocation
//! of its own, held for the session's whole life, by idle sessions too. Far
//! deadlines do not need that precision: they wait here in buckets of [`TICK`],
//! and one ticker task per server wakes a bucket's sessions once its time has
//! come (at most a tick late). A session keeps only the number of the bucket
//! it waits in. Deadlines nearer than [`NEAR`] (a closing handshake, a busy
//! session's rest check, short intervals set by the app) keep a precise
//! `Sleep`, made while needed.
//!
//! A session registers with its task's waker and the tick of its deadline. A
//! deadline that moves later keeps the earlier registration: the session is
//! woken early, finds its deadline still ahead and registers again. Only an
//! earlier deadline moves the registration.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::Waker;
use std::time::Duration;

use tokio::time::MissedTickBehavior;
use wsboot_core::SessionId;

use crate::deadline::{Clock, Deadline};

/// The wheel's resolution: a far deadline fires at most this late.
pub(crate) const TICK: Duration = Duration::from_millis(250);
/// Deadlines nearer than this use a precise timer of their own.
pub(crate) const NEAR: Duration = Duration::from_secs(2);

/// A bucket number: [`TICK`]s since the wheel was made (34 years fit).
pub(crate) type Tick = u32;

/// The far deadlines of one server's sessions, and the clock they count on.
pub(crate) struct TimerWheel {
    /// Kept beside `inner` too, so that reading it is one step from the server.
    clock: Clock,
    inner: Arc<Inner>,
}

struct Inner {
    clock: Clock,
    /// The last tick whose bucket was woken.
    fired: AtomicU32,
    /// Sessions to wake, by the tick of their deadline.
    buckets: Mutex<BTreeMap<Tick, HashMap<SessionId, Waker>>>,
    /// The ticker task runs (started by the first registration, on the
    /// runtime of the sessions).
    ticking: AtomicBool,
}

impl Default for TimerWheel {
    fn default() -> Self {
        let clock = Clock::start();
        TimerWheel {
            clock,
            inner: Arc::new(Inner {
                clock,
                fired: AtomicU32::new(0),
                buckets: Mutex::default(),
                ticking: AtomicBool::new(false),
            }),
        }
    }
}

impl std::fmt::Debug for TimerWheel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerWheel").field("fired", &self.inner.fired.load(Ordering::Relaxed)).finish()
    }
}

impl TimerWheel {
    /// The server's clock, which the sessions' deadlines count on.
    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The first tick at or after `at`: woken then, the deadline has passed.
    pub(crate) fn tick_of(&self, at: Deadline) -> Tick {
        at.since_start().as_nanos().div_ceil(TICK.as_nanos()).min(u128::from(Tick::MAX)) as Tick
    }

    /// Whether the bucket of `tick` was woken (its deadlines have passed).
    pub(crate) fn has_fired(&self, tick: Tick) -> bool {
        self.inner.fired.load(Ordering::Acquire) >= tick
    }

    /// Wakes `waker` at `tick` (see [`tick_of`](Self::tick_of)), in place of a
    /// registration of `session` at `replacing`.
    pub(crate) fn register(&self, session: SessionId, tick: Tick, waker: &Waker, replacing: Option<Tick>) {
        {
            let mut buckets = self.inner.lock();
            if let Some(old) = replacing {
                remove(&mut buckets, session, old);
            }
            buckets.entry(tick).or_default().insert(session, waker.clone());
        }
        // A tick that fired while the lock was being taken would leave the
        // registration to the next bucket's turn: wake at once instead.
        if self.has_fired(tick) {
            waker.wake_by_ref();
        }
        if !self.inner.ticking.swap(true, Ordering::AcqRel) {
            tokio::spawn(ticker(Arc::downgrade(&self.inner)));
        }
    }

    /// Forgets the registration of `session` at `tick` (the session ended).
    pub(crate) fn cancel(&self, session: SessionId, tick: Tick) {
        if !self.has_fired(tick) {
            remove(&mut self.inner.lock(), session, tick);
        }
    }

    /// Registrations waiting, for tests.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.inner.lock().values().map(HashMap::len).sum()
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<Tick, HashMap<SessionId, Waker>>> {
        self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn remove(buckets: &mut BTreeMap<Tick, HashMap<SessionId, Waker>>, session: SessionId, tick: Tick) {
    if let Some(bucket) = buckets.get_mut(&tick) {
        bucket.remove(&session);
        if bucket.is_empty() {
            buckets.remove(&tick);
        }
    }
}

/// Wakes every bucket whose tick has come, once per [`TICK`], for as long as
/// the wheel exists.
async fn ticker(wheel: Weak<Inner>) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(inner) = wheel.upgrade() else { return };
        let now = inner.clock.now().since_start();
        let tick = (now.as_nanos() / TICK.as_nanos()).min(u128::from(Tick::MAX)) as Tick;
        let due = {
            let mut buckets = inner.lock();
            inner.fired.store(tick, Ordering::Release);
            let later = buckets.split_off(&(tick.saturating_add(1)));
            std::mem::replace(&mut *buckets, later)
        };
        drop(inner);
        for waker in due.into_values().flat_map(HashMap::into_values) {
            waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::task::Poll;

    use tokio::time::Instant;

    use super::*;

    /// Waits until the wheel wakes the task registered at `at`.
    async fn woken_at(wheel: &TimerWheel, session: SessionId, at: Instant) -> Instant {
        let tick = wheel.tick_of(wheel.clock().at(at));
        let mut registered = false;
        poll_fn(|cx| {
            if wheel.has_fired(tick) {
                return Poll::Ready(Instant::now());
            }
            if !registered {
                wheel.register(session, tick, cx.waker(), None);
                registered = true;
            }
            Poll::Pending
        })
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn a_far_deadline_fires_after_it_and_at_most_a_tick_late() {
        let wheel = TimerWheel::default();
        let at = Instant::now() + Duration::from_millis(3_100);
        let woken = woken_at(&wheel, SessionId::from_u64(1), at).await;
        assert!(woken >= at, "not before the deadline");
        assert!(woken <= at + TICK + Duration::from_millis(5), "{:?} late", woken - at);
        assert_eq!(wheel.waiting(), 0, "a fired registration is gone");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_or_replaced_registration_is_forgotten() {
        let wheel = TimerWheel::default();
        let waker = Waker::noop();
        let (a, b) = (SessionId::from_u64(1), SessionId::from_u64(2));
        let later = wheel.tick_of(wheel.clock().now() + Duration::from_secs(30));
        let sooner = wheel.tick_of(wheel.clock().now() + Duration::from_secs(10));
        wheel.register(a, later, waker, None);
        wheel.register(b, later, waker, None);
        wheel.register(a, sooner, waker, Some(later));
        assert_eq!(wheel.waiting(), 2, "moved, not added");
        wheel.cancel(a, sooner);
        wheel.cancel(b, later);
        assert_eq!(wheel.waiting(), 0);
    }
}
