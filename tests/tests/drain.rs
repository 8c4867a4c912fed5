//! Draining at shutdown: the sessions of a node close in batches spread over
//! the drain period, not all at once (which would make every client reconnect
//! elsewhere in the same instant). Each session is served until its batch,
//! gets what was queued for it, then 1012; upgrades during the drain are
//! refused with `503` and `Retry-After`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;
use wsboot::test::{Received, TestClient, TestServer, eventually, within};
use wsboot::{CloseStatus, HandlerRegistry, HandlerResult, Message, Server, Session, Utf8Bytes, WebSocketHandler};
use wsboot_tests::{http_request, upgrade_request};

/// Remembers every session, how each one closed, and who spoke during the drain.
#[derive(Clone, Default)]
struct Tracker {
    open: Arc<Mutex<Vec<Session>>>,
    closed: Arc<Mutex<HashMap<u64, Vec<u16>>>>,
    heard: Arc<Mutex<HashSet<u64>>>,
}

impl WebSocketHandler for Tracker {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        self.open.lock().unwrap().push(session.clone());
        Ok(())
    }

    async fn handle_text_message(&self, session: &Session, _text: Utf8Bytes) -> HandlerResult {
        self.heard.lock().unwrap().insert(session.id().as_u64());
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
        eventually(&format!("{count} sessions to open"), || self.open.lock().unwrap().len() >= count).await;
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

/// What one client saw: the texts before the close, the close, and when.
struct Seen {
    texts: Vec<String>,
    status: Option<CloseStatus>,
    closed_at: Instant,
}

/// Reads until the close frame, answering the server's mid-drain message.
async fn read_until_close(mut client: TestClient) -> Seen {
    client.set_timeout(Duration::from_secs(30));
    let mut texts = Vec::new();
    loop {
        match client.next().await {
            Received::Message(Message::Text(text)) => {
                let text = text.as_str().to_owned();
                if text.ends_with("-mid") {
                    // The session is still served: what the client says reaches the handler.
                    client.send_text("still here").await;
                }
                texts.push(text);
            }
            Received::Message(_) => {}
            Received::Close(status) => return Seen { texts, status, closed_at: Instant::now() },
            Received::Dropped => return Seen { texts, status: None, closed_at: Instant::now() },
        }
    }
}

async fn connect_many(server: &TestServer, tracker: &Tracker, count: usize) -> Vec<TestClient> {
    let mut clients = Vec::with_capacity(count);
    for batch in 0..count.div_ceil(100) {
        let size = 100.min(count - batch * 100);
        clients.extend(join_all((0..size).map(|_| server.connect("/updates"))).await);
        tracker.wait_for_sessions(clients.len()).await;
    }
    clients
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_sessions_close_in_batches_spread_over_the_drain_period() {
    const SESSIONS: usize = 1000;
    const BATCH: usize = 100;
    const PERIOD: Duration = Duration::from_secs(2);
    // 10 batches of 100, one every 200 ms: at 0, 0.2 s, …, 1.8 s.
    const INTERVAL: Duration = Duration::from_millis(200);
    const QUEUED: usize = 3;
    // Both ends of 1,000 connections live in this process.
    rlimit::increase_nofile_limit(8192).expect("the open-files limit can be raised");

    let tracker = Tracker::default();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/updates", tracker.clone());
    let builder = Server::builder().registry(registry).drain_period(PERIOD).drain_batch(BATCH);
    let server = TestServer::start_with(builder).await;
    let clients = connect_many(&server, &tracker, SESSIONS).await;
    let readers: Vec<_> = clients.into_iter().map(|client| tokio::spawn(read_until_close(client))).collect();

    // Queued before the drain: every message must come before its session's close.
    let sessions = tracker.sessions();
    for session in &sessions {
        for m in 0..QUEUED {
            session.try_send(format!("{}-q{m}", session.id())).expect("the queue has room");
        }
    }
    let started = Instant::now();
    server.shutdown_handle().drain();

    // Between the batches at 1.0 s and 1.2 s: the sessions still open are still
    // served, both ways.
    tokio::time::sleep_until(started + Duration::from_millis(1100)).await;
    let mut told = HashSet::new();
    for session in &sessions {
        if session.try_send(format!("{}-mid", session.id())).is_ok() {
            told.insert(session.id().to_string());
        }
    }
    assert!(
        (100..=700).contains(&told.len()),
        "about half the sessions are still open 1.1 s into a 2 s drain: {}",
        told.len()
    );

    let seen: Vec<Seen> = within("every client to see its close", join_all(readers))
        .await
        .into_iter()
        .map(|reader| reader.expect("the reader does not panic"))
        .collect();
    within("the server to finish shutting down", server.shutdown()).await;

    let mut ids = HashSet::new();
    for seen in &seen {
        let status = seen.status.as_ref().expect("the server sent a close frame with a status");
        assert_eq!(status.code(), 1012, "the drain closes with Service Restart: {status}");
        let id = seen.texts.first().and_then(|t| t.split('-').next()).expect("the queued messages arrived").to_owned();
        let mut expected: Vec<String> = (0..QUEUED).map(|m| format!("{id}-q{m}")).collect();
        if told.contains(&id) {
            expected.push(format!("{id}-mid"));
        }
        assert_eq!(seen.texts, expected, "session {id}: every message queued for it, in order, then the close");
        assert!(ids.insert(id), "each session's messages reached one client");
    }
    assert_eq!(ids.len(), SESSIONS);
    tracker.assert_closed_once(SESSIONS, 1012);
    let heard = tracker.heard.lock().unwrap().len();
    assert!(heard >= 2 * BATCH, "sessions closing 0.5 s or more after the mid-drain message answered it: {heard}");

    // The spread of the closes, as the clients saw them.
    let mut times: Vec<Duration> = seen.iter().map(|s| s.closed_at - started).collect();
    times.sort();
    let (first, last) = (times[0], times[SESSIONS - 1]);
    // Most closes in any one batch interval, aligned with the schedule and sliding.
    let aligned = (0..10u32)
        .map(|k| times.iter().filter(|t| **t >= INTERVAL * k && **t < INTERVAL * (k + 1)).count())
        .collect::<Vec<_>>();
    let sliding = (0..SESSIONS).map(|i| times[i..].iter().take_while(|t| **t - times[i] < INTERVAL).count()).max();
    eprintln!(
        "closes seen from {first:?} to {last:?} after the drain began; per 200 ms interval: {aligned:?}; \
         most in any sliding 200 ms: {sliding:?}"
    );
    assert!(last - first >= Duration::from_millis(1500), "closes spread over the period: {first:?} to {last:?}");
    assert!(last < PERIOD + Duration::from_millis(500), "every session closed within the period: {last:?}");
    assert!(aligned.iter().all(|n| *n <= BATCH), "at most one batch per interval: {aligned:?}");
    assert!(aligned.iter().filter(|n| **n > 0).count() >= 9, "the batches are spaced out: {aligned:?}");
}

#[tokio::test]
async fn an_upgrade_during_the_drain_is_refused_with_503_and_retry_after() {
    let tracker = Tracker::default();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/updates", tracker.clone());
    // Two sessions, one per batch a second apart: the drain lasts a second.
    let builder = Server::builder().registry(registry).drain_period(Duration::from_secs(2)).drain_batch(1);
    let server = TestServer::start_with(builder).await;
    let addr = server.tcp_addr();
    let mut clients = vec![server.connect("/updates").await, server.connect("/updates").await];
    tracker.wait_for_sessions(2).await;

    let handle = server.shutdown_handle();
    handle.drain();
    eventually("the drain to start", || handle.is_draining()).await;
    let refused = http_request(addr, upgrade_request("/updates", "")).await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.header("Retry-After"), Some("1"));
    assert!(refused.body.contains("shutting down"), "the body says why: {}", refused.body);
    let metrics = http_request(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        metrics.body.contains("wsboot_handshake_rejections_total{reason=\"draining\",status=\"503\"} 1"),
        "{}",
        metrics.body
    );
    assert_eq!(tracker.sessions().len(), 2, "no session opened during the drain");

    for client in &mut clients {
        assert_eq!(client.closed().await.code(), 1012);
    }
    within("the server to finish shutting down", server.shutdown()).await;
    tracker.assert_closed_once(2, 1012);
}

#[tokio::test]
async fn a_zero_drain_period_closes_every_session_at_once() {
    let tracker = Tracker::default();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/updates", tracker.clone());
    let builder = Server::builder().registry(registry).drain_period(Duration::ZERO).drain_batch(1);
    let server = TestServer::start_with(builder).await;
    let clients = join_all((0..20).map(|_| server.connect("/updates"))).await;
    tracker.wait_for_sessions(20).await;
    let started = Instant::now();
    let readers: Vec<_> = clients.into_iter().map(|client| tokio::spawn(read_until_close(client))).collect();
    server.shutdown_handle().drain();
    for reader in join_all(readers).await {
        let seen = reader.unwrap();
        assert_eq!(seen.status.map(|s| s.code()), Some(1012));
        assert!(seen.closed_at - started < Duration::from_secs(1), "closed at once");
    }
    within("the server to finish shutting down", server.shutdown()).await;
    tracker.assert_closed_once(20, 1012);
}

#[tokio::test]
async fn the_whole_shutdown_takes_at_most_the_drain_period_and_the_shutdown_timeout() {
    const PERIOD: Duration = Duration::from_secs(1);
    const TIMEOUT: Duration = Duration::from_millis(500);
    let tracker = Tracker::default();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/updates", tracker.clone());
    // The closing handshake alone would wait a minute for a silent client.
    let builder = Server::builder()
        .registry(registry)
        .drain_period(PERIOD)
        .drain_batch(2)
        .close_timeout(Duration::from_secs(60))
        .shutdown_timeout(TIMEOUT);
    let server = TestServer::start_with(builder).await;
    // Clients that complete the handshake and then never read nor answer, in
    // both batches (at 0 and 0.5 s).
    let mut silent = Vec::new();
    for _ in 0..4 {
        let mut client = TcpStream::connect(server.tcp_addr()).await.unwrap();
        client.write_all(upgrade_request("/updates", "").as_bytes()).await.unwrap();
        silent.push(client);
    }
    tracker.wait_for_sessions(4).await;
    let started = Instant::now();
    within("the shutdown to give up on the silent clients", server.shutdown()).await;
    let took = started.elapsed();
    assert!(took < PERIOD + TIMEOUT + Duration::from_millis(500), "bounded by the period and the timeout: {took:?}");
    assert!(took >= PERIOD / 2 + TIMEOUT, "the timeout counts from the last batch: {took:?}");
    // Their close frames went out; no answer came before the deadline.
    tracker.assert_closed_once(4, 1012);
    drop(silent);
}
