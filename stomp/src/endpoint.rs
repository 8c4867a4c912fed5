//! [`StompEndpoint`]: a WebSocket route that speaks STOMP, with its
//! destination prefixes, limits, heart-beats and application handlers.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use wsboot_core::{Error, ErrorKind, HandlerRegistration, HandlerRegistry, HistoryLimits, TopicHistory};

use crate::authorization::{Authorization, FrameInterceptor};
use crate::decode::Limits;
use crate::destination::{Pattern, Prefixes};
use crate::extract::__private::MappingKind;
use crate::frame::Version;
use crate::handler::{Handshake, StompHandler};
use crate::mapping::{self, HandlerResult, Inbound, Mapping, Mappings};
use crate::payload::{topic, with_offset};
use crate::relay::BrokerRelay;

/// How an endpoint behaves; shared by its sessions.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) prefixes: Prefixes,
    pub(crate) limits: Limits,
    /// The server's heart-beat offer: how often it can send one, and how
    /// often it wants one (`0`: never).
    pub(crate) heartbeat: (Duration, Duration),
    /// Broker destination prefixes a client may SEND to directly (none by
    /// default: clients send to the application, which publishes).
    pub(crate) client_sends: Vec<String>,
    /// Destination patterns whose history is on, with their bounds.
    pub(crate) histories: Vec<(String, HistoryLimits)>,
    /// Who may send and subscribe where.
    pub(crate) authorization: Authorization,
    /// What sees every frame first.
    pub(crate) interceptors: Vec<Arc<dyn FrameInterceptor>>,
    /// The message broker of the broker destinations, if not the hub.
    pub(crate) relay: Option<BrokerRelay>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("prefixes", &self.prefixes)
            .field("limits", &self.limits)
            .field("heartbeat", &self.heartbeat)
            .field("client_sends", &self.client_sends)
            .field("histories", &self.histories)
            .field("authorization", &self.authorization)
            .field("interceptors", &self.interceptors.len())
            .field("relay", &self.relay.as_ref().map(BrokerRelay::addr))
            .finish()
    }
}

/// A WebSocket route that speaks STOMP 1.0, 1.1 and 1.2: subprotocols
/// `v12.stomp`, `v11.stomp`, `v10.stomp`, or none (then the CONNECT frame's
/// `accept-version` decides).
///
/// ```
/// use wsboot_core::HandlerRegistry;
/// use wsboot_stomp::{Reply, StompEndpoint};
///
/// let mut registry = HandlerRegistry::new();
/// StompEndpoint::new("/ws")
///     // SEND /app/chat.lobby → every subscriber of /topic/chat.lobby
///     .message_mapping("/chat.{room}", |message| async move {
///         let text = message.text()?.to_owned();
///         Ok(Some(Reply::new(format!("{}: {text}", message.var("room").unwrap_or("?")))))
///     })
///     .register(&mut registry)
///     .expect("a valid endpoint");
/// ```
pub struct StompEndpoint {
    path: String,
    settings: Settings,
    mappings: Mappings,
    problems: Vec<String>,
}

impl std::fmt::Debug for StompEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let patterns =
            |mappings: &[Mapping]| mappings.iter().map(|m| m.pattern.as_str().to_owned()).collect::<Vec<_>>();
        f.debug_struct("StompEndpoint")
            .field("path", &self.path)
            .field("settings", &self.settings)
            .field("message_mappings", &patterns(&self.mappings.sends))
            .field("subscribe_mappings", &patterns(&self.mappings.subscribes))
            .finish()
    }
}

impl StompEndpoint {
    /// An endpoint at `path`, with Spring's default prefixes (application
    /// `/app`, broker `/topic` and `/queue`, user `/user`), 64 KiB frames and
    /// heart-beats every 10 s both ways when the client offers them.
    pub fn new(path: impl Into<String>) -> StompEndpoint {
        StompEndpoint {
            path: path.into(),
            settings: Settings {
                prefixes: Prefixes::default(),
                limits: Limits::default(),
                heartbeat: (Duration::from_secs(10), Duration::from_secs(10)),
                client_sends: Vec::new(),
                histories: Vec::new(),
                authorization: Authorization::new(),
                interceptors: Vec::new(),
                relay: None,
            },
            mappings: Mappings::default(),
            problems: Vec::new(),
        }
    }

    /// The application destination prefixes (default `/app`).
    pub fn application_prefixes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, prefixes: I) -> Self {
        self.settings.prefixes.application = prefixes.into_iter().map(Into::into).collect();
        self
    }

    /// The broker destination prefixes (default `/topic` and `/queue`); the
    /// first is where a handler's reply goes by default.
    pub fn broker_prefixes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, prefixes: I) -> Self {
        self.settings.prefixes.broker = prefixes.into_iter().map(Into::into).collect();
        self
    }

    /// The user destination prefix (default `/user`).
    pub fn user_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.settings.prefixes.user = prefix.into();
        self
    }

    /// Frame size limits (see [`Limits`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.settings.limits = limits;
        self
    }

    /// The server's heart-beats: it can send one every `send` and wants one
    /// every `receive` (zero: never). The CONNECT frame's offer is matched
    /// against them; a client silent for twice the agreed interval is sent an
    /// ERROR and closed.
    pub fn heartbeat(mut self, send: Duration, receive: Duration) -> Self {
        self.settings.heartbeat = (send, receive);
        self
    }

    /// Lets clients SEND straight to broker destinations under `prefix`
    /// (`/topic/public`). Without it, a client's SEND to a broker or user
    /// destination is refused with an ERROR: clients talk to the application.
    pub fn allow_client_sends(mut self, prefix: impl Into<String>) -> Self {
        self.settings.client_sends.push(prefix.into());
        self
    }

    /// Who may SEND to and SUBSCRIBE to which destinations (see
    /// [`Authorization`]). A refused frame gets an ERROR naming the rule,
    /// then the close (1008).
    pub fn authorization(mut self, rules: Authorization) -> Self {
        self.settings.authorization = rules;
        self
    }

    /// Adds an interceptor that sees every frame a client sends after
    /// CONNECT, before the rules and the handlers (see [`FrameInterceptor`]).
    pub fn interceptor(mut self, interceptor: impl FrameInterceptor) -> Self {
        self.settings.interceptors.push(Arc::new(interceptor));
        self
    }

    /// Carries the broker destinations in a real message broker instead of
    /// the hub (see [`BrokerRelay`]): each session gets its own broker
    /// connection at CONNECT (a broker that cannot be reached answers the
    /// CONNECT with an ERROR), its subscriptions, sends and acks to broker
    /// destinations go through it, and what the application sends goes
    /// through the relay's system connection. User destinations stay with the
    /// hub. History (`x-since`) needs the hub's broker.
    pub fn broker_relay(mut self, relay: BrokerRelay) -> Self {
        self.settings.relay = Some(relay);
        self
    }

    /// Keeps the history of the broker destinations matching `pattern` (`*`
    /// matches any run of characters: `/topic/chat.*`) within `limits`: every
    /// MESSAGE of them carries its position in an `x-offset` header, and a
    /// SUBSCRIBE with `x-since: OFFSET` receives what was published after it,
    /// then goes on live, with no gap and no duplicate. The SUBSCRIBE's
    /// RECEIPT (ask for one) says `x-recovered: false` when the history no
    /// longer covers that position, and carries the latest `x-offset`.
    pub fn history(mut self, pattern: impl Into<String>, limits: HistoryLimits) -> Self {
        self.settings.histories.push((pattern.into(), limits));
        self
    }

    /// Calls `handler` for every SEND to an application destination matching
    /// `pattern` (without the application prefix: `/chat.{room}` for
    /// `/app/chat.lobby`). Its [`Reply`](crate::Reply) goes to a broker
    /// destination (by default the first broker prefix and the same
    /// destination) or to the sender's user destination.
    pub fn message_mapping<F, Fut>(mut self, pattern: &str, handler: F) -> Self
    where
        F: Fn(Inbound) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        match Pattern::parse(pattern) {
            Ok(pattern) => self.mappings.sends.push(Mapping { pattern, handler: mapping::handler(handler) }),
            Err(problem) => self.problems.push(problem),
        }
        self
    }

    /// Calls `handler` for every SUBSCRIBE to an application destination
    /// matching `pattern`; its reply goes to that subscription only, once
    /// (Spring's `@SubscribeMapping`: the initial state of a view, say).
    pub fn subscribe_mapping<F, Fut>(mut self, pattern: &str, handler: F) -> Self
    where
        F: Fn(Inbound) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        match Pattern::parse(pattern) {
            Ok(pattern) => self.mappings.subscribes.push(Mapping { pattern, handler: mapping::handler(handler) }),
            Err(problem) => self.problems.push(problem),
        }
        self
    }

    /// Adds the endpoint to `registry`: its route, the STOMP subprotocols, the
    /// handshake step that gives each session its STOMP state, and every
    /// `#[message_mapping]` and `#[subscribe_mapping]` function of the program
    /// (after the mappings added in code: the first that matches wins). Returns
    /// the registration, for the route's other settings (origins, limits).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming every bad pattern or prefix.
    pub fn register(mut self, registry: &mut HandlerRegistry) -> Result<&mut HandlerRegistration, Error> {
        let mut problems = std::mem::take(&mut self.problems);
        // The `#[message_mapping]`s and `#[subscribe_mapping]`s of the program,
        // after those added in code (first match wins).
        for annotated in crate::extract::__private::annotated() {
            let handler = annotated.handler;
            let mapping = match Pattern::parse(annotated.pattern) {
                Ok(pattern) => Mapping { pattern, handler: Arc::new(move |inbound| handler(inbound)) },
                Err(problem) => {
                    problems.push(format!("{problem} ({})", annotated.location));
                    continue;
                }
            };
            match annotated.kind {
                MappingKind::Send => self.mappings.sends.push(mapping),
                MappingKind::Subscribe => self.mappings.subscribes.push(mapping),
            }
        }
        let prefixes = &self.settings.prefixes;
        for prefix in prefixes.application.iter().chain(&prefixes.broker).chain(std::iter::once(&prefixes.user)) {
            if !prefix.starts_with('/') {
                problems.push(format!("the destination prefix `{prefix}` must start with `/`"));
            }
        }
        if prefixes.broker.is_empty() {
            problems.push("at least one broker prefix is needed (`/topic`)".to_owned());
        }
        if !problems.is_empty() {
            let problem = format!("STOMP endpoint `{}`: {}", self.path, problems.join("; "));
            return Err(Error::new(ErrorKind::Config, problem));
        }
        for (pattern, limits) in &self.settings.histories {
            let history = TopicHistory::new(topic(pattern)).limits(*limits).stamp(with_offset);
            registry.add_topic_history(history);
        }
        let handshake = Handshake(self.settings.limits);
        let handler = StompHandler::new(Arc::new(self.settings), Arc::new(self.mappings));
        let protocols = Version::ALL.map(Version::subprotocol);
        Ok(registry.add_handler(&self.path, handler).subprotocols(protocols).interceptor(handshake))
    }
}
