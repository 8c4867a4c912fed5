//! The chat's JSON messages: what the server sends, what a client may send,
//! and the checks on the connection's query parameters.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wsboot::{Message, Position};

use super::{MAX_CLIENT_CHARS, MAX_ID_CHARS, MAX_NAME_CHARS, MAX_ROOM_CHARS, MAX_TEXT_CHARS};

/// What the server sends. The notices published to a room (`message`, `join`,
/// `leave`) are stored without an offset; [`stamp`] adds it on delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerMessage {
    /// A member said something.
    Message {
        /// Who.
        user: String,
        /// What.
        text: String,
        /// The publication's position in the room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<String>,
    },
    /// Someone joined the room.
    Join {
        /// Who.
        user: String,
        /// The publication's position in the room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<String>,
    },
    /// Someone left the room.
    Leave {
        /// Who.
        user: String,
        /// The publication's position in the room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<String>,
    },
    /// The room's members, sent to a client as it joins without `since`.
    Members {
        /// Nicknames, in the order they joined.
        users: Vec<String>,
        /// Where the client's view of the room starts: resume from here.
        offset: String,
    },
    /// The end of the catch-up of a client that joined with `since`.
    Resumed {
        /// Whether every message after `since` was delivered.
        recovered: bool,
        /// The position the client is now at: resume from here.
        offset: String,
        /// The room's members now, in the order they joined.
        users: Vec<String>,
    },
    /// The client's message with this `id` is published (or already was).
    Ack {
        /// The client's id.
        id: String,
        /// The message's position in the room.
        offset: String,
    },
    /// The client's last message (or its connection) was refused.
    Error {
        /// Why, for a person to read.
        reason: String,
        /// The `id` of the client message this is about, if it had a valid one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Whether sending the same message again may work (the server could
        /// not publish it); otherwise the message itself is wrong.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        retry: bool,
    },
}

impl ServerMessage {
    /// The JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("these messages always serialize")
    }

    /// A chat message, as published (no offset yet).
    pub fn message(user: &str, text: &str) -> Self {
        ServerMessage::Message { user: user.to_owned(), text: text.to_owned(), offset: None }
    }

    /// A join notice, as published.
    pub fn join(user: &str) -> Self {
        ServerMessage::Join { user: user.to_owned(), offset: None }
    }

    /// A leave notice, as published.
    pub fn leave(user: &str) -> Self {
        ServerMessage::Leave { user: user.to_owned(), offset: None }
    }

    /// An error about the client's last message or its connection.
    pub fn error(reason: impl Into<String>) -> Self {
        ServerMessage::Error { reason: reason.into(), id: None, retry: false }
    }
}

/// The room history's stamp: a delivered `message`, `join` or `leave` gains
/// `"offset"`, its position's text form. Anything else published to a room
/// (nothing the chat itself publishes) is delivered unchanged.
pub fn stamp(position: &Position, message: &Message) -> Message {
    let Some(json) = message.as_text() else { return message.clone() };
    let Ok(mut parsed) = serde_json::from_str::<ServerMessage>(json) else { return message.clone() };
    match &mut parsed {
        ServerMessage::Message { offset, .. }
        | ServerMessage::Join { offset, .. }
        | ServerMessage::Leave { offset, .. } => {
            *offset = Some(position.to_string());
            Message::text(parsed.to_json())
        }
        _ => message.clone(),
    }
}

/// A valid chat message from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMessage {
    /// The text to publish.
    pub text: String,
    /// The client's id for it, if it gave one: resends with the same id are
    /// published once.
    pub id: Option<String>,
}

/// Why a client message was refused, and its `id` when that was valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Why, for a person to read.
    pub reason: String,
    /// The message's valid `id`, if any.
    pub id: Option<String>,
}

impl Refused {
    fn new(reason: impl Into<String>) -> Self {
        Refused { reason: reason.into(), id: None }
    }

    /// The error to send back.
    pub fn to_json(&self) -> String {
        ServerMessage::Error { reason: self.reason.clone(), id: self.id.clone(), retry: false }.to_json()
    }
}

/// The valid message a client sent, or why it is refused.
pub fn parse_client_message(json: &str) -> Result<ClientMessage, Refused> {
    let value: Value = serde_json::from_str(json).map_err(|e| Refused::new(format!("invalid JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(Refused::new(r#"expected a JSON object such as {"type":"message","text":"hi"}"#));
    };
    match fields.get("type") {
        None => return Err(Refused::new(r#"missing "type": send {"type":"message","text":"…"}"#)),
        Some(Value::String(kind)) if kind == "message" => {}
        Some(Value::String(kind)) => {
            return Err(Refused::new(format!(r#"unknown message type {kind:?}; expected "message""#)));
        }
        Some(_) => return Err(Refused::new(r#""type" must be a string"#)),
    }
    let id = match fields.get("id") {
        None => None,
        Some(Value::String(id)) => {
            let chars = id.chars().count();
            if chars == 0 || chars > MAX_ID_CHARS {
                let problem = format!(r#""id" must be 1 to {MAX_ID_CHARS} characters; this one has {chars}"#);
                return Err(Refused::new(problem));
            }
            Some(id.clone())
        }
        Some(_) => return Err(Refused::new(r#""id" must be a string"#)),
    };
    let refused = |reason: String| Refused { reason, id: id.clone() };
    let text = match fields.get("text") {
        None => return Err(refused(r#"missing "text""#.to_owned())),
        Some(Value::String(text)) => text,
        Some(_) => return Err(refused(r#""text" must be a string"#.to_owned())),
    };
    if text.trim().is_empty() {
        return Err(refused(r#""text" is empty"#.to_owned()));
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(refused(format!(r#""text" is {chars} characters long; the limit is {MAX_TEXT_CHARS}"#)));
    }
    Ok(ClientMessage { text: text.clone(), id })
}

/// Checks a nickname: what is kept (trimmed), or why it is refused.
pub fn validate_name(name: Option<&str>) -> Result<String, String> {
    let Some(name) = name else {
        return Err("missing name: connect to /chat/ROOM?name=NICK".to_owned());
    };
    let name = name.trim();
    if name.is_empty() {
        return Err("the name is empty".to_owned());
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(format!("the name is {chars} characters long; the limit is {MAX_NAME_CHARS}"));
    }
    if name.chars().any(char::is_control) {
        return Err("the name contains control characters".to_owned());
    }
    Ok(name.to_owned())
}

/// Checks a `client` token: 1 to 64 visible ASCII characters (no spaces).
pub fn validate_client(client: Option<&str>) -> Result<Option<String>, String> {
    let Some(client) = client else { return Ok(None) };
    let chars = client.chars().count();
    if chars == 0 || chars > MAX_CLIENT_CHARS {
        return Err(format!("the client token must be 1 to {MAX_CLIENT_CHARS} characters; this one has {chars}"));
    }
    if !client.chars().all(|c| c.is_ascii_graphic()) {
        return Err("the client token must be visible ASCII characters, without spaces".to_owned());
    }
    Ok(Some(client.to_owned()))
}

/// Reads `since`: the position to resume from, or why it cannot be used.
pub fn parse_since(since: &str) -> Result<Position, String> {
    since
        .parse::<Position>()
        .map_err(|e| format!("cannot resume: \"since\" is not an offset this server gave ({e}); continuing from now"))
}

/// Checks a room name.
pub fn validate_room(room: &str) -> Result<(), String> {
    let chars = room.chars().count();
    if chars > MAX_ROOM_CHARS {
        return Err(format!("the room name is {chars} characters long; the limit is {MAX_ROOM_CHARS}"));
    }
    if room.trim().is_empty() || room.chars().any(char::is_control) {
        return Err("the room name must be visible text".to_owned());
    }
    Ok(())
}

/// The idempotency key of a client's message: its id, scoped to the sender
/// (name and client token), so that two members' ids never collide. Keys
/// longer than the hub takes are replaced by a 128-bit digest.
pub fn idempotency_key(name: &str, client: Option<&str>, id: &str) -> String {
    const MAX_KEY_BYTES: usize = 256;
    let key = format!("{name}\u{1f}{}\u{1f}{id}", client.unwrap_or_default());
    if key.len() <= MAX_KEY_BYTES {
        return key;
    }
    // FNV-1a, 128 bits: stable across builds and nodes.
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for byte in key.bytes() {
        hash ^= u128::from(byte);
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    format!("fnv128:{hash:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_are_checked_with_a_reason() {
        let ok = |text: &str, id: Option<&str>| Ok(ClientMessage { text: text.to_owned(), id: id.map(Into::into) });
        assert_eq!(parse_client_message(r#"{"type":"message","text":"hi"}"#), ok("hi", None));
        assert_eq!(parse_client_message(r#"{"type":"message","text":"hi","id":"a1"}"#), ok("hi", Some("a1")));
        let reason = |json: &str| parse_client_message(json).unwrap_err().reason;
        assert!(reason("{nope").starts_with("invalid JSON"));
        assert!(reason("[1]").contains("JSON object"));
        assert!(reason(r#"{"text":"hi"}"#).starts_with(r#"missing "type""#));
        assert_eq!(reason(r#"{"type":"shout","text":"hi"}"#), r#"unknown message type "shout"; expected "message""#);
        assert_eq!(reason(r#"{"type":"message"}"#), r#"missing "text""#);
        assert_eq!(reason(r#"{"type":"message","text":5}"#), r#""text" must be a string"#);
        assert_eq!(reason(r#"{"type":"message","text":"  "}"#), r#""text" is empty"#);
        let long = format!(r#"{{"type":"message","text":"{}"}}"#, "é".repeat(MAX_TEXT_CHARS + 1));
        assert!(reason(&long).contains("the limit is 2000"));
        assert_eq!(reason(r#"{"type":"message","text":"hi","id":7}"#), r#""id" must be a string"#);
        assert!(reason(r#"{"type":"message","text":"hi","id":""}"#).contains("1 to 64 characters"));
        let long_id = format!(r#"{{"type":"message","text":"hi","id":"{}"}}"#, "é".repeat(MAX_ID_CHARS + 1));
        assert!(reason(&long_id).contains("this one has 65"));
        // A valid id comes back with the error about the text.
        let refused = parse_client_message(r#"{"type":"message","text":"","id":"x"}"#).unwrap_err();
        assert_eq!(refused.id.as_deref(), Some("x"));
    }

    #[test]
    fn names_tokens_and_offsets_are_checked() {
        assert_eq!(validate_name(Some(" ann ")), Ok("ann".to_owned()));
        assert!(validate_name(None).unwrap_err().starts_with("missing name"));
        assert!(validate_name(Some("  ")).unwrap_err().contains("empty"));
        assert!(validate_name(Some(&"x".repeat(MAX_NAME_CHARS + 1))).unwrap_err().contains("limit is 32"));
        assert!(validate_name(Some("a\u{7}b")).unwrap_err().contains("control"));
        assert_eq!(validate_client(None), Ok(None));
        assert_eq!(validate_client(Some("t-1_x")), Ok(Some("t-1_x".to_owned())));
        assert!(validate_client(Some("")).unwrap_err().contains("1 to 64"));
        assert!(validate_client(Some(&"t".repeat(65))).unwrap_err().contains("1 to 64"));
        assert!(validate_client(Some("a b")).unwrap_err().contains("visible ASCII"));
        assert!(parse_since("00000000000000ff:3").is_ok());
        assert!(parse_since("yesterday").unwrap_err().contains("not an offset"));
    }

    #[test]
    fn server_messages_have_the_documented_shape() {
        assert_eq!(
            ServerMessage::message("ann", "hi \"you\"").to_json(),
            r#"{"type":"message","user":"ann","text":"hi \"you\""}"#
        );
        let members = ServerMessage::Members { users: vec!["a".into(), "b".into()], offset: "1:2".into() };
        assert_eq!(members.to_json(), r#"{"type":"members","users":["a","b"],"offset":"1:2"}"#);
        assert_eq!(ServerMessage::leave("a").to_json(), r#"{"type":"leave","user":"a"}"#);
        assert_eq!(ServerMessage::error("x").to_json(), r#"{"type":"error","reason":"x"}"#);
        let ack = ServerMessage::Ack { id: "7".into(), offset: "1:2".into() };
        assert_eq!(ack.to_json(), r#"{"type":"ack","id":"7","offset":"1:2"}"#);
    }

    #[test]
    fn the_stamp_adds_the_offset_to_room_notices_only() {
        let position = Position::new(0xab, 9);
        let stamped = stamp(&position, &Message::text(ServerMessage::message("ann", "}\"{").to_json()));
        assert_eq!(
            stamped.as_text(),
            Some(r#"{"type":"message","user":"ann","text":"}\"{","offset":"00000000000000ab:9"}"#)
        );
        let join = stamp(&position, &Message::text(ServerMessage::join("bob").to_json()));
        assert_eq!(join.as_text(), Some(r#"{"type":"join","user":"bob","offset":"00000000000000ab:9"}"#));
        for other in
            [Message::text("not json"), Message::text(r#"{"type":"error","reason":"x"}"#), Message::binary(vec![1])]
        {
            assert_eq!(stamp(&position, &other), other);
        }
    }

    #[test]
    fn keys_are_scoped_to_the_sender_and_bounded() {
        assert_ne!(idempotency_key("ann", Some("t"), "1"), idempotency_key("bob", Some("t"), "1"));
        assert_ne!(idempotency_key("ann", Some("t"), "1"), idempotency_key("ann", Some("u"), "1"));
        assert_ne!(idempotency_key("ann", None, "1"), idempotency_key("ann", None, "2"));
        let long = idempotency_key(&"é".repeat(32), Some(&"t".repeat(64)), &"😀".repeat(64));
        assert!(long.len() <= 256 && long.starts_with("fnv128:"), "{long}");
        assert_eq!(long, idempotency_key(&"é".repeat(32), Some(&"t".repeat(64)), &"😀".repeat(64)));
    }
}
