//! The hub's side of presence: the members of this node, the observers of
//! join and leave events, and the broker calls that make both cluster-wide.
//!
//! A broker that [keeps presence](crate::Broker::keeps_presence) holds the
//! cluster's member lists and delivers every event (this node's too) through
//! [`RemoteDelivery::presence_event`](crate::RemoteDelivery::presence_event).
//! Otherwise this node's members are the whole list (one node).

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};

use super::{Hub, HubInner, write};
use crate::error::{Error, ErrorKind};
use crate::presence::{MAX_PRESENCE_INFO, Member, Presence, PresenceChange, PresenceEvent, Tracked};
use crate::session::{Session, SessionId};

/// Observes join and leave events.
pub(super) type Observer = Arc<dyn Fn(&PresenceEvent) + Send + Sync>;

/// This node's members per topic, in joining order, and the observers.
#[derive(Default)]
pub(super) struct PresenceState {
    topics: HashMap<Arc<str>, Vec<LocalMember>>,
    observers: Vec<Observer>,
}

struct LocalMember {
    member: Member,
    presence: Presence,
}

impl HubInner {
    fn lock_presence(&self) -> MutexGuard<'_, PresenceState> {
        self.presence.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Tells every observer, outside any lock (an observer may call the hub).
    pub(super) fn notify(&self, events: &[PresenceEvent]) {
        if events.is_empty() {
            return;
        }
        let observers = self.lock_presence().observers.clone();
        for event in events {
            for observer in &observers {
                observer(event);
            }
        }
    }

    fn member_of(&self, session: &Session, info: &str) -> Member {
        let principal = session.principal().map(|p| p.name().to_owned());
        Member::new(self.broker.node_id(), session.id(), principal, info)
    }

    /// Every member of this node, with its topic and how it was tracked.
    pub(super) fn members_here(&self) -> Vec<(String, Member, Presence)> {
        let state = self.lock_presence();
        let mut all = Vec::new();
        for (topic, members) in &state.topics {
            all.extend(members.iter().map(|m| (topic.to_string(), m.member.clone(), m.presence.clone())));
        }
        all
    }

    /// Drops a member of this node without a leave event (taken over).
    pub(super) fn forget_member(&self, topic: &str, id: SessionId) {
        self.remove_local(topic, id);
        if let Some(entry) = write(&self.sessions).get_mut(&id) {
            entry.remove_presence(topic);
        }
    }

    /// Removes `id` from `topic`'s local members; the member, if it was one.
    fn remove_local(&self, topic: &str, id: SessionId) -> Option<Member> {
        let mut state = self.lock_presence();
        let members = state.topics.get_mut(topic)?;
        let at = members.iter().position(|m| m.member.session == id)?;
        let removed = members.remove(at).member;
        if members.is_empty() {
            state.topics.remove(topic);
        }
        Some(removed)
    }
}

impl Hub {
    /// See [`Session::track_presence`].
    pub(crate) async fn track(&self, session: &Session, topic: &str, presence: Presence) -> Result<Tracked, Error> {
        let inner = &self.inner;
        if presence.info().len() > MAX_PRESENCE_INFO {
            let problem = format!("presence info is {} bytes; the limit is {MAX_PRESENCE_INFO}", presence.info().len());
            return Err(Error::new(ErrorKind::Config, problem));
        }
        let topic: Arc<str> = Arc::from(topic);
        {
            let mut sessions = write(&inner.sessions);
            let entry = sessions
                .get_mut(&session.id())
                .ok_or_else(|| Error::new(ErrorKind::Closed, "cannot track presence: the session is closed"))?;
            if entry.presence().contains(&topic) {
                let problem = format!("the session is already present in `{topic}`; untrack it first");
                return Err(Error::new(ErrorKind::Config, problem));
            }
            entry.add_presence(topic.clone());
        }
        let member = inner.member_of(session, presence.info());
        let outcome = if inner.broker.keeps_presence() {
            let outcome = inner.broker.track(&topic, &member, &presence).await;
            if let Ok(Tracked::Joined | Tracked::TookOver(_)) = &outcome {
                let mut state = inner.lock_presence();
                state.topics.entry(topic.clone()).or_default().push(LocalMember { member, presence });
            }
            outcome
        } else {
            Ok(self.track_here(&topic, member, presence))
        };
        match &outcome {
            Ok(Tracked::TookOver(old)) => self.forget_taken_over(&topic, old),
            Ok(Tracked::Joined) => {}
            Ok(Tracked::Taken(_)) | Err(_) => {
                if let Some(entry) = write(&inner.sessions).get_mut(&session.id()) {
                    entry.remove_presence(&topic);
                }
            }
        }
        outcome
    }

    /// One node: decides against this node's members and records the member
    /// in one step (two sessions cannot both take a unique info), then tells
    /// the observers.
    fn track_here(&self, topic: &Arc<str>, member: Member, presence: Presence) -> Tracked {
        let inner = &self.inner;
        let (outcome, joined) = {
            let mut state = inner.lock_presence();
            let members = state.topics.entry(topic.clone()).or_default();
            let holder = if presence.is_unique() {
                // Only members that tracked it as unique hold an info (as in Redis).
                members.iter().position(|m| m.presence.is_unique() && m.member.info == presence.info())
            } else {
                None
            };
            match holder {
                Some(at)
                    if presence.owner_token().is_some()
                        && members[at].presence.owner_token() == presence.owner_token() =>
                {
                    // The new session takes the old one's place (and its place in
                    // the list); the old session forgets it below, outside this lock.
                    let member = member.joined_at(members[at].member.joined_ms);
                    let old = std::mem::replace(&mut members[at], LocalMember { member, presence }).member;
                    (Tracked::TookOver(old), None)
                }
                Some(at) => (Tracked::Taken(members[at].member.clone()), None),
                None => {
                    members.push(LocalMember { member: member.clone(), presence });
                    (Tracked::Joined, Some(PresenceEvent::new(&**topic, PresenceChange::Join, member)))
                }
            }
        };
        inner.notify(joined.as_slice());
        outcome
    }

    /// A member taken over leaves silently: dropped from this node's list (if
    /// it was here), and its session no longer counts as present.
    fn forget_taken_over(&self, topic: &str, old: &Member) {
        if old.node != self.inner.broker.node_id() {
            return; // another node's; its broker tells it (`RemoteDelivery::forget_presence`)
        }
        self.inner.forget_member(topic, old.session);
    }

    /// See [`Session::untrack_presence`].
    pub(crate) async fn untrack(&self, session: &Session, topic: &str) {
        let was_tracked =
            write(&self.inner.sessions).get_mut(&session.id()).is_some_and(|entry| entry.remove_presence(topic));
        if was_tracked {
            self.leave_presence(topic, session.id()).await;
        }
    }

    /// Removes this node's member `id` from `topic` and announces its leave.
    pub(super) async fn leave_presence(&self, topic: &str, id: SessionId) {
        let inner = &self.inner;
        let Some(member) = inner.remove_local(topic, id) else { return };
        if inner.broker.keeps_presence() {
            if let Err(error) = inner.broker.untrack(topic, &member).await {
                inner.stats.broker_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(broker = inner.broker.name(), topic, "presence leave not recorded: {error}");
            }
        } else {
            inner.notify(&[PresenceEvent::new(topic, PresenceChange::Leave, member)]);
        }
    }

    /// The members of `topic` on every node, in joining order.
    ///
    /// # Errors
    /// The broker's, if it cannot be asked (then nothing is known of the other
    /// nodes).
    pub async fn presence(&self, topic: &str) -> Result<Vec<Member>, Error> {
        if self.inner.broker.keeps_presence() {
            let mut members = self.inner.broker.presence(topic).await?;
            members.sort_by_key(|m| m.joined_ms);
            return Ok(members);
        }
        Ok(self.presence_here(topic))
    }

    /// How many members `topic` has on every node, without listing them.
    ///
    /// # Errors
    /// As [`presence`](Self::presence).
    pub async fn presence_count(&self, topic: &str) -> Result<usize, Error> {
        if self.inner.broker.keeps_presence() {
            return self.inner.broker.presence_count(topic).await;
        }
        Ok(self.inner.lock_presence().topics.get(topic).map_or(0, Vec::len))
    }

    /// The members of `topic` on this node, in joining order.
    pub fn presence_here(&self, topic: &str) -> Vec<Member> {
        let state = self.inner.lock_presence();
        state.topics.get(topic).map(|ms| ms.iter().map(|m| m.member.clone()).collect()).unwrap_or_default()
    }

    /// Every presence tracked on this node, with how it was tracked: what a
    /// broker re-records after its store lost them (a restarted Redis).
    pub fn presence_of_this_node(&self) -> Vec<(String, Member, Presence)> {
        self.inner.members_here()
    }

    /// Calls `observer` for every join and leave, of every topic, from every
    /// node (with a broker that keeps presence) — including members of a node
    /// that stopped answering. Observers run on the thread that learns of the
    /// event and must be quick: hand slow work to a task.
    pub fn on_presence(&self, observer: impl Fn(&PresenceEvent) + Send + Sync + 'static) {
        self.inner.lock_presence().observers.push(Arc::new(observer));
    }
}
