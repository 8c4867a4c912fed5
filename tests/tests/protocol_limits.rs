//! Size limits over raw sockets: a frame or message over its limit closes the
//! session with 1009, decided from the frame header before the payload arrives;
//! per-handler limits override the server's; `Session` reports and changes the
//! limits. After each scenario the server serves a normal client and its
//! open-file count returns to where it started.

use tokio::sync::mpsc;
use wsboot::test::{TestServer, within};
use wsboot::{CloseStatus, HandlerRegistry, HandlerResult, Server, Session, Utf8Bytes, WebSocketHandler, ws_handler};
use wsboot_tests::opcode::{BINARY, CONTINUATION, TEXT};
use wsboot_tests::open_files::{assert_recovered, open_files, serial_test};
use wsboot_tests::raw::{finish_close, frame_header};
use wsboot_tests::{RawClient, ReportingEcho};

/// Serves `registry` plus a plain echo at `/echo`, with the server-wide limits
/// of `builder`.
async fn server(builder: wsboot::ServerBuilder, mut registry: HandlerRegistry) -> TestServer {
    registry.add_handler("/echo", wsboot_tests::Echo);
    TestServer::start_with(builder.registry(registry)).await
}

/// Reads the server's close frame, answers it, and returns its code and reason
/// once the connection is closed.
async fn closed_with(mut client: RawClient) -> (u16, String) {
    let (code, reason) = client.expect_close().await;
    let code = code.expect("the close frame carries a status code");
    finish_close(client, code).await;
    (code, reason)
}

/// Sends one masked frame and expects it echoed back whole.
async fn round_trip(client: &mut RawClient, opcode: u8, payload: &[u8]) {
    client.send_frame(true, opcode, payload, true).await;
    let echoed = client.read_frame().await.expect("an echo");
    assert_eq!((echoed.opcode, echoed.payload.len()), (opcode, payload.len()), "the message is echoed whole");
}

#[test]
fn a_header_announcing_2_pow_63_bytes_closes_with_1009_before_any_payload() {
    serial_test(async {
        let (handler, mut closures) = ReportingEcho::new();
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/limited", handler);
        let server = server(Server::builder(), registry).await;
        let baseline = open_files();

        for opcode in [BINARY, TEXT] {
            let mut client = RawClient::connect(&server, "/limited").await;
            // Only the 14 header bytes: a server that reserved or waited for the
            // announced payload would never answer.
            client.send_raw(&frame_header(true, opcode, 1 << 63)).await;
            let (code, reason) = closed_with(client).await;
            assert_eq!(code, 1009, "{reason}");
            assert!(
                reason.contains("9223372036854775808") && reason.contains("limit"),
                "the reason names both: {reason}"
            );
            assert_eq!(closures.next().await.code(), 1009, "after_connection_closed sees 1009");
        }
        // The largest length the header can carry, on a fragment of a started message.
        let mut client = RawClient::connect(&server, "/limited").await;
        client.send_frame(false, BINARY, b"start", true).await;
        client.send_raw(&frame_header(true, CONTINUATION, u64::MAX >> 1)).await;
        assert_eq!(closed_with(client).await.0, 1009);
        assert_eq!(closures.next().await.code(), 1009);

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn max_frame_size_limits_each_frame_even_when_the_message_would_fit() {
    serial_test(async {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/frames", ReportingEcho::new().0).max_frame_size(1000).max_message_size(1 << 20);
        let server = server(Server::builder(), registry).await;
        let baseline = open_files();

        // Two fragments of 1000 bytes each: every frame fits, and so does the message.
        let mut client = RawClient::connect(&server, "/frames").await;
        client.send_frame(false, BINARY, &[7; 1000], true).await;
        client.send_frame(true, CONTINUATION, &[7; 1000], true).await;
        let echoed = client.read_frame().await.expect("the reassembled message");
        assert_eq!(echoed.payload.len(), 2000);
        // One frame of 1001 bytes: over the frame limit, though far under the message limit.
        client.send_raw(&frame_header(true, BINARY, 1001)).await;
        let (code, reason) = closed_with(client).await;
        assert_eq!(code, 1009, "{reason}");
        assert!(reason.contains("frame") && reason.contains("1000"), "the reason names the frame limit: {reason}");

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn routes_without_their_own_limit_use_the_servers_and_handler_limits_override_it() {
    serial_test(async {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/default", ReportingEcho::new().0);
        registry.add_handler("/bigger", ReportingEcho::new().0).max_message_size(4000).max_frame_size(4000);
        registry.add_handler("/smaller", ReportingEcho::new().0).max_message_size(100);
        let builder = Server::builder().max_message_size(1000).max_frame_size(1000);
        let server = server(builder, registry).await;
        let baseline = open_files();

        let mut client = RawClient::connect(&server, "/default").await;
        round_trip(&mut client, TEXT, &[b'a'; 1000]).await;
        client.send_frame(true, TEXT, &[b'a'; 1001], true).await;
        assert_eq!(closed_with(client).await.0, 1009, "the server's limit applies");

        let mut client = RawClient::connect(&server, "/bigger").await;
        round_trip(&mut client, BINARY, &[1; 3000]).await;
        client.send_frame(true, BINARY, &[1; 4001], true).await;
        assert_eq!(closed_with(client).await.0, 1009, "the handler's larger limit applies");

        let mut client = RawClient::connect(&server, "/smaller").await;
        round_trip(&mut client, BINARY, &[1; 100]).await;
        client.send_frame(true, BINARY, &[1; 101], true).await;
        let (code, reason) = closed_with(client).await;
        assert_eq!(code, 1009, "the handler's smaller limit applies");
        assert!(reason.contains("limit of 100"), "{reason}");

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

/// Reports the session's limits when it opens; `text N` / `binary N` change
/// them; everything else is echoed.
struct LimitSetter {
    closed: mpsc::UnboundedSender<CloseStatus>,
}

impl WebSocketHandler for LimitSetter {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        let report = format!("{} {}", session.text_message_size_limit(), session.binary_message_size_limit());
        Ok(session.send(report).await?)
    }

    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        match text.as_str().split_once(' ') {
            Some(("text", n)) => session.set_text_message_size_limit(n.parse()?),
            Some(("binary", n)) => session.set_binary_message_size_limit(n.parse()?),
            _ => return Ok(session.send(text).await?),
        }
        Ok(session.send("ok").await?)
    }

    async fn handle_binary_message(&self, session: &Session, data: wsboot::Bytes) -> HandlerResult {
        Ok(session.send(data).await?)
    }

    async fn after_connection_closed(&self, _session: &Session, status: &CloseStatus) {
        let _ = self.closed.send(status.clone());
    }
}

async fn next_text(client: &mut RawClient) -> String {
    let frame = client.read_frame().await.expect("a text message");
    assert_eq!(frame.opcode, TEXT, "{frame:?}");
    String::from_utf8(frame.payload).expect("UTF-8")
}

#[test]
fn the_session_reports_its_limits_and_its_setters_apply_to_later_messages() {
    serial_test(async {
        let (closed, received) = mpsc::unbounded_channel();
        let mut closures = received;
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/setter", LimitSetter { closed }).max_message_size(5000);
        let server = server(Server::builder(), registry).await;
        let baseline = open_files();

        let mut client = RawClient::connect(&server, "/setter").await;
        assert_eq!(next_text(&mut client).await, "5000 5000", "the route's limit, for text and binary");
        client.send_frame(true, TEXT, b"text 20", true).await;
        assert_eq!(next_text(&mut client).await, "ok");
        round_trip(&mut client, TEXT, &[b'x'; 20]).await;
        round_trip(&mut client, BINARY, &[0; 4000]).await; // binary keeps its own limit
        client.send_frame(true, TEXT, &[b'x'; 21], true).await;
        let (code, reason) = closed_with(client).await;
        assert_eq!(code, 1009);
        assert!(reason.contains("text") && reason.contains("limit of 20"), "{reason}");
        assert_eq!(within("the close report", closures.recv()).await.expect("a report").code(), 1009);

        let mut client = RawClient::connect(&server, "/setter").await;
        assert_eq!(next_text(&mut client).await, "5000 5000", "a new session starts from the route's limit");
        client.send_frame(true, TEXT, b"binary 10", true).await;
        assert_eq!(next_text(&mut client).await, "ok");
        round_trip(&mut client, TEXT, &[b'x'; 4000]).await; // text keeps its own limit
        client.send_frame(true, BINARY, &[0; 11], true).await;
        let (code, reason) = closed_with(client).await;
        assert_eq!(code, 1009);
        assert!(reason.contains("binary") && reason.contains("limit of 10"), "{reason}");

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

/// The attribute form of the per-handler limits.
#[derive(Default)]
#[ws_handler("/annotated", max_message_size = 64, max_frame_size = 32)]
struct Annotated;

impl WebSocketHandler for Annotated {
    async fn handle_binary_message(&self, session: &Session, data: wsboot::Bytes) -> HandlerResult {
        Ok(session.send(data).await?)
    }
}

#[test]
fn ws_handler_attribute_limits_reach_the_server() {
    serial_test(async {
        // The registry `Server::bind` uses: this binary's `#[ws_handler]`s.
        let server = server(Server::builder(), HandlerRegistry::from_annotations()).await;
        let baseline = open_files();

        let mut client = RawClient::connect(&server, "/annotated").await;
        // Two 32-byte fragments (the frame limit) make a 64-byte message (the message limit).
        client.send_frame(false, BINARY, &[1; 32], true).await;
        client.send_frame(true, CONTINUATION, &[1; 32], true).await;
        assert_eq!(client.read_frame().await.expect("the echo").payload.len(), 64);
        client.send_frame(true, BINARY, &[1; 33], true).await;
        assert_eq!(closed_with(client).await.0, 1009, "a 33-byte frame is over the frame limit");

        let mut client = RawClient::connect(&server, "/annotated").await;
        client.send_frame(false, BINARY, &[1; 32], true).await;
        client.send_frame(false, CONTINUATION, &[1; 32], true).await;
        client.send_frame(true, CONTINUATION, &[1; 1], true).await;
        assert_eq!(closed_with(client).await.0, 1009, "a 65-byte message is over the message limit");

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}
