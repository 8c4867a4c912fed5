//! [`Broker`]: how topics reach other nodes. The [`Hub`](crate::Hub) always
//! delivers to this node's sessions itself; a broker only carries publishes between
//! nodes. The default, [`LocalBroker`], is a single node: nothing to carry.

use std::fmt;
use std::sync::{Arc, OnceLock, Weak};

use crate::error::{Error, ErrorKind};
use crate::future::BoxFuture;
use crate::history::{HistoryLimits, HistorySlice, MemoryHistory, Position, Recorded};
use crate::message::Message;
use crate::presence::{Member, Presence, PresenceEvent, Tracked};
use crate::session::SessionId;

/// Carries publishes between the nodes of a cluster (Redis pub/sub, for instance).
///
/// The hub calls `subscribe` when the first session of this node subscribes to a
/// topic and `unsubscribe` when the last one leaves, so a broker holds one
/// subscription per topic per node, never one per session. Messages from other
/// nodes come back through the [`RemoteDelivery`] handed to [`start`](Broker::start).
/// A broker must not hand a node its own publishes: the hub has already delivered
/// them locally.
///
/// Errors are logged by the hub and never stop local delivery.
///
/// # Topic history
/// A broker that [keeps history](Broker::keeps_history) numbers the
/// publications of the topics whose history is on, keeps them, and is the one
/// that delivers them, on every node *including this one*, through
/// [`RemoteDelivery::publication`], in position order per topic. Positions
/// must mean the same on every node. A broker that does not keep history makes
/// a server with history configured refuse to start.
pub trait Broker: Send + Sync + 'static {
    /// A name for logs and route listings.
    fn name(&self) -> &'static str;

    /// Called once, before any other method: where remote messages go.
    fn start(&self, delivery: RemoteDelivery) -> BoxFuture<'_, Result<(), Error>>;

    /// This node now has subscribers for `topic`.
    fn subscribe(&self, topic: &str) -> BoxFuture<'_, Result<(), Error>>;

    /// This node has no subscribers left for `topic`.
    fn unsubscribe(&self, topic: &str) -> BoxFuture<'_, Result<(), Error>>;

    /// Sends `message` to the subscribers of `topic` on every other node.
    fn publish(&self, topic: &str, message: &Message) -> BoxFuture<'_, Result<(), Error>>;

    /// Sends `message` to the sessions of user `user` on every other node.
    fn publish_to_user(&self, user: &str, message: &Message) -> BoxFuture<'_, Result<(), Error>>;
    /// This node now has sessions of user `user` (its first one connected): a
    /// broker that routes per-user messages only to the nodes holding the
    /// user starts listening for them. Default: nothing to do.
    fn subscribe_user(&self, user: &str) -> BoxFuture<'_, Result<(), Error>> {
        let _ = user;
        Box::pin(async { Ok(()) })
    }
    /// This node has no session of user `user` left. Default: nothing to do.
    fn unsubscribe_user(&self, user: &str) -> BoxFuture<'_, Result<(), Error>> {
        let _ = user;
        Box::pin(async { Ok(()) })
    }

    /// Stops: unsubscribes and closes connections. Called at server shutdown.
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// Whether this broker keeps topic history ([`publish_recorded`](Broker::publish_recorded)
    /// and [`read_history`](Broker::read_history) work). Default: no.
    fn keeps_history(&self) -> bool {
        false
    }

    /// Appends `message` to the history of `topic` (bounded by `limits`) and
    /// delivers it to the topic's subscribers on every node, this one included,
    /// through [`RemoteDelivery::publication`]. With a `key` still in the
    /// history, nothing is published: the first publication's position comes
    /// back as a duplicate.
    ///
    /// Subscribers must receive a topic's publications in position order. Once
    /// this resolves `Ok`, the publication is in the history; on `Err` it was not
    /// published (and the caller may retry with the same key).
    fn publish_recorded<'a>(
        &'a self,
        topic: &'a str,
        message: &'a Message,
        key: Option<&'a str>,
        limits: &'a HistoryLimits,
    ) -> BoxFuture<'a, Result<Recorded, Error>> {
        let _ = (message, key, limits);
        Box::pin(async move { Err(not_kept(self.name(), "topic history", topic)) })
    }

    /// The publications of `topic` after `since` (see [`HistorySlice`]); with
    /// no `since`, only the latest position. Creates the topic's history (and
    /// its epoch) if it has none yet.
    fn read_history<'a>(
        &'a self,
        topic: &'a str,
        since: Option<Position>,
        limits: &'a HistoryLimits,
    ) -> BoxFuture<'a, Result<HistorySlice, Error>> {
        let _ = (since, limits);
        Box::pin(async move { Err(not_kept(self.name(), "topic history", topic)) })
    }

    /// This node's id among the cluster's, as [`Member::node`] shows it.
    /// Default: `local`.
    fn node_id(&self) -> String {
        "local".to_owned()
    }

    /// Whether this broker keeps the cluster's presence
    /// ([`track`](Broker::track), [`untrack`](Broker::untrack),
    /// [`presence`](Broker::presence) work). Default: no, and the hub's own
    /// members are the whole list, as on one node.
    ///
    /// A broker that keeps presence delivers every join and leave, this node's
    /// included, through [`RemoteDelivery::presence_event`], and makes the
    /// members of a node that stopped answering leave, with events, within a
    /// bounded time.
    fn keeps_presence(&self) -> bool {
        false
    }

    /// Records `member` in `topic`, deciding a [unique](Presence::unique) info
    /// atomically across the cluster (see [`Tracked`]).
    fn track<'a>(
        &'a self,
        topic: &'a str,
        member: &'a Member,
        presence: &'a Presence,
    ) -> BoxFuture<'a, Result<Tracked, Error>> {
        let _ = (member, presence);
        Box::pin(async move { Err(not_kept(self.name(), "presence", topic)) })
    }

    /// Removes `member` from `topic` (and announces its leave).
    fn untrack<'a>(&'a self, topic: &'a str, member: &'a Member) -> BoxFuture<'a, Result<(), Error>> {
        let _ = member;
        Box::pin(async move { Err(not_kept(self.name(), "presence", topic)) })
    }

    /// The members of `topic` on every node.
    fn presence<'a>(&'a self, topic: &'a str) -> BoxFuture<'a, Result<Vec<Member>, Error>> {
        Box::pin(async move { Err(not_kept(self.name(), "presence", topic)) })
    }

    /// How many members `topic` has on every node.
    fn presence_count<'a>(&'a self, topic: &'a str) -> BoxFuture<'a, Result<usize, Error>> {
        Box::pin(async move { self.presence(topic).await.map(|members| members.len()) })
    }
}

/// The error of a default method: this broker keeps no `what` (history,
/// presence) for `topic`.
fn not_kept(broker: &str, what: &str, topic: &str) -> Error {
    Error::new(ErrorKind::Config, format!("the {broker} broker keeps no {what} (topic `{topic}`)"))
}

/// The in-process broker: one node, so publishes never leave the process.
/// Topic history is kept in process memory ([`MemoryHistory`]). Each server
/// needs its own.
#[derive(Debug, Default)]
pub struct LocalBroker {
    history: MemoryHistory,
    delivery: OnceLock<RemoteDelivery>,
}

impl LocalBroker {
    /// A broker for one server.
    pub fn new() -> Self {
        Self::default()
    }

    /// The history it keeps.
    pub fn history(&self) -> &MemoryHistory {
        &self.history
    }
}

impl Broker for LocalBroker {
    fn name(&self) -> &'static str {
        "local"
    }
    fn start(&self, delivery: RemoteDelivery) -> BoxFuture<'_, Result<(), Error>> {
        let started = self.delivery.set(delivery).map_err(|_| {
            Error::new(ErrorKind::Config, "this LocalBroker is already started: each server needs a broker of its own")
        });
        Box::pin(async move { started })
    }
    fn subscribe(&self, _topic: &str) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async { Ok(()) })
    }
    fn unsubscribe(&self, _topic: &str) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async { Ok(()) })
    }
    fn publish(&self, _topic: &str, _message: &Message) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async { Ok(()) })
    }
    fn publish_to_user(&self, _user: &str, _message: &Message) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async { Ok(()) })
    }
    fn keeps_history(&self) -> bool {
        true
    }
    fn publish_recorded<'a>(
        &'a self,
        topic: &'a str,
        message: &'a Message,
        key: Option<&'a str>,
        limits: &'a HistoryLimits,
    ) -> BoxFuture<'a, Result<Recorded, Error>> {
        let recorded = match self.delivery.get() {
            // Delivered under the topic's lock: every subscriber sees position order.
            Some(delivery) => Ok(self.history.publish(topic, message, key, limits, |position, message| {
                delivery.publication(topic, position, message.clone())
            })),
            None => Err(Error::new(ErrorKind::Closed, "the local broker is not started")),
        };
        Box::pin(async move { recorded })
    }
    fn read_history<'a>(
        &'a self,
        topic: &'a str,
        since: Option<Position>,
        limits: &'a HistoryLimits,
    ) -> BoxFuture<'a, Result<HistorySlice, Error>> {
        let slice = self.history.read(topic, since, limits);
        Box::pin(async move { Ok(slice) })
    }
}

/// Delivers messages that arrived from other nodes to this node's sessions only.
/// Holds the hub weakly: a broker's background task does not keep a stopped server
/// alive.
#[derive(Clone)]
pub struct RemoteDelivery {
    hub: Weak<dyn LocalDelivery>,
}

impl RemoteDelivery {
    pub(crate) fn new(hub: Weak<dyn LocalDelivery>) -> Self {
        RemoteDelivery { hub }
    }

    /// Delivers to this node's subscribers of `topic`; returns how many sessions
    /// took the message (0 once the hub is gone).
    pub fn to_topic(&self, topic: &str, message: Message) -> usize {
        self.hub.upgrade().map_or(0, |hub| hub.to_topic(topic, &message))
    }

    /// Delivers a publication of a topic whose history is on to this node's
    /// subscribers (stamped with its position, if the topic's history says so),
    /// and to the sessions resuming it. Call it in position order per topic.
    pub fn publication(&self, topic: &str, position: Position, message: Message) -> usize {
        self.hub.upgrade().map_or(0, |hub| hub.publication(topic, position, &message))
    }

    /// Tells this node's presence observers of a join or leave (from any node,
    /// this one included, for a broker that keeps presence).
    pub fn presence_event(&self, event: &PresenceEvent) {
        if let Some(hub) = self.hub.upgrade() {
            hub.presence_event(event);
        }
    }

    /// Delivers to this node's sessions of user `user`.
    pub fn to_user(&self, user: &str, message: Message) -> usize {
        self.hub.upgrade().map_or(0, |hub| hub.to_user(user, &message))
    }

    /// A member of this node (session `session` in `topic`) was taken over on
    /// another node by a session with the same owner: it leaves this node's
    /// list silently, without a leave event now or when its session closes.
    pub fn forget_presence(&self, topic: &str, session: SessionId) {
        if let Some(hub) = self.hub.upgrade() {
            hub.forget_presence(topic, session);
        }
    }

    /// Every presence tracked on this node, with how it was tracked: what a
    /// broker re-records after its store lost them (a restarted Redis).
    pub fn presence_of_this_node(&self) -> Vec<(String, Member, Presence)> {
        self.hub.upgrade().map_or_else(Vec::new, |hub| hub.presence_of_this_node())
    }

    /// The users this node currently has sessions of (to resubscribe after a
    /// broker reconnects).
    pub fn users(&self) -> Vec<String> {
        self.hub.upgrade().map_or_else(Vec::new, |hub| hub.users())
    }

    /// Whether this node has a session of user `user` now.
    pub fn has_user(&self, user: &str) -> bool {
        self.hub.upgrade().is_some_and(|hub| hub.has_user(user))
    }

    /// The topics this node currently has subscribers for, resuming ones
    /// included (to resubscribe after a broker reconnects).
    pub fn topics(&self) -> Vec<String> {
        self.hub.upgrade().map_or_else(Vec::new, |hub| hub.topics())
    }

    /// Whether the hub (the server) still exists.
    pub fn is_alive(&self) -> bool {
        self.hub.strong_count() > 0
    }
}

impl fmt::Debug for RemoteDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteDelivery").field("alive", &self.is_alive()).finish()
    }
}

/// What a [`RemoteDelivery`] reaches: the hub's local delivery, seen through
/// this trait so that brokers do not depend on the hub (the hub depends on them).
pub(crate) trait LocalDelivery: Send + Sync {
    fn to_topic(&self, topic: &str, message: &Message) -> usize;
    fn publication(&self, topic: &str, position: Position, message: &Message) -> usize;
    fn to_user(&self, user: &str, message: &Message) -> usize;
    fn presence_event(&self, event: &PresenceEvent);
    fn forget_presence(&self, topic: &str, session: SessionId);
    fn presence_of_this_node(&self) -> Vec<(String, Member, Presence)>;
    fn topics(&self) -> Vec<String>;
    fn users(&self) -> Vec<String>;
    fn has_user(&self, user: &str) -> bool;
}

/// A shared broker.
pub type SharedBroker = Arc<dyn Broker>;

impl fmt::Debug for dyn Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Broker({})", self.name())
    }
}
