//! Redis channel and key names: every channel and key of a cluster starts with
//! its prefix, so several applications (or environments) can share one Redis.
//!
//! - topic `T` travels on `{prefix}topic:T`, one channel per topic; a node
//!   subscribes to it while it has local subscribers;
//! - user `U` is addressed on `{prefix}user:U`; a node subscribes to it while
//!   it has sessions of `U`, so a message to a user reaches the nodes holding
//!   that user only;
//! - the history of topic `T`, for topics whose history is on, is kept in the
//!   hash `{prefix}history:T`, the stream `{prefix}stream:T` and the sorted
//!   set `{prefix}keys:T` (its idempotency keys);
//! - presence (see [`presence`](crate::presence)): the members of topic `T` in
//!   the hash `{prefix}presence:T`, its unique infos in `{prefix}names:T` and
//!   the last joining time given in `{prefix}joined:T`;
//!   the members of node `N` in the set `{prefix}members:N`; every node's last
//!   heartbeat in the sorted set `{prefix}nodes`, and the markers
//!   `{prefix}alive:N` (from its first beat) and `{prefix}reaped:N` (for a
//!   day after other nodes counted it gone); join and leave events of every
//!   topic on the channel `{prefix}presence`, which every node listens to.

/// Where a channel's messages go on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// To the local subscribers of a topic.
    Topic(&'a str),
    /// To the local sessions of a user.
    User(&'a str),
    /// A presence event, to the hub's observers.
    Presence,
}

/// The channel names of one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Channels {
    topic_prefix: String,
    user_prefix: String,
    prefix: String,
    presence_events: String,
    history_prefix: String,
    stream_prefix: String,
    keys_prefix: String,
}

impl Channels {
    pub(crate) fn new(prefix: &str) -> Self {
        Channels {
            topic_prefix: format!("{prefix}topic:"),
            user_prefix: format!("{prefix}user:"),
            prefix: prefix.to_owned(),
            presence_events: format!("{prefix}presence"),
            history_prefix: format!("{prefix}history:"),
            stream_prefix: format!("{prefix}stream:"),
            keys_prefix: format!("{prefix}keys:"),
        }
    }

    /// The keys of `topic`'s history: its hash, its stream and its
    /// idempotency keys.
    pub(crate) fn history(&self, topic: &str) -> [String; 3] {
        [
            format!("{}{topic}", self.history_prefix),
            format!("{}{topic}", self.stream_prefix),
            format!("{}{topic}", self.keys_prefix),
        ]
    }

    /// The channel of `topic`.
    pub(crate) fn topic(&self, topic: &str) -> String {
        format!("{}{topic}", self.topic_prefix)
    }

    /// The channel of user `user`.
    pub(crate) fn user(&self, user: &str) -> String {
        format!("{}{user}", self.user_prefix)
    }

    /// The prefix of every key and channel (the presence scripts build the
    /// keys of other nodes and topics from it).
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The channel of every presence event.
    pub(crate) fn presence_events(&self) -> &str {
        &self.presence_events
    }

    /// The keys of `topic`'s presence: its members, its unique infos and its
    /// joining clock.
    pub(crate) fn presence(&self, topic: &str) -> [String; 3] {
        [
            format!("{}presence:{topic}", self.prefix),
            format!("{}names:{topic}", self.prefix),
            format!("{}joined:{topic}", self.prefix),
        ]
    }

    /// The set of node `node`'s members, and the sorted set of the nodes'
    /// heartbeats.
    pub(crate) fn node(&self, node: &str) -> [String; 2] {
        [format!("{}members:{node}", self.prefix), format!("{}nodes", self.prefix)]
    }

    /// Where a message that arrived on `channel` goes; `None` for a channel that is
    /// not ours.
    pub(crate) fn route<'a>(&self, channel: &'a str) -> Option<Route<'a>> {
        if let Some(topic) = channel.strip_prefix(&self.topic_prefix) {
            Some(Route::Topic(topic))
        } else if channel == self.presence_events {
            Some(Route::Presence)
        } else {
            channel.strip_prefix(&self.user_prefix).map(Route::User)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prefixed_and_route_back() {
        let channels = Channels::new("wsboot:");
        assert_eq!(channels.topic("room:1"), "wsboot:topic:room:1");
        assert_eq!(channels.user("alice"), "wsboot:user:alice");
        assert_eq!(channels.route("wsboot:topic:room:1"), Some(Route::Topic("room:1")));
        assert_eq!(channels.route("wsboot:user:al:ice"), Some(Route::User("al:ice")));
        assert_eq!(channels.route("wsboot:topic:"), Some(Route::Topic("")));
        assert_eq!(channels.route("wsboot:presence"), Some(Route::Presence));
        assert_eq!(channels.route("other:topic:x"), None);
        assert_eq!(channels.history("room:1"), ["wsboot:history:room:1", "wsboot:stream:room:1", "wsboot:keys:room:1"]);
        assert_eq!(
            channels.presence("room:1"),
            ["wsboot:presence:room:1", "wsboot:names:room:1", "wsboot:joined:room:1"]
        );
        assert_eq!(channels.node("n1"), ["wsboot:members:n1", "wsboot:nodes"]);
        assert_eq!(channels.route("wsboot:misc"), None);
    }
}
