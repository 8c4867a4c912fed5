//! Registry plugins from the outside: the order their hooks run in, decorators
//! seeing every message, interceptor rejections reaching the client, the
//! token-auth, rate-limit and metrics plugins of `wsboot-plugin-auth` (a crate
//! that depends on `wsboot-core` alone), annotated and programmatic handlers
//! together, and startup errors that name the culprit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use wsboot::test::{TestClient, TestServer, within};
use wsboot::{
    AdHocPlugin, BoxError, Bytes, CloseStatus, Error, ErrorKind, HandlerDecorator, HandlerRegistry, HandlerResult,
    HandshakeInterceptor, HandshakeRequest, Message, Next, RegistryPlugin, Rejection, Server, ServerBuilder,
    ServerInfo, Session, SharedHandler, Utf8Bytes, WebSocketHandler, decorate, ws_handler, ws_plugin,
};
use wsboot_plugin_auth::{MetricsPlugin, RateLimitPlugin, TokenAuthPlugin, TokenSource, TokenTable};
use wsboot_tests::{Echo, RawClient, http_request, opcode, upgrade_request};

async fn serve(builder: ServerBuilder) -> TestServer {
    TestServer::start_with(builder).await
}

/// Opens a WebSocket to `path` with extra request headers; returns the client
/// and the subprotocol the server selected.
async fn connect(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> (TestClient, Option<String>) {
    let request = headers.iter().fold(server.request(path), |request, (name, value)| request.header(name, value));
    let client = request.connect().await;
    let protocol = client.accepted_protocol().map(str::to_owned);
    (client, protocol)
}

/// Events from every plugin and handler of a test, in the order they happened.
#[derive(Clone, Default)]
struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    fn log(&self, event: impl Into<String>) {
        self.0.lock().unwrap().push(event.into());
    }

    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// The events that start with `prefix`, in order.
    fn with_prefix(&self, prefix: &str) -> Vec<String> {
        self.events().into_iter().filter(|e| e.starts_with(prefix)).collect()
    }
}

/// A plugin that records every hook, and wraps handlers in a decorator that
/// records each message it sees.
struct Recording {
    name: &'static str,
    journal: Journal,
}

struct Witness {
    name: &'static str,
    journal: Journal,
}

impl HandlerDecorator for Witness {
    async fn handle_message(&self, session: &Session, message: Message, next: &Next) -> HandlerResult {
        self.journal.log(format!("message {} {:?}", self.name, message.as_text().unwrap_or("")));
        next.handle_message(session, message).await
    }
}

impl RegistryPlugin for Recording {
    fn name(&self) -> &str {
        self.name
    }

    fn configure(&self, registry: &mut HandlerRegistry) -> Result<(), BoxError> {
        self.journal.log(format!("configure {} sees {} routes", self.name, registry.len()));
        Ok(())
    }

    fn decorate(&self, path: &str, handler: SharedHandler) -> SharedHandler {
        self.journal.log(format!("decorate {} {path}", self.name));
        decorate(handler, Witness { name: self.name, journal: self.journal.clone() })
    }

    async fn on_start(&self, server: &ServerInfo) -> Result<(), BoxError> {
        // The listener is bound already: the address is known and connectable.
        tokio::net::TcpStream::connect(server.local_addr).await?;
        self.journal.log(format!("start {} {:?}", self.name, server.routes));
        Ok(())
    }

    async fn on_shutdown(&self) {
        self.journal.log(format!("shutdown {}", self.name));
    }
}

/// Echoes text, and records its session's close.
struct Recorded(Journal);

impl WebSocketHandler for Recorded {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        self.0.log(format!("handler {text}"));
        Ok(session.send(text).await?)
    }

    async fn after_connection_closed(&self, _session: &Session, status: &CloseStatus) {
        self.0.log(format!("closed {}", status.code()));
    }
}

#[tokio::test]
async fn builder_plugins_run_in_order_and_shut_down_in_reverse_after_the_sessions() {
    let journal = Journal::default();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Recorded(journal.clone()));
    let mut builder = Server::builder().registry(registry);
    for name in ["first", "second", "third"] {
        builder = builder.plugin(Recording { name, journal: journal.clone() });
    }
    let server = serve(builder).await;
    assert_eq!(
        journal.events(),
        [
            "configure first sees 1 routes",
            "configure second sees 1 routes",
            "configure third sees 1 routes",
            "decorate first /echo",
            "decorate second /echo",
            "decorate third /echo",
            "start first [\"/echo\"]",
            "start second [\"/echo\"]",
            "start third [\"/echo\"]",
        ]
    );

    let (mut client, _) = connect(&server, "/echo", &[]).await;
    client.send_text("hi").await;
    assert_eq!(client.recv_text().await, "hi");
    // The last plugin's decorator is outermost: it sees the message first.
    assert_eq!(
        journal.with_prefix("message").into_iter().chain(journal.with_prefix("handler")).collect::<Vec<_>>(),
        ["message third \"hi\"", "message second \"hi\"", "message first \"hi\"", "handler hi"]
    );

    // Stop with the session still open: it is closed (1012) before any plugin stops.
    let stopping = tokio::spawn(server.shutdown());
    assert_eq!(client.closed().await.code(), 1012);
    within("the server to stop", stopping).await.unwrap();
    let tail: Vec<String> = journal.events().into_iter().skip_while(|e| !e.starts_with("closed")).collect();
    assert_eq!(tail, ["closed 1012", "shutdown third", "shutdown second", "shutdown first"]);
}

/// Link-time plugins of this test binary; they record into [`ANNOTATED`].
static ANNOTATED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn annotated_configure(name: &str, registry: &HandlerRegistry) {
    ANNOTATED.lock().unwrap().push(format!("{name} sees {}", registry.len()));
}

#[derive(Default)]
#[ws_plugin]
struct Zulu;

impl RegistryPlugin for Zulu {
    fn name(&self) -> &str {
        "zulu"
    }

    fn configure(&self, registry: &mut HandlerRegistry) -> Result<(), BoxError> {
        annotated_configure("zulu", registry);
        Ok(())
    }
}

/// `order = -1`: before `zulu` although its type path sorts after it.
#[ws_plugin(order = -1)]
fn zz_early() -> impl RegistryPlugin {
    AdHocPlugin::configure("early", |registry: &mut HandlerRegistry| {
        annotated_configure("early", registry);
        registry.add_handler("/from-early", Echo);
        Ok(())
    })
}

#[tokio::test]
async fn annotated_plugins_run_by_order_then_type_path_then_builder_plugins() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Echo);
    let last = AdHocPlugin::configure("builder", |registry: &mut HandlerRegistry| {
        annotated_configure("builder", registry);
        Ok(())
    });
    let builder = Server::builder().registry(registry).annotated_plugins(true).plugin(last);
    let listing = builder.routes().expect("a valid registry");
    let order: Vec<String> = listing.plugins().iter().map(|p| p.name.clone()).collect();
    assert_eq!(order, ["early", "zulu", "builder"]);
    assert_eq!(*ANNOTATED.lock().unwrap(), ["early sees 1", "zulu sees 2", "builder sees 2"]);
    let added = listing.routes().iter().find(|r| r.path == "/from-early").expect("the plugin's route");
    assert_eq!(added.plugin_marks[0].to_string(), "early: added it");

    // An explicit registry alone runs no link-time plugin.
    let isolated = Server::builder().registry(HandlerRegistry::new()).routes().unwrap();
    assert!(isolated.plugins().is_empty(), "{isolated}");
}

/// Counts what it sees, by kind.
#[derive(Default)]
struct Tally {
    established: AtomicUsize,
    texts: AtomicUsize,
    binaries: AtomicUsize,
    fragments: AtomicUsize,
    bytes: AtomicUsize,
    closed: AtomicUsize,
}

struct Counting(Arc<Tally>);

impl HandlerDecorator for Counting {
    async fn after_connection_established(&self, session: &Session, next: &Next) -> HandlerResult {
        self.0.established.fetch_add(1, Ordering::SeqCst);
        next.after_connection_established(session).await
    }

    async fn handle_message(&self, session: &Session, message: Message, next: &Next) -> HandlerResult {
        match &message {
            Message::Text(_) => self.0.texts.fetch_add(1, Ordering::SeqCst),
            Message::Binary(_) => self.0.binaries.fetch_add(1, Ordering::SeqCst),
            _ => 0,
        };
        self.0.bytes.fetch_add(message.len(), Ordering::SeqCst);
        next.handle_message(session, message).await
    }

    async fn handle_partial_message(
        &self,
        session: &Session,
        fragment: Message,
        is_last: bool,
        next: &Next,
    ) -> HandlerResult {
        self.0.fragments.fetch_add(1, Ordering::SeqCst);
        self.0.bytes.fetch_add(fragment.len(), Ordering::SeqCst);
        next.handle_partial_message(session, fragment, is_last).await
    }

    async fn after_connection_closed(&self, session: &Session, status: &CloseStatus, next: &Next) {
        self.0.closed.fetch_add(1, Ordering::SeqCst);
        next.after_connection_closed(session, status).await
    }
}

#[tokio::test]
async fn a_decorator_sees_every_message() {
    let tally = Arc::new(Tally::default());
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Echo).decorator(Counting(tally.clone()));
    let server = serve(Server::builder().registry(registry)).await;
    let (mut client, _) = connect(&server, "/echo", &[]).await;
    let mut sent = 0;
    for i in 0..50 {
        let text = format!("message {i}");
        sent += text.len();
        client.send_text(&text.clone()).await;
        assert_eq!(client.recv_text().await, text);
    }
    for size in [0usize, 1, 125, 126, 65_536] {
        sent += size;
        client.send(Message::binary(vec![7u8; size])).await;
        assert_eq!(client.recv().await, Message::binary(vec![7u8; size]));
    }
    client.close(CloseStatus::NORMAL).await;
    within("the close callback", async {
        while tally.closed.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(tally.established.load(Ordering::SeqCst), 1);
    assert_eq!(tally.texts.load(Ordering::SeqCst), 50);
    assert_eq!(tally.binaries.load(Ordering::SeqCst), 5);
    assert_eq!(tally.fragments.load(Ordering::SeqCst), 0);
    assert_eq!(tally.bytes.load(Ordering::SeqCst), sent);
    assert_eq!(tally.closed.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

/// Takes fragments as they come; echoes each message once complete.
#[derive(Default)]
struct Partial {
    buffer: Mutex<Vec<u8>>,
}

impl WebSocketHandler for Partial {
    async fn handle_partial_message(&self, session: &Session, fragment: Message, is_last: bool) -> HandlerResult {
        let whole = {
            let mut buffer = self.buffer.lock().unwrap();
            buffer.extend_from_slice(fragment.payload());
            is_last.then(|| std::mem::take(&mut *buffer))
        };
        if let Some(whole) = whole {
            session.send(Bytes::from(whole)).await?;
        }
        Ok(())
    }

    fn supports_partial_messages(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn a_decorator_sees_every_fragment_of_a_partial_handler() {
    let tally = Arc::new(Tally::default());
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/partial", Partial::default()).decorator(Counting(tally.clone()));
    let server = TestServer::start(registry).await;
    let mut client = RawClient::connect(&server, "/partial").await;
    client.send_frame(false, opcode::BINARY, b"abc", true).await;
    client.send_frame(false, opcode::CONTINUATION, b"def", true).await;
    client.send_frame(true, opcode::CONTINUATION, b"gh", true).await;
    let echoed = client.read_frame().await.expect("the echo");
    assert_eq!(echoed.payload, b"abcdefgh");
    assert_eq!(tally.fragments.load(Ordering::SeqCst), 3);
    assert_eq!(tally.bytes.load(Ordering::SeqCst), 8);
    drop(client);
    server.shutdown().await;
}

/// Refuses every handshake with 418 and a header of its own.
struct Teapot;

impl HandshakeInterceptor for Teapot {
    async fn before_handshake(&self, _request: &mut HandshakeRequest) -> Result<(), Rejection> {
        Err(Rejection::new(wsboot::http::StatusCode::IM_A_TEAPOT)
            .header("X-Refused-By", "teapot")
            .body("short and stout"))
    }
}

#[tokio::test]
async fn an_interceptor_added_by_a_plugin_reaches_the_client_with_its_status() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/tea", Echo);
    let plugin = AdHocPlugin::configure("teapot", |registry: &mut HandlerRegistry| {
        registry.get_mut("/tea").ok_or("no /tea")?.interceptor(Teapot);
        Ok(())
    });
    let server = serve(Server::builder().registry(registry).plugin(plugin)).await;
    let response = http_request(server.tcp_addr(), upgrade_request("/tea", "")).await;
    assert_eq!(response.status, 418, "{response:?}");
    assert_eq!(response.header("X-Refused-By"), Some("teapot"));
    assert_eq!(response.body.trim_end(), "short and stout");
    server.shutdown().await;
}

/// Greets the principal (the example app's `/secure`).
struct Greeter;

impl WebSocketHandler for Greeter {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        let user = session.principal().ok_or("no principal")?;
        let source = session.attributes().get::<TokenSource>().ok_or("no token source")?;
        session.send(format!("welcome {} ({source:?})", user.name())).await?;
        Ok(())
    }
}

fn secure_builder(per_minute: u32) -> (ServerBuilder, wsboot_plugin_auth::MessageMetrics) {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/secure", Greeter).subprotocols(["secure.v1"]);
    registry.add_handler("/open", Echo);
    let tokens = TokenTable::parse(["alice:s3cret", "bob:hunter2"]).unwrap();
    let metrics = MetricsPlugin::new();
    let counts = metrics.metrics().clone();
    let builder = Server::builder()
        .registry(registry)
        .plugin(RateLimitPlugin::per_minute(per_minute))
        .plugin(TokenAuthPlugin::new(tokens).protect("/secure"))
        .plugin(metrics);
    (builder, counts)
}

#[tokio::test]
async fn token_auth_admits_a_header_a_query_parameter_or_a_subprotocol_and_refuses_the_rest() {
    let (builder, _) = secure_builder(1_000);
    let server = serve(builder).await;

    let (mut client, protocol) = connect(&server, "/secure", &[("authorization", "Bearer s3cret")]).await;
    assert_eq!(client.recv_text().await, "welcome alice (Header)");
    assert_eq!(protocol, None);
    drop(client);
    let (mut client, _) = connect(&server, "/secure?access_token=hunter2", &[]).await;
    assert_eq!(client.recv_text().await, "welcome bob (Query)");
    drop(client);
    // A browser's `new WebSocket(url, ["secure.v1", token])`: the server selects
    // the application's protocol, never the token.
    let (mut client, protocol) = connect(&server, "/secure", &[("sec-websocket-protocol", "secure.v1, s3cret")]).await;
    assert_eq!(client.recv_text().await, "welcome alice (Subprotocol)");
    assert_eq!(protocol.as_deref(), Some("secure.v1"));
    drop(client);
    // The token alone as a subprotocol authenticates too; no protocol is selected.
    let response =
        http_request(server.tcp_addr(), upgrade_request("/secure", "Sec-WebSocket-Protocol: s3cret\r\n")).await;
    assert_eq!(response.status, 101, "{response:?}");
    assert_eq!(response.header("Sec-WebSocket-Protocol"), None);

    let missing = http_request(server.tcp_addr(), upgrade_request("/secure", "")).await;
    assert_eq!(missing.status, 401, "{missing:?}");
    assert_eq!(missing.header("WWW-Authenticate"), Some("Bearer realm=\"wsboot\""));
    assert!(missing.body.contains("missing bearer token"), "{missing:?}");
    let wrong = http_request(server.tcp_addr(), upgrade_request("/secure", "Authorization: Bearer guess\r\n")).await;
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert_eq!(wrong.header("WWW-Authenticate"), Some("Bearer realm=\"wsboot\", error=\"invalid_token\""));
    let wrong_query = http_request(server.tcp_addr(), upgrade_request("/secure?access_token=guess", "")).await;
    assert_eq!(wrong_query.status, 401, "{wrong_query:?}");
    let offered_other =
        http_request(server.tcp_addr(), upgrade_request("/secure", "Sec-WebSocket-Protocol: secure.v1\r\n")).await;
    assert_eq!(offered_other.status, 401, "{offered_other:?}");

    // Only the protected path needs a token.
    let open = http_request(server.tcp_addr(), upgrade_request("/open", "")).await;
    assert_eq!(open.status, 101, "{open:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after_once_the_burst_is_spent() {
    let (builder, _) = secure_builder(3);
    let server = serve(builder).await;
    for _ in 0..3 {
        let response = http_request(server.tcp_addr(), upgrade_request("/open", "")).await;
        assert_eq!(response.status, 101, "{response:?}");
    }
    // The budget is per client across routes, and checked before the token.
    let limited = http_request(server.tcp_addr(), upgrade_request("/secure", "Authorization: Bearer s3cret\r\n")).await;
    assert_eq!(limited.status, 429, "{limited:?}");
    let retry: u64 = limited.header("Retry-After").expect("Retry-After").parse().expect("whole seconds");
    assert!((1..=20).contains(&retry), "one handshake every 20 s: {retry}");
    assert!(limited.body.contains("too many handshakes"), "{limited:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_metrics_plugin_counts_messages_per_path() {
    let (builder, counts) = secure_builder(1_000);
    let server = serve(builder).await;
    let (mut open, _) = connect(&server, "/open", &[]).await;
    for text in ["one", "two", "three"] {
        open.send_text(text).await;
        assert_eq!(open.recv_text().await, text);
    }
    let (mut secure, _) = connect(&server, "/secure", &[("authorization", "Bearer s3cret")]).await;
    secure.recv_text().await;
    let open_counts = counts.counts("/open");
    assert_eq!((open_counts.sessions, open_counts.messages, open_counts.bytes), (1, 3, 11));
    let secure_counts = counts.counts("/secure");
    assert_eq!((secure_counts.sessions, secure_counts.messages), (1, 0));
    drop((open, secure));
    server.shutdown().await;
}

#[tokio::test]
async fn the_route_listing_shows_what_each_plugin_did() {
    let (builder, _) = secure_builder(60);
    let listing = builder.routes().expect("valid");
    let secure = listing.routes().iter().find(|r| r.path == "/secure").unwrap();
    assert_eq!(secure.source.type_name(), std::any::type_name::<Greeter>());
    assert!(secure.source.location().file.ends_with("plugins.rs"), "{:?}", secure.source);
    assert_eq!(secure.subprotocols, ["secure.v1"]);
    assert_eq!(secure.allowed_origins, None);
    assert_eq!(secure.interceptors, ["HandshakeRateLimit", "TokenAuth"]);
    assert_eq!(secure.decorators, ["LoggingHandlerDecorator", "plugin metrics"], "outermost first");
    let marks: Vec<String> = secure.plugin_marks.iter().map(ToString::to_string).collect();
    assert_eq!(
        marks,
        [
            "rate-limit: added interceptor `HandshakeRateLimit`",
            "token-auth: added interceptor `TokenAuth`",
            "metrics: decorated it"
        ]
    );
    let open = listing.routes().iter().find(|r| r.path == "/open").unwrap();
    assert_eq!(open.interceptors, ["HandshakeRateLimit"]);
    let text = listing.to_string();
    for expected in [
        "plugins, in the order they run:",
        "1. rate-limit",
        "2. token-auth",
        "3. metrics",
        "2 routes:",
        "/secure\n  handler       `",
        "  origins       same-origin",
        "  subprotocols  secure.v1",
        "  interceptors  HandshakeRateLimit, TokenAuth",
        "  plugins       rate-limit: added interceptor `HandshakeRateLimit`; token-auth: added interceptor `TokenAuth`; metrics: decorated it",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
}

/// Annotated handlers of this test binary.
#[derive(Default)]
#[ws_handler("/annotated")]
struct Annotated;

impl WebSocketHandler for Annotated {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        Ok(session.send("annotated").await?)
    }
}

struct Programmatic;

impl WebSocketHandler for Programmatic {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        Ok(session.send("programmatic").await?)
    }
}

#[tokio::test]
async fn annotated_and_programmatic_handlers_serve_side_by_side() {
    let mut registry = HandlerRegistry::from_annotations();
    registry.add_handler("/programmatic", Programmatic);
    let server = serve(Server::builder().registry(registry)).await;
    let (mut annotated, _) = connect(&server, "/annotated", &[]).await;
    assert_eq!(annotated.recv_text().await, "annotated");
    let (mut programmatic, _) = connect(&server, "/programmatic", &[]).await;
    assert_eq!(programmatic.recv_text().await, "programmatic");
    drop((annotated, programmatic));
    server.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_path_is_a_startup_error_naming_both_sources() {
    let mut registry = HandlerRegistry::from_annotations();
    registry.add_handler("/annotated", Programmatic);
    let error = Server::builder().registry(registry).bind("127.0.0.1:0").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    let message = error.to_string();
    assert!(message.contains("two handlers for path `/annotated`"), "{message}");
    assert!(message.contains("#[ws_handler] at") && message.contains("::Annotated"), "{message}");
    assert!(message.contains("added at") && message.contains("::Programmatic"), "{message}");

    // A plugin's duplicate is reported with the plugin's name.
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/chat", Echo);
    let rogue = AdHocPlugin::configure("rogue", |registry: &mut HandlerRegistry| {
        registry.add_handler("/chat", Programmatic);
        Ok(())
    });
    let error = Server::builder().registry(registry).plugin(rogue).bind("127.0.0.1:0").await.unwrap_err();
    assert!(error.to_string().contains("by plugin `rogue`"), "{error}");
}

#[tokio::test]
async fn plugin_failures_stop_the_server_from_starting_and_name_the_plugin() {
    let failing = AdHocPlugin::configure("broken", |_| Err("the token file is missing".into()));
    let error = Server::builder().registry(HandlerRegistry::new()).plugin(failing).bind("127.0.0.1:0").await;
    let error = error.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Plugin);
    assert!(error.to_string().contains("plugin `broken`") && error.to_string().contains("token file is missing"));

    let journal = Journal::default();
    let started = Recording { name: "started", journal: journal.clone() };
    let refusing = AdHocPlugin::on_start("refusing", |_| async { Err("redis is down".into()) });
    let never = Recording { name: "never", journal: journal.clone() };
    let builder = Server::builder().registry(HandlerRegistry::new()).plugin(started).plugin(refusing).plugin(never);
    let error = builder.bind("127.0.0.1:0").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Plugin);
    assert!(error.to_string().contains("plugin `refusing`") && error.to_string().contains("redis is down"), "{error}");
    assert_eq!(journal.with_prefix("start"), ["start started []"]);
    assert_eq!(journal.with_prefix("shutdown"), ["shutdown started"], "what started is shut down");

    let twins = Server::builder()
        .registry(HandlerRegistry::new())
        .plugin(AdHocPlugin::configure("twin", |_| Ok(())))
        .plugin(AdHocPlugin::on_shutdown("twin", || async {}))
        .routes()
        .unwrap_err();
    assert!(twins.to_string().contains("two plugins are named `twin`"), "{twins}");
}

#[tokio::test]
async fn plugins_can_move_and_remove_routes() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/chat", Echo);
    registry.add_handler("/legacy", Echo);
    let prefix = AdHocPlugin::configure("prefix", |registry: &mut HandlerRegistry| {
        registry.remove("/legacy");
        for registration in registry.iter_mut() {
            let moved = format!("/api{}", registration.path());
            registration.set_path(&moved);
        }
        Ok(())
    });
    let server = serve(Server::builder().registry(registry).plugin(prefix)).await;
    let (mut client, _) = connect(&server, "/api/chat", &[]).await;
    client.send_text("moved").await;
    assert_eq!(client.recv_text().await, "moved");
    for gone in ["/chat", "/legacy", "/api/legacy"] {
        assert_eq!(http_request(server.tcp_addr(), upgrade_request(gone, "")).await.status, 404, "{gone}");
    }
    drop(client);
    server.shutdown().await;
}

/// Fails every message.
struct Failing;

impl HandlerDecorator for Failing {
    async fn handle_message(&self, _session: &Session, _message: Message, _next: &Next) -> HandlerResult {
        Err("the audit log is full".into())
    }
}

/// Records transport errors.
struct ErrorWitness(Journal);

impl WebSocketHandler for ErrorWitness {
    async fn handle_text_message(&self, _session: &Session, _text: Utf8Bytes) -> HandlerResult {
        panic!("never reached: the decorator fails first")
    }

    async fn handle_transport_error(&self, _session: &Session, error: &Error) {
        self.0.log(format!("transport error: {error}"));
    }
}

#[tokio::test]
async fn a_failing_decorator_closes_its_session_with_1011_and_reaches_handle_transport_error() {
    let journal = Journal::default();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/audited", ErrorWitness(journal.clone())).decorator(Failing);
    let server = serve(Server::builder().registry(registry)).await;
    let (mut client, _) = connect(&server, "/audited", &[]).await;
    client.send_text("hello").await;
    assert_eq!(client.closed().await.code(), 1011);
    assert_eq!(journal.events(), ["transport error: handler error: the audit log is full"]);
    server.shutdown().await;
}

/// Fails or panics on demand.
struct Faulty(Journal);

impl WebSocketHandler for Faulty {
    async fn handle_text_message(&self, _session: &Session, text: Utf8Bytes) -> HandlerResult {
        match text.as_str() {
            "panic" => panic!("asked to panic"),
            other => Err(format!("asked to fail: {other}").into()),
        }
    }

    async fn handle_transport_error(&self, _session: &Session, error: &Error) {
        self.0.log(format!("transport error: {error}"));
    }
}

#[tokio::test]
async fn without_the_builtin_decorators_errors_and_panics_still_close_with_1011() {
    let journal = Journal::default();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/faulty", Faulty(journal.clone()));
    let builder = Server::builder().registry(registry).builtin_decorators(false);
    let listing = builder.routes().expect("valid");
    assert!(listing.routes()[0].decorators.is_empty(), "no built-in decorator runs: {listing}");
    let server = serve(builder).await;
    for (text, expected) in [
        ("oops", "transport error: handler error: asked to fail: oops"),
        ("panic", "transport error: handler panicked: asked to panic"),
    ] {
        let (mut client, _) = connect(&server, "/faulty", &[]).await;
        client.send_text(text).await;
        assert_eq!(client.closed().await.code(), 1011);
        assert_eq!(journal.events().last().map(String::as_str), Some(expected));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_route_listing_includes_plain_pages() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Echo);
    registry.add_page("/", "text/html; charset=utf-8", "<h1>hi</h1>");
    let listing = Server::builder().registry(registry).routes().expect("valid");
    assert_eq!(listing.pages().len(), 1);
    assert_eq!(listing.pages()[0].path, "/");
    let text = listing.to_string();
    assert!(text.contains("1 page:\n/  GET, text/html; charset=utf-8 (added at "), "{text}");
    assert!(listing.pages()[0].location.file.ends_with("plugins.rs"), "{text}");
}
