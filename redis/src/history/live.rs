//! Live delivery of recorded publications without gaps and without
//! duplicates: the subscriber task remembers, for each topic this node
//! subscribes to in Redis, the position of the last publication it handed to
//! the hub, and delivers in position order only.
//!
//! - A topic is subscribed first, then its history's latest position is read:
//!   publications up to it were made before the subscription resolved; every
//!   later one arrives over pub/sub. Until that position is known, what
//!   arrives is delivered as it comes.
//! - After a reconnect, before the broker counts as connected again, every
//!   topic is caught up from its stream: what pub/sub dropped while the
//!   connection was down is delivered then, and its pub/sub copies, arriving
//!   later, are skipped.
//! - A publication that does not follow the last one all the same (a catch-up
//!   that failed; or a new epoch: the history was lost) is preceded by what the
//!   stream kept in between.
//! - A history read waits until this node has delivered everything up to the
//!   position it read ([`Subscriptions::caught_up`]), so that a session that
//!   replays the history and then goes live never receives a publication
//!   twice.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use wsboot_core::{Message, Position, RemoteDelivery};

use crate::broker::Inner;
use crate::stats::Counters;

/// Where live delivery of one topic stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Track {
    /// The last publication handed to the hub; before any, the history's
    /// latest when the topic was subscribed (`None`: it had no history then).
    last: Option<Position>,
    /// Whether `last` is known: the history's latest position was read after
    /// subscribing. Until then publications are delivered as they come.
    ready: bool,
}

/// The topics this node subscribes to in Redis, and where live delivery of
/// each stands.
///
/// Only subscribe, unsubscribe and the restoring of subscriptions (under the
/// subscribing connection's lock) add and remove topics; the subscriber task
/// moves positions on.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    topics: Mutex<HashMap<String, Track>>,
    /// Woken whenever a position moves on.
    moved: Notify,
}

impl Subscriptions {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Track>> {
        // Each change is a single insert, remove or assignment: a poisoned map is sound.
        self.topics.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether `topic` is subscribed.
    pub(crate) fn contains(&self, topic: &str) -> bool {
        self.lock().contains_key(topic)
    }

    /// Adds `topic`, about to be subscribed, its position not yet known.
    pub(crate) fn begin(&self, topic: &str) {
        self.lock().entry(topic.to_owned()).or_default();
    }

    /// Sets where live delivery of `topic` starts: after `latest`, the
    /// history's latest position read once subscribed, unless publications
    /// were delivered meanwhile (then after them).
    pub(crate) fn start_after(&self, topic: &str, latest: Option<Position>) {
        if let Some(track) = self.lock().get_mut(topic) {
            if track.last.is_none() {
                track.last = latest;
            }
            track.ready = true;
        }
        self.moved.notify_waiters();
    }

    /// Removes `topic`.
    pub(crate) fn remove(&self, topic: &str) {
        self.lock().remove(topic);
    }

    /// Before restoring the subscriptions: keeps only `topics` (the hub's),
    /// and returns those whose position must be read once subscribed (new
    /// ones, and those that never had one). The others catch up from theirs.
    pub(crate) fn restore(&self, topics: &[String]) -> Vec<String> {
        let mut map = self.lock();
        map.retain(|topic, _| topics.contains(topic));
        let mut fresh = Vec::new();
        for topic in topics {
            let track = map.entry(topic.clone()).or_default();
            if track.last.is_none() {
                *track = Track::default();
                fresh.push(topic.clone());
            }
        }
        fresh
    }

    fn track(&self, topic: &str) -> Option<Track> {
        self.lock().get(topic).copied()
    }

    /// Records that `position` of `topic` was delivered.
    fn advance(&self, topic: &str, position: Position) {
        if let Some(track) = self.lock().get_mut(topic) {
            if is_after(&position, &track.last) {
                track.last = Some(position);
            }
        }
        self.moved.notify_waiters();
    }

    /// The subscribed topics with a position to catch up from.
    fn positioned(&self) -> Vec<(String, Position)> {
        self.lock().iter().filter_map(|(topic, track)| track.last.map(|last| (topic.clone(), last))).collect()
    }

    /// Whether every publication of `topic` up to `top` was handed to the hub
    /// (or this node does not subscribe to it).
    fn reached(&self, topic: &str, top: Position) -> bool {
        match self.lock().get(topic) {
            None => true,
            Some(track) => {
                top.offset() == 0
                    || track.last.is_some_and(|last| last.epoch() == top.epoch() && last.offset() >= top.offset())
            }
        }
    }

    /// Waits, at most `limit`, until every publication of `topic` up to `top`
    /// was handed to the hub; whether it was.
    pub(crate) async fn caught_up(&self, topic: &str, top: Position, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let moved = self.moved.notified();
            tokio::pin!(moved);
            // Registered before looking, so no move between the two is missed.
            moved.as_mut().enable();
            if self.reached(topic, top) {
                return true;
            }
            if tokio::time::timeout_at(deadline, moved).await.is_err() {
                return self.reached(topic, top);
            }
        }
    }
}

/// Whether `position` comes after `last`: later in the same history, or in
/// another history (the epoch changed).
fn is_after(position: &Position, last: &Option<Position>) -> bool {
    last.is_none_or(|last| position.epoch() != last.epoch() || position.offset() > last.offset())
}

/// Whether `position` is the very next publication after `last`.
fn follows(position: &Position, last: &Option<Position>) -> bool {
    match last {
        Some(last) => position.epoch() == last.epoch() && position.offset() == last.offset() + 1,
        None => position.offset() == 1,
    }
}

/// Hands recorded publications that arrived over pub/sub (a run at
/// consecutive positions) to the hub, after whatever this node missed before
/// them; skips those delivered already.
pub(crate) async fn deliver(inner: &Inner, delivery: &RemoteDelivery, topic: &str, run: Vec<(Position, Message)>) {
    let Some(track) = inner.subscriptions.track(topic) else {
        // Still on its way when the topic was unsubscribed: nobody here to track it for.
        for (position, message) in run {
            hand_over(inner, delivery, topic, position, message);
        }
        return;
    };
    let mut last = track.last;
    for (position, message) in run {
        if !is_after(&position, &last) {
            continue; // delivered from the stream already, or older than the subscription
        }
        if track.ready && !follows(&position, &last) {
            last = fill(inner, delivery, topic, last).await;
            if !is_after(&position, &last) {
                continue;
            }
        }
        hand_over(inner, delivery, topic, position, message);
        last = Some(position);
    }
    if let Some(last) = last.filter(|_| last != track.last) {
        inner.subscriptions.advance(topic, last);
    }
}

/// Delivers what every subscribed topic missed while the connection was
/// down (after the subscriptions are restored, before listening again).
pub(crate) async fn refill(inner: &Inner, delivery: &RemoteDelivery) {
    for (topic, last) in inner.subscriptions.positioned() {
        fill(inner, delivery, &topic, Some(last)).await;
    }
}

/// Delivers the publications of `topic` the stream kept after `last`; returns
/// the position delivery now stands at.
async fn fill(inner: &Inner, delivery: &RemoteDelivery, topic: &str, last: Option<Position>) -> Option<Position> {
    let (epoch, missed) = match super::after(inner, topic, last).await {
        Ok(Some(found)) => found,
        Ok(None) => return last,
        Err(error) => {
            tracing::warn!(topic, "{error}; publications after {last:?} may be missing on this node");
            return last;
        }
    };
    match last {
        Some(last) if last.epoch() != epoch => tracing::warn!(
            topic,
            "the topic's history was lost in Redis (restarted without persistence, or expired) and started over: \
             delivering its new publications; what was published in between is gone"
        ),
        Some(last) => {
            let first = missed.first().map(|(position, _)| position.offset());
            if let Some(lost) = first.and_then(|first| first.checked_sub(last.offset() + 1)).filter(|n| *n > 0) {
                tracing::warn!(topic, lost, "publications left the history before this node could deliver them");
            }
        }
        None => {}
    }
    let mut now = last;
    let mut filled = 0;
    for (position, message) in missed {
        if is_after(&position, &now) {
            hand_over(inner, delivery, topic, position, message);
            inner.subscriptions.advance(topic, position);
            now = Some(position);
            filled += 1;
        }
    }
    if filled > 0 {
        Counters::add(&inner.stats.gap_fills);
        Counters::add_many(&inner.stats.gap_filled, filled);
        tracing::debug!(topic, filled, "delivered publications missed over pub/sub from the history");
    }
    now
}

fn hand_over(inner: &Inner, delivery: &RemoteDelivery, topic: &str, position: Position, message: Message) {
    Counters::add(&inner.stats.received);
    delivery.publication(topic, position, message);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(epoch: u64, offset: u64) -> Position {
        Position::new(epoch, offset)
    }

    #[test]
    fn what_comes_next_and_what_is_stale() {
        assert!(follows(&at(7, 1), &None));
        assert!(!follows(&at(7, 2), &None), "a first publication past 1 fills from the start");
        assert!(follows(&at(7, 5), &Some(at(7, 4))));
        assert!(!follows(&at(7, 6), &Some(at(7, 4))), "a gap");
        assert!(!follows(&at(8, 5), &Some(at(7, 4))), "a new epoch");
        assert!(!is_after(&at(7, 4), &Some(at(7, 4))), "delivered already");
        assert!(is_after(&at(8, 1), &Some(at(7, 4))));
    }

    #[test]
    fn positions_start_after_the_latest_unless_deliveries_came_first() {
        let subscriptions = Subscriptions::default();
        subscriptions.begin("t");
        subscriptions.start_after("t", Some(at(7, 4)));
        assert_eq!(subscriptions.track("t"), Some(Track { last: Some(at(7, 4)), ready: true }));
        subscriptions.advance("t", at(7, 3));
        assert_eq!(subscriptions.track("t").unwrap().last, Some(at(7, 4)), "never backwards");

        subscriptions.begin("u");
        subscriptions.advance("u", at(7, 2));
        subscriptions.start_after("u", Some(at(7, 4)));
        assert_eq!(subscriptions.track("u").unwrap().last, Some(at(7, 2)), "delivery goes on from what it gave");

        subscriptions.advance("gone", at(7, 9));
        assert_eq!(subscriptions.track("gone"), None, "an unsubscribed topic is not tracked");

        subscriptions.begin("v");
        let mut positioned = subscriptions.positioned();
        positioned.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(positioned, [("t".to_owned(), at(7, 4)), ("u".to_owned(), at(7, 2))]);
        let fresh = subscriptions.restore(&["t".to_owned(), "v".to_owned(), "w".to_owned()]);
        assert_eq!(fresh, ["v", "w"], "those without a position read it again");
        assert!(subscriptions.contains("t") && !subscriptions.contains("u"));
    }

    #[tokio::test]
    async fn a_read_waits_for_the_deliveries_up_to_its_position() {
        let subscriptions = Subscriptions::default();
        assert!(subscriptions.caught_up("elsewhere", at(7, 9), Duration::ZERO).await, "not subscribed here");
        subscriptions.begin("t");
        subscriptions.start_after("t", Some(at(7, 2)));
        assert!(subscriptions.caught_up("t", at(7, 0), Duration::ZERO).await, "an empty history");
        assert!(!subscriptions.caught_up("t", at(7, 3), Duration::from_millis(10)).await);
        let waiting = subscriptions.caught_up("t", at(7, 3), Duration::from_secs(5));
        let delivering = async {
            tokio::task::yield_now().await;
            subscriptions.advance("t", at(7, 3));
        };
        let (caught_up, ()) = tokio::join!(waiting, delivering);
        assert!(caught_up);
    }
}
