//! [`MemoryHistory`]: topic history kept in process, for a single node.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::{Duration, Instant};

use super::{HistoryLimits, HistorySlice, Position, Recorded, new_epoch};
use crate::message::Message;

/// How long a topic whose history has emptied keeps its epoch and offset, so a
/// client coming back after a quiet spell still resumes (with nothing to
/// replay) instead of being told its position is lost.
const IDLE_TOPIC_KEPT: Duration = Duration::from_secs(24 * 60 * 60);

/// How often a publish also sweeps expired publications and idle topics out of
/// every topic (amortised: there is no background task).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Topic histories in process memory: what [`LocalBroker`](crate::LocalBroker)
/// uses. Positions are valid in this process only; a restart starts every topic
/// under a new epoch.
#[derive(Debug, Default)]
pub struct MemoryHistory {
    topics: RwLock<HashMap<Arc<str>, Arc<Mutex<TopicLog>>>>,
    /// When the last sweep ran, in milliseconds since `created` (one atomic
    /// load per publish decides whether another is due).
    last_sweep_ms: AtomicU64,
    created: OnceLock<Instant>,
}

#[derive(Debug)]
struct TopicLog {
    epoch: u64,
    top: u64,
    entries: VecDeque<Entry>,
    bytes: usize,
    keys: HashMap<Arc<str>, u64>,
    limits: HistoryLimits,
    last_used: Instant,
}

#[derive(Debug)]
struct Entry {
    offset: u64,
    at: Instant,
    message: Message,
    key: Option<Arc<str>>,
}

impl Entry {
    fn bytes(&self) -> usize {
        self.message.len() + self.key.as_ref().map_or(0, |k| k.len())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a log leaves it consistent (each step is one push
    // or pop), so a poisoned lock is still sound to use.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl TopicLog {
    fn new(limits: HistoryLimits, now: Instant) -> Self {
        TopicLog {
            epoch: new_epoch(),
            top: 0,
            entries: VecDeque::new(),
            bytes: 0,
            keys: HashMap::new(),
            limits,
            last_used: now,
        }
    }

    fn position(&self, offset: u64) -> Position {
        Position::new(self.epoch, offset)
    }

    /// Drops the oldest publications while any bound is exceeded.
    fn trim(&mut self, now: Instant) {
        let limits = self.limits;
        while let Some(first) = self.entries.front() {
            let expired = now.saturating_duration_since(first.at) > limits.max_age;
            if !(expired || self.entries.len() > limits.max_messages || self.bytes > limits.max_bytes) {
                break;
            }
            let first = self.entries.pop_front().expect("just looked at it");
            self.bytes -= first.bytes();
            if let Some(key) = first.key {
                self.keys.remove(&key);
            }
        }
    }

    fn read(&mut self, since: Option<Position>, now: Instant) -> HistorySlice {
        self.trim(now);
        self.last_used = now;
        let top = self.position(self.top);
        let Some(since) = since else { return HistorySlice::new(Vec::new(), false, top) };
        if since.epoch() != self.epoch || since.offset() > self.top {
            return HistorySlice::new(Vec::new(), false, top);
        }
        let first = self.entries.front().map_or(self.top + 1, |e| e.offset);
        if first > since.offset() + 1 {
            return HistorySlice::new(Vec::new(), false, top);
        }
        let skip = (since.offset() + 1 - first) as usize;
        let publications =
            self.entries.iter().skip(skip).map(|e| (self.position(e.offset), e.message.clone())).collect();
        HistorySlice::new(publications, true, top)
    }
}

impl MemoryHistory {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    fn log(&self, topic: &str, limits: &HistoryLimits, now: Instant) -> Arc<Mutex<TopicLog>> {
        if let Some(log) = self.topics.read().unwrap_or_else(|p| p.into_inner()).get(topic) {
            return log.clone();
        }
        let mut topics = self.topics.write().unwrap_or_else(|p| p.into_inner());
        topics.entry(Arc::from(topic)).or_insert_with(|| Arc::new(Mutex::new(TopicLog::new(*limits, now)))).clone()
    }

    /// Records `message` on `topic` and, while the topic is still locked (so
    /// that every subscriber sees publications in position order), hands it to
    /// `deliver`, which returns how many sessions took it. A publication whose
    /// `key` is still in the history is not recorded again: the first one's
    /// position comes back, marked duplicate.
    pub fn publish(
        &self,
        topic: &str,
        message: &Message,
        key: Option<&str>,
        limits: &HistoryLimits,
        deliver: impl FnOnce(Position, &Message) -> usize,
    ) -> Recorded {
        let now = Instant::now();
        self.sweep_if_due(now);
        let log = self.log(topic, limits, now);
        let mut log = lock(&log);
        log.limits = *limits;
        log.last_used = now;
        log.trim(now);
        if let Some(offset) = key.and_then(|key| log.keys.get(key).copied()) {
            return Recorded::new(log.position(offset), true, 0);
        }
        log.top += 1;
        let offset = log.top;
        let key: Option<Arc<str>> = key.map(Arc::from);
        if let Some(key) = &key {
            log.keys.insert(key.clone(), offset);
        }
        let entry = Entry { offset, at: now, message: message.clone(), key };
        log.bytes += entry.bytes();
        log.entries.push_back(entry);
        log.trim(now);
        let position = log.position(offset);
        let delivered = deliver(position, message);
        Recorded::new(position, false, delivered)
    }

    /// The publications of `topic` after `since` (see [`HistorySlice`]).
    pub fn read(&self, topic: &str, since: Option<Position>, limits: &HistoryLimits) -> HistorySlice {
        let now = Instant::now();
        let log = self.log(topic, limits, now);
        let mut log = lock(&log);
        log.read(since, now)
    }

    /// Publications retained, over every topic, and their payload bytes.
    pub fn retained(&self) -> (usize, usize) {
        let topics = self.topics.read().unwrap_or_else(|p| p.into_inner());
        topics.values().map(|log| lock(log)).fold((0, 0), |(n, b), log| (n + log.entries.len(), b + log.bytes))
    }

    /// At most once per [`SWEEP_EVERY`]: trims expired publications from every
    /// topic and forgets topics idle for [`IDLE_TOPIC_KEPT`].
    fn sweep_if_due(&self, now: Instant) {
        let created = *self.created.get_or_init(|| now);
        let now_ms = now.saturating_duration_since(created).as_millis() as u64;
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) < SWEEP_EVERY.as_millis() as u64 {
            return;
        }
        // One publisher sweeps; the others go on.
        if self.last_sweep_ms.compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return;
        }
        let mut topics = self.topics.write().unwrap_or_else(|p| p.into_inner());
        topics.retain(|_, log| {
            let mut log = lock(log);
            log.trim(now);
            !(log.entries.is_empty() && now.saturating_duration_since(log.last_used) > IDLE_TOPIC_KEPT)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(
        history: &MemoryHistory,
        topic: &str,
        text: &str,
        key: Option<&str>,
        limits: &HistoryLimits,
    ) -> Recorded {
        history.publish(topic, &Message::text(text.to_owned()), key, limits, |_, _| 0)
    }

    fn texts(slice: &HistorySlice) -> Vec<&str> {
        slice.publications.iter().map(|(_, m)| m.as_text().unwrap()).collect()
    }

    #[test]
    fn positions_count_up_and_replay_what_followed() {
        let history = MemoryHistory::new();
        let limits = HistoryLimits::default();
        let start = history.read("t", None, &limits);
        assert!(!start.recovered);
        let top = start.top.unwrap();
        assert_eq!(top.offset(), 0);
        let first = publish(&history, "t", "a", None, &limits).position;
        assert_eq!(first, top.next());
        publish(&history, "t", "b", None, &limits);
        publish(&history, "t", "c", None, &limits);
        let slice = history.read("t", Some(first), &limits);
        assert!(slice.recovered);
        assert_eq!(texts(&slice), ["b", "c"]);
        assert_eq!(slice.top.unwrap().offset(), 3);
        let from_start = history.read("t", Some(top), &limits);
        assert_eq!(texts(&from_start), ["a", "b", "c"]);
        let at_top = history.read("t", slice.top, &limits);
        assert!(at_top.recovered && at_top.publications.is_empty());
        // Another topic has its own epoch and offsets.
        assert_ne!(history.read("u", None, &limits).top.unwrap().epoch(), top.epoch());
    }

    #[test]
    fn positions_the_history_no_longer_covers_are_not_recovered() {
        let history = MemoryHistory::new();
        let limits = HistoryLimits { max_messages: 2, ..HistoryLimits::default() };
        let top = history.read("t", None, &limits).top.unwrap();
        for text in ["a", "b", "c"] {
            publish(&history, "t", text, None, &limits);
        }
        assert!(!history.read("t", Some(top), &limits).recovered, "a was trimmed");
        assert_eq!(texts(&history.read("t", Some(top.next()), &limits)), ["b", "c"]);
        let other_epoch = Position::new(top.epoch() ^ 1, 1);
        assert!(!history.read("t", Some(other_epoch), &limits).recovered);
        let future = Position::new(top.epoch(), 99);
        assert!(!history.read("t", Some(future), &limits).recovered);
    }

    #[test]
    fn bytes_and_age_bound_the_history() {
        let history = MemoryHistory::new();
        let limits = HistoryLimits { max_bytes: 5, ..HistoryLimits::default() };
        let top = history.read("t", None, &limits).top.unwrap();
        publish(&history, "t", "abc", None, &limits);
        publish(&history, "t", "de", None, &limits);
        assert_eq!(history.retained(), (2, 5));
        publish(&history, "t", "f", None, &limits);
        assert_eq!(history.retained(), (2, 3));
        assert!(!history.read("t", Some(top), &limits).recovered);

        let short = HistoryLimits { max_age: Duration::from_millis(20), ..HistoryLimits::default() };
        let start = history.read("aging", None, &short).top;
        publish(&history, "aging", "old", None, &short);
        std::thread::sleep(Duration::from_millis(40));
        let slice = history.read("aging", start, &short);
        assert!(!slice.recovered, "the only publication after it expired");
        assert_eq!(slice.top.unwrap().offset(), 1);
    }

    #[test]
    fn a_key_still_in_the_history_is_not_published_twice() {
        let history = MemoryHistory::new();
        let limits = HistoryLimits { max_messages: 2, ..HistoryLimits::default() };
        let first = publish(&history, "t", "a", Some("k1"), &limits);
        assert!(!first.duplicate);
        let again = publish(&history, "t", "a again", Some("k1"), &limits);
        assert!(again.duplicate);
        assert_eq!(again.position, first.position);
        assert_eq!(history.retained().0, 1);
        // The same key on another topic is another publication.
        assert!(!publish(&history, "u", "a", Some("k1"), &limits).duplicate);
        // Once trimmed, the key is forgotten.
        publish(&history, "t", "b", None, &limits);
        publish(&history, "t", "c", None, &limits);
        assert!(!publish(&history, "t", "a late", Some("k1"), &limits).duplicate);
    }
}
