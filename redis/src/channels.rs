//! Redis channel and key names: every channel and key of a cluster starts with
//! its prefix, so several applications (or environments) can share one Redis.
//!
//! - topic `T` travels on `{prefix}topic:T`, one channel per topic; a node
//!   subscribes to it while it has local subscribers;
//! - user `U` is addressed on `{prefix}user:U`; every node listens to all of
//!   them with one pattern, `{prefix}user:*`, since any node may hold a session
//!   of any user;
//! - the history of topic `T`, for topics whose history is on, is kept in the
//!   hash `{prefix}history:T`, the stream `{prefix}stream:T` and the sorted
//!   set `{prefix}keys:T` (its idempotency keys).

/// Where a channel's messages go on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// To the local subscribers of a topic.
    Topic(&'a str),
    /// To the local sessions of a user.
    User(&'a str),
}

/// The channel names of one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Channels {
    topic_prefix: String,
    user_prefix: String,
    user_pattern: String,
    history_prefix: String,
    stream_prefix: String,
    keys_prefix: String,
}

impl Channels {
    pub(crate) fn new(prefix: &str) -> Self {
        Channels {
            topic_prefix: format!("{prefix}topic:"),
            user_prefix: format!("{prefix}user:"),
            user_pattern: format!("{}user:*", glob_escape(prefix)),
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

    /// The pattern matching every user channel.
    pub(crate) fn user_pattern(&self) -> &str {
        &self.user_pattern
    }

    /// Where a message that arrived on `channel` goes; `None` for a channel that is
    /// not ours.
    pub(crate) fn route<'a>(&self, channel: &'a str) -> Option<Route<'a>> {
        if let Some(topic) = channel.strip_prefix(&self.topic_prefix) {
            Some(Route::Topic(topic))
        } else {
            channel.strip_prefix(&self.user_prefix).map(Route::User)
        }
    }
}

/// Escapes the characters Redis glob patterns give a meaning to, so a prefix
/// such as `app[1]:` matches itself only.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^' | '-') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prefixed_and_route_back() {
        let channels = Channels::new("wsboot:");
        assert_eq!(channels.topic("room:1"), "wsboot:topic:room:1");
        assert_eq!(channels.user("alice"), "wsboot:user:alice");
        assert_eq!(channels.user_pattern(), "wsboot:user:*");
        assert_eq!(channels.route("wsboot:topic:room:1"), Some(Route::Topic("room:1")));
        assert_eq!(channels.route("wsboot:user:al:ice"), Some(Route::User("al:ice")));
        assert_eq!(channels.route("wsboot:topic:"), Some(Route::Topic("")));
        assert_eq!(channels.route("other:topic:x"), None);
        assert_eq!(channels.history("room:1"), ["wsboot:history:room:1", "wsboot:stream:room:1", "wsboot:keys:room:1"]);
        assert_eq!(channels.route("wsboot:misc"), None);
    }

    #[test]
    fn glob_characters_of_the_prefix_are_escaped_in_the_pattern() {
        let channels = Channels::new("app[1]*:");
        assert_eq!(channels.user_pattern(), r"app\[1\]\*:user:*");
        assert_eq!(channels.user("bob"), "app[1]*:user:bob");
        assert_eq!(channels.route("app[1]*:user:bob"), Some(Route::User("bob")));
    }
}
