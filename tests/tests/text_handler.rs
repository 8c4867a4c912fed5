//! Text-only and binary-only handlers (Spring's `TextWebSocketHandler` and
//! `BinaryWebSocketHandler`): the kind a handler does not override is refused
//! with 1003 and a reason naming it.

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;
use wsboot::{Bytes, HandlerRegistry, HandlerResult, Session, Utf8Bytes, WebSocketHandler};
use wsboot_tests::{close_normally, connect, expect_close, next_message, start, within};

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
    let server = start(registry()).await;
    let mut client = connect(&server, "/text").await;
    within("sending", client.send(Message::text("hello"))).await.expect("sent");
    assert_eq!(next_message(&mut client).await, Message::text("hello"));
    close_normally(&mut client).await;
    server.stop().await;
}

#[tokio::test]
async fn text_handler_refuses_binary_with_1003() {
    let server = start(registry()).await;
    let mut client = connect(&server, "/text").await;
    within("sending", client.send(Message::binary(vec![1, 2, 3]))).await.expect("sent");
    let (code, reason) = expect_close(&mut client).await;
    assert_eq!((code, reason.as_str()), (1003, "Binary messages not supported"));
    server.stop().await;
}

#[tokio::test]
async fn binary_handler_echoes_binary() {
    let server = start(registry()).await;
    let mut client = connect(&server, "/binary").await;
    within("sending", client.send(Message::binary(vec![0, 255, 7]))).await.expect("sent");
    assert_eq!(next_message(&mut client).await, Message::binary(vec![0, 255, 7]));
    close_normally(&mut client).await;
    server.stop().await;
}

#[tokio::test]
async fn binary_handler_refuses_text_with_1003() {
    let server = start(registry()).await;
    let mut client = connect(&server, "/binary").await;
    within("sending", client.send(Message::text("hello"))).await.expect("sent");
    let (code, reason) = expect_close(&mut client).await;
    assert_eq!((code, reason.as_str()), (1003, "Text messages not supported"));
    server.stop().await;
}

#[tokio::test]
async fn messages_queued_before_the_refused_one_still_arrive() {
    // Accepted text, then binary: the echo of the text comes before the 1003.
    let server = start(registry()).await;
    let mut client = connect(&server, "/text").await;
    within("sending", client.send(Message::text("first"))).await.expect("sent");
    within("sending", client.send(Message::binary(vec![1]))).await.expect("sent");
    assert_eq!(next_message(&mut client).await, Message::text("first"));
    let (code, _) = expect_close(&mut client).await;
    assert_eq!(code, 1003);
    server.stop().await;
}
