//! Topic history: every publication to a topic whose history is on gets a
//! [`Position`] and is kept, bounded by count, bytes and age, so that a
//! subscriber that comes back can be given what it missed
//! ([`Session::subscribe_from`](crate::Session::subscribe_from)), and a
//! publish carrying an idempotency key is never doubled
//! ([`Hub::publish_idempotent`](crate::Hub::publish_idempotent)).
//!
//! History is off unless a [`TopicHistory`] enables it for a topic pattern, so
//! apps that do not need it pay nothing. Where it lives is the broker's choice:
//! [`LocalBroker`](crate::LocalBroker) keeps it in process
//! ([`MemoryHistory`]); a cluster broker keeps it where every node reads the
//! same (the Redis broker: Redis Streams).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::message::Message;

mod memory;
mod position;

pub use memory::MemoryHistory;
use position::new_epoch;
pub use position::{Position, PositionParseError};

/// How a delivery carries its position: given the position and the message as
/// published, the message subscribers receive. Runs once per publication on
/// each node (not once per subscriber), and for each replayed publication.
pub type Stamp = Arc<dyn Fn(&Position, &Message) -> Message + Send + Sync>;

/// The bounds of one topic's history. The oldest publications leave first,
/// when any bound is exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryLimits {
    /// Most publications kept. Default: 1,000.
    pub max_messages: usize,
    /// Most payload bytes kept (idempotency keys included). Default: 1 MiB.
    pub max_bytes: usize,
    /// How long a publication is kept. Default: 5 minutes.
    pub max_age: Duration,
}

impl Default for HistoryLimits {
    fn default() -> Self {
        HistoryLimits { max_messages: 1_000, max_bytes: 1 << 20, max_age: Duration::from_secs(300) }
    }
}

/// Turns history on for the topics matching a pattern, with its bounds.
///
/// The pattern is a topic name in which `*` matches any run of characters:
/// `chat:*` matches every chat room, `*` every topic. When several patterns
/// match a topic, the first added wins.
///
/// ```
/// use std::time::Duration;
/// use wsboot_core::{HandlerRegistry, Message, TopicHistory};
///
/// let mut registry = HandlerRegistry::new();
/// registry.add_topic_history(
///     TopicHistory::new("chat:*")
///         .max_messages(5_000)
///         .max_age(Duration::from_secs(600))
///         // Subscribers receive the position in front of each text.
///         .stamp(|position, message| match message.as_text() {
///             Some(text) => Message::text(format!("{position} {text}")),
///             None => message.clone(),
///         }),
/// );
/// ```
#[derive(Clone)]
pub struct TopicHistory {
    pattern: String,
    limits: HistoryLimits,
    stamp: Option<Stamp>,
}

impl TopicHistory {
    /// History for the topics matching `pattern`, with the default bounds.
    pub fn new(pattern: impl Into<String>) -> Self {
        TopicHistory { pattern: pattern.into(), limits: HistoryLimits::default(), stamp: None }
    }

    /// Keeps at most `count` publications.
    pub fn max_messages(mut self, count: usize) -> Self {
        self.limits.max_messages = count;
        self
    }

    /// Keeps at most `bytes` of payload.
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_bytes = bytes;
        self
    }

    /// Keeps a publication at most `age`.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.limits.max_age = age;
        self
    }

    /// Sets all bounds at once.
    pub fn limits(mut self, limits: HistoryLimits) -> Self {
        self.limits = limits;
        self
    }

    /// How each delivery carries its position (see [`Stamp`]). Without one,
    /// subscribers receive the message exactly as published.
    pub fn stamp(mut self, stamp: impl Fn(&Position, &Message) -> Message + Send + Sync + 'static) -> Self {
        self.stamp = Some(Arc::new(stamp));
        self
    }

    /// The topic pattern.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The bounds.
    pub fn history_limits(&self) -> &HistoryLimits {
        &self.limits
    }

    /// Whether `topic` matches the pattern.
    pub fn matches(&self, topic: &str) -> bool {
        glob_matches(self.pattern.as_bytes(), topic.as_bytes())
    }

    /// The message subscribers receive for `message` published at `position`.
    pub fn stamped(&self, position: &Position, message: &Message) -> Message {
        match &self.stamp {
            Some(stamp) => stamp(position, message),
            None => message.clone(),
        }
    }

    /// Why this configuration cannot work, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let what = |detail: &str| Some(format!("topic history {:?}: {detail}", self.pattern));
        if self.pattern.is_empty() {
            return what("the pattern is empty; use \"*\" for every topic");
        }
        if self.limits.max_messages == 0 {
            return what("max_messages is 0; turn history off by not adding it instead");
        }
        if self.limits.max_bytes == 0 {
            return what("max_bytes is 0");
        }
        if self.limits.max_age.is_zero() {
            return what("max_age is 0");
        }
        None
    }
}

impl fmt::Debug for TopicHistory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TopicHistory")
            .field("pattern", &self.pattern)
            .field("limits", &self.limits)
            .field("stamp", &self.stamp.is_some())
            .finish()
    }
}

/// `*` matches any run of bytes (including none); every other byte itself.
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it was tried against.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// What recording a publication gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recorded {
    /// The publication's position (the first one's, for a duplicate).
    pub position: Position,
    /// Whether the idempotency key was already in the history: nothing was
    /// published this time.
    pub duplicate: bool,
    /// Sessions of this node that took the publication during the call (0 when
    /// the broker hands publications back later, as a cluster broker does).
    pub delivered_here: usize,
}

impl Recorded {
    /// A record of a publication.
    pub fn new(position: Position, duplicate: bool, delivered_here: usize) -> Self {
        Recorded { position, duplicate, delivered_here }
    }
}

/// The publications of a topic after a position, as a broker reads them.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct HistorySlice {
    /// The publications after the position asked for, oldest first, as
    /// published (not stamped). Empty unless `recovered`.
    pub publications: Vec<(Position, Message)>,
    /// Whether the history covers everything after the position asked for.
    pub recovered: bool,
    /// The history's latest position (offset 0 before any publication):
    /// live delivery continues after it.
    pub top: Option<Position>,
}

impl HistorySlice {
    /// A slice of `publications` up to `top`.
    pub fn new(publications: Vec<(Position, Message)>, recovered: bool, top: Position) -> Self {
        HistorySlice { publications, recovered, top: Some(top) }
    }
}

/// The histories configured for a hub, searched in order.
#[derive(Clone, Default, Debug)]
pub(crate) struct Histories(Vec<TopicHistory>);

impl Histories {
    pub(crate) const EMPTY: Histories = Histories(Vec::new());

    pub(crate) fn new(histories: Vec<TopicHistory>) -> Self {
        Histories(histories)
    }

    /// The history settings of `topic`, if its history is on.
    pub(crate) fn find(&self, topic: &str) -> Option<&TopicHistory> {
        if self.0.is_empty() {
            return None;
        }
        self.0.iter().find(|h| h.matches(topic))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_with_stars() {
        let m = |p: &str, t: &str| glob_matches(p.as_bytes(), t.as_bytes());
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("chat:*", "chat:lobby"));
        assert!(m("chat:*", "chat:"));
        assert!(!m("chat:*", "chats:lobby"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(m("a*b", "abab"));
        assert!(!m("a*b", "abac"));
        assert!(m("exact", "exact"));
        assert!(!m("exact", "exactly"));
    }

    #[test]
    fn the_first_matching_pattern_wins_and_problems_are_named() {
        let histories =
            Histories::new(vec![TopicHistory::new("chat:vip").max_messages(5), TopicHistory::new("chat:*")]);
        assert_eq!(histories.find("chat:vip").unwrap().history_limits().max_messages, 5);
        assert_eq!(histories.find("chat:x").unwrap().pattern(), "chat:*");
        assert!(histories.find("news").is_none());
        assert!(TopicHistory::new("").problem().unwrap().contains("empty"));
        assert!(TopicHistory::new("x").max_messages(0).problem().unwrap().contains("max_messages"));
        assert!(TopicHistory::new("x").problem().is_none());
    }
}
