//! Registry plugins from the outside: the order their hooks run in, decorators
//! seeing every message, interceptor rejections reaching the client, annotated
//! and programmatic handlers together, and startup errors that name the
//! culprit. The plugins of `wsboot-plugin-auth` have their own file,
//! `plugin_auth.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use wsboot::test::{TestServer, within};
use wsboot::{
    AdHocPlugin, BoxError, Bytes, CloseStatus, Error, ErrorKind, HandlerDecorator, HandlerRegistry, HandlerResult,
    HandshakeInterceptor, HandshakeRequest, Message, Next, RegistryPlugin, Rejection, Server, ServerBuilder,
    ServerInfo, Session, SharedHandler, Utf8Bytes, WebSocketHandler, decorate, ws_plugin,
};
use wsboot_tests::{Echo, RawClient, connect_with_headers as connect, http_request, opcode, upgrade_request};

async fn serve(builder: ServerBuilder) -> TestServer {
    TestServer::start_with(builder).await
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
