//! Heart-beats: what the CONNECT frame offers against what the endpoint
//! allows, and the task that sends the server's beats and drops a client
//! silent for too long.

use std::time::{Duration, Instant};

use wsboot_core::{Message, Session};

use crate::handler::{Problem, fail};
use crate::state::Shared;

/// The two numbers of a `heart-beat` header (`cx,cy`, milliseconds).
pub(crate) fn parse(text: &str) -> Option<(u64, u64)> {
    let (a, b) = text.split_once(',')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// The agreed interval of one direction: none if either side declines,
/// otherwise the longer of the two.
pub(crate) fn agree(ours: Duration, theirs_ms: u64) -> Duration {
    if ours.is_zero() || theirs_ms == 0 { Duration::ZERO } else { ours.max(Duration::from_millis(theirs_ms)) }
}

/// Sends an EOL every `send_every` and closes the session with an ERROR when
/// nothing came from the client for twice `expect_every` (either may be
/// zero: not that way). Ends when the session closes.
pub(crate) fn start(session: Session, state: Shared, send_every: Duration, expect_every: Duration) {
    let tick =
        [send_every, expect_every / 2].into_iter().filter(|d| !d.is_zero()).min().unwrap_or(Duration::from_secs(1));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_sent = Instant::now();
        loop {
            ticks.tick().await;
            if !session.is_open() {
                return;
            }
            if !send_every.is_zero() && last_sent.elapsed() >= send_every {
                // A full queue already carries traffic; the beat is not needed.
                let _ = session.try_send(Message::text("\n"));
                last_sent = Instant::now();
            }
            let silent = state.lock().last_heard.elapsed();
            if !expect_every.is_zero() && silent > expect_every * 2 {
                let problem = Problem::new(
                    "heart-beat timeout",
                    format!("nothing from the client for {silent:?}; the agreed heart-beat is every {expect_every:?}"),
                );
                let _ = fail(&session, &state, problem, None).await;
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_are_matched() {
        assert_eq!(parse("10000, 5000"), Some((10_000, 5_000)));
        assert_eq!(parse("x,1"), None);
        assert_eq!(parse("1"), None);
        assert_eq!(agree(Duration::from_secs(10), 5_000), Duration::from_secs(10));
        assert_eq!(agree(Duration::from_secs(10), 20_000), Duration::from_secs(20));
        assert_eq!(agree(Duration::from_secs(10), 0), Duration::ZERO);
        assert_eq!(agree(Duration::ZERO, 5_000), Duration::ZERO);
    }
}
