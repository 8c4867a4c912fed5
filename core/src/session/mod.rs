//! [`Session`]: one WebSocket connection as handlers see it (Spring's
//! `WebSocketSession`).

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};

use http::{HeaderMap, Uri};

use crate::attributes::{Attributes, Principal};
use crate::close_status::CloseStatus;
use crate::context::AppContext;
use crate::error::Error;
use crate::handshake::{HandshakeRequest, PathParams};
use crate::history::Position;
use crate::hub::{Hub, Resuming};
use crate::message::Message;
use crate::outbound::{Broadcast, Offered, Outbound, OverflowPolicy, QueueLimits};
use crate::packed_request::PackedRequest;
use crate::presence::{Presence, Tracked};

/// A session's identifier, unique within the process.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(u64);

impl SessionId {
    fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        SessionId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The numeric value.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// The id `value` of a session, as a broker carries it between nodes (the
    /// id of a session on another node; ids are unique per node only).
    pub fn from_u64(value: u64) -> Self {
        SessionId(value)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.0)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Size limits for incoming messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLimits {
    /// Largest text message accepted, in bytes; larger closes with 1009.
    pub max_text_message_size: usize,
    /// Largest binary message accepted, in bytes; larger closes with 1009.
    pub max_binary_message_size: usize,
}

/// What every session of one route shares, made once per route: its pattern,
/// its queue bounds and its overflow policy (one pointer per session rather
/// than a copy).
#[derive(Debug)]
pub struct RouteSettings {
    /// The route pattern, e.g. `/rooms/{room}`.
    pub path: Arc<str>,
    /// Outbound queue bounds.
    pub queue: QueueLimits,
    /// What a broadcast does when a session's queue is full.
    pub overflow: OverflowPolicy,
}

/// What the runtime knows about a connection when it creates its session.
#[derive(Debug)]
pub struct SessionConfig {
    /// The accepted handshake: URI, headers, address, path parameters,
    /// attributes, principal.
    pub handshake: HandshakeRequest,
    /// What the session's route sets for all its sessions.
    pub route: Arc<RouteSettings>,
    /// The subprotocol agreed in the handshake.
    pub accepted_protocol: Option<Box<str>>,
    /// The extensions agreed in the handshake (e.g. `permessage-deflate`), as
    /// sent in `Sec-WebSocket-Extensions`.
    pub extensions: Vec<Box<str>>,
    /// Incoming message size limits.
    pub limits: MessageLimits,
    /// The server's hub (session registry, topics, broker).
    pub hub: Hub,
}

/// Every session holds one of these for its whole life, idle ones too: what
/// few sessions use is boxed (`rare`, the rewrite, the queue's waiting room),
/// which keeps it with its reference counts within mimalloc's 256-byte class.
///
/// In declaration order (`repr(C)`), so that a message touches few of its four
/// cache lines (with thousands of sessions each is a cache miss): behind the
/// `Arc`'s two counts, the first line holds what an echo reads besides the
/// queue (the route, for the queue's bounds, and the size limits); the second
/// is the queue's lock and items; the third the writer's waker, the queue's
/// signal and the rewrite, which together with the second are all a publish
/// to a resting subscriber touches. The last line is the handshake's, read
/// by the app's own calls. The `layout` tests keep these places.
#[repr(C)]
pub(crate) struct SessionInner {
    // First line, after the reference counts.
    route: Arc<RouteSettings>,
    text_limit: AtomicUsize,
    binary_limit: AtomicUsize,
    id: SessionId,
    hub: Hub,
    /// Path parameters, a principal, a subprotocol, extensions: `None` for a
    /// session that has none of them.
    rare: Option<Box<Rare>>,
    // Second and third lines.
    pub(crate) outbound: Outbound,
    /// What the hub's deliveries become for this session, if the handler set it.
    rewrite: OnceLock<Box<DeliveryRewrite>>,
    // Fourth line.
    /// Values attached during the handshake by interceptors.
    attributes: Attributes,
    /// Set by the runtime as the session opens.
    pub(crate) context: OnceLock<AppContext>,
    /// The handshake's address, target and headers.
    request: PackedRequest,
}

/// What most sessions do not have: path parameters (a pattern route), a
/// principal (an authenticating interceptor), what the handshake agreed
/// beyond the WebSocket protocol itself.
struct Rare {
    path_params: PathParams,
    principal: Option<Principal>,
    protocol: Option<Box<str>>,
    extensions: Box<[Box<str>]>,
}

impl Rare {
    /// `None` when the session has none of them.
    fn boxed(
        path_params: PathParams,
        principal: Option<Principal>,
        protocol: Option<Box<str>>,
        extensions: Vec<Box<str>>,
    ) -> Option<Box<Self>> {
        (!path_params.is_empty() || principal.is_some() || protocol.is_some() || !extensions.is_empty())
            .then(|| Box::new(Rare { path_params, principal, protocol, extensions: extensions.into_boxed_slice() }))
    }
}

/// The path parameters of a session whose route captured none.
static NO_PATH_PARAMS: LazyLock<PathParams> = LazyLock::new(PathParams::default);

/// What [`Session::rewrite_deliveries`] takes: a function of each delivered
/// message that queues zero or more messages in its place.
pub type DeliveryRewrite = Arc<dyn Fn(&Message, &mut dyn FnMut(Message)) + Send + Sync>;

/// One WebSocket connection (Spring's `WebSocketSession`).
///
/// Cheap to clone (one reference count) and `Send + Sync`: keep clones in a map to
/// push messages to a user from any task, as a chat does. Sending goes through the
/// session's bounded outbound queue; the connection task writes it to the socket,
/// many messages per write.
#[derive(Clone)]
pub struct Session {
    pub(crate) inner: Arc<SessionInner>,
}

impl Session {
    /// A new session (the runtime makes them, through a `Transport`).
    pub(crate) fn new(config: SessionConfig) -> Self {
        let handshake = config.handshake.into_parts();
        Session {
            inner: Arc::new(SessionInner {
                id: SessionId::next(),
                route: config.route,
                request: handshake.request,
                attributes: handshake.attributes,
                rare: Rare::boxed(
                    handshake.path_params,
                    handshake.principal,
                    config.accepted_protocol,
                    config.extensions,
                ),
                text_limit: AtomicUsize::new(config.limits.max_text_message_size),
                binary_limit: AtomicUsize::new(config.limits.max_binary_message_size),
                hub: config.hub,
                context: OnceLock::new(),
                rewrite: OnceLock::new(),
                outbound: Outbound::new(),
            }),
        }
    }

    /// The session's unique id.
    pub fn id(&self) -> SessionId {
        self.inner.id
    }

    /// The request URI of the handshake (path and query).
    pub fn uri(&self) -> &Uri {
        self.inner.request.uri()
    }

    /// The route pattern that matched, e.g. `/rooms/{room}`.
    pub fn route(&self) -> &str {
        &self.inner.route.path
    }

    /// Parameters captured by the route pattern.
    pub fn path_params(&self) -> &PathParams {
        self.inner.rare.as_ref().map_or(&NO_PATH_PARAMS, |rare| &rare.path_params)
    }

    /// The value of one query parameter of the handshake URI, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        crate::handshake::query_param(self.uri().query()?, name)
    }

    /// The headers of the handshake request.
    pub fn handshake_headers(&self) -> &HeaderMap {
        self.inner.request.headers()
    }

    /// The client's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.inner.request.remote_addr()
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn accepted_protocol(&self) -> Option<&str> {
        self.inner.rare.as_ref()?.protocol.as_deref()
    }

    /// The extensions agreed in the handshake (Spring's `getExtensions`).
    pub fn extensions(&self) -> impl Iterator<Item = &str> {
        self.inner.rare.iter().flat_map(|rare| rare.extensions.iter().map(|e| &**e))
    }

    /// Values attached during the handshake by interceptors.
    pub fn attributes(&self) -> &Attributes {
        &self.inner.attributes
    }

    /// The authenticated user, if an interceptor set one.
    pub fn principal(&self) -> Option<&Principal> {
        self.inner.rare.as_ref()?.principal.as_ref()
    }

    /// Whether messages can still be sent: false once a close was requested by
    /// either side or the connection dropped.
    pub fn is_open(&self) -> bool {
        self.inner.outbound.is_accepting()
    }

    /// Queues `message` for sending, waiting while the outbound queue is full
    /// (back-pressure). Fails with [`ErrorKind::Closed`](crate::ErrorKind::Closed)
    /// once the session is closing or closed.
    ///
    /// Returning means the message is queued, not yet written; queued messages are
    /// written before any close frame.
    pub async fn send(&self, message: impl Into<Message>) -> Result<(), Error> {
        self.inner.outbound.push(message.into(), &self.inner.route.queue).await
    }

    /// Queues `message` if there is room now; fails with
    /// [`ErrorKind::QueueFull`](crate::ErrorKind::QueueFull) otherwise, without waiting.
    pub fn try_send(&self, message: impl Into<Message>) -> Result<(), Error> {
        self.inner.outbound.try_push(message.into(), &self.inner.route.queue).map_err(|(error, _)| error)
    }

    /// Starts the closing handshake with `status`, after every message already
    /// queued. Later calls, and calls on a closed session, do nothing.
    /// `after_connection_closed` reports this status once the connection ends.
    pub fn close(&self, status: CloseStatus) {
        self.inner.outbound.push_close(status);
    }

    /// The number of messages and payload bytes waiting to be written.
    pub fn queued(&self) -> (usize, usize) {
        self.inner.outbound.queued()
    }

    /// The largest text message accepted (Spring's `getTextMessageSizeLimit`).
    pub fn text_message_size_limit(&self) -> usize {
        self.inner.text_limit.load(Ordering::Relaxed)
    }

    /// Changes the text message limit for messages that start after the call.
    pub fn set_text_message_size_limit(&self, bytes: usize) {
        self.inner.text_limit.store(bytes, Ordering::Relaxed)
    }

    /// The largest binary message accepted (Spring's `getBinaryMessageSizeLimit`).
    pub fn binary_message_size_limit(&self) -> usize {
        self.inner.binary_limit.load(Ordering::Relaxed)
    }

    /// Changes the binary message limit for messages that start after the call.
    pub fn set_binary_message_size_limit(&self, bytes: usize) {
        self.inner.binary_limit.store(bytes, Ordering::Relaxed)
    }

    /// The server's hub: other sessions, topics, per-user addressing.
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The server's application context: the beans registered with
    /// `.bean(...)`, for callbacks of handlers that did not take them as
    /// factory parameters (`session.context().require::<TokenStore>()?`).
    /// A session made outside a server has an empty context over its hub.
    pub fn context(&self) -> AppContext {
        match self.inner.context.get() {
            Some(context) => context.clone(),
            None => {
                AppContext::build(crate::context::Beans::new(), self.hub().clone()).expect("no beans, no duplicates")
            }
        }
    }

    /// Subscribes this session to `topic` (a room): it receives every message
    /// published there, from any node, until it unsubscribes or closes.
    pub async fn subscribe(&self, topic: &str) -> Result<(), Error> {
        self.inner.hub.subscribe(self, topic).await
    }

    /// Subscribes this session to `topic`, first giving it every publication
    /// after `since` that the topic's history still holds, in order and each
    /// once, then the live ones with no gap and no duplicate at the seam (also
    /// while publishes keep coming, and whichever node made them).
    ///
    /// The returned [`Resuming`] says whether the history covered `since`
    /// ([`recovered`](Resuming::recovered)); when it did not (too old, the
    /// history was lost, or `since` is `None`), nothing is replayed and the
    /// session continues live from the latest position. New publications are
    /// held until the `Resuming` is dropped, so a message sent in between comes
    /// right after the replay:
    ///
    /// ```no_run
    /// # async fn resume(session: &wsboot_core::Session, since: Option<wsboot_core::Position>) -> wsboot_core::HandlerResult {
    /// let resuming = session.subscribe_from("chat:lobby", since).await?;
    /// let notice = format!(r#"{{"type":"resumed","recovered":{}}}"#, resuming.recovered());
    /// session.send(notice).await?;
    /// drop(resuming); // live from here
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) if the topic's history
    /// is off or the session is already subscribed to it;
    /// [`ErrorKind::Closed`](crate::ErrorKind::Closed) if the session closed;
    /// the broker's error if it cannot read the history (the session is then
    /// not subscribed).
    pub async fn subscribe_from(&self, topic: &str, since: Option<Position>) -> Result<Resuming, Error> {
        self.inner.hub.subscribe_from(self, topic, since).await
    }

    /// Makes this session a member of `topic`'s presence, with `presence`'s
    /// info (a nickname, say), on every node's view until it
    /// [untracks](Self::untrack_presence) or closes; observers see it join.
    /// Presence is separate from subscribing: a session may be present in a
    /// topic it does not receive, and the reverse.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) if the info is over
    /// 1 KiB or the session is already present in the topic;
    /// [`ErrorKind::Closed`](crate::ErrorKind::Closed) if the session closed;
    /// the broker's error if it cannot record it.
    pub async fn track_presence(&self, topic: &str, presence: Presence) -> Result<Tracked, Error> {
        self.inner.hub.track(self, topic, presence).await
    }

    /// Leaves `topic`'s presence (observers see it leave).
    pub async fn untrack_presence(&self, topic: &str) {
        self.inner.hub.untrack(self, topic).await
    }

    /// Leaves `topic`.
    pub async fn unsubscribe(&self, topic: &str) {
        self.inner.hub.unsubscribe(self, topic).await
    }

    /// Makes every message the hub delivers to this session from now on
    /// (topic publications, messages to its user, the replay of a resume) go
    /// through `rewrite`, which queues zero or more messages in its place, each
    /// under the session's overflow policy. What the handler sends itself is
    /// not rewritten.
    ///
    /// This is how a protocol on top of WebSocket frames each delivery for
    /// its subscriber: a STOMP `MESSAGE` carries the id the client gave its
    /// subscription. A rewritten delivery is this session's own copy, no
    /// longer shared with the other subscribers.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) if the session has a
    /// rewrite already.
    pub fn rewrite_deliveries(
        &self,
        rewrite: impl Fn(&Message, &mut dyn FnMut(Message)) + Send + Sync + 'static,
    ) -> Result<(), Error> {
        self.inner.rewrite.set(Box::new(Arc::new(rewrite))).map_err(|_| {
            Error::new(crate::ErrorKind::Config, "the session's deliveries are rewritten already (set it once)")
        })
    }

    /// Sends a delivery of the hub with back-pressure (a resume's replay),
    /// rewritten if the session says so.
    pub(crate) async fn send_delivery(&self, message: Message) -> Result<(), Error> {
        let Some(rewrite) = self.inner.rewrite.get() else { return self.send(message).await };
        let mut rewritten = Vec::new();
        rewrite(&message, &mut |m| rewritten.push(m));
        for message in rewritten {
            self.send(message).await?;
        }
        Ok(())
    }

    /// Queues a broadcast per this session's overflow policy (rewritten, if
    /// the session says so).
    pub(crate) fn offer(&self, broadcast: Broadcast) -> Offered {
        let Some(rewrite) = self.inner.rewrite.get() else {
            return self.inner.outbound.offer(broadcast, || self.queue_rules());
        };
        // Nothing queued counts as a session that took nothing.
        let mut outcome = Offered::Closed;
        rewrite(broadcast.message(), &mut |message| {
            let offered = self.inner.outbound.offer(Broadcast::new(message), || self.queue_rules());
            if matches!(outcome, Offered::Closed | Offered::Queued) {
                outcome = offered;
            }
        });
        outcome
    }

    /// The route's bounds on this session's queue, and what a publish does
    /// when they are reached.
    fn queue_rules(&self) -> (&QueueLimits, &OverflowPolicy) {
        (&self.inner.route.queue, &self.inner.route.overflow)
    }

    pub(crate) fn report_overflow(&self, what: &str, count: usize) {
        let (queued, bytes) = self.queued();
        tracing::warn!(session = %self.id(), route = %self.route(), count, queued, bytes, "slow consumer: {what}");
    }

    /// Whether two handles refer to the same session.
    pub fn ptr_eq(&self, other: &Session) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id())
            .field("uri", self.uri())
            .field("remote_addr", &self.remote_addr())
            .field("open", &self.is_open())
            .finish()
    }
}

impl PartialEq for Session {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other)
    }
}

impl Eq for Session {}

impl std::hash::Hash for Session {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state)
    }
}

#[cfg(test)]
mod layout;
