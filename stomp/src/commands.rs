//! What each client command does: CONNECT negotiates, SEND reaches the
//! application or the broker, SUBSCRIBE and UNSUBSCRIBE follow broker
//! destinations through the hub, transactions hold SENDs and ACKs until
//! COMMIT.

use wsboot_core::{Position, Session};

use crate::authorization::Decision;
use crate::destination::Kind;
use crate::frame::{Command, Frame, Version};
use crate::handler::{Flow, Problem, StompHandler};
use crate::heartbeat;
use crate::mapping::{Inbound, Mappings, Reply, Target};
use crate::payload::{Payload, publication, read_publication, to_message, topic};
use crate::relay::forward;
use crate::state::{AckMode, Shared, Subscription};

type Outcome = Result<Flow, Problem>;

impl StompHandler {
    /// Processes one frame from the client.
    pub(crate) async fn process(&self, session: &Session, state: &Shared, mut frame: Frame) -> Outcome {
        let connected = state.lock().version.is_some();
        if connected && frame.command.is_client() {
            self.admit(session, &mut frame)?;
        }
        match frame.command {
            Command::Connect | Command::Stomp if connected => {
                Err(Problem::new("already connected", format!("{} may be sent once per connection", frame.command)))
            }
            Command::Connect | Command::Stomp => self.connect(session, state, &frame).await,
            command if !connected => {
                Err(Problem::new("not connected", format!("the first frame must be CONNECT (or STOMP), not {command}")))
            }
            command if !command.is_client() => Err(Problem::new(
                "unexpected frame",
                format!(
                    "{command} is a server frame; a client sends SEND, SUBSCRIBE, UNSUBSCRIBE, ACK, NACK, BEGIN, COMMIT, ABORT or DISCONNECT"
                ),
            )),
            Command::Subscribe => self.subscribe(session, state, frame).await,
            Command::Unsubscribe => self.unsubscribe(session, state, &frame).await,
            Command::Begin => {
                let id = frame.get("transaction").ok_or_else(|| Problem::missing("transaction", Command::Begin))?;
                let mut connection = state.lock();
                if connection.transactions.contains_key(id) {
                    return Err(Problem::new(
                        "transaction already begun",
                        format!("transaction {id:?} is open already"),
                    ));
                }
                connection.transactions.insert(id.to_owned(), Vec::new());
                Ok(Flow::Continue)
            }
            Command::Commit | Command::Abort => {
                let id = frame.get("transaction").ok_or_else(|| Problem::missing("transaction", frame.command))?;
                let held = state.lock().transactions.remove(id).ok_or_else(|| {
                    Problem::new("unknown transaction", format!("no open transaction {id:?} to {}", frame.command))
                })?;
                if frame.command == Command::Commit {
                    for held in held {
                        self.apply(session, state, held, false).await?;
                    }
                }
                Ok(Flow::Continue)
            }
            Command::Disconnect => {
                state.lock().transactions.clear();
                Ok(Flow::Disconnect)
            }
            Command::Send | Command::Ack | Command::Nack => {
                if let Some(id) = frame.get("transaction") {
                    let mut connection = state.lock();
                    let held = connection.transactions.get_mut(id).ok_or_else(|| {
                        Problem::new(
                            "unknown transaction",
                            format!("{} in transaction {id:?}, which is not open", frame.command),
                        )
                    })?;
                    held.push(frame);
                    return Ok(Flow::Continue);
                }
                self.apply(session, state, frame, true).await
            }
            _ => unreachable!("server frames and CONNECT are handled above"),
        }
    }

    /// Runs the interceptors on a frame, then the rules on a SEND or SUBSCRIBE.
    fn admit(&self, session: &Session, frame: &mut Frame) -> Result<(), Problem> {
        for interceptor in &self.settings.interceptors {
            interceptor.inbound(session, frame).map_err(|reason| Problem::refused("refused", reason))?;
        }
        if !matches!(frame.command, Command::Send | Command::Subscribe) {
            return Ok(());
        }
        let Some(destination) = frame.get("destination") else { return Ok(()) };
        match self.settings.authorization.decide(frame.command, destination, session) {
            Decision::Refused(requirement) => Err(Problem::refused(
                "access denied",
                format!("{} to {destination} needs {requirement}", frame.command),
            )),
            Decision::Allowed | Decision::Unmatched => Ok(()),
        }
    }

    /// SEND, ACK and NACK, when they take effect: at once (`receipt_along`:
    /// a broker that gets the frame answers its receipt), or at COMMIT (the
    /// receipt was answered when the frame was held).
    async fn apply(&self, session: &Session, state: &Shared, frame: Frame, receipt_along: bool) -> Outcome {
        match frame.command {
            Command::Send => self.send(session, state, frame, receipt_along).await,
            _ => {
                let version = state.lock().version.unwrap_or(Version::V1_2);
                let needed: &[&str] = match version {
                    Version::V1_2 => &["id"],
                    Version::V1_1 => &["message-id", "subscription"],
                    Version::V1_0 => &["message-id"],
                };
                if let Some(header) = needed.iter().find(|h| frame.get(h).is_none()) {
                    return Err(Problem::missing(header, frame.command));
                }
                // The broker redelivers what is not acknowledged; the
                // in-process one does not, and an acknowledgement ends here.
                if self.settings.relay.is_some() {
                    forward::forward(state, &frame, receipt_along)?;
                    return Ok(if receipt_along { Flow::Forwarded } else { Flow::Continue });
                }
                Ok(Flow::Continue)
            }
        }
    }

    async fn connect(&self, session: &Session, state: &Shared, frame: &Frame) -> Outcome {
        let offered: Vec<Version> = match frame.get("accept-version") {
            None => vec![Version::V1_0],
            Some(list) => list.split(',').filter_map(Version::parse).collect(),
        };
        let chosen = match session.accepted_protocol().and_then(Version::from_subprotocol) {
            Some(version) => offered.contains(&version).then_some(version),
            None => Version::ALL.into_iter().find(|v| offered.contains(v)),
        };
        let Some(version) = chosen else {
            let offered = frame.get("accept-version").unwrap_or("1.0");
            let mut problem = Problem::new(
                "unsupported STOMP version",
                format!(
                    "the client accepts {offered}{}; this server speaks 1.2, 1.1 and 1.0",
                    session.accepted_protocol().map(|p| format!(" over the subprotocol {p}")).unwrap_or_default()
                ),
            );
            problem.headers.push(("version", "1.2,1.1,1.0".to_owned()));
            return Err(problem);
        };
        let (client_sends, client_wants) = match frame.get("heart-beat") {
            None => (0, 0),
            Some(text) => heartbeat::parse(text).ok_or_else(|| {
                Problem::new(
                    "invalid heart-beat",
                    format!("heart-beat {text:?} is not two numbers of milliseconds, `cx,cy`"),
                )
            })?,
        };
        let (send, receive) = self.settings.heartbeat;
        let send_every = heartbeat::agree(send, client_wants);
        let expect_every = heartbeat::agree(receive, client_sends);
        {
            let mut connection = state.lock();
            connection.version = Some(version);
            connection.decoder.set_version(version);
        }
        if let Some(relay) = &self.settings.relay {
            forward::open(relay, session, state).await?;
        }
        let rewrite_state = state.clone();
        // Each session is connected once: its rewrite is new.
        let _ = session.rewrite_deliveries(move |message, out| frame_for_subscriptions(&rewrite_state, message, out));
        let connected = Frame::new(Command::Connected)
            .header("version", version.as_str())
            .header("heart-beat", format!("{},{}", send_every.as_millis(), expect_every.as_millis()))
            .header("server", concat!("wsboot-stomp/", env!("CARGO_PKG_VERSION")))
            .header("session", session.id().to_string());
        session
            .try_send(to_message(&connected, version))
            .map_err(|e| Problem::new("cannot answer", format!("the CONNECTED frame could not be queued: {e}")))?;
        if !send_every.is_zero() || !expect_every.is_zero() {
            heartbeat::start(session.clone(), state.clone(), send_every, expect_every);
        }
        Ok(Flow::Continue)
    }

    async fn send(&self, session: &Session, state: &Shared, frame: Frame, receipt_along: bool) -> Outcome {
        let destination =
            frame.get("destination").ok_or_else(|| Problem::missing("destination", Command::Send))?.to_owned();
        let prefixes = &self.settings.prefixes;
        match prefixes.kind(&destination) {
            Kind::Application(mapped) => {
                let mapped = mapped.to_owned();
                let (handler, vars) = Mappings::find(&self.mappings.sends, &mapped)
                    .ok_or_else(|| Problem::new("no handler", format!("no message mapping matches {destination}")))?;
                let inbound = Inbound::new(&destination, &mapped, vars, frame, session);
                let reply = handler(inbound).await.map_err(|e| Problem::new("message not processed", e.to_string()))?;
                if let Some(reply) = reply {
                    self.reply(session, &mapped, reply).await?;
                }
                Ok(Flow::Continue)
            }
            Kind::Broker if self.settings.relay.is_some() && self.client_may_send(session, &destination) => {
                forward::forward(state, &frame, receipt_along)?;
                Ok(if receipt_along { Flow::Forwarded } else { Flow::Continue })
            }
            Kind::Broker | Kind::User(_) if self.client_may_send(session, &destination) => {
                let content_type = frame.get("content-type").unwrap_or("").to_owned();
                self.publish(session, &destination, &Payload::bytes(frame.body.clone(), content_type)).await?;
                Ok(Flow::Continue)
            }
            Kind::Broker | Kind::User(_) => Err(Problem::refused(
                "not allowed",
                format!(
                    "clients may not SEND to {destination} directly (no rule permits it); send to an application \
                     destination ({}…)",
                    prefixes.application.first().map_or("/app", String::as_str)
                ),
            )),
            Kind::Unknown => Err(unknown(&destination, prefixes)),
        }
    }

    /// Whether a client may SEND straight to a broker or user destination: a
    /// rule or `allow_client_sends` says so explicitly.
    fn client_may_send(&self, session: &Session, destination: &str) -> bool {
        self.settings.client_sends.iter().any(|prefix| destination.starts_with(prefix.as_str()))
            || matches!(self.settings.authorization.decide(Command::Send, destination, session), Decision::Allowed)
    }

    /// Sends a handler's reply where it says.
    async fn reply(&self, session: &Session, mapped: &str, reply: Reply) -> Result<(), Problem> {
        let prefixes = &self.settings.prefixes;
        match reply.target {
            Target::Default => self.publish(session, &prefixes.default_reply(mapped), &reply.payload).await,
            Target::Destination(destination) if prefixes.is_broker(&destination) => {
                self.publish(session, &destination, &reply.payload).await
            }
            Target::Destination(destination) => Err(Problem::new(
                "bad reply destination",
                format!("the handler of {mapped} replied to {destination}, which is not a broker destination"),
            )),
            Target::User(destination) => {
                let message = publication(&prefixes.user_destination(&destination), &reply.payload, &[]);
                match session.principal() {
                    Some(principal) => {
                        session.hub().send_to_user(principal.name(), message).await;
                    }
                    // No user: this session is all there is of it.
                    None => {
                        let state = session.attributes().get::<Shared>().cloned();
                        if let Some(state) = state {
                            let mut frames = Vec::new();
                            frame_for_subscriptions(&state, &message, &mut |m| frames.push(m));
                            for frame in frames {
                                let _ = session.try_send(frame);
                            }
                        }
                    }
                }
                Ok(())
            }
        }
    }

    async fn subscribe(&self, session: &Session, state: &Shared, frame: Frame) -> Outcome {
        let destination =
            frame.get("destination").ok_or_else(|| Problem::missing("destination", Command::Subscribe))?.to_owned();
        let version = state.lock().version.unwrap_or(Version::V1_2);
        let id = match frame.get("id") {
            Some(id) => id.to_owned(),
            None if version == Version::V1_0 => destination.clone(),
            None => return Err(Problem::missing("id", Command::Subscribe)),
        };
        let ack = AckMode::parse(frame.get("ack")).ok_or_else(|| {
            Problem::new("invalid ack", format!("ack {:?} is not auto, client or client-individual", frame.get("ack")))
        })?;
        let prefixes = &self.settings.prefixes;
        let kind = prefixes.kind(&destination);
        if let Kind::Unknown = kind {
            return Err(unknown(&destination, prefixes));
        }
        let first_here = {
            let mut connection = state.lock();
            if connection.subscriptions.contains_key(&id) {
                return Err(Problem::new(
                    "duplicate subscription",
                    format!("subscription id {id:?} is in use already"),
                ));
            }
            let first = connection.subscribed_to(&destination).next().is_none();
            connection.subscriptions.insert(id.clone(), Subscription { destination: destination.clone(), ack });
            first
        };
        let since = match frame.get("x-since") {
            None => None,
            Some(text) => Some(text.parse::<Position>().map_err(|e| {
                state.lock().subscriptions.remove(&id);
                Problem::new(
                    "invalid x-since",
                    format!("x-since {text:?} is not a position from an x-offset header: {e}"),
                )
            })?),
        };
        match kind {
            Kind::Broker if self.settings.relay.is_some() => {
                if since.is_some() {
                    state.lock().subscriptions.remove(&id);
                    return Err(Problem::new(
                        "cannot resume",
                        "x-since needs the in-process broker, not a broker relay",
                    ));
                }
                if let Err(problem) = forward::forward(state, &frame, true) {
                    state.lock().subscriptions.remove(&id);
                    return Err(problem);
                }
                return Ok(Flow::Forwarded);
            }
            Kind::Broker if since.is_some() && !first_here => {
                state.lock().subscriptions.remove(&id);
                return Err(Problem::new(
                    "cannot resume",
                    format!("x-since needs this connection's first subscription to {destination}"),
                ));
            }
            Kind::Broker if since.is_some() => {
                // Replayed through the rewrite, to this subscription, then live.
                let resuming = session.subscribe_from(&topic(&destination), since).await.map_err(|error| {
                    state.lock().subscriptions.remove(&id);
                    Problem::new("cannot resume", format!("{destination}: {error}"))
                })?;
                let noted = vec![
                    ("x-recovered", resuming.recovered().to_string()),
                    ("x-offset", resuming.position().to_string()),
                ];
                drop(resuming);
                return Ok(Flow::Noted(noted));
            }
            Kind::Broker if first_here => {
                if let Err(error) = session.subscribe(&topic(&destination)).await {
                    state.lock().subscriptions.remove(&id);
                    return Err(Problem::new("cannot subscribe", error.to_string()));
                }
            }
            Kind::Application(mapped) => {
                let (handler, vars) = Mappings::find(&self.mappings.subscribes, mapped)
                    .ok_or_else(|| Problem::new("no handler", format!("no subscribe mapping matches {destination}")))?;
                let inbound = Inbound::new(&destination, mapped, vars, frame, session);
                let reply =
                    handler(inbound).await.map_err(|e| Problem::new("subscription not processed", e.to_string()))?;
                if let Some(reply) = reply {
                    // To this subscription only, as if published to its destination.
                    let message = publication(&destination, &reply.payload, &[]);
                    let mut frames = Vec::new();
                    frame_for_subscriptions(state, &message, &mut |m| frames.push(m));
                    for frame in frames {
                        let _ = session.send(frame).await;
                    }
                }
            }
            // User destinations arrive through the hub's per-user sends.
            _ => {}
        }
        Ok(Flow::Continue)
    }

    async fn unsubscribe(&self, session: &Session, state: &Shared, frame: &Frame) -> Outcome {
        let version = state.lock().version.unwrap_or(Version::V1_2);
        let id = match (frame.get("id"), version) {
            (Some(id), _) => id,
            (None, Version::V1_0) => {
                frame.get("destination").ok_or_else(|| Problem::missing("id", Command::Unsubscribe))?
            }
            (None, _) => return Err(Problem::missing("id", Command::Unsubscribe)),
        };
        let (destination, last_here) = {
            let mut connection = state.lock();
            let removed = connection.subscriptions.remove(id).ok_or_else(|| {
                Problem::new("unknown subscription", format!("no subscription with id {id:?} to unsubscribe"))
            })?;
            let last = connection.subscribed_to(&removed.destination).next().is_none();
            (removed.destination, last)
        };
        if self.settings.prefixes.kind(&destination) == Kind::Broker {
            if self.settings.relay.is_some() {
                forward::forward(state, frame, true)?;
                return Ok(Flow::Forwarded);
            } else if last_here {
                session.unsubscribe(&topic(&destination)).await;
            }
        }
        Ok(Flow::Continue)
    }
}

impl StompHandler {
    /// Publishes `payload` to the broker destination `destination`: through
    /// the relay's system connection, or the hub (on every node).
    async fn publish(&self, session: &Session, destination: &str, payload: &Payload) -> Result<(), Problem> {
        let published = match &self.settings.relay {
            Some(relay) => relay.send(destination, payload).await,
            None => {
                session.hub().publish(&topic(destination), publication(destination, payload, &[])).await.map(|_| ())
            }
        };
        published
            .map_err(|e| Problem::new("not published", format!("the message to {destination} was not published: {e}")))
    }
}

fn unknown(destination: &str, prefixes: &crate::destination::Prefixes) -> Problem {
    let all: Vec<&str> = prefixes
        .application
        .iter()
        .chain(&prefixes.broker)
        .map(String::as_str)
        .chain(std::iter::once(prefixes.user.as_str()))
        .collect();
    Problem::new("unknown destination", format!("{destination} starts with none of {}", all.join(", ")))
}

/// The session's own MESSAGE frames for a publication: one per subscription
/// to its destination (the hub's deliveries to a STOMP session pass here).
pub(crate) fn frame_for_subscriptions(
    state: &Shared,
    message: &wsboot_core::Message,
    out: &mut dyn FnMut(wsboot_core::Message),
) {
    let Some(frame) = read_publication(message) else {
        // Not for STOMP (another part of the app sent it to the user or the
        // topic): a STOMP client could not read it.
        tracing::debug!("dropped a delivery that is not a STOMP publication");
        return;
    };
    let Some(destination) = frame.get("destination") else { return };
    let mut connection = state.lock();
    let Some(version) = connection.version else { return };
    let subscriptions: Vec<(String, AckMode)> =
        connection.subscribed_to(destination).map(|(id, s)| (id.to_owned(), s.ack)).collect();
    for (id, ack) in subscriptions {
        let message_id = connection.message_id();
        let mut own = frame.clone();
        own.push_header("subscription", id);
        own.push_header("message-id", message_id.as_str());
        if ack != AckMode::Auto {
            own.push_header("ack", message_id);
        }
        out(to_message(&own, version));
    }
}
