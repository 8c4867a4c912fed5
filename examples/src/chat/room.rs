//! The rooms: who is in each, joining (fresh, resuming or taking over a
//! member's name), publishing messages with acks, leaving.

use std::collections::HashMap;

use tokio::sync::Mutex;
use wsboot::{
    Bytes, CloseStatus, HandlerResult, HandshakeInterceptor, HandshakeRequest, Position, Rejection, Session, SessionId,
    Utf8Bytes, WebSocketHandler,
};

use super::protocol::{
    ServerMessage, idempotency_key, parse_client_message, parse_since, validate_client, validate_name, validate_room,
};

/// What the handshake asked for, checked once per connection (a session
/// attribute), so each message finds it without a lookup.
#[derive(Debug, Clone)]
struct Joining {
    /// The nickname and the client token, or why the connection is refused.
    who: Result<(String, Option<String>), String>,
    /// `since`: absent, a position, or why it cannot be used.
    since: Option<Result<Position, String>>,
}

impl Joining {
    fn from_query(query: impl Fn(&str) -> Option<String>) -> Self {
        let who = validate_name(query("name").as_deref())
            .and_then(|name| validate_client(query("client").as_deref()).map(|client| (name, client)));
        let since = query("since").map(|since| parse_since(&since));
        Joining { who, since }
    }
}

/// Reads and checks `?name=`, `&client=` and `&since=` during the handshake.
/// It does not refuse the upgrade: a browser cannot read an HTTP error on a
/// WebSocket, so the problem is reported on the open connection instead.
#[derive(Debug)]
pub(super) struct JoinCheck;

impl HandshakeInterceptor for JoinCheck {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        let joining = Joining::from_query(|name| request.query_param(name));
        request.attributes_mut().insert(joining);
        Ok(())
    }
}

/// A member of a room on this node.
#[derive(Debug)]
struct Member {
    session: SessionId,
    name: String,
    client: Option<String>,
}

/// The members of each room on this node, in the order they joined.
#[derive(Debug, Default)]
pub struct Chat {
    // An async lock: a join (or leave) notice and the member list change
    // happen as one step, so that the notices published to a room tell its
    // membership changes in the order they happened.
    rooms: Mutex<HashMap<String, Vec<Member>>>,
}

pub(super) fn topic(room: &str) -> String {
    format!("chat:{room}")
}

/// Sends the error, then closes with `status` and the same reason.
async fn refuse(session: &Session, status: CloseStatus, reason: &str) -> HandlerResult {
    tracing::info!(session = %session.id(), "refusing a chat connection: {reason}");
    session.send(ServerMessage::error(reason).to_json()).await?;
    session.close(status.with_reason(close_reason(reason)));
    Ok(())
}

/// A close reason is at most 123 bytes.
fn close_reason(reason: &str) -> String {
    let mut short = reason.to_owned();
    while short.len() > 123 {
        short.pop();
    }
    short
}

/// Why a connection cannot enter its room, and how to close it.
type Refusal = (CloseStatus, String);

impl Chat {
    /// Adds the session to the room as `name` and publishes the join notice,
    /// or, for the same member (same name, same client token) on a new
    /// connection, replaces its old connection without telling anyone.
    /// Refuses a name another member holds (1008), and a join that cannot be
    /// published (1011: the broker is down; the page tries again later).
    async fn enter(&self, session: &Session, room: &str, name: &str, client: Option<&str>) -> Result<(), Refusal> {
        let mut rooms = self.rooms.lock().await;
        let members = rooms.entry(room.to_owned()).or_default();
        if let Some(member) = members.iter_mut().find(|member| member.name == name) {
            if client.is_none() || member.client.as_deref() != client {
                let reason = format!("the name {name:?} is already taken in room {room:?}");
                return Err((CloseStatus::POLICY_VIOLATION, reason));
            }
            let old = std::mem::replace(&mut member.session, session.id());
            if let Some(old) = session.hub().session(old) {
                // Its close finds no member left to announce.
                old.close(CloseStatus::NORMAL.with_reason("replaced by a newer connection of the same member"));
            }
            return Ok(());
        }
        if let Err(error) = session.hub().publish(&topic(room), ServerMessage::join(name).to_json()).await {
            if members.is_empty() {
                rooms.remove(room);
            }
            let reason = format!("could not join: the room is unavailable ({error}); try again");
            return Err((CloseStatus::SERVER_ERROR, reason));
        }
        members.push(Member { session: session.id(), name: name.to_owned(), client: client.map(Into::into) });
        Ok(())
    }

    /// The room's members now, in the order they joined.
    async fn users(&self, room: &str) -> Vec<String> {
        let rooms = self.rooms.lock().await;
        rooms.get(room).map(|members| members.iter().map(|m| m.name.clone()).collect()).unwrap_or_default()
    }
}

impl WebSocketHandler for Chat {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        let room = session.path_params().get("room").unwrap_or_default().to_owned();
        if let Err(reason) = validate_room(&room) {
            return refuse(session, CloseStatus::POLICY_VIOLATION, &reason).await;
        }
        let Some(joining) = session.attributes().get::<Joining>() else {
            return refuse(session, CloseStatus::POLICY_VIOLATION, "missing name: connect to /chat/ROOM?name=NICK")
                .await;
        };
        let (name, client) = match &joining.who {
            Ok(who) => who,
            Err(reason) => return refuse(session, CloseStatus::POLICY_VIOLATION, reason).await,
        };
        if let Err((status, reason)) = self.enter(session, &room, name, client.as_deref()).await {
            return refuse(session, status, &reason).await;
        }
        let resuming = joining.since.is_some();
        let since = match &joining.since {
            Some(Err(reason)) => {
                // Fails only if the connection already ended; the leave notice follows.
                let _ = session.send(ServerMessage::error(reason.as_str()).to_json()).await;
                None
            }
            Some(Ok(position)) => Some(*position),
            None => None,
        };
        // A fresh join starts from the latest position (its own join notice is
        // not replayed to it); a returning one from where it was.
        let caught_up = match session.subscribe_from(&topic(&room), since).await {
            Ok(caught_up) => caught_up,
            Err(error) if !session.is_open() => {
                tracing::debug!(session = %session.id(), "the connection ended while joining: {error}");
                return Ok(()); // the close removes the member
            }
            Err(error) => {
                let reason = format!("could not join: the room's history is unavailable ({error}); try again");
                return refuse(session, CloseStatus::SERVER_ERROR, &reason).await;
            }
        };
        // Still held: the publications after `offset` follow what is sent now.
        let offset = caught_up.position().to_string();
        let users = self.users(&room).await;
        let greeting = if resuming {
            ServerMessage::Resumed { recovered: caught_up.recovered(), offset, users }
        } else {
            ServerMessage::Members { users, offset }
        };
        // Fails only if the connection already ended; the leave notice follows.
        let _ = session.send(greeting.to_json()).await;
        caught_up.live();
        Ok(())
    }

    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        let Some(Joining { who: Ok((name, client)), .. }) = session.attributes().get::<Joining>() else {
            return Ok(());
        };
        if !session.is_open() {
            return Ok(()); // refused at join, closing
        }
        let message = match parse_client_message(&text) {
            Ok(message) => message,
            Err(refused) => {
                session.send(refused.to_json()).await?;
                return Ok(());
            }
        };
        let room = session.path_params().get("room").unwrap_or_default();
        let topic = topic(room);
        let notice = ServerMessage::message(name, &message.text).to_json();
        let published = match &message.id {
            Some(id) => {
                let key = idempotency_key(name, client.as_deref(), id);
                session.hub().publish_idempotent(&topic, &key, notice).await
            }
            None => session.hub().publish(&topic, notice).await,
        };
        match (published, message.id) {
            (Ok(published), Some(id)) => {
                let offset = published.position.map(|p| p.to_string()).unwrap_or_default();
                session.send(ServerMessage::Ack { id, offset }.to_json()).await?;
            }
            (Ok(_), None) => {}
            (Err(error), id) => {
                let reason = format!("the message was not sent ({error}); send it again");
                session.send(ServerMessage::Error { reason, id, retry: true }.to_json()).await?;
            }
        }
        Ok(())
    }

    async fn handle_binary_message(&self, session: &Session, _data: Bytes) -> HandlerResult {
        let reason = r#"binary messages are not supported; send JSON text such as {"type":"message","text":"hi"}"#;
        session.send(ServerMessage::error(reason).to_json()).await?;
        Ok(())
    }

    async fn after_connection_closed(&self, session: &Session, _status: &CloseStatus) {
        let room = session.path_params().get("room").unwrap_or_default();
        let mut rooms = self.rooms.lock().await;
        let Some(members) = rooms.get_mut(room) else { return };
        // Not found when a newer connection of the same member took over.
        let Some(at) = members.iter().position(|member| member.session == session.id()) else { return };
        let member = members.remove(at);
        if members.is_empty() {
            rooms.remove(room);
        }
        // The hub already removed this session's subscription.
        session.hub().publish(&topic(room), ServerMessage::leave(&member.name).to_json()).await.ok();
    }
}
