//! The rooms: who is in each, joining (fresh, resuming or taking over a
//! member's name), publishing messages with acks, leaving.

use std::sync::OnceLock;

use wsboot::{
    Bytes, CloseStatus, HandlerResult, HandshakeInterceptor, HandshakeRequest, Hub, Position, Presence, PresenceChange,
    Rejection, Session, Tracked, Utf8Bytes, WebSocketHandler,
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

/// The rooms. Who is in each is the hub's presence (cluster-wide with the
/// Redis broker): a member tracks its name, unique in its room, owned by its
/// client token so that the same client can take it back from its own older
/// connection.
#[derive(Debug, Default)]
pub struct Chat {
    /// Set on the first connection: the hub's leave events become leave
    /// notices (every node hears every leave, of a node that crashed too).
    leave_notices: OnceLock<()>,
}

/// The topics of the rooms start with this.
const TOPIC_PREFIX: &str = "chat:";

pub(super) fn topic(room: &str) -> String {
    format!("{TOPIC_PREFIX}{room}")
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
    /// Makes the members' leaves into leave notices in their rooms, once per
    /// server. Every node hears every leave, so each publishes the notice
    /// with the same idempotency key: the room gets it once.
    fn announce_leaves(&self, hub: &Hub) {
        self.leave_notices.get_or_init(|| {
            let publisher = hub.clone();
            hub.on_presence(move |event| {
                let Some(room) = event.topic.strip_prefix(TOPIC_PREFIX) else { return };
                if event.change != PresenceChange::Leave || validate_room(room).is_err() {
                    return;
                }
                let (hub, topic, member) = (publisher.clone(), event.topic.clone(), event.member.clone());
                tokio::spawn(async move {
                    let key = format!("leave:{}/{}", member.node, member.session);
                    let notice = ServerMessage::leave(&member.info).to_json();
                    if let Err(error) = hub.publish_idempotent(&topic, &key, notice).await {
                        tracing::warn!(topic, "could not publish a leave notice: {error}");
                    }
                });
            });
        });
    }

    /// Makes the session a member of the room as `name` and publishes the join
    /// notice, or, for the same member (same name, same client token) on a
    /// new connection, takes over from its old connection without telling
    /// anyone. Refuses a name another member holds (1008), and a join that
    /// cannot be recorded or published (1011: the broker is down; the page
    /// tries again later).
    async fn enter(&self, session: &Session, room: &str, name: &str, client: Option<&str>) -> Result<(), Refusal> {
        let unavailable = |error: wsboot::Error| {
            let reason = format!("could not join: the room is unavailable ({error}); try again");
            (CloseStatus::SERVER_ERROR, reason)
        };
        let presence = match client {
            Some(client) => Presence::new(name).unique().owner(client),
            None => Presence::new(name).unique(),
        };
        let topic = topic(room);
        match session.track_presence(&topic, presence).await.map_err(unavailable)? {
            Tracked::Joined => {}
            Tracked::TookOver(old) => {
                if let Some(old) = session.hub().session(old.session).filter(|_| old.node == session.hub().node_id()) {
                    // Its close finds no member left to announce.
                    old.close(CloseStatus::NORMAL.with_reason("replaced by a newer connection of the same member"));
                }
                return Ok(());
            }
            Tracked::Taken(_) => {
                let reason = format!("the name {name:?} is already taken in room {room:?}");
                return Err((CloseStatus::POLICY_VIOLATION, reason));
            }
            _ => {}
        }
        if let Err(error) = session.hub().publish(&topic, ServerMessage::join(name).to_json()).await {
            session.untrack_presence(&topic).await;
            return Err(unavailable(error));
        }
        Ok(())
    }

    /// The room's members now, on every node, in the order they joined.
    async fn users(session: &Session, room: &str) -> Result<Vec<String>, wsboot::Error> {
        let members = session.hub().presence(&topic(room)).await?;
        Ok(members.into_iter().map(|member| member.info).collect())
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
        self.announce_leaves(session.hub());
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
        let users = match Chat::users(session, &room).await {
            Ok(users) => users,
            Err(error) => {
                let reason = format!("could not join: the room's members are unavailable ({error}); try again");
                return refuse(session, CloseStatus::SERVER_ERROR, &reason).await;
            }
        };
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

    // Leaving needs nothing here: the hub drops the session's presence as it
    // closes, and the leave event becomes the notice (`announce_leaves`).
}
