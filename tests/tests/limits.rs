//! Protocol enforcement: messages over the route's size limit close with 1009,
//! invalid UTF-8 in text with 1007, unmasked client frames with 1002, and the
//! handler is told the status.

use wsboot::test::TestServer;
use wsboot::{CloseStatus, HandlerRegistry, Message};
use wsboot_tests::opcode::{BINARY, CLOSE, CONTINUATION, TEXT};
use wsboot_tests::{Closures, RawClient, ReportingEcho};

/// The route's message limit.
const LIMIT: usize = 1024;

async fn limited_server() -> (TestServer, Closures) {
    let (handler, closed) = ReportingEcho::new();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/limited", handler).max_message_size(LIMIT);
    (TestServer::start(registry).await, closed)
}

async fn reported(closed: &mut Closures) -> u16 {
    closed.next().await.code()
}

/// Reads the server's close frame, answers it, and checks that the server then
/// ends the connection; returns the code and reason.
async fn expect_raw_close(client: &mut RawClient) -> (u16, String) {
    let (code, reason) = client.expect_close().await;
    let code = code.expect("the close frame carries a status code");
    client.send_frame(true, CLOSE, &code.to_be_bytes(), true).await;
    assert_eq!(client.read_frame().await, None, "the server ends the connection after the closing handshake");
    (code, reason)
}

#[tokio::test]
async fn messages_up_to_the_limit_pass() {
    let (server, _closed) = limited_server().await;
    let mut client = server.connect("/limited").await;
    let text = "x".repeat(LIMIT);
    client.send_text(&text.clone()).await;
    assert_eq!(client.recv().await, Message::text(text));
    client.send(Message::binary(vec![7u8; LIMIT])).await;
    assert_eq!(client.recv().await, Message::binary(vec![7u8; LIMIT]));
    client.close(CloseStatus::NORMAL).await;
    server.shutdown().await;
}

#[tokio::test]
async fn text_over_the_limit_closes_with_1009() {
    let (server, mut closed) = limited_server().await;
    let mut client = server.connect("/limited").await;
    client.send_text(&"x".repeat(LIMIT + 1)).await;
    let code = client.closed().await.code();
    assert_eq!(code, 1009);
    assert_eq!(reported(&mut closed).await, 1009);
    server.shutdown().await;
}

#[tokio::test]
async fn binary_over_the_limit_closes_with_1009() {
    let (server, mut closed) = limited_server().await;
    let mut client = server.connect("/limited").await;
    client.send(Message::binary(vec![0u8; 4 * LIMIT])).await;
    let code = client.closed().await.code();
    assert_eq!(code, 1009);
    assert_eq!(reported(&mut closed).await, 1009);
    server.shutdown().await;
}

#[tokio::test]
async fn fragments_adding_up_over_the_limit_close_with_1009() {
    let (server, mut closed) = limited_server().await;
    let mut client = RawClient::connect(&server, "/limited").await;
    let half = vec![b'a'; LIMIT / 2 + 1];
    client.send_frame(false, BINARY, &half, true).await;
    client.send_frame(true, CONTINUATION, &half, true).await;
    let (code, _) = expect_raw_close(&mut client).await;
    assert_eq!(code, 1009);
    assert_eq!(reported(&mut closed).await, 1009);
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_utf8_text_closes_with_1007() {
    let (server, mut closed) = limited_server().await;
    let mut client = RawClient::connect(&server, "/limited").await;
    client.send_frame(true, TEXT, b"valid, then \xff\xfe", true).await;
    let (code, _) = expect_raw_close(&mut client).await;
    assert_eq!(code, 1007);
    assert_eq!(reported(&mut closed).await, 1007);
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_utf8_across_fragments_closes_with_1007() {
    let (server, mut closed) = limited_server().await;
    let mut client = RawClient::connect(&server, "/limited").await;
    // "é" is C3 A9; C3 followed by a non-continuation byte is invalid.
    client.send_frame(false, TEXT, b"caf\xc3", true).await;
    client.send_frame(true, CONTINUATION, b"(", true).await;
    let (code, _) = expect_raw_close(&mut client).await;
    assert_eq!(code, 1007);
    assert_eq!(reported(&mut closed).await, 1007);
    server.shutdown().await;
}

#[tokio::test]
async fn a_valid_character_split_across_fragments_is_accepted() {
    let (server, _closed) = limited_server().await;
    let mut client = RawClient::connect(&server, "/limited").await;
    client.send_frame(false, TEXT, b"caf\xc3", true).await;
    client.send_frame(true, CONTINUATION, b"\xa9", true).await;
    let echo = client.read_frame().await.expect("the echo");
    assert_eq!((echo.opcode, echo.payload), (TEXT, "café".as_bytes().to_vec()));
    drop(client);
    server.shutdown().await;
}

#[tokio::test]
async fn an_unmasked_client_frame_closes_with_1002() {
    let (server, mut closed) = limited_server().await;
    let mut client = RawClient::connect(&server, "/limited").await;
    client.send_frame(true, TEXT, b"hello", false).await;
    let (code, _) = expect_raw_close(&mut client).await;
    assert_eq!(code, 1002);
    assert_eq!(reported(&mut closed).await, 1002);
    server.shutdown().await;
}

#[tokio::test]
async fn the_session_keeps_working_until_the_violation() {
    // A masked frame is echoed; the unmasked one after it closes the session.
    let (server, mut closed) = limited_server().await;
    let mut client = RawClient::connect(&server, "/limited").await;
    client.send_frame(true, TEXT, b"fine", true).await;
    let echo = client.read_frame().await.expect("the echo");
    assert_eq!((echo.opcode, echo.payload.as_slice()), (TEXT, &b"fine"[..]));
    client.send_frame(true, TEXT, b"not masked", false).await;
    let (code, _) = expect_raw_close(&mut client).await;
    assert_eq!(code, 1002);
    assert_eq!(reported(&mut closed).await, 1002);
    server.shutdown().await;
}
