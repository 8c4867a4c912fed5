//! [`Hub`]: every open session of a server, topics (rooms) and per-user
//! addressing, with fan-out through a [`Broker`].

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

mod delivery;
mod entry;
mod presence;
mod resume;
#[cfg(test)]
mod tests;

pub use resume::Resuming;

use crate::broker::{RemoteDelivery, SharedBroker};
use crate::error::{Error, ErrorKind};
use crate::history::{Histories, Position, TopicHistory};
use crate::message::Message;
use crate::session::{Session, SessionId};
use entry::Entry;

/// The sessions of one server: look them up, count them, group them into topics,
/// address every session of one user (Spring's `/user/` destinations), and
/// publish to all of a topic's subscribers — on every node, through the broker.
///
/// Cheap to clone. Handlers reach it with [`Session::hub`]; other tasks get it
/// from the server.
///
/// A publish queues one shared copy of the message for every recipient; it
/// never waits for a slow subscriber (see [`OverflowPolicy`](crate::OverflowPolicy)).
/// Messages published from one task reach each subscriber in publish order.
///
/// Topics whose [history](crate::TopicHistory) is on number their
/// publications: [`publish`](Hub::publish) returns the [`Position`], a
/// returning subscriber catches up with
/// [`Session::subscribe_from`](crate::Session::subscribe_from), and
/// [`publish_idempotent`](Hub::publish_idempotent) makes a resend harmless.
#[derive(Clone)]
pub struct Hub {
    pub(crate) inner: Arc<HubInner>,
}

pub(crate) struct HubInner {
    sessions: RwLock<HashMap<SessionId, Entry>>,
    topics: RwLock<HashMap<Arc<str>, HashMap<SessionId, Session>>>,
    /// Sessions catching up on a topic's history: the live publications that
    /// arrive meanwhile wait here. Lock order: `topics`, then `resuming`.
    resuming: std::sync::Mutex<HashMap<Arc<str>, Vec<resume::Pending>>>,
    /// How many sessions are resuming, so that deliveries skip the lock above
    /// when none is (changed under that lock and the topic table's write lock).
    resuming_count: std::sync::atomic::AtomicUsize,
    users: RwLock<HashMap<Arc<str>, Vec<Session>>>,
    broker: SharedBroker,
    /// Set once, after the plugins have had their say and before the broker
    /// starts (the hub exists earlier: beans can hold it).
    histories: std::sync::OnceLock<Histories>,
    presence: std::sync::Mutex<presence::PresenceState>,
    stats: Counters,
}

/// What a publish did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// The publication's position, for a topic whose history is on.
    pub position: Option<Position>,
    /// Whether an idempotent publish found its key already published: nothing
    /// was sent, and `position` is the first publication's.
    pub duplicate: bool,
    /// How many sessions of this node took it during the call. With a cluster
    /// broker that keeps history, this node's subscribers get history topics'
    /// publications when the broker hands them back, so this is 0.
    pub delivered_here: usize,
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

impl HubInner {
    /// The configured histories (none until set).
    pub(crate) fn histories(&self) -> &Histories {
        static NONE: Histories = Histories::EMPTY;
        self.histories.get().unwrap_or(&NONE)
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    // Critical sections only move handles in and out of maps; a panic there cannot
    // leave them half-updated, so a poisoned lock is still sound to use.
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The longest idempotency key, in bytes.
const MAX_KEY_BYTES: usize = 256;

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
                resuming: Default::default(),
                resuming_count: Default::default(),
                users: RwLock::default(),
                broker,
                histories: std::sync::OnceLock::new(),
                presence: Default::default(),
                stats: Counters::default(),
            }),
        }
    }

    /// Keeps history for the topics `histories` match. Once, before
    /// [`start`](Self::start); later calls fail.
    pub(crate) fn set_histories(&self, histories: Vec<TopicHistory>) -> Result<(), Error> {
        for history in &histories {
            if let Some(problem) = history.problem() {
                return Err(Error::new(ErrorKind::Config, problem));
            }
        }
        self.inner
            .histories
            .set(Histories::new(histories))
            .map_err(|_| Error::new(ErrorKind::Config, "the hub's topic histories are already set"))
    }

    /// Starts the broker (the server calls this once, at startup). Fails if
    /// history is configured and the broker keeps none.
    pub(crate) async fn start(&self) -> Result<(), Error> {
        if !self.inner.histories().is_empty() && !self.inner.broker.keeps_history() {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "topic history is configured, but the {} broker keeps no history: use a broker that does \
                     (the local one, or the Redis broker) or remove the topic histories",
                    self.inner.broker.name()
                ),
            ));
        }
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

    /// This node's id among the cluster's, as [`Member::node`](crate::Member::node)
    /// shows it (`local` with the in-process broker).
    pub fn node_id(&self) -> String {
        self.inner.broker.node_id()
    }

    /// Adds an open session (the runtime calls this, then
    /// [`user_arrived`](Self::user_arrived) when it says so, before
    /// `after_connection_established`). Whether it is the first session of its
    /// user on this node.
    pub(crate) fn register(&self, session: &Session) -> bool {
        write(&self.inner.sessions).insert(session.id(), Entry::new(session.clone()));
        let Some(principal) = session.principal() else { return false };
        let mut users = write(&self.inner.users);
        let sessions = users.entry(Arc::from(principal.name())).or_default();
        sessions.push(session.clone());
        sessions.len() == 1
    }

    /// The first session of user `name` on this node registered: the broker
    /// listens for messages to that user from now on.
    pub(crate) async fn user_arrived(&self, name: &str) {
        self.broker_call("subscribe_user", self.inner.broker.subscribe_user(name).await);
    }

    /// Removes a session and every subscription it had (the runtime calls this as
    /// the session closes, before `after_connection_closed`).
    pub(crate) async fn unregister(&self, session: &Session) {
        let Some(entry) = write(&self.inner.sessions).remove(&session.id()) else { return };
        if let Some(principal) = session.principal() {
            let last_here = {
                let mut users = write(&self.inner.users);
                let emptied = users.get_mut(principal.name()).is_some_and(|list| {
                    list.retain(|s| s.id() != session.id());
                    list.is_empty()
                });
                if emptied {
                    users.remove(principal.name());
                }
                emptied
            };
            if last_here {
                self.broker_call("unsubscribe_user", self.inner.broker.unsubscribe_user(principal.name()).await);
            }
        }
        let (topics, presence) = entry.into_joined();
        for topic in topics {
            self.leave_topic(&topic, session.id()).await;
        }
        for topic in presence {
            self.leave_presence(&topic, session.id()).await;
        }
    }

    /// Subscribes `session` to `topic`. Fails if the session is not open.
    pub async fn subscribe(&self, session: &Session, topic: &str) -> Result<(), Error> {
        let topic: Arc<str> = {
            let mut sessions = write(&self.inner.sessions);
            let entry = sessions
                .get_mut(&session.id())
                .ok_or_else(|| Error::new(ErrorKind::Closed, "cannot subscribe: the session is closed"))?;
            if entry.topics().iter().any(|t| &**t == topic) {
                return Ok(());
            }
            let topic: Arc<str> = Arc::from(topic);
            entry.add_topic(topic.clone());
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
            sessions.get_mut(&session.id()).is_some_and(|entry| entry.remove_topic(topic))
        };
        if removed {
            self.leave_topic(topic, session.id()).await;
        }
    }

    async fn leave_topic(&self, topic: &str, id: SessionId) {
        let last_here = {
            let mut topics = write(&self.inner.topics);
            let mut resuming = self.inner.lock_resuming();
            let was_resuming = resume::forget(&mut resuming, topic, id);
            if was_resuming {
                self.inner.resuming_count.fetch_sub(1, Ordering::Relaxed);
            }
            let was_live = topics.get_mut(topic).is_some_and(|subscribers| subscribers.remove(&id).is_some());
            if topics.get(topic).is_some_and(|subscribers| subscribers.is_empty()) {
                topics.remove(topic);
            }
            (was_live || was_resuming) && !topics.contains_key(topic) && !resuming.contains_key(topic)
        };
        if last_here {
            self.broker_call("unsubscribe", self.inner.broker.unsubscribe(topic).await);
        }
    }

    /// Publishes `message` to every subscriber of `topic` on every node.
    ///
    /// For a topic whose history is on, the publication is recorded first and
    /// gets its [`Position`]; the call fails (and nothing is published) when the
    /// broker cannot record it, for instance while Redis is unreachable.
    /// Otherwise it never fails: a broker error means the other nodes miss the
    /// message, and is logged and counted in [`HubStats::broker_errors`].
    pub async fn publish(&self, topic: &str, message: impl Into<Message>) -> Result<Published, Error> {
        let message = message.into();
        if let Some(history) = self.inner.histories().find(topic) {
            return self.publish_recorded(history, topic, &message, None).await;
        }
        self.inner.stats.published.fetch_add(1, Ordering::Relaxed);
        let local = self.inner.deliver_topic(topic, &message);
        self.broker_call("publish", self.inner.broker.publish(topic, &message).await);
        Ok(Published { position: None, duplicate: false, delivered_here: local })
    }

    /// Publishes `message` to `topic` unless a publication with the same `key`
    /// (a client's message id, say) is still in the topic's history, on any
    /// node; then nothing is sent and the first publication's position comes
    /// back, marked [`duplicate`](Published::duplicate). This makes a client's
    /// resend after a reconnect safe.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] if the topic's history is off (keys are kept in
    /// the history) or the key is empty or longer than 256 bytes; the broker's
    /// error if it cannot record the publication.
    pub async fn publish_idempotent(
        &self,
        topic: &str,
        key: &str,
        message: impl Into<Message>,
    ) -> Result<Published, Error> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            let problem = format!("an idempotency key is 1 to {MAX_KEY_BYTES} bytes; this one is {}", key.len());
            return Err(Error::new(ErrorKind::Config, problem));
        }
        let Some(history) = self.inner.histories().find(topic) else {
            let problem = format!(
                "idempotent publish to `{topic}`: its history is off, and keys are kept in the history; \
                 add a TopicHistory whose pattern matches it"
            );
            return Err(Error::new(ErrorKind::Config, problem));
        };
        self.publish_recorded(history, topic, &message.into(), Some(key)).await
    }

    async fn publish_recorded(
        &self,
        history: &TopicHistory,
        topic: &str,
        message: &Message,
        key: Option<&str>,
    ) -> Result<Published, Error> {
        let recorded = self.inner.broker.publish_recorded(topic, message, key, history.history_limits()).await;
        match recorded {
            Ok(recorded) => {
                if !recorded.duplicate {
                    self.inner.stats.published.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Published {
                    position: Some(recorded.position),
                    duplicate: recorded.duplicate,
                    delivered_here: recorded.delivered_here,
                })
            }
            Err(error) => {
                self.inner.stats.broker_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(broker = self.inner.broker.name(), topic, "publish not recorded: {error}");
                Err(error)
            }
        }
    }

    /// The history settings of `topic`, if its history is on.
    pub fn history_of(&self, topic: &str) -> Option<&TopicHistory> {
        self.inner.histories().find(topic)
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
        read(&self.inner.sessions).get(&id).map(|e| e.session.clone())
    }

    /// Every open session.
    pub fn sessions(&self) -> Vec<Session> {
        read(&self.inner.sessions).values().map(|e| e.session.clone()).collect()
    }

    /// The open sessions of one route (the pattern, e.g. `/chat/{room}`).
    pub fn sessions_on(&self, route: &str) -> Vec<Session> {
        read(&self.inner.sessions).values().filter(|e| e.session.route() == route).map(|e| e.session.clone()).collect()
    }

    /// Number of open sessions.
    pub fn count(&self) -> usize {
        read(&self.inner.sessions).len()
    }

    /// Number of open sessions on one route.
    pub fn count_on(&self, route: &str) -> usize {
        read(&self.inner.sessions).values().filter(|e| e.session.route() == route).count()
    }

    /// This node's subscribers of `topic`.
    pub fn subscribers(&self, topic: &str) -> Vec<Session> {
        read(&self.inner.topics).get(topic).map(|s| s.values().cloned().collect()).unwrap_or_default()
    }

    /// The topics `session` is subscribed to.
    pub fn topics_of(&self, session: &Session) -> Vec<String> {
        read(&self.inner.sessions)
            .get(&session.id())
            .map(|e| e.topics().iter().map(|t| t.to_string()).collect())
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
