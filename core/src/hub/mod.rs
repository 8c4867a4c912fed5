//! [`Hub`]: every open session of a server, topics (rooms) and per-user
//! addressing, with fan-out through a [`Broker`].

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

mod delivery;
#[cfg(test)]
mod tests;

use crate::broker::{RemoteDelivery, SharedBroker};
use crate::error::{Error, ErrorKind};
use crate::message::Message;
use crate::session::{Session, SessionId};

/// The sessions of one server: look them up, count them, group them into topics,
/// address every session of one user (Spring's `/user/` destinations), and
/// publish to all of a topic's subscribers — on every node, through the broker.
///
/// Cheap to clone. Handlers reach it with [`Session::hub`]; other tasks get it
/// from the server.
///
/// A publish queues one shared copy of the message for every recipient; it never waits for a slow subscriber (see
/// [`OverflowPolicy`](crate::OverflowPolicy)). Messages published from one task
/// reach each subscriber in publish order.
#[derive(Clone)]
pub struct Hub {
    pub(crate) inner: Arc<HubInner>,
}

#[derive(Default)]
pub(crate) struct Entry {
    session: Option<Session>,
    topics: Vec<Arc<str>>,
}

pub(crate) struct HubInner {
    sessions: RwLock<HashMap<SessionId, Entry>>,
    topics: RwLock<HashMap<Arc<str>, HashMap<SessionId, Session>>>,
    users: RwLock<HashMap<Arc<str>, Vec<Session>>>,
    broker: SharedBroker,
    stats: Counters,
}

#[derive(Default)]
struct Counters {
    published: AtomicU64,
    delivered: AtomicU64,
    dropped: AtomicU64,
    terminated: AtomicU64,
    broker_errors: AtomicU64,
}

/// Counters of a hub's deliveries since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubStats {
    /// Publishes and per-user sends made on this node.
    pub published: u64,
    /// Messages queued for local sessions.
    pub delivered: u64,
    /// Messages dropped for slow consumers (drop-oldest or drop-newest).
    pub dropped: u64,
    /// Slow sessions closed because their queue overflowed.
    pub terminated: u64,
    /// Broker calls that failed.
    pub broker_errors: u64,
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    // Critical sections only move handles in and out of maps; a panic there cannot
    // leave them half-updated, so a poisoned lock is still sound to use.
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Hub {
    /// A hub whose topics travel through `broker` (the server makes one).
    pub(crate) fn new(broker: SharedBroker) -> Self {
        Hub {
            inner: Arc::new(HubInner {
                sessions: RwLock::default(),
                topics: RwLock::default(),
                users: RwLock::default(),
                broker,
                stats: Counters::default(),
            }),
        }
    }

    /// Starts the broker (the server calls this once, at startup).
    pub(crate) async fn start(&self) -> Result<(), Error> {
        let hub: std::sync::Weak<dyn crate::broker::LocalDelivery> = Arc::downgrade(&self.inner) as _;
        self.inner.broker.start(RemoteDelivery::new(hub)).await
    }

    /// Stops the broker (the server calls this at shutdown).
    pub(crate) async fn shutdown(&self) {
        self.inner.broker.shutdown().await
    }

    /// The broker's name.
    pub fn broker_name(&self) -> &'static str {
        self.inner.broker.name()
    }

    /// Adds an open session (the runtime calls this before
    /// `after_connection_established`).
    pub(crate) fn register(&self, session: &Session) {
        write(&self.inner.sessions).insert(session.id(), Entry { session: Some(session.clone()), topics: Vec::new() });
        if let Some(principal) = session.principal() {
            write(&self.inner.users).entry(Arc::from(principal.name())).or_default().push(session.clone());
        }
    }

    /// Removes a session and every subscription it had (the runtime calls this as
    /// the session closes, before `after_connection_closed`).
    pub(crate) async fn unregister(&self, session: &Session) {
        let Some(entry) = write(&self.inner.sessions).remove(&session.id()) else { return };
        if let Some(principal) = session.principal() {
            let mut users = write(&self.inner.users);
            if let Some(list) = users.get_mut(principal.name()) {
                list.retain(|s| s.id() != session.id());
                if list.is_empty() {
                    users.remove(principal.name());
                }
            }
        }
        for topic in entry.topics {
            self.leave_topic(&topic, session.id()).await;
        }
    }

    /// Subscribes `session` to `topic`. Fails if the session is not open.
    pub async fn subscribe(&self, session: &Session, topic: &str) -> Result<(), Error> {
        let topic: Arc<str> = {
            let mut sessions = write(&self.inner.sessions);
            let entry = sessions
                .get_mut(&session.id())
                .ok_or_else(|| Error::new(ErrorKind::Closed, "cannot subscribe: the session is closed"))?;
            if entry.topics.iter().any(|t| &**t == topic) {
                return Ok(());
            }
            let topic: Arc<str> = Arc::from(topic);
            entry.topics.push(topic.clone());
            topic
        };
        let first_here = {
            let mut topics = write(&self.inner.topics);
            let subscribers = topics.entry(topic.clone()).or_default();
            subscribers.insert(session.id(), session.clone());
            subscribers.len() == 1
        };
        if first_here {
            self.broker_call("subscribe", self.inner.broker.subscribe(&topic).await);
        }
        Ok(())
    }

    /// Unsubscribes `session` from `topic` (nothing happens if it was not subscribed).
    pub async fn unsubscribe(&self, session: &Session, topic: &str) {
        let removed = {
            let mut sessions = write(&self.inner.sessions);
            sessions.get_mut(&session.id()).is_some_and(|entry| {
                let before = entry.topics.len();
                entry.topics.retain(|t| &**t != topic);
                entry.topics.len() != before
            })
        };
        if removed {
            self.leave_topic(topic, session.id()).await;
        }
    }

    async fn leave_topic(&self, topic: &str, id: SessionId) {
        let last_here = {
            let mut topics = write(&self.inner.topics);
            match topics.get_mut(topic) {
                Some(subscribers) => {
                    subscribers.remove(&id);
                    let empty = subscribers.is_empty();
                    if empty {
                        topics.remove(topic);
                    }
                    empty
                }
                None => false,
            }
        };
        if last_here {
            self.broker_call("unsubscribe", self.inner.broker.unsubscribe(topic).await);
        }
    }

    /// Publishes `message` to every subscriber of `topic` on every node. Returns
    /// how many sessions of this node took it.
    pub async fn publish(&self, topic: &str, message: impl Into<Message>) -> usize {
        let message = message.into();
        self.inner.stats.published.fetch_add(1, Ordering::Relaxed);
        let local = self.inner.deliver_topic(topic, &message);
        self.broker_call("publish", self.inner.broker.publish(topic, &message).await);
        local
    }

    /// Sends `message` to every session of user `name` (by principal) on every
    /// node. Returns how many sessions of this node took it.
    pub async fn send_to_user(&self, name: &str, message: impl Into<Message>) -> usize {
        let message = message.into();
        self.inner.stats.published.fetch_add(1, Ordering::Relaxed);
        let local = self.inner.deliver_user(name, &message);
        self.broker_call("publish_to_user", self.inner.broker.publish_to_user(name, &message).await);
        local
    }

    fn broker_call(&self, what: &str, result: Result<(), Error>) {
        if let Err(error) = result {
            self.inner.stats.broker_errors.fetch_add(1, Ordering::Relaxed);
            // Local delivery already happened; other nodes miss this message.
            tracing::warn!(broker = self.inner.broker.name(), "broker {what} failed: {error}");
        }
    }

    /// The open session with this id.
    pub fn session(&self, id: SessionId) -> Option<Session> {
        read(&self.inner.sessions).get(&id).and_then(|e| e.session.clone())
    }

    /// Every open session.
    pub fn sessions(&self) -> Vec<Session> {
        read(&self.inner.sessions).values().filter_map(|e| e.session.clone()).collect()
    }

    /// The open sessions of one route (the pattern, e.g. `/chat/{room}`).
    pub fn sessions_on(&self, route: &str) -> Vec<Session> {
        read(&self.inner.sessions).values().filter_map(|e| e.session.clone()).filter(|s| s.route() == route).collect()
    }

    /// Number of open sessions.
    pub fn count(&self) -> usize {
        read(&self.inner.sessions).len()
    }

    /// Number of open sessions on one route.
    pub fn count_on(&self, route: &str) -> usize {
        read(&self.inner.sessions).values().filter(|e| e.session.as_ref().is_some_and(|s| s.route() == route)).count()
    }

    /// This node's subscribers of `topic`.
    pub fn subscribers(&self, topic: &str) -> Vec<Session> {
        read(&self.inner.topics).get(topic).map(|s| s.values().cloned().collect()).unwrap_or_default()
    }

    /// The topics `session` is subscribed to.
    pub fn topics_of(&self, session: &Session) -> Vec<String> {
        read(&self.inner.sessions)
            .get(&session.id())
            .map(|e| e.topics.iter().map(|t| t.to_string()).collect())
            .unwrap_or_default()
    }

    /// This node's open sessions of user `name`.
    pub fn user_sessions(&self, name: &str) -> Vec<Session> {
        read(&self.inner.users).get(name).cloned().unwrap_or_default()
    }

    /// Delivery counters.
    pub fn stats(&self) -> HubStats {
        let c = &self.inner.stats;
        HubStats {
            published: c.published.load(Ordering::Relaxed),
            delivered: c.delivered.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            terminated: c.terminated.load(Ordering::Relaxed),
            broker_errors: c.broker_errors.load(Ordering::Relaxed),
        }
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub").field("sessions", &self.count()).field("broker", &self.broker_name()).finish()
    }
}
