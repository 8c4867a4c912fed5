//! The test kit's own promises: failures name the test line that called the
//! kit and what it waited for, and a close frame read with `next()` is answered.

use std::time::{Duration, Instant};

use wsboot::test::{Received, TestServer, within};
use wsboot::{CloseStatus, HandlerRegistry, HandlerResult, Server, Session, WebSocketHandler};

/// Sends nothing, ever.
struct Silent;
impl WebSocketHandler for Silent {}

/// Says hello in binary, to a test that expects text.
struct BinaryHello;
impl WebSocketHandler for BinaryHello {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        Ok(session.send(wsboot::Message::binary(b"hello".to_vec())).await?)
    }
}

/// Closes every session as soon as it opens.
struct CloseAtOnce;
impl WebSocketHandler for CloseAtOnce {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        session.close(CloseStatus::NORMAL);
        Ok(())
    }
}

/// The panic message of a failed task.
async fn failure_of<T: Send + 'static>(task: impl Future<Output = T> + Send + 'static) -> String {
    let Err(error) = within("the failing task", wsboot::spawn(task)).await else {
        panic!("the call was expected to fail the test");
    };
    let panic = error.into_panic();
    match panic.downcast::<String>() {
        Ok(message) => *message,
        Err(panic) => panic.downcast::<&str>().map(|s| s.to_string()).unwrap_or_default(),
    }
}

#[tokio::test]
async fn a_failed_assertion_names_the_line_of_the_test() {
    let server = TestServer::serve("/hello", BinaryHello).await;
    let mut client = server.connect("/hello").await;
    let line = line!() + 1;
    let message = failure_of(async move { client.recv_text().await }).await;
    assert!(message.starts_with("TestClient::recv_text at "), "{message}");
    assert!(message.contains(&format!("{}:{line}:", file!())), "points at the test, line {line}: {message}");
    assert!(message.contains("expected a text message, got Binary"), "{message}");
}

#[tokio::test]
async fn a_timeout_names_the_call_and_what_it_waited_for() {
    let server = TestServer::serve("/silent", Silent).await;
    let mut client = server.connect("/silent").await;
    client.set_timeout(Duration::from_millis(100));
    let line = line!() + 1;
    let message = failure_of(async move { client.recv().await }).await;
    assert!(message.contains(&format!("TestClient::recv at {}:{line}:", file!())), "{message}");
    assert!(message.contains("timed out after 100ms waiting for something from the server"), "{message}");
}

#[tokio::test]
async fn a_refused_start_names_the_test_line() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("no-slash", Silent);
    let line = line!() + 1;
    let message = failure_of(async move { TestServer::start(registry).await }).await;
    assert!(message.contains(&format!("TestServer::start at {}:{line}:", file!())), "{message}");
    assert!(message.contains("the test server cannot start"), "{message}");
}

#[tokio::test]
async fn next_answers_the_close_so_the_server_stops_at_once() {
    // A close timeout far longer than the test may take: a close frame left
    // unanswered would hold the session, and the shutdown, that long.
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/bye", CloseAtOnce);
    let builder = Server::builder().registry(registry).close_timeout(Duration::from_secs(30));
    let server = TestServer::start_with(builder).await;
    let mut client = server.connect("/bye").await;
    let Received::Close(status) = client.next().await else { panic!("expected the server's close frame") };
    assert_eq!(status.map(|s| s.code()), Some(CloseStatus::NORMAL.code()));
    let started = Instant::now();
    server.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(3), "shutdown took {:?}", started.elapsed());
}
