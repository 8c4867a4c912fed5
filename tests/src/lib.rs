//! Helpers shared by the integration tests.
//!
//! Every test starts its own server on `127.0.0.1:0` with an explicit
//! [`HandlerRegistry`] ([`start`]), talks to it with a real client
//! (tokio-tungstenite, [`connect`]) or with raw bytes over a `TcpStream`
//! ([`http_request`], [`RawClient`]), and bounds every wait with [`within`] so a
//! bug fails the test instead of hanging it.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wsboot::{Bytes, HandlerRegistry, HandlerResult, Hub, Server, ServerBuilder, Session, Utf8Bytes, WebSocketHandler};

pub mod raw;

/// The longest any single step of a test may take before it counts as hung.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `future`, failing the test if it takes longer than [`TIMEOUT`].
///
/// # Panics
/// When the timeout expires; the message says what was awaited.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(TIMEOUT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {TIMEOUT:?} waiting for {what}"),
    }
}

/// Polls `condition` until it holds, failing the test after [`TIMEOUT`]: for
/// state that changes in the server's own time (a session leaving the hub).
///
/// # Panics
/// When the condition does not hold in time; the message says what was awaited.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    within(what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

/// A server serving one test's registry on a port of its own.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    hub: Hub,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<JoinHandle<Result<(), wsboot::Error>>>,
}

/// Binds a server with exactly `registry` on `127.0.0.1:0` and serves it in a
/// background task until [`TestServer::stop`] or drop.
///
/// # Panics
/// If the registry is invalid or the bind fails.
pub async fn start(registry: HandlerRegistry) -> TestServer {
    start_with_builder(Server::builder().registry(registry)).await
}

/// Like [`start`], with a builder the test configured (its registry, server-wide
/// interceptors, limits).
///
/// # Panics
/// If the registry is invalid or the bind fails.
pub async fn start_with_builder(builder: ServerBuilder) -> TestServer {
    let server = builder.bind("127.0.0.1:0").await.expect("the test server binds");
    let addr = server.local_addr();
    let hub = server.hub().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve_with_shutdown(async {
        let _ = stopped.await;
    }));
    TestServer { addr, hub, stop: Some(stop), serving: Some(serving) }
}

impl TestServer {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's hub: its sessions, topics and delivery counters.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The `ws://` URL of `path` (which may carry a query) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Shuts the server down and waits for it to finish.
    ///
    /// # Panics
    /// If serving failed, panicked or did not stop in time.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            let result = within("the server to shut down", serving).await;
            result.expect("the serving task does not panic").expect("the server stops cleanly");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A connected tokio-tungstenite client.
pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a WebSocket to `path` (with its query, if any) on `server`.
///
/// # Panics
/// If the handshake fails or times out.
pub async fn connect(server: &TestServer, path: &str) -> Client {
    let url = server.url(path);
    let connecting = tokio_tungstenite::connect_async(url.as_str());
    let (client, response) = within(&format!("the handshake with {url}"), connecting)
        .await
        .unwrap_or_else(|e| panic!("cannot open a WebSocket to {url}: {e}"));
    assert_eq!(response.status().as_u16(), 101, "the upgrade to {url} answers 101");
    client
}

/// The next data message (text or binary) the client receives; pings and pongs
/// are skipped.
///
/// # Panics
/// If the stream ends, fails, or nothing arrives in time.
pub async fn next_message(client: &mut Client) -> Message {
    loop {
        let next = within("a message from the server", client.next()).await;
        match next {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(message)) => return message,
            Some(Err(e)) => panic!("the client failed while waiting for a message: {e}"),
            None => panic!("the connection ended while waiting for a message"),
        }
    }
}

/// The next text message the client receives, as a `String`.
///
/// # Panics
/// If the next message is not text (a close frame included), or see [`next_message`].
pub async fn next_text(client: &mut Client) -> String {
    match next_message(client).await {
        Message::Text(text) => text.as_str().to_owned(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// Waits for the server's close frame and returns its code and reason. Then
/// reads on until the connection ends, so the client answers the close.
///
/// # Panics
/// If a data message arrives first, or the connection ends without a close frame.
pub async fn expect_close(client: &mut Client) -> (u16, String) {
    let (code, reason) = loop {
        let next = within("the server's close frame", client.next()).await;
        match next {
            Some(Ok(Message::Close(Some(frame)))) => break (u16::from(frame.code), frame.reason.as_str().to_owned()),
            Some(Ok(Message::Close(None))) => panic!("the server's close frame carries no status code"),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(other)) => panic!("expected a close frame, got {other:?}"),
            Some(Err(e)) => panic!("the connection failed before a close frame arrived: {e}"),
            None => panic!("the connection ended without a close frame"),
        }
    };
    drain(client).await;
    (code, reason)
}

/// Reads until the connection ends (letting tungstenite finish the closing
/// handshake); errors after the close frame are ignored.
///
/// # Panics
/// If the connection does not end in time.
pub async fn drain(client: &mut Client) {
    within("the connection to end", async { while let Some(Ok(_)) = client.next().await {} }).await;
}

/// Closes the connection from the client side with 1000 and waits for the
/// server's answer to end it.
///
/// # Panics
/// If the close cannot be sent or the connection does not end in time.
pub async fn close_normally(client: &mut Client) {
    let frame = CloseFrame { code: CloseCode::Normal, reason: "".into() };
    within("sending a close frame", client.close(Some(frame))).await.expect("the close frame is sent");
    drain(client).await;
}

/// Echoes every text and binary message back unchanged.
#[derive(Debug, Default, Clone, Copy)]
pub struct Echo;

impl WebSocketHandler for Echo {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        Ok(session.send(text).await?)
    }

    async fn handle_binary_message(&self, session: &Session, data: Bytes) -> HandlerResult {
        Ok(session.send(data).await?)
    }
}

/// An HTTP response read off a raw socket.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers, in order, as sent.
    pub headers: Vec<(String, String)>,
    /// The body (empty for a 101).
    pub body: String,
}

impl HttpResponse {
    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Finds the end of an HTTP head (`\r\n\r\n`) in `buf`: the length of the head.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Reads an HTTP response head; returns the parsed response (body still empty)
/// and the bytes read past the head.
async fn read_response_head<R: AsyncRead + Unpin>(reader: &mut R) -> (HttpResponse, Vec<u8>) {
    let mut buf = Vec::new();
    let end = loop {
        if let Some(end) = head_end(&buf) {
            break end;
        }
        let mut chunk = [0u8; 4096];
        let n = within("an HTTP response", reader.read(&mut chunk))
            .await
            .unwrap_or_else(|e| panic!("reading the HTTP response failed: {e}"));
        assert!(
            n > 0,
            "the server closed the connection before a full response head; got {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let rest = buf.split_off(end);
    let head = String::from_utf8(buf).expect("the response head is UTF-8");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("a status line");
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "status line {status_line:?}");
    let status = parts.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("status line {status_line:?}"));
    let headers = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, value) = l.split_once(':').unwrap_or_else(|| panic!("malformed header line {l:?}"));
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    (HttpResponse { status, headers, body: String::new() }, rest)
}

/// Sends `request` (raw bytes, exactly as given) to `addr` and reads the
/// response: for a 101 the head only, otherwise the head and the body
/// (`Content-Length` bytes, or up to the end of the connection).
///
/// The request is written from a separate task, so a server that answers before
/// reading all of it (as for an oversized head) does not block the test.
///
/// # Panics
/// If the connection fails or the response is malformed or late.
pub async fn http_request(addr: SocketAddr, request: impl Into<Vec<u8>>) -> HttpResponse {
    let stream = within("the TCP connect", TcpStream::connect(addr)).await.expect("the server accepts the connection");
    let (mut read, mut write) = stream.into_split();
    let request = request.into();
    let writer = tokio::spawn(async move {
        // The server may answer and close before reading everything: ignore errors.
        let _ = write.write_all(&request).await;
        write
    });
    let (mut response, mut rest) = read_response_head(&mut read).await;
    if response.status != 101 {
        match response.header("content-length").map(|v| v.parse::<usize>().expect("a numeric Content-Length")) {
            Some(length) => {
                while rest.len() < length {
                    let mut chunk = [0u8; 4096];
                    let n = within("the response body", read.read(&mut chunk)).await.expect("reading the body");
                    assert!(n > 0, "the connection ended {} bytes into a {length}-byte body", rest.len());
                    rest.extend_from_slice(&chunk[..n]);
                }
                rest.truncate(length);
            }
            None => {
                let _ = within("the end of the response", read.read_to_end(&mut rest)).await;
            }
        }
        response.body = String::from_utf8(rest).expect("the response body is UTF-8");
    }
    writer.abort();
    response
}

/// A valid upgrade request for `path`, with `extra` header lines (each ending in
/// `\r\n`) added after the standard ones.
pub fn upgrade_request(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// Opcodes of RFC 6455 §5.2.
pub mod opcode {
    /// Continuation frame.
    pub const CONTINUATION: u8 = 0x0;
    /// Text frame.
    pub const TEXT: u8 = 0x1;
    /// Binary frame.
    pub const BINARY: u8 = 0x2;
    /// Close frame.
    pub const CLOSE: u8 = 0x8;
    /// Ping frame.
    pub const PING: u8 = 0x9;
    /// Pong frame.
    pub const PONG: u8 = 0xA;
}

/// Encodes one frame: `fin`, `opcode` and `payload`, masked with a fixed key
/// when `masked` (as a client must), unmasked otherwise (a protocol violation
/// from a client).
pub fn encode_frame(fin: bool, opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(if fin { 0x80 } else { 0 } | (opcode & 0x0f));
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// A frame received from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The FIN bit.
    pub fin: bool,
    /// The opcode (see [`opcode`]).
    pub opcode: u8,
    /// The payload (servers never mask).
    pub payload: Vec<u8>,
}

/// A WebSocket client made of raw bytes over a `TcpStream`: it does the opening
/// handshake, then sends exactly the frames the test builds (valid or not) and
/// parses what the server sends back.
#[derive(Debug)]
pub struct RawClient {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawClient {
    /// Connects to `path` on `server` and completes the opening handshake.
    ///
    /// # Panics
    /// If the server does not answer 101.
    pub async fn connect(server: &TestServer, path: &str) -> RawClient {
        let mut stream = within("the TCP connect", TcpStream::connect(server.addr()))
            .await
            .expect("the server accepts the connection");
        within("writing the upgrade request", stream.write_all(upgrade_request(path, "").as_bytes()))
            .await
            .expect("the upgrade request is written");
        let (response, rest) = read_response_head(&mut stream).await;
        assert_eq!(response.status, 101, "the upgrade is accepted: {response:?}");
        RawClient { stream, buf: rest }
    }

    /// Writes raw bytes (one or more encoded frames).
    ///
    /// # Panics
    /// If the write fails or times out.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        within("writing a frame", self.stream.write_all(bytes)).await.expect("the frame is written");
    }

    /// Encodes and writes one frame (see [`encode_frame`]).
    ///
    /// # Panics
    /// See [`RawClient::send_raw`].
    pub async fn send_frame(&mut self, fin: bool, opcode: u8, payload: &[u8], masked: bool) {
        self.send_raw(&encode_frame(fin, opcode, payload, masked)).await;
    }

    /// Reads the next frame; `None` when the connection ended (or was reset)
    /// before a complete frame.
    ///
    /// # Panics
    /// If nothing arrives in time or the frame is masked or malformed.
    pub async fn read_frame(&mut self) -> Option<Frame> {
        loop {
            if let Some((frame, used)) = parse_frame(&self.buf) {
                self.buf.drain(..used);
                return Some(frame);
            }
            let mut chunk = [0u8; 8192];
            match within("a frame from the server", self.stream.read(&mut chunk)).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads frames until the server's close frame; returns its code (`None` for an
    /// empty close frame) and reason.
    ///
    /// # Panics
    /// If the connection ends first.
    pub async fn expect_close(&mut self) -> (Option<u16>, String) {
        loop {
            let frame = self.read_frame().await.expect("a close frame before the connection ends");
            if frame.opcode != opcode::CLOSE {
                continue;
            }
            if frame.payload.is_empty() {
                return (None, String::new());
            }
            assert!(frame.payload.len() >= 2, "a close payload of 1 byte: {frame:?}");
            let code = u16::from_be_bytes([frame.payload[0], frame.payload[1]]);
            let reason = String::from_utf8(frame.payload[2..].to_vec()).expect("the close reason is UTF-8");
            return (Some(code), reason);
        }
    }
}

/// Parses one server frame off the front of `buf`: the frame and the bytes it
/// used, or `None` if incomplete.
fn parse_frame(buf: &[u8]) -> Option<(Frame, usize)> {
    if buf.len() < 2 {
        return None;
    }
    let fin = buf[0] & 0x80 != 0;
    let opcode = buf[0] & 0x0f;
    assert!(buf[1] & 0x80 == 0, "server frames must not be masked");
    let (length, header) = match buf[1] & 0x7f {
        126 => {
            if buf.len() < 4 {
                return None;
            }
            (usize::from(u16::from_be_bytes([buf[2], buf[3]])), 4)
        }
        127 => {
            if buf.len() < 10 {
                return None;
            }
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&buf[2..10]);
            (usize::try_from(u64::from_be_bytes(bytes)).expect("a frame length that fits in memory"), 10)
        }
        n => (usize::from(n), 2),
    };
    if buf.len() < header + length {
        return None;
    }
    let payload = buf[header..header + length].to_vec();
    Some((Frame { fin, opcode, payload }, header + length))
}
