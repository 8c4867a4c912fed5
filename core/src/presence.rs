//! Presence: who is in a topic, on every node. A session *tracks* its
//! presence in a topic with an app-supplied info value (a nickname, say);
//! [`Hub::presence`](crate::Hub::presence) lists the members of the whole
//! cluster, and join and leave [`PresenceEvent`]s reach the app's observers
//! ([`Hub::on_presence`](crate::Hub::on_presence)) on every node.

use std::fmt;

use crate::session::SessionId;

/// The longest info value a member may carry, in bytes: presence is for small
/// facts (a name, a status), not for state.
pub const MAX_PRESENCE_INFO: usize = 1024;

/// One session's presence in a topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Member {
    /// The node the session is on (its broker's node id; `local` on one node).
    pub node: String,
    /// The session, unique on its node.
    pub session: SessionId,
    /// The session's principal, if the handshake set one.
    pub principal: Option<String>,
    /// What the app said about the session (a nickname, a status).
    pub info: String,
    /// When it joined, in milliseconds since the Unix epoch: lists are in
    /// joining order.
    pub joined_ms: u64,
}

impl Member {
    /// A member that joins now.
    pub fn new(
        node: impl Into<String>,
        session: SessionId,
        principal: Option<String>,
        info: impl Into<String>,
    ) -> Self {
        let joined_ms =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        Member { node: node.into(), session, principal, info: info.into(), joined_ms }
    }

    /// The same member, joined at `joined_ms` (milliseconds since the Unix
    /// epoch): a member as a broker carries it between nodes.
    pub fn joined_at(mut self, joined_ms: u64) -> Self {
        self.joined_ms = joined_ms;
        self
    }

    /// Whether `other` is the same session (same node and session id).
    pub fn is_same_session(&self, other: &Member) -> bool {
        self.node == other.node && self.session == other.session
    }
}

/// How a session is present in a topic: its info and, for info that must be
/// unique in the topic (a nickname), who may take it over.
///
/// ```
/// use wsboot_core::Presence;
/// // "ann" may be in the room once; the same browser tab (same token) may
/// // take the name over from its own older connection.
/// let presence = Presence::new("ann").unique().owner("tab-7f3a");
/// assert!(presence.is_unique());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Presence {
    info: String,
    unique: bool,
    owner: Option<String>,
}

impl Presence {
    /// Presence with this info.
    pub fn new(info: impl Into<String>) -> Self {
        Presence { info: info.into(), unique: false, owner: None }
    }

    /// The info must be unique in the topic: tracking fails while another
    /// member that tracked it as unique has it, unless that member has the
    /// same [`owner`](Self::owner). Across nodes too, with a broker that keeps
    /// presence.
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    /// A secret token of whoever holds the info (a client's random id). A
    /// unique info held by a member with the same owner is taken over: that
    /// member leaves the list silently (no leave event, and none when its
    /// session later closes), and the new one joins silently. Never shown to
    /// other members.
    pub fn owner(mut self, token: impl Into<String>) -> Self {
        self.owner = Some(token.into());
        self
    }

    /// The info.
    pub fn info(&self) -> &str {
        &self.info
    }

    /// Whether the info must be unique in the topic.
    pub fn is_unique(&self) -> bool {
        self.unique
    }

    /// The owner token, if any.
    pub fn owner_token(&self) -> Option<&str> {
        self.owner.as_deref()
    }
}

impl fmt::Debug for Presence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The owner token is a secret.
        f.debug_struct("Presence")
            .field("info", &self.info)
            .field("unique", &self.unique)
            .field("owner", &self.owner.as_ref().map(|_| "…"))
            .finish()
    }
}

/// A member joined or left a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PresenceEvent {
    /// The topic.
    pub topic: String,
    /// Joined or left.
    pub change: PresenceChange,
    /// Who.
    pub member: Member,
}

impl PresenceEvent {
    /// An event.
    pub fn new(topic: impl Into<String>, change: PresenceChange, member: Member) -> Self {
        PresenceEvent { topic: topic.into(), change, member }
    }
}

/// What happened to a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PresenceChange {
    /// It started tracking its presence in the topic.
    Join,
    /// It stopped, its session closed, or its node stopped answering.
    Leave,
}

/// What tracking a presence did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tracked {
    /// The session is now a member; others were told it joined.
    Joined,
    /// It took over a unique info from a member with the same owner, silently.
    TookOver(Member),
    /// Another member has this unique info: nothing changed.
    Taken(Member),
}
