//! Local delivery: queueing one message for many sessions of this node, for
//! the hub's own publishes and for what a broker brings from other nodes.

use std::sync::atomic::Ordering;

use super::{HubInner, read};
use crate::broker::LocalDelivery;
use crate::history::Position;
use crate::message::Message;
use crate::outbound::{Broadcast, Offered};
use crate::presence::{Member, Presence, PresenceEvent};
use crate::session::{Session, SessionId};

fn offer_all<'a>(hub: &HubInner, sessions: impl Iterator<Item = &'a Session>, message: &Message) -> usize {
    // One shared copy; every recipient queues a handle to it.
    let broadcast = Broadcast::new(message.clone());
    let mut delivered = 0;
    for session in sessions {
        match session.offer(broadcast.clone()) {
            Offered::Queued => delivered += 1,
            Offered::DroppedOldest(n) => {
                delivered += 1;
                hub.stats.dropped.fetch_add(n as u64, Ordering::Relaxed);
                session.report_overflow("dropped the oldest queued messages", n);
            }
            Offered::DroppedNewest => {
                hub.stats.dropped.fetch_add(1, Ordering::Relaxed);
                session.report_overflow("dropped a published message", 1);
            }
            Offered::Terminated => {
                hub.stats.terminated.fetch_add(1, Ordering::Relaxed);
                session.report_overflow("closing the slow session", 0);
            }
            Offered::Closed => {}
        }
    }
    hub.stats.delivered.fetch_add(delivered as u64, Ordering::Relaxed);
    delivered
}

impl HubInner {
    /// Queues `message` for this node's subscribers of `topic`.
    pub(super) fn deliver_topic(&self, topic: &str, message: &Message) -> usize {
        let topics = read(&self.topics);
        match topics.get(topic) {
            Some(subscribers) => offer_all(self, subscribers.values(), message),
            None => 0,
        }
    }

    /// Queues `message` for one session, per its overflow policy.
    pub(super) fn offer_one(&self, session: &Session, message: &Message) -> usize {
        offer_all(self, std::iter::once(session), message)
    }

    /// Queues a recorded publication for this node's subscribers of `topic`,
    /// stamped with its position once for all of them, and holds it for the
    /// sessions still catching up on the topic.
    pub(super) fn deliver_publication(&self, topic: &str, position: Position, message: &Message) -> usize {
        let stamped = match self.histories().find(topic) {
            Some(history) => history.stamped(&position, message),
            None => message.clone(),
        };
        let topics = read(&self.topics);
        let delivered = topics.get(topic).map_or(0, |subscribers| offer_all(self, subscribers.values(), &stamped));
        // Still under the topic table's lock: a session going live takes its
        // write lock, so it sees each publication either held or live, never both.
        if self.resuming_count.load(Ordering::Relaxed) > 0 {
            let mut resuming = self.lock_resuming();
            if let Some(pending) = resuming.get_mut(topic) {
                pending.iter_mut().for_each(|p| p.hold(position, &stamped));
            }
        }
        delivered
    }

    /// Queues `message` for this node's sessions of `user`.
    pub(super) fn deliver_user(&self, user: &str, message: &Message) -> usize {
        let users = read(&self.users);
        match users.get(user) {
            Some(sessions) => offer_all(self, sessions.iter(), message),
            None => 0,
        }
    }
}

impl LocalDelivery for HubInner {
    fn to_topic(&self, topic: &str, message: &Message) -> usize {
        self.deliver_topic(topic, message)
    }

    fn publication(&self, topic: &str, position: Position, message: &Message) -> usize {
        self.deliver_publication(topic, position, message)
    }

    fn to_user(&self, user: &str, message: &Message) -> usize {
        self.deliver_user(user, message)
    }

    fn presence_event(&self, event: &PresenceEvent) {
        self.notify(std::slice::from_ref(event));
    }

    fn forget_presence(&self, topic: &str, session: SessionId) {
        self.forget_member(topic, session);
    }

    fn presence_of_this_node(&self) -> Vec<(String, Member, Presence)> {
        self.members_here()
    }

    fn users(&self) -> Vec<String> {
        read(&self.users).keys().map(|user| user.to_string()).collect()
    }

    fn has_user(&self, user: &str) -> bool {
        read(&self.users).contains_key(user)
    }

    fn topics(&self) -> Vec<String> {
        let topics = read(&self.topics);
        let resuming = self.lock_resuming();
        let mut all: Vec<String> = topics.keys().map(|t| t.to_string()).collect();
        all.extend(resuming.keys().filter(|t| !topics.contains_key(*t)).map(|t| t.to_string()));
        all
    }
}
