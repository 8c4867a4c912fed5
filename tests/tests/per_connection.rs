//! Per-connection handlers (Spring's `PerConnectionWebSocketHandler`): each
//! session gets a fresh instance whose fields are that session's state, built
//! when the session opens and dropped when it ends; decorators wrap each
//! instance. The default stays one instance shared by every session.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use wsboot::test::{TestClient, TestServer, within};
use wsboot::{
    AdHocPlugin, CloseStatus, HandlerRegistry, HandlerResult, Server, Session, SharedHandler, Utf8Bytes,
    WebSocketHandler, decorate, ws_handler,
};

/// Counts the messages of its session: a field, no lock shared with others.
#[derive(Default)]
#[ws_handler("/annotated-counter", per_connection)]
struct Counter {
    seen: AtomicUsize,
}

impl WebSocketHandler for Counter {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(session.send(format!("{text} #{n}")).await?)
    }
}

/// Instances built and dropped, for [`Tracked`].
static BUILT: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Remembers its session's messages; counts its own construction and drop.
struct Tracked {
    history: Mutex<Vec<String>>,
}

impl Tracked {
    fn new() -> Self {
        BUILT.fetch_add(1, Ordering::SeqCst);
        Tracked { history: Mutex::new(Vec::new()) }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

impl WebSocketHandler for Tracked {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        let history = {
            let mut history = self.history.lock().unwrap();
            history.push(text.to_string());
            history.join(",")
        };
        Ok(session.send(history).await?)
    }
}

async fn say(client: &mut TestClient, text: &str) -> String {
    client.send_text(text).await;
    client.recv_text().await
}

#[tokio::test]
async fn annotated_per_connection_handlers_keep_separate_state() {
    let server = TestServer::start(HandlerRegistry::from_annotations()).await;
    let mut a = server.connect("/annotated-counter").await;
    let mut b = server.connect("/annotated-counter").await;
    assert_eq!(say(&mut a, "a").await, "a #1");
    assert_eq!(say(&mut a, "a").await, "a #2");
    assert_eq!(say(&mut b, "b").await, "b #1", "a new session starts from a fresh instance");
    assert_eq!(say(&mut a, "a").await, "a #3");
    assert_eq!(say(&mut b, "b").await, "b #2");
    let mut c = server.connect("/annotated-counter").await;
    assert_eq!(say(&mut c, "c").await, "c #1");
    drop((a, b, c));
    server.shutdown().await;
}

#[tokio::test]
async fn a_shared_handler_is_one_instance_for_every_session() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/shared", Counter::default());
    let server = TestServer::start(registry).await;
    let mut a = server.connect("/shared").await;
    let mut b = server.connect("/shared").await;
    assert_eq!(say(&mut a, "a").await, "a #1");
    assert_eq!(say(&mut b, "b").await, "b #2");
    drop((a, b));
    server.shutdown().await;
}

/// Waits until every built instance of [`Tracked`] was dropped.
async fn all_dropped() {
    within("every per-connection instance to be dropped", async {
        while DROPPED.load(Ordering::SeqCst) < BUILT.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn programmatic_per_connection_handlers_are_built_per_session_and_dropped_after_it() {
    let mut registry = HandlerRegistry::new();
    registry.add_per_connection_handler("/tracked", Tracked::new);
    // A plugin decorator wraps each session's instance, not one shared one.
    let wrapped = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = wrapped.clone();
    let plugin = AdHocPlugin::decorate("wrap", move |_path: &str, handler: SharedHandler| {
        seen.fetch_add(1, Ordering::SeqCst);
        decorate(handler, Passthrough)
    });
    let server = serve_with(registry, plugin).await;
    assert_eq!(BUILT.load(Ordering::SeqCst), 0, "nothing is built before a session opens");
    let wrapped_at_start = wrapped.load(Ordering::SeqCst);

    let mut a = server.connect("/tracked").await;
    let mut b = server.connect("/tracked").await;
    assert_eq!(say(&mut a, "1").await, "1");
    assert_eq!(say(&mut b, "x").await, "x");
    assert_eq!(say(&mut a, "2").await, "1,2");
    assert_eq!(say(&mut b, "y").await, "x,y");
    assert_eq!(BUILT.load(Ordering::SeqCst), 2);
    assert_eq!(wrapped.load(Ordering::SeqCst) - wrapped_at_start, 2, "one decoration per session");

    a.close(CloseStatus::NORMAL).await;
    b.close(CloseStatus::NORMAL).await;
    all_dropped().await;
    assert_eq!(DROPPED.load(Ordering::SeqCst), 2);
    server.shutdown().await;
}

/// Passes every event on.
struct Passthrough;

impl wsboot::HandlerDecorator for Passthrough {}

/// A server with `registry` and `plugin`.
async fn serve_with(registry: HandlerRegistry, plugin: AdHocPlugin) -> TestServer {
    TestServer::start_with(Server::builder().registry(registry).plugin(plugin)).await
}
