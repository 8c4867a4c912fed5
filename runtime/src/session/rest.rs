//! [`RestClock`]: when a session that went quiet gives back its working
//! memory (the read buffer, a hosted stream's read-ahead, the queue's spare
//! room, a compressor's state), so an idle session holds only what it needs
//! to resume.
//!
//! Every read or write marks the session active; the clock looks at the flag
//! at most once per [`KEEP_FOR`] (one timer for the session, no clock read per
//! message), so memory goes back between one and two of these after the last
//! activity. Short enough that a connection that sent one message and went
//! quiet rests as small as one that never spoke; long enough that a busy
//! session keeps its buffers from one message to the next.

use std::time::Duration;

use tokio::time::Instant;

/// How long a session stays quiet before it rests (between one and two of
/// these, as it is checked lazily).
const KEEP_FOR: Duration = Duration::from_millis(250);

/// Decides when a quiet session rests.
#[derive(Debug, Default)]
pub(crate) struct RestClock {
    /// The next check, while the session holds something it could give back.
    check_at: Option<Instant>,
    /// Read or written since the last check.
    active: bool,
}

impl RestClock {
    /// The session read or wrote: it rests no sooner than [`KEEP_FOR`] from now.
    pub(crate) fn touch(&mut self) {
        self.active = true;
        if self.check_at.is_none() {
            self.check_at = Some(Instant::now() + KEEP_FOR);
        }
    }

    /// When the clock is to be looked at, if the session is not resting.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.check_at
    }

    /// At the deadline: whether the session has been quiet since the last check
    /// and is to rest now (then the clock stops until the next activity);
    /// otherwise it looks again later.
    pub(crate) fn due(&mut self, now: Instant) -> bool {
        if self.check_at.is_none_or(|at| at > now) {
            return false;
        }
        if std::mem::take(&mut self.active) {
            self.check_at = Some(now + KEEP_FOR);
            false
        } else {
            self.check_at = None;
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_session_rests_after_a_full_quiet_period_only() {
        let mut clock = RestClock::default();
        assert_eq!(clock.deadline(), None, "nothing to give back before any activity");
        clock.touch();
        let first = clock.deadline().expect("a check once the session was active");

        // Active since the check was set: not yet, looked at again later.
        clock.touch();
        assert!(!clock.due(first));
        let second = clock.deadline().expect("checked again");
        assert!(second > first);

        // Early: nothing happens.
        assert!(!clock.due(second - Duration::from_millis(1)));
        // Quiet for a whole period: rests, and the clock stops.
        assert!(clock.due(second));
        assert_eq!(clock.deadline(), None);
        assert!(!clock.due(second + KEEP_FOR * 4), "a resting session does not rest again");
    }
}
