//! Text-only and binary-only handlers (Spring's `TextWebSocketHandler` and
//! `BinaryWebSocketHandler`): the kind a handler does not override is refused
//! with 1003 and a reason naming it.

use wsboot::test::TestServer;
use wsboot::{Bytes, CloseStatus, HandlerRegistry, HandlerResult, Message, Session, Utf8Bytes, WebSocketHandler};

/// Overrides only `handle_text_message`.
struct TextOnly;

impl WebSocketHandler for TextOnly {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        Ok(session.send(text).await?)
    }
}

/// Overrides only `handle_binary_message`.
struct BinaryOnly;

impl WebSocketHandler for BinaryOnly {
    async fn handle_binary_message(&self, session: &Session, data: Bytes) -> HandlerResult {
        Ok(session.send(data).await?)
    }
}

fn registry() -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/text", TextOnly);
    registry.add_handler("/binary", BinaryOnly);
    registry
}

#[tokio::test]
async fn text_handler_echoes_text() {
    let server = TestServer::start(registry()).await;
    let mut client = server.connect("/text").await;
    client.send_text("hello").await;
    assert_eq!(client.recv().await, Message::text("hello"));
    client.close(CloseStatus::NORMAL).await;
    server.shutdown().await;
}

#[tokio::test]
async fn text_handler_refuses_binary_with_1003() {
    let server = TestServer::start(registry()).await;
    let mut client = server.connect("/text").await;
    client.send(Message::binary(vec![1, 2, 3])).await;
    let closed = client.closed().await;
    let (code, reason) = (closed.code(), closed.reason().to_owned());
    assert_eq!((code, reason.as_str()), (1003, "Binary messages not supported"));
    server.shutdown().await;
}

#[tokio::test]
async fn binary_handler_echoes_binary() {
    let server = TestServer::start(registry()).await;
    let mut client = server.connect("/binary").await;
    client.send(Message::binary(vec![0, 255, 7])).await;
    assert_eq!(client.recv().await, Message::binary(vec![0, 255, 7]));
    client.close(CloseStatus::NORMAL).await;
    server.shutdown().await;
}

#[tokio::test]
async fn binary_handler_refuses_text_with_1003() {
    let server = TestServer::start(registry()).await;
    let mut client = server.connect("/binary").await;
    client.send_text("hello").await;
    let closed = client.closed().await;
    let (code, reason) = (closed.code(), closed.reason().to_owned());
    assert_eq!((code, reason.as_str()), (1003, "Text messages not supported"));
    server.shutdown().await;
}

#[tokio::test]
async fn messages_queued_before_the_refused_one_still_arrive() {
    // Accepted text, then binary: the echo of the text comes before the 1003.
    let server = TestServer::start(registry()).await;
    let mut client = server.connect("/text").await;
    client.send_text("first").await;
    client.send(Message::binary(vec![1])).await;
    assert_eq!(client.recv().await, Message::text("first"));
    let code = client.closed().await.code();
    assert_eq!(code, 1003);
    server.shutdown().await;
}
