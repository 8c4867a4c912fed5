//! The chat of the `chat` example: rooms at `/chat/{room}?name=NICK`, a small
//! JSON protocol, and the web page at `/`. It lives in the library so that the
//! integration tests drive exactly the code the example runs.
//!
//! # Protocol
//!
//! A client sends `{"type":"message","text":"…"}`. Every member of the room,
//! the sender too, receives `{"type":"message","user":"NICK","text":"…"}`.
//! On joining, a client receives the room's members, itself included, in the
//! order they joined: `{"type":"members","users":["ann","bob"]}`; the others
//! receive `{"type":"join","user":"NICK"}`, and `{"type":"leave","user":"NICK"}`
//! when a member's connection ends.
//!
//! Bad input gets `{"type":"error","reason":"…"}` and the connection stays open:
//! invalid JSON, a missing or unknown `type`, a missing, empty or over-long
//! `text`, a binary message. A connection without a valid `name` (missing,
//! empty, over-long, with control characters, or already used in the room) or
//! with an over-long room name gets the error and then a 1008 close whose
//! reason repeats it.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::Mutex;
use wsboot::{
    Bytes, CloseStatus, HandlerRegistry, HandlerResult, HandshakeInterceptor, HandshakeRequest, Rejection, Session,
    SessionId, Utf8Bytes, WebSocketHandler,
};

/// The route of the rooms.
pub const ROOM_PATH: &str = "/chat/{room}";
/// Longest nickname, in characters.
pub const MAX_NAME_CHARS: usize = 32;
/// Longest room name, in characters.
pub const MAX_ROOM_CHARS: usize = 64;
/// Longest message text, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Largest WebSocket message accepted; anything larger is closed with 1009
/// before it is read. Leaves room for JSON escapes around the longest text.
pub const MAX_MESSAGE_BYTES: usize = 64 << 10;

/// The web page, embedded in the binary.
pub const INDEX_HTML: &str = include_str!("../chat/index.html");

/// The chat app: the page at `/` and the rooms at [`ROOM_PATH`].
pub fn registry() -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry.add_page("/", "text/html; charset=utf-8", INDEX_HTML);
    registry
        .add_handler(ROOM_PATH, Chat::default())
        .interceptor(NicknameCheck)
        .max_message_size(MAX_MESSAGE_BYTES)
        // Chat traffic is small, similar JSON: with permessage-deflate's context
        // takeover it goes over the wire at about a third of its size.
        .deflate(true);
    registry
}

/// What the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerMessage<'a> {
    /// A member said something.
    Message {
        /// Who.
        user: &'a str,
        /// What.
        text: &'a str,
    },
    /// Someone joined the room.
    Join {
        /// Who.
        user: &'a str,
    },
    /// Someone left the room.
    Leave {
        /// Who.
        user: &'a str,
    },
    /// The room's members, sent to a client as it joins.
    Members {
        /// Nicknames, in the order they joined.
        users: Vec<&'a str>,
    },
    /// The client's last message (or its connection) was refused.
    Error {
        /// Why, for a person to read.
        reason: &'a str,
    },
}

impl ServerMessage<'_> {
    /// The JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("these messages always serialize")
    }
}

/// Why a client message was refused, or the valid text it carries.
pub fn parse_client_message(json: &str) -> Result<String, String> {
    let value: Value = serde_json::from_str(json).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(fields) = value else {
        return Err(r#"expected a JSON object such as {"type":"message","text":"hi"}"#.to_owned());
    };
    match fields.get("type") {
        None => return Err(r#"missing "type": send {"type":"message","text":"…"}"#.to_owned()),
        Some(Value::String(kind)) if kind == "message" => {}
        Some(Value::String(kind)) => return Err(format!(r#"unknown message type {kind:?}; expected "message""#)),
        Some(_) => return Err(r#""type" must be a string"#.to_owned()),
    }
    let text = match fields.get("text") {
        None => return Err(r#"missing "text""#.to_owned()),
        Some(Value::String(text)) => text,
        Some(_) => return Err(r#""text" must be a string"#.to_owned()),
    };
    if text.trim().is_empty() {
        return Err(r#""text" is empty"#.to_owned());
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(format!(r#""text" is {chars} characters long; the limit is {MAX_TEXT_CHARS}"#));
    }
    Ok(text.clone())
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

fn validate_room(room: &str) -> Result<(), String> {
    let chars = room.chars().count();
    if chars > MAX_ROOM_CHARS {
        return Err(format!("the room name is {chars} characters long; the limit is {MAX_ROOM_CHARS}"));
    }
    if room.trim().is_empty() || room.chars().any(char::is_control) {
        return Err("the room name must be visible text".to_owned());
    }
    Ok(())
}

/// The nickname from the handshake's `?name=`, checked once per connection (a
/// session attribute), so each message finds it without a lookup.
#[derive(Debug, Clone)]
struct Nickname(Result<String, String>);

/// Reads and checks `?name=` during the handshake. It does not refuse the
/// upgrade: a browser cannot read an HTTP error on a WebSocket, so the problem
/// is reported on the open connection instead.
#[derive(Debug)]
struct NicknameCheck;

impl HandshakeInterceptor for NicknameCheck {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        let name = validate_name(request.query_param("name").as_deref());
        request.attributes_mut().insert(Nickname(name));
        Ok(())
    }
}

/// The members of each room on this node, in the order they joined.
#[derive(Debug, Default)]
pub struct Chat {
    // An async lock: a join (or leave) notice, the subscription and the member
    // list sent to the newcomer happen as one step, so that every member's view
    // of the room stays consistent with the notices it receives.
    rooms: Mutex<HashMap<String, Vec<(SessionId, String)>>>,
}

fn topic(room: &str) -> String {
    format!("chat:{room}")
}

/// Sends the error, then closes with 1008 and the same reason.
async fn refuse(session: &Session, reason: &str) -> HandlerResult {
    tracing::info!(session = %session.id(), "refusing a chat connection: {reason}");
    session.send(ServerMessage::Error { reason }.to_json()).await?;
    // A close reason is at most 123 bytes.
    let mut short = reason.to_owned();
    while short.len() > 123 {
        short.pop();
    }
    session.close(CloseStatus::POLICY_VIOLATION.with_reason(short));
    Ok(())
}

impl WebSocketHandler for Chat {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        let room = session.path_params().get("room").unwrap_or_default().to_owned();
        if let Err(reason) = validate_room(&room) {
            return refuse(session, &reason).await;
        }
        let name = match session.attributes().get::<Nickname>() {
            Some(Nickname(Ok(name))) => name.clone(),
            Some(Nickname(Err(reason))) => return refuse(session, reason).await,
            None => return refuse(session, "missing name: connect to /chat/ROOM?name=NICK").await,
        };
        let mut rooms = self.rooms.lock().await;
        let members = rooms.entry(room.clone()).or_default();
        if members.iter().any(|(_, member)| *member == name) {
            let reason = format!("the name {name:?} is already taken in room {room:?}");
            return refuse(session, &reason).await;
        }
        let topic = topic(&room);
        // Announced before subscribing: the newcomer learns of itself from the
        // member list instead.
        session.hub().publish(&topic, ServerMessage::Join { user: &name }.to_json()).await?;
        if session.subscribe(&topic).await.is_err() {
            // The connection ended while joining: take the notice back.
            session.hub().publish(&topic, ServerMessage::Leave { user: &name }.to_json()).await?;
            if members.is_empty() {
                rooms.remove(&room);
            }
            return Ok(());
        }
        members.push((session.id(), name));
        let users = members.iter().map(|(_, member)| member.as_str()).collect();
        // Fails only if the connection already ended; the leave notice follows.
        let _ = session.send(ServerMessage::Members { users }.to_json()).await;
        Ok(())
    }

    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        let Some(Nickname(Ok(name))) = session.attributes().get::<Nickname>() else { return Ok(()) };
        if !session.is_open() {
            return Ok(()); // refused at join, closing
        }
        match parse_client_message(&text) {
            Ok(text) => {
                let room = session.path_params().get("room").unwrap_or_default();
                let message = ServerMessage::Message { user: name, text: &text }.to_json();
                session.hub().publish(&topic(room), message).await?;
            }
            Err(reason) => session.send(ServerMessage::Error { reason: &reason }.to_json()).await?,
        }
        Ok(())
    }

    async fn handle_binary_message(&self, session: &Session, _data: Bytes) -> HandlerResult {
        let reason = r#"binary messages are not supported; send JSON text such as {"type":"message","text":"hi"}"#;
        session.send(ServerMessage::Error { reason }.to_json()).await?;
        Ok(())
    }

    async fn after_connection_closed(&self, session: &Session, _status: &CloseStatus) {
        let room = session.path_params().get("room").unwrap_or_default();
        let mut rooms = self.rooms.lock().await;
        let Some(members) = rooms.get_mut(room) else { return };
        let Some(at) = members.iter().position(|(id, _)| *id == session.id()) else { return };
        let (_, name) = members.remove(at);
        if members.is_empty() {
            rooms.remove(room);
        }
        // The hub already removed this session's subscription.
        session.hub().publish(&topic(room), ServerMessage::Leave { user: &name }.to_json()).await.ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_are_checked_with_a_reason() {
        assert_eq!(parse_client_message(r#"{"type":"message","text":"hi"}"#), Ok("hi".to_owned()));
        let reason = |json: &str| parse_client_message(json).unwrap_err();
        assert!(reason("{nope").starts_with("invalid JSON"));
        assert!(reason("[1]").contains("JSON object"));
        assert!(reason(r#"{"text":"hi"}"#).starts_with(r#"missing "type""#));
        assert_eq!(reason(r#"{"type":"shout","text":"hi"}"#), r#"unknown message type "shout"; expected "message""#);
        assert_eq!(reason(r#"{"type":"message"}"#), r#"missing "text""#);
        assert_eq!(reason(r#"{"type":"message","text":5}"#), r#""text" must be a string"#);
        assert_eq!(reason(r#"{"type":"message","text":"  "}"#), r#""text" is empty"#);
        let long = format!(r#"{{"type":"message","text":"{}"}}"#, "é".repeat(MAX_TEXT_CHARS + 1));
        assert!(reason(&long).contains("the limit is 2000"));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(validate_name(Some(" ann ")), Ok("ann".to_owned()));
        assert!(validate_name(None).unwrap_err().starts_with("missing name"));
        assert!(validate_name(Some("  ")).unwrap_err().contains("empty"));
        assert!(validate_name(Some(&"x".repeat(MAX_NAME_CHARS + 1))).unwrap_err().contains("limit is 32"));
        assert!(validate_name(Some("a\u{7}b")).unwrap_err().contains("control"));
    }

    #[test]
    fn server_messages_have_the_documented_shape() {
        assert_eq!(
            ServerMessage::Message { user: "ann", text: "hi \"you\"" }.to_json(),
            r#"{"type":"message","user":"ann","text":"hi \"you\""}"#
        );
        assert_eq!(
            ServerMessage::Members { users: vec!["a", "b"] }.to_json(),
            r#"{"type":"members","users":["a","b"]}"#
        );
        assert_eq!(ServerMessage::Leave { user: "a" }.to_json(), r#"{"type":"leave","user":"a"}"#);
        assert_eq!(ServerMessage::Error { reason: "x" }.to_json(), r#"{"type":"error","reason":"x"}"#);
    }
}
