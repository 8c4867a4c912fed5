//! [`Entry`]: a registered session and the topics it joined, as the hub's
//! session table keeps it.

use std::sync::Arc;

use crate::session::Session;

/// A registered session and what it joined. Every open session has an entry;
/// the lists are made on the first subscription or presence, in one box, so
/// a session that joins nothing costs the table 16 bytes rather than 56.
pub(crate) struct Entry {
    pub(super) session: Session,
    joined: Option<Box<Joined>>,
}

#[derive(Default)]
struct Joined {
    topics: Vec<Arc<str>>,
    /// The topics the session tracks its presence in.
    presence: Vec<Arc<str>>,
}

impl Entry {
    pub(super) fn new(session: Session) -> Self {
        Entry { session, joined: None }
    }

    /// The topics the session is subscribed to.
    pub(super) fn topics(&self) -> &[Arc<str>] {
        self.joined.as_ref().map_or(&[], |joined| &joined.topics)
    }

    /// The topics the session tracks its presence in.
    pub(super) fn presence(&self) -> &[Arc<str>] {
        self.joined.as_ref().map_or(&[], |joined| &joined.presence)
    }

    pub(super) fn add_topic(&mut self, topic: Arc<str>) {
        self.joined.get_or_insert_with(Box::default).topics.push(topic);
    }

    pub(super) fn add_presence(&mut self, topic: Arc<str>) {
        self.joined.get_or_insert_with(Box::default).presence.push(topic);
    }

    /// Forgets a subscription; whether there was one.
    pub(super) fn remove_topic(&mut self, topic: &str) -> bool {
        self.joined.as_mut().is_some_and(|joined| remove(&mut joined.topics, topic))
    }

    /// Forgets a presence; whether there was one.
    pub(super) fn remove_presence(&mut self, topic: &str) -> bool {
        self.joined.as_mut().is_some_and(|joined| remove(&mut joined.presence, topic))
    }

    /// The subscriptions and presences, as the session leaves.
    pub(super) fn into_joined(self) -> (Vec<Arc<str>>, Vec<Arc<str>>) {
        self.joined.map_or_else(Default::default, |joined| (joined.topics, joined.presence))
    }
}

fn remove(list: &mut Vec<Arc<str>>, topic: &str) -> bool {
    let before = list.len();
    list.retain(|t| &**t != topic);
    list.len() != before
}
