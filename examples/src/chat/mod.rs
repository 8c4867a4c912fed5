//! The chat of the `chat` example: rooms at `/chat/{room}?name=NICK`, a small
//! JSON protocol, and the web page at `/`. It lives in the library so that the
//! integration tests drive exactly the code the example runs.
//!
//! # Protocol
//!
//! ## Connecting
//!
//! `/chat/ROOM?name=NICK[&client=TOKEN][&since=OFFSET]`, each value
//! URL-encoded:
//!
//! - `name`: the nickname, 1 to 32 characters after trimming, no control
//!   characters, not used by another member of the room.
//! - `client`: optional, 1 to 64 visible ASCII characters (no spaces), chosen
//!   by the client (the page makes a random one per tab). A connection with
//!   the name **and** token of a member still present replaces that member's
//!   connection: nobody is told of a join, the old connection is closed with
//!   1000, and its close announces no leave. Any other connection asking for a
//!   taken name is refused.
//! - `since`: optional, an offset this server gave (see *Offsets*); asks to
//!   resume the room from there.
//!
//! Without `since`, the client first receives the room's members, itself
//! included, in the order they joined, and its starting offset:
//! `{"type":"members","users":["ann","bob"],"offset":"…"}`. Every publication
//! of the room after that offset follows (its own join notice does not).
//!
//! With `since`, the client first receives every publication of the room after
//! that offset (messages, joins, leaves, each with its offset; its own leave
//! and join among them if the server saw its old connection end), in order and
//! each once, then
//! `{"type":"resumed","recovered":true,"offset":"…","users":[…]}`, then the
//! new publications, with no gap and no duplicate. When the room's history no
//! longer covers `since` (older than the history keeps, or from a server that
//! restarted), the client receives no catch-up but
//! `{"type":"resumed","recovered":false,"offset":"…","users":[…]}` first: it
//! missed messages, and continues from the new offset. An unparsable `since`
//! gets an `error` saying so first, then is treated as not recovered. In both
//! cases `offset` is where to resume from next time and `users` the members
//! now.
//!
//! The other members receive `{"type":"join","user":"NICK","offset":"…"}`
//! (not for a connection that replaces the same member's), and
//! `{"type":"leave","user":"NICK","offset":"…"}` when a member's connection
//! ends (not when a newer connection of the same member replaced it).
//!
//! ## Messages
//!
//! A client sends `{"type":"message","text":"…"}`, optionally with
//! `"id":"…"` (1 to 64 characters of its choice). Every member of the room,
//! the sender too, receives
//! `{"type":"message","user":"NICK","text":"…","offset":"…"}`.
//!
//! A message with an `id` is published once per sender and id: when it is
//! published, the sender receives `{"type":"ack","id":"…","offset":"…"}`
//! (before or after the message itself); sending the same `id` again in the
//! same room while the first is still in the room's history publishes nothing
//! and is acked with the first message's offset. So a client that lost its
//! connection before an ack can resend every unacked message after
//! reconnecting. When the message cannot be published (the broker is down),
//! the sender gets `{"type":"error","reason":"the message was not sent …; send
//! it again","id":"…","retry":true}` (`id` when the message had one) and no
//! ack.
//!
//! ## Offsets
//!
//! Every publication to a room — `message`, `join` and `leave` — carries
//! `"offset"`, its position in the room's history, as an opaque string (today
//! `EPOCH:NUMBER`; clients must not interpret it). `members`, `resumed` and
//! `ack` carry one too. A client keeps the latest it has seen and passes it as
//! `since` when it reconnects; two deliveries with the same offset are the same
//! publication, so a client can drop repeats by offset. The history keeps each
//! room's last 5,000 publications (and at most 1 MiB of them) for 5 minutes.
//! It is kept by the broker: in this process with the default one, so a
//! restart starts every room under a new epoch and older offsets resume with
//! `recovered: false`. A broker that keeps no history cannot serve the chat
//! (the server does not start).
//!
//! ## Errors
//!
//! Bad input gets `{"type":"error","reason":"…"}` naming the problem, and the
//! connection stays open: invalid JSON, a missing or unknown `type`, a missing,
//! empty or over-long `text`, an `id` that is not a string of 1 to 64
//! characters, a binary message, an unparsable `since`. An error about a
//! message that had a valid `id` carries it as `"id"`. A connection without a
//! valid `name` (missing, empty, over-long, with control characters, or already
//! used in the room), with an invalid `client` token or with an invalid room
//! name gets the error and then a 1008 close whose reason repeats it; one that
//! cannot join because the broker is down gets the error and a 1011 close.

use std::time::Duration;

use wsboot::{HandlerRegistry, TopicHistory};

mod protocol;
mod room;

pub use protocol::{
    ClientMessage, Refused, ServerMessage, idempotency_key, parse_client_message, parse_since, stamp, validate_client,
    validate_name, validate_room,
};
pub use room::Chat;

/// The route of the rooms.
pub const ROOM_PATH: &str = "/chat/{room}";
/// Longest nickname, in characters.
pub const MAX_NAME_CHARS: usize = 32;
/// Longest room name, in characters.
pub const MAX_ROOM_CHARS: usize = 64;
/// Longest message text, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest message `id`, in characters.
pub const MAX_ID_CHARS: usize = 64;
/// Longest `client` token, in characters.
pub const MAX_CLIENT_CHARS: usize = 64;
/// Largest WebSocket message accepted; anything larger is closed with 1009
/// before it is read. Leaves room for JSON escapes around the longest text.
pub const MAX_MESSAGE_BYTES: usize = 64 << 10;

/// The web page, embedded in the binary.
pub const INDEX_HTML: &str = include_str!("../../chat/index.html");

/// How much of each room's history is kept for clients that resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomHistory {
    /// Most publications kept per room.
    pub max_messages: usize,
    /// Most payload bytes kept per room.
    pub max_bytes: usize,
    /// How long a publication is kept.
    pub max_age: Duration,
}

impl Default for RoomHistory {
    /// 5,000 publications, 1 MiB, 5 minutes per room.
    fn default() -> Self {
        RoomHistory { max_messages: 5_000, max_bytes: 1 << 20, max_age: Duration::from_secs(300) }
    }
}

/// The chat app: the page at `/` and the rooms at [`ROOM_PATH`], with the
/// default [`RoomHistory`].
pub fn registry() -> HandlerRegistry {
    registry_with(RoomHistory::default())
}

/// The chat app with rooms keeping `history` (tests use short ones).
pub fn registry_with(history: RoomHistory) -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry.add_page("/", "text/html; charset=utf-8", INDEX_HTML);
    registry.add_topic_history(
        TopicHistory::new(room::topic("*"))
            .max_messages(history.max_messages)
            .max_bytes(history.max_bytes)
            .max_age(history.max_age)
            .stamp(stamp),
    );
    registry
        .add_handler(ROOM_PATH, Chat::default())
        .interceptor(room::JoinCheck)
        .max_message_size(MAX_MESSAGE_BYTES)
        // Chat traffic is small, similar JSON: with permessage-deflate's context
        // takeover it goes over the wire at about a third of its size.
        .deflate(true);
    registry
}
