//! Text and binary echo across the frame-length encodings (7-bit, 16-bit and
//! 64-bit lengths) up to 1 MiB, content intact.

use wsboot::test::TestServer;
use wsboot::{CloseStatus, HandlerRegistry, Message};
use wsboot_tests::opcode::{BINARY, CONTINUATION, TEXT};
use wsboot_tests::{Echo, RawClient};

/// 0, the 7-bit limit and the first 16-bit length, the 16-bit limit and the
/// first 64-bit length, and 1 MiB.
const SIZES: [usize; 7] = [0, 1, 125, 126, 65535, 65536, 1 << 20];

async fn echo_server() -> TestServer {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Echo).max_message_size(4 << 20).max_frame_size(4 << 20);
    TestServer::start(registry).await
}

/// Text of `len` bytes that is not one repeated byte, so a reordering or a
/// dropped chunk shows.
fn text_of(len: usize) -> String {
    (0..len).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect()
}

/// Bytes `0..=255` in a scrambled order, `len` of them.
fn bytes_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31).wrapping_add(i >> 8) % 256) as u8).collect()
}

#[tokio::test]
async fn text_messages_come_back_intact_at_every_length_encoding() {
    let server = echo_server().await;
    let mut client = server.connect("/echo").await;
    for size in SIZES {
        let sent = text_of(size);
        client.send_text(&sent.clone()).await;
        match client.recv().await {
            Message::Text(got) => {
                assert_eq!(got.len(), size, "length of the echo of a {size}-byte text");
                assert!(got.as_str() == sent, "the echo of a {size}-byte text differs from what was sent");
            }
            other => panic!("expected a text echo of {size} bytes, got {other:?}"),
        }
    }
    client.close(CloseStatus::NORMAL).await;
    server.shutdown().await;
}

#[tokio::test]
async fn binary_messages_come_back_intact_at_every_length_encoding() {
    let server = echo_server().await;
    let mut client = server.connect("/echo").await;
    for size in SIZES {
        let sent = bytes_of(size);
        client.send(Message::binary(sent.clone())).await;
        match client.recv().await {
            Message::Binary(got) => {
                assert_eq!(got.len(), size, "length of the echo of a {size}-byte binary message");
                assert!(got[..] == sent[..], "the echo of a {size}-byte binary message differs from what was sent");
            }
            other => panic!("expected a binary echo of {size} bytes, got {other:?}"),
        }
    }
    client.close(CloseStatus::NORMAL).await;
    server.shutdown().await;
}

#[tokio::test]
async fn multibyte_text_comes_back_intact() {
    let server = echo_server().await;
    let mut client = server.connect("/echo").await;
    let sent = "héllo wörld — 日本語 🎉".repeat(5000);
    client.send_text(&sent.clone()).await;
    match client.recv().await {
        Message::Text(got) => assert!(got.as_str() == sent, "the multi-byte text came back changed"),
        other => panic!("expected a text echo, got {other:?}"),
    }
    client.close(CloseStatus::NORMAL).await;
    server.shutdown().await;
}

#[tokio::test]
async fn fragmented_messages_are_reassembled_before_the_echo() {
    // A message sent as many small frames must reach the handler (and come back)
    // as one message.
    let server = echo_server().await;
    let mut client = RawClient::connect(&server, "/echo").await;
    client.send_frame(false, TEXT, "héllo ".as_bytes(), true).await;
    // A character split across two frames.
    client.send_frame(false, CONTINUATION, &"wörld".as_bytes()[..2], true).await;
    client.send_frame(true, CONTINUATION, &"wörld".as_bytes()[2..], true).await;
    let frame = client.read_frame().await.expect("the echo");
    assert_eq!((frame.fin, frame.opcode), (true, TEXT), "{frame:?}");
    assert_eq!(String::from_utf8(frame.payload).unwrap(), "héllo wörld");

    client.send_frame(false, BINARY, &[1, 2], true).await;
    client.send_frame(false, CONTINUATION, &[], true).await;
    client.send_frame(true, CONTINUATION, &[3], true).await;
    let frame = client.read_frame().await.expect("the echo");
    assert_eq!((frame.fin, frame.opcode, frame.payload), (true, BINARY, vec![1, 2, 3]));
    drop(client);
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_close_is_echoed_with_its_code() {
    let server = echo_server().await;
    let mut client = server.connect("/echo").await;
    let answer = client.close(CloseStatus::NORMAL.with_reason("bye")).await;
    assert_eq!(answer.code(), 1000);
    server.shutdown().await;
}
