//! A session whose messages follow each other closely is busy: it keeps its
//! working memory, and between messages it waits inside the step that read
//! the last one instead of starting a new step per read. A busy session must
//! behave as a resting one does: what other tasks send it goes out, the
//! server's close completes its handshake, and once it has gone quiet (and
//! rested) it answers again.

use std::time::Duration;

use wsboot::test::{TestClient, TestServer};
use wsboot::{CloseStatus, HandlerRegistry};
use wsboot_tests::{Closures, Echo, ReportingEcho};

/// Round trips back to back: far more, and far closer together, than the
/// two activities within a quarter of a second that make a session busy.
const BURST: usize = 50;

/// Echoes `BURST` messages one after the other, checking each answer.
async fn burst(client: &mut TestClient, label: &str) {
    for i in 0..BURST {
        let text = format!("{label} {i}");
        client.send_text(&text).await;
        assert_eq!(client.recv_text().await, text, "echo {i} of the {label} burst");
    }
}

async fn reporting_server() -> (TestServer, Closures) {
    let (handler, closures) = ReportingEcho::new();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", handler);
    (TestServer::start(registry).await, closures)
}

#[tokio::test]
async fn a_busy_session_delivers_what_another_task_sends_it() {
    let server = TestServer::serve("/echo", Echo).await;
    let mut client = server.connect("/echo").await;
    burst(&mut client, "first").await;

    let session = server.hub().sessions_on("/echo").pop().expect("the client's session is registered");
    for i in 0..3 {
        session.send(format!("pushed {i}")).await.expect("the session is open");
    }
    for i in 0..3 {
        assert_eq!(client.recv_text().await, format!("pushed {i}"), "pushes arrive, in order");
    }
    // Reads and pushes interleaved: both keep flowing.
    client.send_text("after the pushes").await;
    session.send("one more push").await.expect("the session is open");
    let mut got = vec![client.recv_text().await, client.recv_text().await];
    got.sort();
    assert_eq!(got, ["after the pushes", "one more push"]);

    assert_eq!(client.close(CloseStatus::NORMAL).await, CloseStatus::NORMAL);
    server.shutdown().await;
}

#[tokio::test]
async fn a_busy_session_closes_with_the_shutdown_status_when_the_server_stops() {
    let (server, mut closures) = reporting_server().await;
    let mut client = server.connect("/echo").await;
    burst(&mut client, "only").await;

    // The server stops while the session is busy: it writes its close frame,
    // waits for the client's answer and reports the close once.
    let (status, ()) = tokio::join!(client.closed(), server.shutdown());
    assert_eq!(status.code(), 1012, "the default shutdown status (service restart)");
    assert_eq!(closures.next().await.code(), 1012, "after_connection_closed saw the shutdown status");
}

#[tokio::test]
async fn a_session_that_went_quiet_answers_again() {
    let (server, mut closures) = reporting_server().await;
    let mut client = server.connect("/echo").await;
    burst(&mut client, "first").await;

    // Quiet for well over the time after which a busy session rests.
    tokio::time::sleep(Duration::from_millis(700)).await;
    burst(&mut client, "second").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    client.send_text("one after another quiet spell").await;
    assert_eq!(client.recv_text().await, "one after another quiet spell");

    assert_eq!(client.close(CloseStatus::NORMAL).await, CloseStatus::NORMAL);
    assert_eq!(closures.next().await.code(), 1000, "after_connection_closed saw the client's status");
    server.shutdown().await;
}
