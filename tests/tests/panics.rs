//! A failing handler closes only its own session, with 1011: a panic or an
//! `Err` in one session leaves the others and the server running, and an `Err`
//! is reported to `handle_transport_error` first.

use futures_util::SinkExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use wsboot::{CloseStatus, Error, ErrorKind, HandlerRegistry, HandlerResult, Session, Utf8Bytes, WebSocketHandler};
use wsboot_tests::{Client, TestServer, close_normally, connect, expect_close, next_text, start, within};

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
    (start(registry).await, received)
}

async fn assert_echoes(client: &mut Client, text: &str) {
    within("sending", client.send(Message::text(text))).await.expect("sent");
    assert_eq!(next_text(client).await, text);
}

async fn next_report(reports: &mut mpsc::UnboundedReceiver<Report>) -> Report {
    within("a handler report", reports.recv()).await.expect("the handler is alive")
}

#[tokio::test]
async fn a_panic_closes_that_session_with_1011_and_nothing_else() {
    let (server, _reports) = fragile_server().await;
    let mut before = connect(&server, "/fragile").await;
    assert_echoes(&mut before, "before").await;

    let mut victim = connect(&server, "/fragile").await;
    assert_echoes(&mut victim, "ok so far").await;
    within("sending", victim.send(Message::text("panic"))).await.expect("sent");
    let (code, _) = expect_close(&mut victim).await;
    assert_eq!(code, 1011);

    // The session opened before still works, and the server still accepts.
    assert_echoes(&mut before, "still alive").await;
    let mut after = connect(&server, "/fragile").await;
    assert_echoes(&mut after, "after").await;

    close_normally(&mut before).await;
    close_normally(&mut after).await;
    server.stop().await;
}

#[tokio::test]
async fn repeated_panics_do_not_wear_the_server_down() {
    let (server, _reports) = fragile_server().await;
    for _ in 0..20 {
        let mut victim = connect(&server, "/fragile").await;
        within("sending", victim.send(Message::text("panic"))).await.expect("sent");
        assert_eq!(expect_close(&mut victim).await.0, 1011);
    }
    let mut survivor = connect(&server, "/fragile").await;
    assert_echoes(&mut survivor, "fine").await;
    close_normally(&mut survivor).await;
    server.stop().await;
}

#[tokio::test]
async fn a_panic_is_reported_to_the_handler_and_the_session_closes_once() {
    let (server, mut reports) = fragile_server().await;
    let mut victim = connect(&server, "/fragile").await;
    within("sending", victim.send(Message::text("panic"))).await.expect("sent");
    assert_eq!(expect_close(&mut victim).await.0, 1011);
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
    server.stop().await;
}

#[tokio::test]
async fn an_error_closes_with_1011_after_handle_transport_error() {
    let (server, mut reports) = fragile_server().await;
    let mut other = connect(&server, "/fragile").await;
    let mut victim = connect(&server, "/fragile").await;
    within("sending", victim.send(Message::text("fail"))).await.expect("sent");
    let (code, _) = expect_close(&mut victim).await;
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
    close_normally(&mut other).await;
    server.stop().await;
}
