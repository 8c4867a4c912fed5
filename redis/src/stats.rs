//! [`RedisBrokerStats`]: what a broker carried and what went wrong.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of a [`RedisBroker`](crate::RedisBroker) since it was built.
///
/// The hub counts its failed broker calls too
/// ([`HubStats::broker_errors`](wsboot_core::HubStats::broker_errors)); these
/// counters say which calls and why, and what happened on the receiving side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisBrokerStats {
    /// Whether the broker is connected to Redis right now (subscriptions restored).
    pub connected: bool,
    /// Messages Redis accepted for the other nodes (topic publishes and per-user
    /// sends).
    pub published: u64,
    /// Messages that could not be sent to Redis: lost for the other nodes (the
    /// local sessions had them already).
    pub publish_failures: u64,
    /// Messages from other nodes handed to this node's sessions, and recorded
    /// publications of topics whose history is on, this node's own included
    /// (Redis hands those to every node).
    pub received: u64,
    /// This node's own publishes that Redis handed back, skipped because they
    /// were delivered locally already.
    pub own_skipped: u64,
    /// Messages on this broker's channels that were not wsboot envelopes (another
    /// program publishing there, or an incompatible version), dropped.
    pub malformed: u64,
    /// Subscribe and unsubscribe commands that failed (a topic subscribed while
    /// Redis is unreachable is subscribed once it returns).
    pub subscription_failures: u64,
    /// Times the connection to Redis was lost.
    pub disconnects: u64,
    /// Reconnection attempts that failed (each followed by a longer pause).
    pub failed_reconnects: u64,
    /// Times the connection was restored, with every subscription.
    pub reconnects: u64,
    /// Publications recorded in a topic's history (and sent to every node).
    pub recorded: u64,
    /// Idempotent publishes whose key was still in the history: nothing was
    /// recorded nor sent.
    pub duplicates: u64,
    /// Reads of a topic's history (for sessions resuming from a position).
    pub history_reads: u64,
    /// Recorded publishes, history reads and gap fills that failed (Redis
    /// unreachable or too slow): such a publish was not sent, such a resume
    /// failed.
    pub history_failures: u64,
    /// Times publications missed over pub/sub (a connection blip) were read
    /// back from a topic's history and delivered, in order.
    pub gap_fills: u64,
    /// Publications delivered that way.
    pub gap_filled: u64,
    /// Presence join and leave events handed to this node's observers (every
    /// node's, this one's included).
    pub presence_events: u64,
    /// Presence commands that failed (tracking, untracking, listing, the
    /// heartbeat).
    pub presence_failures: u64,
    /// Nodes this node found silent past the presence timeout, whose members
    /// it removed (with leave events).
    pub nodes_reaped: u64,
    /// Times this node re-recorded its members after Redis had lost them (a
    /// restart without persistence) or had counted this node gone.
    pub presence_restores: u64,
}

impl RedisBrokerStats {
    /// Every failure counted: failed publishes, history, presence and
    /// subscription commands, lost connections, failed reconnection attempts
    /// and malformed messages.
    pub fn errors(&self) -> u64 {
        self.publish_failures
            + self.history_failures
            + self.subscription_failures
            + self.presence_failures
            + self.disconnects
            + self.failed_reconnects
            + self.malformed
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) published: AtomicU64,
    pub(crate) publish_failures: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) own_skipped: AtomicU64,
    pub(crate) malformed: AtomicU64,
    pub(crate) subscription_failures: AtomicU64,
    pub(crate) disconnects: AtomicU64,
    pub(crate) failed_reconnects: AtomicU64,
    pub(crate) reconnects: AtomicU64,
    pub(crate) recorded: AtomicU64,
    pub(crate) duplicates: AtomicU64,
    pub(crate) history_reads: AtomicU64,
    pub(crate) history_failures: AtomicU64,
    pub(crate) gap_fills: AtomicU64,
    pub(crate) gap_filled: AtomicU64,
    pub(crate) presence_events: AtomicU64,
    pub(crate) presence_failures: AtomicU64,
    pub(crate) nodes_reaped: AtomicU64,
    pub(crate) presence_restores: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_many(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, connected: bool) -> RedisBrokerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        RedisBrokerStats {
            connected,
            published: get(&self.published),
            publish_failures: get(&self.publish_failures),
            received: get(&self.received),
            own_skipped: get(&self.own_skipped),
            malformed: get(&self.malformed),
            subscription_failures: get(&self.subscription_failures),
            disconnects: get(&self.disconnects),
            failed_reconnects: get(&self.failed_reconnects),
            reconnects: get(&self.reconnects),
            recorded: get(&self.recorded),
            duplicates: get(&self.duplicates),
            history_reads: get(&self.history_reads),
            history_failures: get(&self.history_failures),
            gap_fills: get(&self.gap_fills),
            gap_filled: get(&self.gap_filled),
            presence_events: get(&self.presence_events),
            presence_failures: get(&self.presence_failures),
            nodes_reaped: get(&self.nodes_reaped),
            presence_restores: get(&self.presence_restores),
        }
    }
}
