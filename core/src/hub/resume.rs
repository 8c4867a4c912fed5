//! Resuming a topic from a position: replay what the history kept after it,
//! then go live with no gap and no duplicate at the seam.
//!
//! The session is first registered as *resuming*: live publications that
//! arrive from then on are held for it (the broker's subscription is in place
//! before the history is read, so nothing falls between the two). Then the
//! history after the position is read and sent, the held publications newer
//! than what was replayed follow, and the session joins the live subscribers
//! in the same step as the last held ones are queued, under the topic table's
//! lock, so no publication overtakes another.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};

use super::{Hub, HubInner, write};
use crate::close_status::CloseStatus;
use crate::error::{Error, ErrorKind};
use crate::history::Position;
use crate::message::Message;
use crate::session::{Session, SessionId};

/// Most publications held for one resuming session; a session that cannot
/// take its replay faster than this many new publications arrive is closed as
/// a slow consumer (1013), like a live subscriber whose queue overflows.
const MAX_HELD: usize = 16_384;

/// How many times the held publications are drained with back-pressure before
/// the session goes live with whatever arrived during the last round.
const DRAIN_ROUNDS: usize = 8;

/// A resuming session's held publications.
pub(super) struct Pending {
    id: SessionId,
    held: Vec<(Position, Message)>,
    overflowed: bool,
}

impl Pending {
    pub(super) fn hold(&mut self, position: Position, message: &Message) {
        if self.held.len() < MAX_HELD {
            self.held.push((position, message.clone()));
        } else {
            self.overflowed = true;
        }
    }
}

/// Removes `id` from the resuming sessions of `topic`; whether it was there.
pub(super) fn forget(resuming: &mut HashMap<Arc<str>, Vec<Pending>>, topic: &str, id: SessionId) -> bool {
    let Some(list) = resuming.get_mut(topic) else { return false };
    let before = list.len();
    list.retain(|p| p.id != id);
    let removed = list.len() != before;
    if list.is_empty() {
        resuming.remove(topic);
    }
    removed
}

/// Whether `position` comes after `last`: later in the same history, or from
/// a new history (its epoch changed while resuming).
fn is_after(position: &Position, last: &Position) -> bool {
    position.epoch() != last.epoch() || position.offset() > last.offset()
}

impl HubInner {
    pub(super) fn lock_resuming(&self) -> MutexGuard<'_, HashMap<Arc<str>, Vec<Pending>>> {
        self.resuming.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes what was held for `id` on `topic` so far.
    fn take_held(&self, topic: &str, id: SessionId) -> Vec<(Position, Message)> {
        let mut resuming = self.lock_resuming();
        resuming
            .get_mut(topic)
            .and_then(|list| list.iter_mut().find(|p| p.id == id))
            .map(|p| std::mem::take(&mut p.held))
            .unwrap_or_default()
    }
}

/// A session that has caught up on a topic's history, about to go live.
///
/// Returned by [`Session::subscribe_from`]: the publications after the
/// position have been queued for the session; new ones are held back until
/// [`live`](Resuming::live) is called or this is dropped, so that whatever the
/// app sends the session in between (a "resumed" notice, say) comes after the
/// replay and before anything new.
#[must_use = "new publications are held for the session until this is dropped or `live()` is called"]
pub struct Resuming {
    hub: Hub,
    session: Session,
    topic: Arc<str>,
    recovered: bool,
    replayed: usize,
    last: Position,
    done: bool,
}

impl Resuming {
    /// Whether every publication after the position was replayed. False when
    /// the history no longer covers it (too old, trimmed, the history was lost
    /// and has a new epoch, or no position was given): the app should then
    /// reload its state some other way.
    pub fn recovered(&self) -> bool {
        self.recovered
    }

    /// How many publications were replayed.
    pub fn replayed(&self) -> usize {
        self.replayed
    }

    /// The position of the last publication queued for the session (the
    /// history's latest when nothing was): the session receives every
    /// publication after it. A client keeps it to resume from next time.
    pub fn position(&self) -> Position {
        self.last
    }

    /// Goes live: queues the publications held meanwhile and delivers new ones
    /// as they come. Returns the position of the last one queued.
    pub fn live(mut self) -> Position {
        self.go_live();
        self.last
    }

    fn go_live(&mut self) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let inner = &self.hub.inner;
        let id = self.session.id();
        let mut topics = write(&inner.topics);
        let mut resuming = inner.lock_resuming();
        let Some(list) = resuming.get_mut(&*self.topic) else { return }; // unsubscribed meanwhile
        let Some(at) = list.iter().position(|p| p.id == id) else { return };
        let pending = list.swap_remove(at);
        inner.resuming_count.fetch_sub(1, Ordering::Relaxed);
        if list.is_empty() {
            resuming.remove(&*self.topic);
        }
        if pending.overflowed {
            self.session.close(CloseStatus::SERVICE_OVERLOAD.with_reason("outbound queue overflow"));
            return;
        }
        topics.entry(self.topic.clone()).or_default().insert(id, self.session.clone());
        for (position, message) in pending.held {
            if is_after(&position, &self.last) {
                inner.offer_one(&self.session, &message);
                self.last = position;
            }
        }
    }
}

impl Drop for Resuming {
    fn drop(&mut self) {
        self.go_live();
    }
}

impl fmt::Debug for Resuming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resuming")
            .field("session", &self.session.id())
            .field("topic", &self.topic)
            .field("recovered", &self.recovered)
            .field("replayed", &self.replayed)
            .field("position", &self.last)
            .finish()
    }
}

impl Hub {
    /// See [`Session::subscribe_from`].
    pub(crate) async fn subscribe_from(
        &self,
        session: &Session,
        topic: &str,
        since: Option<Position>,
    ) -> Result<Resuming, Error> {
        let inner = &self.inner;
        let Some(history) = inner.histories().find(topic).cloned() else {
            let problem = format!(
                "cannot resume `{topic}`: its history is off; add a TopicHistory whose pattern matches it, \
                 or subscribe without a position"
            );
            return Err(Error::new(ErrorKind::Config, problem));
        };
        let topic: Arc<str> = Arc::from(topic);
        {
            let mut sessions = write(&inner.sessions);
            let entry = sessions
                .get_mut(&session.id())
                .ok_or_else(|| Error::new(ErrorKind::Closed, "cannot subscribe: the session is closed"))?;
            if entry.topics().contains(&topic) {
                let problem = format!("the session is already subscribed to `{topic}`; unsubscribe before resuming");
                return Err(Error::new(ErrorKind::Config, problem));
            }
            entry.add_topic(topic.clone());
            // Under the topic table's write lock: a delivery sees this session
            // either not yet there, or held.
            let _topics = write(&inner.topics);
            let pending = Pending { id: session.id(), held: Vec::new(), overflowed: false };
            inner.lock_resuming().entry(topic.clone()).or_default().push(pending);
            inner.resuming_count.fetch_add(1, Ordering::Relaxed);
        }
        // Publications must reach this node before the history is read, or one
        // made in between would be in neither. A failure here is retried by the
        // broker when it reconnects; reading the history tells if it is down.
        self.broker_call("subscribe", inner.broker.subscribe(&topic).await);
        let result = async {
            let slice = inner.broker.read_history(&topic, since, history.history_limits()).await?;
            let mut last = slice.top.ok_or_else(|| {
                Error::new(ErrorKind::Io, format!("the {} broker gave no position for `{topic}`", inner.broker.name()))
            })?;
            let replayed = slice.publications.len();
            for (position, message) in &slice.publications {
                session.send_delivery(history.stamped(position, message)).await?;
                last = *position;
            }
            // Publications held during the replay, with back-pressure, until
            // few enough arrive that going live is immediate.
            for _ in 0..DRAIN_ROUNDS {
                let held = inner.take_held(&topic, session.id());
                if held.is_empty() {
                    break;
                }
                for (position, message) in held {
                    if is_after(&position, &last) {
                        session.send_delivery(message).await?;
                        last = position;
                    }
                }
            }
            Ok::<_, Error>((slice.recovered, replayed, last))
        }
        .await;
        match result {
            Ok((recovered, replayed, last)) => Ok(Resuming {
                hub: self.clone(),
                session: session.clone(),
                topic,
                recovered,
                replayed,
                last,
                done: false,
            }),
            Err(error) => {
                self.unsubscribe(session, &topic).await;
                Err(error)
            }
        }
    }
}
