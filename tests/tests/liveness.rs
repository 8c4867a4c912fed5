//! Liveness over raw sockets: keep-alive pings and the pong deadline, prompt
//! automatic pongs, the idle timeout, the session lifetime, and the handshake
//! timeout that drops silent and slowloris clients. Timeouts are set short so the
//! tests run fast; afterwards the server serves a normal client and its open-file
//! count returns to where it started.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::{Notify, mpsc};
use wsboot::test::{TestServer, within};
use wsboot::{
    CloseStatus, HandlerRegistry, HandlerResult, Server, ServerBuilder, Session, Utf8Bytes, WebSocketHandler,
};
use wsboot_tests::opcode::{PING, PONG, TEXT};
use wsboot_tests::open_files::{assert_recovered, open_files, serial_test};
use wsboot_tests::raw::{dribble, finish_close, read_until_closed, tcp};
use wsboot_tests::{Closures, RawClient, ReportingEcho, upgrade_request};

/// Serves a reporting echo at `/watched` and a plain one at `/echo`, with the
/// given settings.
async fn server(builder: ServerBuilder) -> (TestServer, Closures) {
    let (handler, closures) = ReportingEcho::new();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/watched", handler);
    registry.add_handler("/echo", wsboot_tests::Echo);
    (TestServer::start_with(builder.registry(registry)).await, closures)
}

/// Pings disabled: the settings of tests about other timers.
fn no_pings() -> ServerBuilder {
    Server::builder().ping(None, Duration::from_secs(10))
}

#[test]
fn the_server_pings_and_a_client_that_answers_stays_connected() {
    serial_test(async {
        let (server, _closures) = server(Server::builder().ping(Some(Duration::from_millis(50)), TIMEOUT_PONG)).await;
        let baseline = open_files();

        let mut client = RawClient::connect(&server, "/watched").await;
        for _ in 0..3 {
            let ping = client.read_frame().await.expect("a ping");
            assert_eq!(ping.opcode, PING, "{ping:?}");
            client.send_frame(true, PONG, &ping.payload, true).await;
        }
        client.send_frame(true, TEXT, b"alive", true).await;
        loop {
            let frame = client.read_frame().await.expect("the echo");
            if frame.opcode == TEXT {
                assert_eq!(frame.payload, b"alive");
                break;
            }
            assert_eq!(frame.opcode, PING, "{frame:?}");
        }
        drop(client);

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

/// Long enough never to expire in a test that answers pings.
const TIMEOUT_PONG: Duration = Duration::from_secs(30);

#[test]
fn a_client_that_never_answers_pings_is_dropped_and_reported_1006() {
    serial_test(async {
        let builder = Server::builder().ping(Some(Duration::from_millis(50)), Duration::from_millis(200));
        let (server, mut closures) = server(builder).await;
        let baseline = open_files();

        let mut client = RawClient::connect(&server, "/watched").await;
        // Read, never answer: pings arrive, then the connection ends.
        let mut pings = 0;
        while let Some(frame) = client.read_frame().await {
            assert_eq!(frame.opcode, PING, "only pings before the drop: {frame:?}");
            pings += 1;
        }
        assert!(pings >= 1, "the server pinged before giving up");
        let status = closures.next().await;
        assert_eq!(status.code(), 1006, "{status}");
        assert!(status.reason().contains("pong"), "the reported status says why: {status}");
        drop(client);

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

/// Deadlines more than two seconds away wait on the server's shared timer
/// wheel rather than a timer per session: they still fire, not early, and at
/// most a quarter second late (a second here, for a loaded machine).
#[test]
fn far_deadlines_ping_on_time_and_drop_a_silent_client_on_time() {
    serial_test(async {
        let (interval, pong) = (Duration::from_millis(2_500), Duration::from_millis(2_500));
        let (server, mut closures) = server(Server::builder().ping(Some(interval), pong)).await;
        let opened = std::time::Instant::now();
        let mut client = RawClient::connect(&server, "/watched").await;

        let ping = client.read_frame().await.expect("a ping");
        assert_eq!(ping.opcode, PING, "{ping:?}");
        let pinged = opened.elapsed();
        assert!(pinged >= interval && pinged < interval + Duration::from_secs(1), "pinged after {pinged:?}");

        // Never answered: dropped once the pong timeout has passed.
        while let Some(frame) = client.read_frame().await {
            assert_eq!(frame.opcode, PING, "only pings before the drop: {frame:?}");
        }
        let dropped = opened.elapsed();
        let due = interval + pong;
        assert!(dropped >= due && dropped < due + Duration::from_secs(1), "dropped after {dropped:?}");
        assert_eq!(closures.next().await.code(), 1006);
        server.shutdown().await;
    });
}

#[test]
fn pings_are_answered_with_their_payload_though_the_handler_sends_nothing() {
    serial_test(async {
        let (server, _closures) = server(no_pings()).await;
        let mut client = RawClient::connect(&server, "/watched").await;
        for payload in [&b""[..], b"1", &[0xab; 125]] {
            client.send_frame(true, PING, payload, true).await;
            let pong = client.read_frame().await.expect("a pong");
            assert_eq!((pong.opcode, pong.payload.as_slice()), (PONG, payload));
        }
        drop(client);
        server.shutdown().await;
    });
}

/// Holds every text message until the test releases it, sending nothing.
struct Stalling {
    entered: mpsc::UnboundedSender<()>,
    release: Arc<Notify>,
}

impl WebSocketHandler for Stalling {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        let _ = self.entered.send(());
        self.release.notified().await;
        Ok(session.send(text).await?)
    }
}

#[test]
fn a_pong_goes_out_while_the_handler_is_still_busy() {
    serial_test(async {
        let (entered, mut entries) = mpsc::unbounded_channel();
        let release = Arc::new(Notify::new());
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/stalling", Stalling { entered, release: release.clone() });
        let server = TestServer::start_with(no_pings().registry(registry)).await;

        let mut client = RawClient::connect(&server, "/stalling").await;
        // A ping and a message in one write: the message's handler will not return
        // until the pong has arrived.
        let mut both = wsboot_tests::encode_frame(true, PING, b"now", true);
        both.extend(wsboot_tests::encode_frame(true, TEXT, b"slow", true));
        client.send_raw(&both).await;
        within("the handler to start", entries.recv()).await.expect("the handler runs");
        let pong = client.read_frame().await.expect("the pong, while the handler waits");
        assert_eq!((pong.opcode, pong.payload.as_slice()), (PONG, &b"now"[..]));
        release.notify_one();
        let echo = client.read_frame().await.expect("the echo once released");
        assert_eq!(echo.payload, b"slow");
        drop(client);
        server.shutdown().await;
    });
}

/// On `flood`, sends 64 KiB messages until the session refuses them.
struct Flood {
    closed: mpsc::UnboundedSender<CloseStatus>,
}

impl WebSocketHandler for Flood {
    async fn handle_text_message(&self, session: &Session, _text: Utf8Bytes) -> HandlerResult {
        let chunk = wsboot::Bytes::from(vec![0u8; 64 << 10]);
        while session.send(chunk.clone()).await.is_ok() {}
        Ok(())
    }

    async fn after_connection_closed(&self, _session: &Session, status: &CloseStatus) {
        let _ = self.closed.send(status.clone());
    }
}

#[test]
fn a_client_that_stops_reading_is_dropped_at_the_send_time_limit_even_mid_handler() {
    serial_test(async {
        let (closed, mut closures) = mpsc::unbounded_channel();
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/flood", Flood { closed }).send_time_limit(Duration::from_millis(300));
        registry.add_handler("/echo", wsboot_tests::Echo);
        let server = TestServer::start_with(no_pings().registry(registry)).await;
        let baseline = open_files();

        // Ask for the flood, then never read: the handler is still sending when
        // the socket's buffers fill up and the write blocks.
        let mut client = RawClient::connect(&server, "/flood").await;
        client.send_frame(true, TEXT, b"flood", true).await;
        let status = within("the stuck session to be dropped", closures.recv()).await.expect("a report");
        assert_eq!(status.code(), 1006, "{status}");
        drop(client);

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn idle_sessions_are_closed_with_1001_though_pings_flow() {
    serial_test(async {
        let builder = Server::builder()
            .ping(Some(Duration::from_millis(30)), TIMEOUT_PONG)
            .idle_timeout(Some(Duration::from_millis(300)));
        let (server, mut closures) = server(builder).await;
        let baseline = open_files();

        // tokio-tungstenite answers the pings; pings and pongs are not data.
        let mut client = server.connect("/watched").await;
        let closed = client.closed().await;
        let (code, reason) = (closed.code(), closed.reason().to_owned());
        assert_eq!(code, 1001, "{reason}");
        assert!(reason.contains("idle"), "{reason}");
        assert_eq!(closures.next().await.code(), 1001);
        drop(client);

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn messages_in_either_direction_keep_an_idle_timeout_away() {
    serial_test(async {
        // Generous margins: a message every 100 ms against a 2 s idle timeout.
        let builder = no_pings().idle_timeout(Some(Duration::from_secs(2)));
        let (server, mut closures) = server(builder).await;
        let mut client = server.connect("/watched").await;
        for i in 0..40 {
            client.send(format!("{i}")).await;
            assert_eq!(client.recv_text().await, format!("{i}"), "the session is open after {i} round trips");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let code = client.closed().await.code();
        assert_eq!(code, 1001, "then it goes idle and is closed");
        assert_eq!(closures.next().await.code(), 1001);
        server.shutdown().await;
    });
}

#[test]
fn a_session_is_closed_with_1001_at_its_max_lifetime_however_busy() {
    serial_test(async {
        let builder = no_pings().max_lifetime(Some(Duration::from_millis(400)));
        let (server, mut closures) = server(builder).await;
        let baseline = open_files();

        let mut client = RawClient::connect(&server, "/watched").await;
        let reason = loop {
            client.send_frame(true, TEXT, b"busy", true).await;
            let frame = client.read_frame().await.expect("an echo or the close");
            if frame.opcode == wsboot_tests::opcode::CLOSE {
                assert_eq!(&frame.payload[..2], &1001u16.to_be_bytes(), "{frame:?}");
                break String::from_utf8(frame.payload[2..].to_vec()).expect("UTF-8");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(reason.contains("lifetime"), "{reason}");
        finish_close(client, 1001).await;
        let status: CloseStatus = closures.next().await;
        assert_eq!(status.code(), 1001);

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn a_connection_that_sends_nothing_is_dropped_at_the_handshake_timeout() {
    serial_test(async {
        let (server, _closures) = server(no_pings().handshake_timeout(Duration::from_millis(200))).await;
        let baseline = open_files();

        let mut silent: Vec<_> = Vec::new();
        for _ in 0..20 {
            silent.push(tcp(server.tcp_addr()).await);
        }
        for stream in &mut silent {
            let answer = read_until_closed(stream).await;
            assert!(answer.is_empty(), "dropped without an answer: {:?}", String::from_utf8_lossy(&answer));
        }
        drop(silent);

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn a_client_dribbling_its_request_is_dropped_at_the_handshake_timeout() {
    serial_test(async {
        // One byte every 20 ms: the ~170-byte request would take over 3 s; the
        // handshake must be done 300 ms after the connect, however steady the trickle.
        let (server, _closures) = server(no_pings().handshake_timeout(Duration::from_millis(300))).await;
        let baseline = open_files();

        let request = upgrade_request("/watched", "");
        let mut slowloris = tcp(server.tcp_addr()).await;
        let (answer, dropped) = dribble(&mut slowloris, request.as_bytes(), Duration::from_millis(20)).await;
        assert!(dropped, "the connection was dropped before the request was complete");
        assert!(answer.is_empty(), "no answer: {:?}", String::from_utf8_lossy(&answer));
        drop(slowloris);

        // The same request one byte at a time, fast: a fragmented request is fine.
        let mut quick = tcp(server.tcp_addr()).await;
        let (answer, dropped) = dribble(&mut quick, request.as_bytes(), Duration::ZERO).await;
        assert!(!dropped, "a quick client finishes its request");
        let answer = if answer.is_empty() { read_response_start(&mut quick).await } else { answer };
        assert!(answer.starts_with(b"HTTP/1.1 101 "), "{:?}", String::from_utf8_lossy(&answer));
        drop(quick);

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

/// The first bytes of the server's answer.
async fn read_response_start(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut chunk = [0u8; 256];
    let n = within("the response", tokio::io::AsyncReadExt::read(stream, &mut chunk)).await.expect("readable");
    chunk[..n].to_vec()
}

#[test]
fn the_handshake_timeout_does_not_cut_open_sessions() {
    serial_test(async {
        let (server, _closures) = server(no_pings().handshake_timeout(Duration::from_millis(100))).await;
        let mut client = server.connect("/watched").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        client.send("later").await;
        assert_eq!(client.recv_text().await, "later");
        // And a silent TCP connection next to it is still dropped.
        let mut silent = tcp(server.tcp_addr()).await;
        silent.write_all(b"GET /watched HTTP/1.1\r\n").await.expect("written");
        assert!(read_until_closed(&mut silent).await.is_empty());
        client.close(CloseStatus::NORMAL).await;
        server.shutdown().await;
    });
}

/// For each text message, sends twelve numbered replies 100 ms apart: one
/// handler call (1.2 s) that outlasts an 800 ms idle timeout while data keeps
/// flowing.
struct Streamer;

impl WebSocketHandler for Streamer {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        for i in 0..12 {
            session.send(format!("{text} {i}")).await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }
}

#[test]
fn messages_a_long_handler_call_sends_keep_an_idle_timeout_away() {
    serial_test(async {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/stream", Streamer);
        let server =
            TestServer::start_with(no_pings().idle_timeout(Some(Duration::from_millis(800))).registry(registry)).await;
        let mut client = server.connect("/stream").await;
        client.send("tick").await;
        for i in 0..12 {
            assert_eq!(client.recv_text().await, format!("tick {i}"));
        }
        // The call ends 1.2 s after the message that started it; 0.3 s after its
        // last send, the session is not idle (it was 0.5 s short of its deadline).
        tokio::time::sleep(Duration::from_millis(300)).await;
        client.send("again").await;
        assert_eq!(client.recv_text().await, "again 0", "the session is still open");
        drop(client);
        server.shutdown().await;
    });
}
