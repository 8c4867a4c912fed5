//! [`Broker`]: how topics reach other nodes. The [`Hub`](crate::Hub) always
//! delivers to this node's sessions itself; a broker only carries publishes between
//! nodes. The default, [`LocalBroker`], is a single node: nothing to carry.

use std::fmt;
use std::sync::{Arc, Weak};

use crate::error::Error;
use crate::future::BoxFuture;
use crate::message::Message;

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

    /// Stops: unsubscribes and closes connections. Called at server shutdown.
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// The in-process broker: one node, so publishes never leave the process.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalBroker;

impl Broker for LocalBroker {
    fn name(&self) -> &'static str {
        "local"
    }
    fn start(&self, _delivery: RemoteDelivery) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async { Ok(()) })
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

    /// Delivers to this node's sessions of user `user`.
    pub fn to_user(&self, user: &str, message: Message) -> usize {
        self.hub.upgrade().map_or(0, |hub| hub.to_user(user, &message))
    }

    /// The topics this node currently has subscribers for (to resubscribe after a
    /// broker reconnects).
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
    fn to_user(&self, user: &str, message: &Message) -> usize;
    fn topics(&self) -> Vec<String>;
}

/// A shared broker.
pub type SharedBroker = Arc<dyn Broker>;

impl fmt::Debug for dyn Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Broker({})", self.name())
    }
}
