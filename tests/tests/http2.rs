//! WebSockets over HTTP/2 (RFC 8441) on wsboot's own listener, with Rust's
//! `h2` client: h2c with prior knowledge and `h2` by ALPN over TLS, several
//! sessions on one connection, each with the full handler semantics; bad
//! extended CONNECTs answered with the right status; a reset stream ends its
//! session only; HTTP/1.1 upgrades keep working on the same port; each
//! WebSocket counts against `max_connections` beside its connection.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use wsboot::test::{TestServer, within};
use wsboot::{CloseStatus, HandlerRegistry, HandlerResult, HandshakeRequest, Server, Session, WebSocketHandler};
use wsboot_tests::h2::{H2Connection, H2WebSocket};
use wsboot_tests::tls::TestCertificate;
use wsboot_tests::{Closures, Echo, ReportingEcho};

/// Sends the HTTP version the session came over, then echoes.
struct Version;

impl WebSocketHandler for Version {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        let version = session.attributes().get::<HttpVersion>().map(|v| v.0.clone()).unwrap_or_default();
        Ok(session.send(version).await?)
    }
}

/// The HTTP version a session's handshake came over.
struct HttpVersion(String);

/// Records the request's HTTP version for [`Version`].
struct RecordVersion;

impl wsboot::HandshakeInterceptor for RecordVersion {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), wsboot::Rejection> {
        let version = format!("{:?}", request.version());
        request.attributes_mut().insert(HttpVersion(version));
        Ok(())
    }
}

async fn server() -> (TestServer, Closures) {
    let (reporting, closures) = ReportingEcho::new();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Echo);
    registry.add_handler("/reporting", reporting).max_message_size(1024);
    registry.add_handler("/version", Version).interceptor(RecordVersion);
    registry.add_handler("/guarded", Echo).allowed_origins(["https://app.example"]);
    (TestServer::start(registry).await, closures)
}

async fn echo(socket: &mut H2WebSocket, text: &str) -> String {
    socket.send(Message::text(text)).await.expect("send");
    within("the echo", socket.next()).await.expect("a message").expect("a frame").into_text().unwrap().to_string()
}

#[tokio::test]
async fn sessions_share_one_connection_and_http1_keeps_working() {
    let (server, _closures) = server().await;
    let connection = H2Connection::connect(server.tcp_addr()).await;
    assert!(connection.extended_connect_enabled(), "the server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL");

    let mut sockets = Vec::new();
    for _ in 0..8 {
        sockets.push(connection.websocket("/echo").await);
    }
    // Interleaved: each session answers its own messages, in order.
    for round in 0..3 {
        for (i, socket) in sockets.iter_mut().enumerate() {
            socket.send(Message::text(format!("{i}:{round}"))).await.unwrap();
        }
        for (i, socket) in sockets.iter_mut().enumerate() {
            let reply = within("echo", socket.next()).await.unwrap().unwrap().into_text().unwrap();
            assert_eq!(reply.as_str(), format!("{i}:{round}"));
        }
    }
    let mut version = connection.websocket("/version").await;
    let seen = within("version", version.next()).await.unwrap().unwrap().into_text().unwrap();
    assert_eq!(seen.as_str(), "HTTP/2.0", "interceptors see the version the session came over");

    // Plain requests on the same connection, and HTTP/1.1 on the same port.
    let (status, body) = connection.get("/healthz").await;
    assert_eq!((status.as_u16(), body.trim()), (200, "ok"));
    let mut http1 = server.connect("/version").await;
    assert_eq!(http1.recv_text().await, "HTTP/1.1");
    assert_eq!(server.hub().count(), 10, "8 echo sessions + 2 version sessions");
    for socket in &mut sockets {
        assert_eq!(echo(socket, "still here").await, "still here");
    }
}

#[tokio::test]
async fn bad_extended_connects_are_answered_and_the_connection_lives_on() {
    let (server, _closures) = server().await;
    let connection = H2Connection::connect(server.tcp_addr()).await;
    let ws = [("sec-websocket-version", "13")];

    let (response, _) = connection.request(http::Method::CONNECT, "/echo", Some("webtransport"), &ws).await;
    assert_eq!(response.status(), 400, "another :protocol");
    let (response, _) = connection.open("/nowhere", &[]).await;
    assert_eq!(response.status(), 404, "no handler at the path");
    let (response, _) = connection.request(http::Method::GET, "/echo", None, &ws).await;
    assert_eq!(response.status(), 400, "a GET to a WebSocket route over HTTP/2");
    let (response, _) =
        connection.request(http::Method::CONNECT, "/echo", Some("websocket"), &[("sec-websocket-version", "8")]).await;
    assert_eq!(response.status(), 426, "an unsupported WebSocket version");
    assert_eq!(response.headers()["sec-websocket-version"], "13");
    let (response, _) = connection.open("/guarded", &[("origin", "https://evil.example")]).await;
    assert_eq!(response.status(), 403, "an origin the route does not allow");
    let (response, _) = connection.open("/guarded", &[("origin", "https://app.example")]).await;
    assert_eq!(response.status(), 200, "the allowed origin");
    // Same-origin (the default) compares against `:authority`, HTTP/2's Host.
    let same = format!("http://{}", server.tcp_addr());
    let (response, _) = connection.open("/echo", &[("origin", &same)]).await;
    assert_eq!(response.status(), 200, "a page of this server");
    let (response, _) = connection.open("/echo", &[("origin", "http://elsewhere.example")]).await;
    assert_eq!(response.status(), 403, "a page of another origin");

    // A plain CONNECT (a tunnel request: authority, no path) over a raw h2
    // client, which sends no :path for it.
    let (mut send, h2_connection) =
        h2::client::handshake(tokio::net::TcpStream::connect(server.tcp_addr()).await.unwrap()).await.unwrap();
    tokio::spawn(h2_connection);
    let request = http::Request::builder().method("CONNECT").uri(server.tcp_addr().to_string()).body(()).unwrap();
    send = send.ready().await.unwrap();
    let (response, _stream) = send.send_request(request, false).unwrap();
    assert_eq!(within("tunnel refusal", response).await.unwrap().status(), 400, "CONNECT without :protocol");

    let mut socket = connection.websocket("/echo").await;
    assert_eq!(echo(&mut socket, "after the refusals").await, "after the refusals");
}

#[tokio::test]
async fn a_reset_stream_ends_its_session_only() {
    let (server, mut closures) = server().await;
    let connection = H2Connection::connect(server.tcp_addr()).await;
    let mut kept = connection.websocket("/reporting").await;
    let ws = [("sec-websocket-version", "13")];
    let (response, mut doomed) = connection.request(http::Method::CONNECT, "/reporting", Some("websocket"), &ws).await;
    assert_eq!(response.status(), 200);
    wsboot::test::eventually("two sessions", || server.hub().count() == 2).await;
    doomed.reset();
    assert_eq!(closures.next().await, CloseStatus::NO_CLOSE_FRAME, "the handler hears 1006 for the reset stream");
    assert_eq!(echo(&mut kept, "unaffected").await, "unaffected");

    // Limits and the close handshake per stream: a message over the route's
    // limit closes that session with 1009; a client's close is echoed.
    let mut big = connection.websocket("/reporting").await;
    big.send(Message::text("x".repeat(2048))).await.unwrap();
    let close = within("the 1009", big.next()).await.unwrap().unwrap();
    assert!(matches!(close, Message::Close(Some(ref frame)) if frame.code == CloseCode::Size), "{close:?}");
    assert_eq!(closures.next().await.code(), 1009);
    kept.send(Message::Close(Some(CloseFrame { code: CloseCode::Normal, reason: "bye".into() }))).await.unwrap();
    let echoed = within("the close echo", kept.next()).await.unwrap().unwrap();
    assert!(matches!(echoed, Message::Close(Some(ref frame)) if frame.code == CloseCode::Normal), "{echoed:?}");
    assert_eq!(closures.next().await.code(), 1000);
    let mut fresh = connection.websocket("/echo").await;
    assert_eq!(echo(&mut fresh, "the connection lives on").await, "the connection lives on");
}

#[tokio::test]
async fn a_session_that_stops_reading_is_bounded_by_flow_control() {
    // A stream whose client never reads: the server's writes wait on HTTP/2
    // flow control, and the send time limit closes that session. (Until the
    // client drops the stream it left unread, that data fills the client's
    // connection window, which is HTTP/2's rule: only then is the connection
    // usable again.)
    let (reporting, mut closures) = ReportingEcho::new();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/flood", Flood).send_time_limit(Duration::from_millis(300));
    registry.add_handler("/echo", reporting);
    let server = TestServer::start(registry).await;
    let connection = H2Connection::connect(server.tcp_addr()).await;
    let stalled = connection.websocket("/flood").await;
    let mut other = connection.websocket("/echo").await;
    wsboot::test::eventually("the flood session closed", || server.hub().count() == 1).await;
    drop(stalled);
    assert_eq!(echo(&mut other, "served").await, "served");
    other.close(None).await.unwrap();
    assert_eq!(closures.next().await.code(), 1005);
}

/// Sends 64 KiB messages until the session closes.
struct Flood;

impl WebSocketHandler for Flood {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        let session = session.clone();
        tokio::spawn(async move {
            let chunk = wsboot::Bytes::from(vec![7u8; 64 << 10]);
            while session.send(chunk.clone()).await.is_ok() {}
        });
        Ok(())
    }
}

#[tokio::test]
async fn h2_by_alpn_over_tls() {
    let cert = TestCertificate::localhost();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/version", Version).interceptor(RecordVersion);
    let server = TestServer::start_with(Server::builder().registry(registry).tls(cert.server_config())).await;

    let tcp = tokio::net::TcpStream::connect(server.tcp_addr()).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = cert.connector(&[&b"h2"[..], b"http/1.1"]).connect(name, tcp).await.unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "the server prefers h2");
    let connection = H2Connection::handshake(tls, "https", server.tcp_addr()).await;
    let mut first = connection.websocket("/version").await;
    let mut second = connection.websocket("/version").await;
    for socket in [&mut first, &mut second] {
        let seen = within("version", socket.next()).await.unwrap().unwrap().into_text().unwrap();
        assert_eq!(seen.as_str(), "HTTP/2.0");
    }
}

#[tokio::test]
async fn an_http2_connection_without_a_request_is_dropped_at_the_handshake_limit() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Echo);
    let builder = Server::builder().registry(registry).handshake_timeout(Duration::from_millis(300));
    let server = TestServer::start_with(builder).await;
    // The preface and nothing more: the server answers its SETTINGS, then
    // closes the connection once the handshake time limit passes.
    let mut tcp = tokio::net::TcpStream::connect(server.tcp_addr()).await.unwrap();
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await.unwrap();
    let started = std::time::Instant::now();
    let mut sink = vec![0u8; 1024];
    let closed = within("the server closing the connection", async {
        loop {
            match tcp.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    });
    closed.await;
    assert!(started.elapsed() >= Duration::from_millis(250), "closed after {:?}", started.elapsed());
}

#[tokio::test]
async fn each_websocket_over_http2_counts_against_max_connections() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Echo);
    let server = TestServer::start_with(Server::builder().registry(registry).max_connections(Some(3))).await;
    // The connection is one; its first two WebSockets make three.
    let connection = H2Connection::connect(server.tcp_addr()).await;
    let mut first = connection.websocket("/echo").await;
    let _second = connection.websocket("/echo").await;
    let (refused, socket) = connection.open("/echo", &[]).await;
    assert_eq!(refused.status(), 503, "a third WebSocket is over the limit");
    assert_eq!(refused.headers().get("retry-after").map(|v| v.to_str().unwrap()), Some("5"));
    assert!(socket.is_none());
    // A plain request on the same connection is not a session: it is served.
    let (status, _) = connection.get("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(echo(&mut first, "still open").await, "still open");
}

#[tokio::test]
async fn with_http2_off_alpn_offers_http1_and_the_preface_is_answered_505() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let cert = TestCertificate::localhost();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/version", Version).interceptor(RecordVersion);
    let tls = TestServer::start_with(Server::builder().registry(registry).tls(cert.server_config()).http2(false)).await;
    let tcp = tokio::net::TcpStream::connect(tls.tcp_addr()).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = cert.connector(&[&b"h2"[..], b"http/1.1"]).connect(name, tcp).await.unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]), "h2 is not offered");
    let (mut socket, response) =
        tokio_tungstenite::client_async(format!("wss://localhost:{}/version", tls.tcp_addr().port()), stream)
            .await
            .expect("an HTTP/1.1 upgrade over the same TLS");
    assert_eq!(response.status(), 101);
    let seen = within("version", socket.next()).await.unwrap().unwrap().into_text().unwrap();
    assert_eq!(seen.as_str(), "HTTP/1.1");

    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Echo);
    let plain = TestServer::start_with(Server::builder().registry(registry).http2(false)).await;
    let mut tcp = tokio::net::TcpStream::connect(plain.tcp_addr()).await.unwrap();
    tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    within("the answer", tcp.read_to_string(&mut answer)).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 505"), "{answer}");
    assert!(answer.contains("http2.enabled"), "{answer}");
}
