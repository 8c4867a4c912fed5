//! A failing handler closes only its own session, with 1011: a panic or an
//! `Err` in one session leaves the others and the server running, and an `Err`
//! is reported to `handle_transport_error` first.

use tokio::sync::mpsc;
use wsboot::test::{TestClient, TestServer, within};
use wsboot::{CloseStatus, Error, ErrorKind, HandlerRegistry, HandlerResult, Session, Utf8Bytes, WebSocketHandler};

/// What `handle_transport_error` and `after_connection_closed` saw.
#[derive(Debug)]
enum Report {
    TransportError { kind: ErrorKind, message: String },
    Closed(CloseStatus),
}

/// Echoes text, except "panic" (panics) and "fail" (returns an error).
struct Fragile {
    reports: mpsc::UnboundedSender<Report>,
}

impl WebSocketHandler for Fragile {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        match text.as_str() {
            "panic" => panic!("the handler panics on purpose"),
            "fail" => Err("the handler fails on purpose".into()),
            _ => Ok(session.send(text).await?),
        }
    }

    async fn handle_transport_error(&self, _session: &Session, error: &Error) {
        let _ = self.reports.send(Report::TransportError { kind: error.kind(), message: error.to_string() });
    }

    async fn after_connection_closed(&self, _session: &Session, status: &CloseStatus) {
        let _ = self.reports.send(Report::Closed(status.clone()));
    }
}

async fn fragile_server() -> (TestServer, mpsc::UnboundedReceiver<Report>) {
    let (reports, received) = mpsc::unbounded_channel();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/fragile", Fragile { reports });
    (TestServer::start(registry).await, received)
}

async fn assert_echoes(client: &mut TestClient, text: &str) {
    client.send_text(text).await;
    assert_eq!(client.recv_text().await, text);
}

async fn next_report(reports: &mut mpsc::UnboundedReceiver<Report>) -> Report {
    within("a handler report", reports.recv()).await.expect("the handler is alive")
}

#[tokio::test]
async fn a_panic_closes_that_session_with_1011_and_nothing_else() {
    let (server, _reports) = fragile_server().await;
    let mut before = server.connect("/fragile").await;
    assert_echoes(&mut before, "before").await;

    let mut victim = server.connect("/fragile").await;
    assert_echoes(&mut victim, "ok so far").await;
    victim.send_text("panic").await;
    let code = victim.closed().await.code();
    assert_eq!(code, 1011);

    // The session opened before still works, and the server still accepts.
    assert_echoes(&mut before, "still alive").await;
    let mut after = server.connect("/fragile").await;
    assert_echoes(&mut after, "after").await;

    before.close(CloseStatus::NORMAL).await;
    after.close(CloseStatus::NORMAL).await;
    server.shutdown().await;
}

#[tokio::test]
async fn repeated_panics_do_not_wear_the_server_down() {
    let (server, _reports) = fragile_server().await;
    for _ in 0..20 {
        let mut victim = server.connect("/fragile").await;
        victim.send_text("panic").await;
        assert_eq!(victim.closed().await.code(), 1011);
    }
    let mut survivor = server.connect("/fragile").await;
    assert_echoes(&mut survivor, "fine").await;
    survivor.close(CloseStatus::NORMAL).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_panic_is_reported_to_the_handler_and_the_session_closes_once() {
    let (server, mut reports) = fragile_server().await;
    let mut victim = server.connect("/fragile").await;
    victim.send_text("panic").await;
    assert_eq!(victim.closed().await.code(), 1011);
    match next_report(&mut reports).await {
        Report::TransportError { kind, message } => {
            assert_eq!(kind, ErrorKind::Handler);
            assert!(
                message.contains("the handler panics on purpose"),
                "the error carries the panic message: {message}"
            );
        }
        other => panic!("expected handle_transport_error first, got {other:?}"),
    }
    match next_report(&mut reports).await {
        Report::Closed(status) => assert_eq!(status.code(), 1011),
        other => panic!("expected after_connection_closed, got {other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn an_error_closes_with_1011_after_handle_transport_error() {
    let (server, mut reports) = fragile_server().await;
    let mut other = server.connect("/fragile").await;
    let mut victim = server.connect("/fragile").await;
    victim.send_text("fail").await;
    let code = victim.closed().await.code();
    assert_eq!(code, 1011);

    match next_report(&mut reports).await {
        Report::TransportError { kind, message } => {
            assert_eq!(kind, ErrorKind::Handler);
            assert!(message.contains("the handler fails on purpose"), "the error carries the handler's: {message}");
        }
        other => panic!("expected handle_transport_error, got {other:?}"),
    }
    match next_report(&mut reports).await {
        Report::Closed(status) => assert_eq!(status.code(), 1011),
        other => panic!("expected after_connection_closed, got {other:?}"),
    }

    assert_echoes(&mut other, "unaffected").await;
    other.close(CloseStatus::NORMAL).await;
    server.shutdown().await;
}
