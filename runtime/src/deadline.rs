//! [`Deadline`]: a session's deadlines in half the space of `Instant`s, on a
//! server's [`Clock`].
//!
//! A session keeps several deadlines (the next ping, the pong, idle, lifetime,
//! the rest check, the timer's): as `Option<Instant>` each takes 16 bytes, for
//! every idle session. Counted in nanoseconds from the moment its server was
//! made, a deadline takes 8 (with `None` in the same 8), exact to the
//! nanosecond, for 584 years of uptime.

use std::num::NonZeroU64;
use std::ops::{Add, Sub};
use std::time::Duration;

use tokio::time::Instant;

/// A server's clock: where its [`Deadline`]s are counted from. Read through
/// tokio's clock, so that tests with paused time move it too.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: Instant,
}

/// A point in time on a server's [`Clock`]: nanoseconds since it started,
/// plus one (so that `Option<Deadline>` is 8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Deadline(NonZeroU64);

impl Clock {
    /// A clock that starts now.
    pub(crate) fn start() -> Self {
        Clock { start: Instant::now() }
    }

    /// The current time.
    pub(crate) fn now(&self) -> Deadline {
        self.at(Instant::now())
    }

    /// `instant` on this clock; one before the clock started counts as its
    /// start (nothing is scheduled before a server exists).
    pub(crate) fn at(&self, instant: Instant) -> Deadline {
        Deadline::START + instant.saturating_duration_since(self.start)
    }

    /// `deadline` as an `Instant`, for tokio's timers.
    pub(crate) fn instant(&self, deadline: Deadline) -> Instant {
        self.start + deadline.since_start()
    }
}

impl Deadline {
    /// The moment the clock started.
    const START: Deadline = Deadline(NonZeroU64::MIN);

    /// How long after the clock's start this is.
    pub(crate) fn since_start(self) -> Duration {
        Duration::from_nanos(self.0.get() - 1)
    }
}

impl Add<Duration> for Deadline {
    type Output = Deadline;

    /// Later by `duration` (saturating, centuries away).
    fn add(self, duration: Duration) -> Deadline {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        Deadline(self.0.saturating_add(nanos))
    }
}

impl Sub<Duration> for Deadline {
    type Output = Deadline;

    /// Earlier by `duration`, but not before the clock's start.
    fn sub(self, duration: Duration) -> Deadline {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        NonZeroU64::new(self.0.get().saturating_sub(nanos)).map_or(Deadline::START, Deadline)
    }
}

/// The earlier of two optional deadlines (computed on every turn of the session
/// loop, so without iterator adapters).
pub(crate) fn earlier(a: Option<Deadline>, b: Option<Deadline>) -> Option<Deadline> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_optional_deadline_is_half_an_optional_instant() {
        assert_eq!(size_of::<Option<Deadline>>(), 8);
        assert_eq!(size_of::<Option<Instant>>(), 16);
    }

    #[tokio::test(start_paused = true)]
    async fn instants_go_there_and_back_exactly() {
        let clock = Clock::start();
        tokio::time::advance(Duration::from_millis(1500)).await;
        let now = Instant::now();
        let deadline = clock.at(now + Duration::from_nanos(7));
        assert_eq!(clock.instant(deadline), now + Duration::from_nanos(7));
        assert_eq!(deadline.since_start(), Duration::from_millis(1500) + Duration::from_nanos(7));
        assert_eq!(clock.now() + Duration::from_nanos(7), deadline);
        assert_eq!(deadline - Duration::from_nanos(7), clock.now());
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_comes_before_the_start_or_after_the_end() {
        let clock = Clock::start();
        let before = Instant::now().checked_sub(Duration::from_secs(1)).expect("the clock has a past");
        assert_eq!(clock.at(before), clock.now(), "before the start counts as the start");
        assert_eq!(clock.now() - Duration::from_secs(5), clock.now());
        let far = clock.now() + Duration::MAX;
        assert!(far > clock.now() + Duration::from_secs(100 * 365 * 86_400));
        assert_eq!(far + Duration::from_secs(1), far, "saturates");
    }

    #[test]
    fn the_earlier_of_two_deadlines() {
        let clock = Clock::start();
        let (a, b) = (clock.now(), clock.now() + Duration::from_secs(1));
        assert_eq!(earlier(Some(a), Some(b)), Some(a));
        assert_eq!(earlier(None, Some(b)), Some(b));
        assert_eq!(earlier(Some(a), None), Some(a));
        assert_eq!(earlier(None, None), None);
    }
}
