//! [`RestClock`]: when a session that went quiet gives back its working
//! memory (the read buffer, a hosted stream's read-ahead, the queue's spare
//! room, a compressor's state), so an idle session holds only what it needs
//! to resume.
//!
//! A session keeps that memory only once it is busy: activity that follows
//! other activity within [`KEEP_FOR`]. The first read after a quiet spell (a
//! connection's first message, a chat user's next line) gives everything back
//! at the end of the same turn. Giving back at once matters beyond the bytes:
//! buffers kept for a while by thousands of connections that each sent one
//! message leave holes between the long-lived state of the connections opened
//! meanwhile, and the allocator keeps those pages resident after they are
//! freed.
//!
//! A busy session's reads and writes only set a flag; the clock looks at it
//! at most once per [`KEEP_FOR`] (one timer for the session, no clock read per
//! message), so memory goes back between one and two of these after the last
//! activity.

use std::time::Duration;

use crate::deadline::{Clock, Deadline};

/// How long a session stays quiet before it rests (between one and two of
/// these, as it is checked lazily); also how soon a second activity must
/// follow the first for the session to count as busy.
const KEEP_FOR: Duration = Duration::from_millis(250);

/// Decides when a quiet session rests.
#[derive(Debug, Default)]
pub(crate) struct RestClock {
    /// Busy: the next check. Resting: activity before this makes the session
    /// busy (set by activity that was given back at once).
    at: Option<Deadline>,
    /// Holding its memory until a check finds it quiet.
    busy: bool,
    /// Read or written since the last check.
    active: bool,
    /// Activity after a quiet spell happened in this turn: give back at its end.
    rest_after_turn: bool,
}

impl RestClock {
    /// The session read or wrote. Busy, it rests no sooner than [`KEEP_FOR`]
    /// from now; after a quiet spell, it rests at the end of this turn.
    pub(crate) fn touch(&mut self, clock: &Clock) {
        if self.busy {
            self.active = true;
            return;
        }
        if self.rest_after_turn {
            // Still the turn that woke it: one burst, not yet a busy session.
            return;
        }
        let now = clock.now();
        let soon_after_the_last = self.at.is_some_and(|until| now < until);
        self.at = Some(now + KEEP_FOR);
        if soon_after_the_last {
            self.busy = true;
            self.active = true;
        } else {
            self.rest_after_turn = true;
        }
    }

    /// At the end of a turn (the session is about to wait): whether it is to
    /// give back now, because it woke from a quiet spell in this turn.
    pub(crate) fn rest_after_turn(&mut self) -> bool {
        std::mem::take(&mut self.rest_after_turn)
    }

    /// Whether the session is busy: it keeps its working memory.
    pub(crate) fn is_busy(&self) -> bool {
        self.busy
    }

    /// When the clock is to be looked at, if the session is busy.
    pub(crate) fn deadline(&self) -> Option<Deadline> {
        self.at.filter(|_| self.busy)
    }

    /// At the deadline: whether the session has been quiet since the last check
    /// and is to rest now (then the clock stops until the next activity);
    /// otherwise it looks again later.
    pub(crate) fn due(&mut self, now: Deadline) -> bool {
        if self.deadline().is_none_or(|at| at > now) {
            return false;
        }
        if std::mem::take(&mut self.active) {
            self.at = Some(now + KEEP_FOR);
            false
        } else {
            self.busy = false;
            self.at = None;
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::time::advance;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_burst_after_a_quiet_spell_is_given_back_in_the_same_turn() {
        let time = Clock::start();
        let mut clock = RestClock::default();
        assert!(!clock.rest_after_turn(), "nothing to give back before any activity");

        // A read and the compressed answer's write, in one turn: still one burst.
        clock.touch(&time);
        clock.touch(&time);
        assert!(clock.rest_after_turn());
        assert_eq!(clock.deadline(), None, "no timer for a session that rested at once");
        assert!(!clock.rest_after_turn(), "only once per burst");

        // The next burst long after: given back at once again.
        advance(KEEP_FOR * 2).await;
        clock.touch(&time);
        assert!(clock.rest_after_turn());
        assert_eq!(clock.deadline(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_session_keeps_its_memory_until_a_full_quiet_period() {
        let time = Clock::start();
        let mut clock = RestClock::default();
        clock.touch(&time);
        assert!(clock.rest_after_turn());

        // A second burst soon after the first: the session is busy and keeps its memory.
        advance(KEEP_FOR / 2).await;
        clock.touch(&time);
        assert!(!clock.rest_after_turn());
        let first = clock.deadline().expect("a check while busy");

        // Active since the check was set: not yet, looked at again later.
        advance(KEEP_FOR / 2).await;
        clock.touch(&time);
        assert!(!clock.due(first - Duration::from_millis(1)), "early: nothing happens");
        assert!(!clock.due(first));
        let second = clock.deadline().expect("checked again");
        assert!(second > first);

        // Quiet for a whole period: rests, and the clock stops.
        assert!(clock.due(second));
        assert_eq!(clock.deadline(), None);
        assert!(!clock.due(second + KEEP_FOR * 4), "a resting session does not rest again");

        // The next activity is a burst after a quiet spell again.
        advance(KEEP_FOR * 4).await;
        clock.touch(&time);
        assert!(clock.rest_after_turn());
    }
}
