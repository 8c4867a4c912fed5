//! permessage-deflate (RFC 7692) against a real server: negotiation of every
//! parameter, declined offers, compressed messages both ways (whole, fragmented,
//! with and without context takeover) and the zip-bomb guard, spoken by the
//! test kit's [`DeflateClient`] (tokio-tungstenite has no compression).

use wsboot::test::{TestServer, within};
use wsboot::{Bytes, DeflateConfig, HandlerRegistry, HandlerResult, Server, Session, Utf8Bytes, WebSocketHandler};
use wsboot_tests::Echo;
use wsboot_tests::deflate::{DeflateClient, inflate_tracking_distance};
use wsboot_tests::opcode::{BINARY, CONTINUATION, PING, PONG, TEXT};

/// Echoes like [`Echo`], and answers the text `extensions?` with what
/// `Session::extensions()` reports.
struct Reporter;

impl WebSocketHandler for Reporter {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        if text.as_str() == "extensions?" {
            let extensions: Vec<&str> = session.extensions().collect();
            return Ok(session.send(format!("extensions: {}", extensions.join(", "))).await?);
        }
        Ok(session.send(text).await?)
    }

    async fn handle_binary_message(&self, session: &Session, data: Bytes) -> HandlerResult {
        Ok(session.send(data).await?)
    }
}

/// A server with `/echo` compressing with `config`, `/plain` without compression.
async fn server_with(config: DeflateConfig) -> TestServer {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Reporter).deflate_config(config).max_message_size(64 << 10);
    registry.add_handler("/plain", Echo);
    TestServer::start(registry).await
}

async fn server() -> TestServer {
    server_with(DeflateConfig::enabled()).await
}

/// A chat-like JSON message.
fn chat(i: usize) -> String {
    format!(
        r#"{{"type":"message","room":"general","user":"user{}","sentAt":"2026-01-01T10:{:02}:00Z","text":"message number {i} about the weekly planning meeting"}}"#,
        i % 5,
        i % 60
    )
}

#[tokio::test]
async fn a_browser_offer_is_accepted_and_the_session_reports_it() {
    let server = server().await;
    // What Chromium and Firefox send.
    let mut client = DeflateClient::connect(&server, "/echo", Some("permessage-deflate; client_max_window_bits")).await;
    assert_eq!(client.extensions.as_deref(), Some("permessage-deflate"));
    client.send_compressed_text("extensions?").await;
    assert_eq!(client.next_text().await, "extensions: permessage-deflate");
    let text = chat(1);
    client.send_compressed_text(&text).await;
    let (opcode, compressed, payload, wire) = client.next_message().await;
    assert_eq!((opcode, payload), (TEXT, text.clone().into_bytes()));
    assert!(compressed, "the echo comes back compressed (RSV1)");
    assert!(wire < text.len(), "{wire} bytes on the wire for {}", text.len());
    // Uncompressed messages stay allowed, and messages under the threshold are
    // sent as they are.
    client.send_frame(0x80 | TEXT, b"tiny").await;
    assert_eq!(client.next_message().await, (TEXT, false, b"tiny".to_vec(), 4));
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn binary_messages_are_compressed_too() {
    let server = server().await;
    let mut client = DeflateClient::connect(&server, "/echo", Some("permessage-deflate")).await;
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let compressed = client.deflate(&data);
    client.send_frame(0x80 | 0x40 | BINARY, &compressed).await;
    let (opcode, rsv1, payload, wire) = client.next_message().await;
    assert_eq!((opcode, rsv1), (BINARY, true));
    assert_eq!(payload, data);
    assert!(wire < data.len() / 4, "{wire} bytes on the wire for {}", data.len());
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn server_no_context_takeover_makes_every_message_stand_alone() {
    let server = server().await;
    let offer = "permessage-deflate; server_no_context_takeover";
    let mut client = DeflateClient::connect(&server, "/echo", Some(offer)).await;
    assert_eq!(client.extensions.as_deref(), Some(offer));
    let text = chat(7);
    let mut frames = Vec::new();
    for _ in 0..3 {
        client.send_compressed_text(&text).await;
        // Each message must inflate alone: reset the client's inflater each time.
        client.decompress.reset(false);
        let (_, rsv1, payload, wire) = client.next_message().await;
        assert!(rsv1);
        assert_eq!(payload, text.as_bytes());
        frames.push(wire);
    }
    assert!(frames.iter().all(|&w| w == frames[0]), "identical messages, identical frames: {frames:?}");
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn client_no_context_takeover_is_acknowledged_and_honoured() {
    let server = server().await;
    let offer = "permessage-deflate; client_no_context_takeover";
    let mut client = DeflateClient::connect_with(server.tcp_addr(), "/echo", Some(offer), 15, 15, true).await;
    assert_eq!(client.extensions.as_deref(), Some(offer));
    for i in 0..20 {
        let text = chat(i);
        client.send_compressed_text(&text).await;
        assert_eq!(client.next_text().await, text);
    }
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn server_max_window_bits_limits_the_servers_window() {
    let server = server().await;
    // Repeats 1,000 bytes apart: with a 32 KiB window the server refers back to
    // them; with a 512-byte one it cannot.
    let block: String = (0..1000).map(|i| char::from(b'a' + ((i * 7 + i / 26) % 26) as u8)).collect();
    let text = block.repeat(8);
    for (offer, window) in [("permessage-deflate", 1 << 15), ("permessage-deflate; server_max_window_bits=9", 512)] {
        let mut client = DeflateClient::connect(&server, "/echo", Some(offer)).await;
        assert_eq!(client.extensions.as_deref(), Some(offer));
        client.send_compressed_text(&text).await;
        let frame = loop {
            let frame = client.read_frame().await.expect("the echo");
            if frame.opcode == TEXT {
                break frame;
            }
        };
        assert!(frame.rsv1, "compressed");
        let (inflated, farthest) = inflate_tracking_distance(&frame.payload);
        assert_eq!(inflated, text.as_bytes());
        assert!(farthest <= window, "{offer}: a reference {farthest} bytes back");
        if window == 1 << 15 {
            assert!(farthest >= 1000, "the check can see far references ({farthest})");
        }
        client.close().await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn client_max_window_bits_is_answered_and_used() {
    let server = server().await;
    let offer = "permessage-deflate; client_max_window_bits=10";
    let mut client = DeflateClient::connect_with(server.tcp_addr(), "/echo", Some(offer), 10, 15, false).await;
    assert_eq!(client.extensions.as_deref(), Some(offer));
    for i in 0..10 {
        let text = chat(i).repeat(20);
        client.send_compressed_text(&text).await;
        assert_eq!(client.next_text().await, text);
    }
    client.close().await;
    // The server's own limit applies when lower, and a bare client_max_window_bits
    // lets it choose.
    let mut config = DeflateConfig::enabled();
    config.max_window_bits = 11;
    let limited = server_with(config).await;
    let client = DeflateClient::connect_with(
        limited.tcp_addr(),
        "/echo",
        Some("permessage-deflate; client_max_window_bits"),
        11,
        11,
        false,
    )
    .await;
    assert_eq!(
        client.extensions.as_deref(),
        Some("permessage-deflate; server_max_window_bits=11; client_max_window_bits=11")
    );
    client.close().await;
    limited.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_without_context_takeover_says_so_for_both_sides() {
    let mut config = DeflateConfig::enabled();
    config.context_takeover = false;
    let server = server_with(config).await;
    let mut client =
        DeflateClient::connect_with(server.tcp_addr(), "/echo", Some("permessage-deflate"), 15, 15, true).await;
    assert_eq!(
        client.extensions.as_deref(),
        Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    );
    for i in 0..5 {
        let text = chat(i);
        client.send_compressed_text(&text).await;
        client.decompress.reset(false);
        assert_eq!(client.next_text().await, text);
    }
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_offers_are_declined_without_an_extension_header() {
    let server = server().await;
    for offer in [
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=08",
        "permessage-deflate; unknown_parameter",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; server_no_context_takeover=yes",
        "permessage-deflate;",
        "x-webkit-deflate-frame",
    ] {
        let mut client = DeflateClient::connect(&server, "/echo", Some(offer)).await;
        assert_eq!(client.extensions, None, "{offer:?} is declined");
        // Without the extension, RSV1 is a protocol error.
        let data = client.deflate(b"hello hello hello");
        client.send_frame(0x80 | 0x40 | TEXT, &data).await;
        let (code, reason) = client.expect_close().await;
        assert_eq!(code, 1002, "{offer:?}: {reason}");
    }
    // The next acceptable offer is taken, in the client's order.
    let client = DeflateClient::connect(
        &server,
        "/echo",
        Some("permessage-deflate; bogus, permessage-deflate; server_max_window_bits=12"),
    )
    .await;
    assert_eq!(client.extensions.as_deref(), Some("permessage-deflate; server_max_window_bits=12"));
    client.close().await;
    // A handler without compression ignores the offer.
    let client = DeflateClient::connect(&server, "/plain", Some("permessage-deflate")).await;
    assert_eq!(client.extensions, None);
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_zip_bomb_closes_with_1009_before_inflating() {
    let server = server().await; // 64 KiB message limit on /echo
    let mut client = DeflateClient::connect(&server, "/echo", Some("permessage-deflate")).await;
    // 16 MiB of zeros in about 16 KiB: within every wire limit.
    let bomb = client.deflate(&vec![0u8; 16 << 20]);
    assert!(bomb.len() < 32 << 10, "{} bytes", bomb.len());
    client.send_frame(0x80 | 0x40 | BINARY, &bomb).await;
    let (code, reason) = client.expect_close().await;
    assert_eq!(code, 1009, "{reason}");
    assert!(reason.contains("inflates past the limit of 65536"), "{reason}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_message_just_under_the_limit_inflates() {
    let server = server().await;
    let mut client = DeflateClient::connect(&server, "/echo", Some("permessage-deflate")).await;
    let data = vec![7u8; 64 << 10];
    let compressed = client.deflate(&data);
    client.send_frame(0x80 | 0x40 | BINARY, &compressed).await;
    assert_eq!(client.next_message().await.2, data);
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn context_takeover_holds_across_many_messages() {
    let server = server().await;
    let mut client = DeflateClient::connect(&server, "/echo", Some("permessage-deflate")).await;
    let (mut first_sent, mut first_received) = (0, 0);
    let (mut last_sent, mut last_received) = (0, 0);
    for i in 0..300 {
        let text = chat(i);
        let sent = client.send_compressed_text(&text).await;
        let (opcode, rsv1, payload, received) = client.next_message().await;
        assert_eq!((opcode, rsv1), (TEXT, true));
        assert_eq!(String::from_utf8(payload).unwrap(), text, "message {i}");
        if i == 0 {
            (first_sent, first_received) = (sent, received);
        }
        (last_sent, last_received) = (sent, received);
    }
    // Later messages refer back to earlier ones: both sides kept their window.
    assert!(last_received * 3 < first_received, "server: first {first_received} B, last {last_received} B");
    assert!(last_sent * 3 < first_sent, "client: first {first_sent} B, last {last_sent} B");
    let text = chat(1000);
    assert!(last_received * 4 < text.len(), "{last_received} B on the wire for a {}-byte message", text.len());
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_compressed_message_split_across_fragments_arrives_whole() {
    let server = server().await;
    let mut client = DeflateClient::connect(&server, "/echo", Some("permessage-deflate")).await;
    let text: String = (0..40).map(chat).collect();
    let data = client.deflate(text.as_bytes());
    let third = data.len() / 3;
    // RSV1 only on the first frame; a ping between fragments is answered.
    client.send_frame(0x40 | TEXT, &data[..third]).await;
    client.send_frame(0x80 | PING, b"between").await;
    client.send_frame(CONTINUATION, &data[third..2 * third]).await;
    client.send_frame(0x80 | CONTINUATION, &data[2 * third..]).await;
    let pong = client.read_frame().await.expect("a pong");
    assert_eq!((pong.opcode, pong.payload.as_slice()), (PONG, &b"between"[..]));
    assert_eq!(client.next_text().await, text);
    // RSV1 on a continuation frame is a protocol error.
    let data = client.deflate(text.as_bytes());
    client.send_frame(0x40 | TEXT, &data[..10]).await;
    client.send_frame(0x80 | 0x40 | CONTINUATION, &data[10..]).await;
    let (code, reason) = client.expect_close().await;
    assert_eq!(code, 1002, "{reason}");
    assert!(reason.contains("continuation"), "{reason}");
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_compressed_data_closes_with_1007() {
    let server = server().await;
    let mut client = DeflateClient::connect(&server, "/echo", Some("permessage-deflate")).await;
    client.send_frame(0x80 | 0x40 | TEXT, &[0xff, 0xff, 0xff, 0xff]).await;
    assert_eq!(client.expect_close().await.0, 1007);
    // Valid DEFLATE that inflates to invalid UTF-8 in a text message, too.
    let mut client = DeflateClient::connect(&server, "/echo", Some("permessage-deflate")).await;
    let data = client.deflate(b"valid until \xff");
    client.send_frame(0x80 | 0x40 | TEXT, &data).await;
    assert_eq!(client.expect_close().await.0, 1007);
    server.shutdown().await;
}

/// Subscribes every session to one room; `publish:TEXT` publishes TEXT there,
/// `ready?` answers `ready` (so the subscription is known to be in place).
struct Room;

impl WebSocketHandler for Room {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        Ok(session.subscribe("room").await?)
    }

    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        if let Some(message) = text.as_str().strip_prefix("publish:") {
            session.hub().publish("room", message.to_owned()).await.unwrap();
        } else if text.as_str() == "ready?" {
            session.send("ready").await?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_broadcast_reaches_every_kind_of_session_compressed_as_negotiated() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/room", Room).deflate(true);
    let server = TestServer::start(registry).await;
    let fresh = "permessage-deflate; server_no_context_takeover";
    let mut clients = Vec::new();
    for offer in [Some(fresh), Some(fresh), Some(fresh), Some("permessage-deflate"), None] {
        let mut client = DeflateClient::connect(&server, "/room", offer).await;
        // Messages are handled after after_connection_established: subscribed.
        client.send_frame(0x80 | TEXT, b"ready?").await;
        assert_eq!(client.next_text().await, "ready");
        clients.push(client);
    }
    let text: String = (0..20).map(chat).collect();
    for round in 0..2 {
        let mut fresh_frames = Vec::new();
        clients[0].send_frame(0x80 | TEXT, format!("publish:{text}").as_bytes()).await;
        for (i, client) in clients.iter_mut().enumerate() {
            let (opcode, rsv1, payload, wire) = client.next_message().await;
            assert_eq!(opcode, TEXT);
            assert_eq!(String::from_utf8(payload).unwrap(), text, "client {i}, round {round}");
            assert_eq!(rsv1, i < 4, "client {i} receives compression as negotiated");
            if i < 3 {
                fresh_frames.push(wire);
            }
            if rsv1 {
                assert!(wire * 4 < text.len(), "client {i}: {wire} bytes for {}", text.len());
            }
        }
        assert!(fresh_frames.iter().all(|&w| w == fresh_frames[0]), "{fresh_frames:?}");
    }
    for client in clients {
        client.close().await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn compression_can_be_enabled_server_wide_and_refused_per_handler() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/on", Echo);
    registry.add_handler("/off", Echo).deflate(false);
    let server = Server::builder()
        .registry(registry)
        .deflate(DeflateConfig::enabled())
        .bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve_with_shutdown(async {
        let _ = stopped.await;
    }));
    let on = DeflateClient::connect_with(addr, "/on", Some("permessage-deflate"), 15, 15, false).await;
    assert_eq!(on.extensions.as_deref(), Some("permessage-deflate"));
    on.close().await;
    let off = DeflateClient::connect_with(addr, "/off", Some("permessage-deflate"), 15, 15, false).await;
    assert_eq!(off.extensions, None);
    off.close().await;
    stop.send(()).unwrap();
    within("the server to stop", serving).await.unwrap().unwrap();
}

#[tokio::test]
async fn invalid_settings_fail_at_startup_naming_the_handler() {
    let mut config = DeflateConfig::enabled();
    config.max_window_bits = 8;
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/x", Echo).deflate_config(config);
    let error = Server::builder().registry(registry).bind("127.0.0.1:0").await.expect_err("refused");
    let message = error.to_string();
    assert!(message.contains("`deflate.max_window_bits` must be") && message.contains("found 8"), "{message}");
    assert!(message.contains("Echo"), "{message}");
}
