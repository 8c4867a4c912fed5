//! Graceful shutdown: every message queued before the shutdown reaches its
//! client before the close frame (1012 by default, configurable), sessions
//! that do not answer are dropped at the deadline, `after_connection_closed`
//! runs exactly once per session, and the echo example stops on SIGTERM.
//! Closing in batches over a drain period is `drain.rs`'s subject; here the
//! sessions close at once (drain period zero) or are too few to batch.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use wsboot::test::{Received, TestClient, TestServer, within};
use wsboot::{CloseStatus, ConfigSources, HandlerRegistry, HandlerResult, Message, Server, Session, WebSocketHandler};
use wsboot_tests::upgrade_request;

/// Remembers every session, and how each one closed.
#[derive(Clone, Default)]
struct Tracker {
    open: Arc<Mutex<Vec<Session>>>,
    closed: Arc<Mutex<HashMap<u64, Vec<u16>>>>,
}

impl WebSocketHandler for Tracker {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        self.open.lock().unwrap().push(session.clone());
        Ok(())
    }

    async fn after_connection_closed(&self, session: &Session, status: &CloseStatus) {
        self.closed.lock().unwrap().entry(session.id().as_u64()).or_default().push(status.code());
    }
}

impl Tracker {
    fn sessions(&self) -> Vec<Session> {
        self.open.lock().unwrap().clone()
    }

    async fn wait_for_sessions(&self, count: usize) {
        within(&format!("{count} sessions to open"), async {
            while self.open.lock().unwrap().len() < count {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    }

    /// Every session closed exactly once, each with `code`.
    fn assert_closed_once(&self, sessions: usize, code: u16) {
        let closed = self.closed.lock().unwrap();
        assert_eq!(closed.len(), sessions, "after_connection_closed ran for every session");
        for (id, codes) in closed.iter() {
            assert_eq!(codes, &[code], "session {id}: after_connection_closed runs exactly once, with {code}");
        }
    }
}

/// Everything a client receives until the close frame.
async fn read_until_close(mut client: TestClient) -> (Vec<String>, Option<CloseStatus>) {
    client.set_timeout(Duration::from_secs(30));
    let mut texts = Vec::new();
    loop {
        match client.next().await {
            Received::Message(Message::Text(text)) => texts.push(text.as_str().to_owned()),
            Received::Message(_) => {}
            Received::Close(status) => return (texts, status),
            Received::Dropped => return (texts, None),
        }
    }
}

fn payload(session: usize, message: usize) -> String {
    // About 1 KiB, so the queues hold real bytes, not only counts.
    format!("s{session}-m{message}-{}", "x".repeat(1000))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sessions_receive_every_queued_message_then_1012() {
    const SESSIONS: usize = 1000;
    const QUEUED: usize = 20;
    // Both ends of 1,000 connections live in this process.
    rlimit::increase_nofile_limit(8192).expect("the open-files limit can be raised");

    let tracker = Tracker::default();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/updates", tracker.clone());
    // Every session at once: the queues are full when the close is queued.
    let builder =
        Server::builder().registry(registry).shutdown_timeout(Duration::from_secs(20)).drain_period(Duration::ZERO);
    let server = TestServer::start_with(builder).await;

    let mut clients = Vec::with_capacity(SESSIONS);
    for batch in 0..SESSIONS / 100 {
        let connecting = (0..100).map(|_| server.connect("/updates"));
        clients.extend(join_all(connecting).await);
        tracker.wait_for_sessions((batch + 1) * 100).await;
    }

    // Queue the messages, then shut down at once: most are still queued when the
    // close is; none may be lost or come after it.
    let mut sessions = tracker.sessions();
    sessions.sort_by_key(|s| s.id().as_u64());
    let expected: HashMap<u64, Vec<String>> = sessions
        .iter()
        .enumerate()
        .map(|(i, session)| {
            let texts: Vec<String> = (0..QUEUED).map(|m| payload(i, m)).collect();
            for text in &texts {
                session.try_send(text.clone()).expect("the queue has room");
            }
            (session.id().as_u64(), texts)
        })
        .collect();
    let stopping = tokio::spawn(server.shutdown());

    let results = within(
        "every client to see its messages and the close",
        join_all(clients.into_iter().map(|c| tokio::spawn(read_until_close(c)))),
    )
    .await;
    let mut seen = HashSet::new();
    for result in results {
        let (texts, status) = result.expect("the reader does not panic");
        let status = status.expect("the server sent a close frame with a status");
        assert_eq!(status.code(), 1012, "shutdown closes with Service Restart: {status}");
        let session = texts.first().map(|t| t.split('-').next().unwrap().to_owned()).expect("messages arrived");
        let index: usize = session[1..].parse().unwrap();
        let id = sessions[index].id().as_u64();
        assert_eq!(texts, expected[&id], "session {session} received every queued message, in order, then the close");
        assert!(seen.insert(id), "each session's messages reached one client");
    }
    assert_eq!(seen.len(), SESSIONS);
    // The server finished within its deadline (`shutdown` fails the test otherwise).
    within("the server to finish shutting down", stopping).await.expect("shutdown does not panic");
    tracker.assert_closed_once(SESSIONS, 1012);
}

#[tokio::test]
async fn the_close_code_is_configurable() {
    let tracker = Tracker::default();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/updates", tracker.clone());
    let sources = ConfigSources::new().toml("test.toml", "[shutdown]\nclose_code = \"going_away\"");
    let server = TestServer::in_memory_with(Server::builder().registry(registry).config_sources(sources)).await;
    let mut client = server.connect("/updates").await;
    tracker.wait_for_sessions(1).await;
    tracker.sessions()[0].try_send("last words").unwrap();
    let stopping = tokio::spawn(server.shutdown());
    assert_eq!(client.recv_text().await, "last words");
    let status = client.closed().await;
    assert_eq!(status.code(), 1001, "{status}");
    stopping.await.unwrap();
    tracker.assert_closed_once(1, 1001);
}

#[tokio::test]
async fn sessions_that_never_answer_are_dropped_at_the_deadline() {
    let tracker = Tracker::default();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/updates", tracker.clone());
    // The close handshake alone would wait a minute: the shutdown deadline wins.
    let builder = Server::builder()
        .registry(registry)
        .close_timeout(Duration::from_secs(60))
        .shutdown_timeout(Duration::from_millis(500));
    let server = TestServer::start_with(builder).await;
    let addr = server.tcp_addr();
    // A client that completes the handshake and then never reads nor answers.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    silent.write_all(upgrade_request("/updates", "").as_bytes()).await.unwrap();
    tracker.wait_for_sessions(1).await;
    // Enough queued that the writes block on the full socket buffers.
    let session = tracker.sessions()[0].clone();
    let big = "y".repeat(64 * 1024);
    for _ in 0..512 {
        if session.try_send(big.clone()).is_err() {
            break;
        }
    }
    within("the shutdown to give up on the silent client", server.shutdown()).await;
    // Its close frame never got out: it is reported as dropped, once.
    tracker.assert_closed_once(1, 1006);
    drop(silent);
}

/// The echo example's binary, built next to this test's.
fn echo_example() -> std::path::PathBuf {
    // target/<profile>/deps/shutdown-<hash> → target/<profile>/examples/echo
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap().to_owned();
    let mut build = Command::new(env!("CARGO"));
    // The whole workspace's examples, as `cargo test --workspace` builds them: the
    // same features, so after a workspace test build this builds nothing.
    build.args(["build", "--quiet", "--workspace", "--examples"]);
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "the echo example builds");
    profile_dir.join("examples").join(format!("echo{}", std::env::consts::EXE_SUFFIX))
}

#[tokio::test]
async fn sigterm_on_the_echo_example_flushes_pending_echoes_then_closes_1012_and_exits_0() {
    const CLIENTS: usize = 20;
    const MESSAGES: usize = 50;
    let mut child = Command::new(echo_example())
        .args(["--addr", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the echo example starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ready = String::new();
    stdout.read_line(&mut ready).unwrap();
    let url = ready.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("ready line: {ready:?}")).to_owned();

    // Each client sends its messages and reads nothing yet: the echoes wait in
    // the server's queues and the sockets.
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("{url}/echo")).await.unwrap();
        for m in 0..MESSAGES {
            futures_util::SinkExt::send(&mut ws, format!("c{c}-m{m}").into()).await.unwrap();
        }
        clients.push(ws);
    }
    // Once the server counted every message, every echo is queued or written.
    let addr: std::net::SocketAddr = url.strip_prefix("ws://").unwrap().parse().unwrap();
    within("the echo example to receive every message", async {
        loop {
            let page = wsboot_tests::http_request(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await.body;
            let total = page.lines().find_map(|l| l.strip_prefix("wsboot_messages_in_total{path=\"/echo\"} "));
            if total.and_then(|t| t.trim().parse::<usize>().ok()) == Some(CLIENTS * MESSAGES) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;

    // The example answers its load balancer and its scraper on the same port.
    let health = wsboot_tests::http_request(addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    let page = wsboot_tests::http_request(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await.body;
    assert!(page.contains("# TYPE wsboot_sessions_open gauge"), "{page}");
    assert!(page.contains(&format!("wsboot_sessions_open{{path=\"/echo\"}} {CLIENTS}\n")), "{page}");

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());

    for (c, mut ws) in clients.into_iter().enumerate() {
        let mut echoes = Vec::new();
        let close = within("the echoes and the close frame", async {
            while let Some(message) = futures_util::StreamExt::next(&mut ws).await {
                match message.expect("the connection stays clean") {
                    tokio_tungstenite::tungstenite::Message::Text(text) => echoes.push(text.as_str().to_owned()),
                    tokio_tungstenite::tungstenite::Message::Close(frame) => return frame,
                    _ => {}
                }
            }
            None
        })
        .await;
        let expected: Vec<String> = (0..MESSAGES).map(|m| format!("c{c}-m{m}")).collect();
        assert_eq!(echoes, expected, "client {c} sees every pending echo before the close");
        assert_eq!(close.map(|f| u16::from(f.code)), Some(1012), "client {c} sees 1012");
    }
    let status = within("the echo example to exit", async {
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(status.success(), "the echo example exits 0 after SIGTERM: {status}");
}
