//! The chat protocol as the chaos clients speak it: the room URL with `name`,
//! `client` and `since`, the messages a client sends, and the server's events.

use serde_json::Value;

/// What the server sent, as far as the chaos run cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The greeting of a fresh join: the members and where the view starts.
    Members {
        /// The offset to resume from (a server without history gives none).
        offset: Option<String>,
    },
    /// The end of a resumed join's catch-up.
    Resumed {
        /// Whether everything after `since` was replayed.
        recovered: bool,
        /// The offset to resume from next time, if given.
        offset: Option<String>,
    },
    /// A chat message.
    Message {
        /// Its author.
        user: String,
        /// Its text.
        text: String,
        /// Its position in the room.
        offset: Option<String>,
    },
    /// A join or leave notice (`kind` says which).
    Presence {
        /// `join` or `leave`.
        kind: String,
        /// Its position in the room, if it carries one.
        offset: Option<String>,
    },
    /// The sender's message with `id` is published at `offset`.
    Ack {
        /// The client's id.
        id: String,
        /// The message's position.
        offset: String,
    },
    /// An error; `retry` when sending again may work.
    Error {
        /// Why.
        reason: String,
        /// The id of the message it is about, if any.
        id: Option<String>,
        /// Whether the server asks for a resend.
        retry: bool,
    },
}

impl Event {
    /// Reads one server message; `Err` with the text when it is not one the
    /// protocol defines.
    pub fn parse(json: &str) -> Result<Event, String> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| format!("invalid JSON from the server ({e}): {json}"))?;
        let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        let required = |name: &str| field(name).ok_or_else(|| format!("no \"{name}\" in {json}"));
        let event = match value.get("type").and_then(Value::as_str) {
            Some("members") => Event::Members { offset: field("offset") },
            Some("resumed") => Event::Resumed {
                recovered: value
                    .get("recovered")
                    .and_then(Value::as_bool)
                    .ok_or_else(|| format!("no \"recovered\" in {json}"))?,
                offset: field("offset"),
            },
            Some("message") => {
                Event::Message { user: required("user")?, text: required("text")?, offset: field("offset") }
            }
            Some(kind @ ("join" | "leave")) => Event::Presence { kind: kind.to_owned(), offset: field("offset") },
            Some("ack") => Event::Ack { id: required("id")?, offset: required("offset")? },
            Some("error") => Event::Error {
                reason: field("reason").unwrap_or_default(),
                id: field("id"),
                retry: value.get("retry").and_then(Value::as_bool).unwrap_or(false),
            },
            _ => return Err(format!("unknown server message: {json}")),
        };
        Ok(event)
    }

    /// The room offset this event moves the client to, if any: where it
    /// resumes from should the connection drop right after it.
    pub fn offset(&self) -> Option<&str> {
        match self {
            Event::Members { offset }
            | Event::Resumed { offset, .. }
            | Event::Message { offset, .. }
            | Event::Presence { offset, .. } => offset.as_deref(),
            Event::Ack { .. } | Event::Error { .. } => None,
        }
    }

    /// Whether this ends the joining of a connection (`members` or `resumed`).
    pub fn is_greeting(&self) -> bool {
        matches!(self, Event::Members { .. } | Event::Resumed { .. })
    }
}

/// Who a client is in its room: its nickname and its client token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The room.
    pub room: String,
    /// The nickname.
    pub name: String,
    /// The client token: with the name, it lets a reconnect take over the
    /// member's old connection.
    pub token: String,
}

impl Identity {
    /// The URL of the room on the node at `base` (`ws://HOST:PORT`), resuming
    /// from `since` when given.
    pub fn url(&self, base: &str, since: Option<&str>) -> String {
        let mut url =
            format!("{base}/chat/{}?name={}&client={}", encode(&self.room), encode(&self.name), encode(&self.token));
        if let Some(since) = since {
            url.push_str("&since=");
            url.push_str(&encode(since));
        }
        url
    }
}

/// A chat message with an id, as a client sends it.
pub fn message(text: &str, id: &str) -> String {
    serde_json::json!({ "type": "message", "text": text, "id": id }).to_string()
}

/// Percent-encodes everything but the unreserved characters of RFC 3986.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A small pseudo-random generator (xorshift64*) for back-off jitter and
/// client tokens: no cryptography, no dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from the process's hash randomness and `salt`.
    pub fn new(salt: u64) -> Rng {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(salt);
        Rng(hasher.finish() | 1)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    /// A token of 16 hex digits.
    pub fn token(&mut self) -> String {
        format!("{:016x}", self.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse_with_their_offsets() {
        let members = Event::parse(r#"{"type":"members","users":["a"],"offset":"00000000000000ab:3"}"#).unwrap();
        assert_eq!(members, Event::Members { offset: Some("00000000000000ab:3".into()) });
        assert!(members.is_greeting());
        let message = Event::parse(r#"{"type":"message","user":"p","text":"7","offset":"x:9"}"#).unwrap();
        assert_eq!(message.offset(), Some("x:9"));
        let resumed = Event::parse(r#"{"type":"resumed","recovered":false,"offset":"x:10","users":[]}"#).unwrap();
        assert_eq!(resumed, Event::Resumed { recovered: false, offset: Some("x:10".into()) });
        let error = Event::parse(r#"{"type":"error","reason":"r","id":"m1","retry":true}"#).unwrap();
        assert_eq!(error, Event::Error { reason: "r".into(), id: Some("m1".into()), retry: true });
        assert!(Event::parse(r#"{"type":"ack","id":"m1"}"#).is_err());
        assert!(Event::parse("nope").is_err());
    }

    #[test]
    fn urls_encode_their_values() {
        let who = Identity { room: "lobby".into(), name: "c 1".into(), token: "t".into() };
        assert_eq!(who.url("ws://h:1", None), "ws://h:1/chat/lobby?name=c%201&client=t");
        assert_eq!(who.url("ws://h:1", Some("ab:12")), "ws://h:1/chat/lobby?name=c%201&client=t&since=ab%3A12");
    }

    #[test]
    fn the_generator_stays_in_bounds() {
        let mut rng = Rng::new(7);
        assert!((0..1000).all(|_| rng.below(10) < 10));
        assert_eq!(rng.token().len(), 16);
    }
}
