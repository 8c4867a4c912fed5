//! Test your handlers the way they run (feature `test-util`): a real server on
//! `127.0.0.1:0`, or the same server fed through an in-memory pipe with no TCP at
//! all, and a client that lets a test assert every frame a handler sent and the
//! close status it ended with.
//!
//! Both transports run wsboot's real code: the HTTP handshake, routing, origin
//! checks, interceptors, decorators, the session loop, limits and the closing
//! handshake. Every wait is bounded (10 s by default, see
//! [`TestClient::set_timeout`]), so a broken handler fails its test instead of
//! hanging it.
//!
//! ```
//! use wsboot::test::TestServer;
//! use wsboot::{CloseStatus, HandlerResult, Session, Utf8Bytes, WebSocketHandler};
//!
//! struct Echo;
//!
//! impl WebSocketHandler for Echo {
//!     async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
//!         Ok(session.send(text).await?)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let server = TestServer::serve("/echo", Echo).await; // 127.0.0.1, a free port
//! let mut client = server.connect("/echo").await;
//!
//! client.send_text("hello").await;
//! assert_eq!(client.recv_text().await, "hello");
//! // A binary message to a text handler closes the session with 1003.
//! client.send(wsboot::Message::binary(vec![1, 2, 3])).await;
//! assert_eq!(client.closed().await.code(), CloseStatus::NOT_ACCEPTABLE.code());
//! # }
//! ```
//!
//! Without TCP, through the same routing and interceptors:
//!
//! ```
//! use wsboot::test::TestServer;
//! use wsboot::{HandlerRegistry, HandshakeInterceptor, HandshakeRequest, Rejection, WebSocketHandler};
//!
//! struct NeedsToken;
//!
//! impl HandshakeInterceptor for NeedsToken {
//!     async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
//!         match request.query_param("token").as_deref() {
//!             Some("s3cret") => Ok(()),
//!             _ => Err(Rejection::unauthorized()),
//!         }
//!     }
//! }
//!
//! struct Quiet;
//! impl WebSocketHandler for Quiet {}
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut registry = HandlerRegistry::new();
//! registry.add_handler("/secure", Quiet).interceptor(NeedsToken);
//! let server = TestServer::in_memory(registry).await;
//!
//! let refused = server.request("/secure").try_connect().await.unwrap_err();
//! assert_eq!(refused.status, 401);
//! let mut client = server.connect("/secure?token=s3cret").await;
//! client.close(wsboot::CloseStatus::NORMAL).await;
//! server.shutdown().await;
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, http::HeaderValue};
use wsboot_core::{CloseStatus, HandlerRegistry, Hub, Message, WebSocketHandler};

use crate::io::Stream;
use crate::server::{Server, ServerBuilder, Shared};

/// How long a test waits for any one thing unless told otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes of the in-memory pipe in each direction (like a socket buffer).
const PIPE_CAPACITY: usize = 64 * 1024;

async fn within<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// A server for one test: on a free TCP port of 127.0.0.1, or in memory.
/// Dropping it stops it; [`shutdown`](Self::shutdown) stops it gracefully and
/// waits.
#[derive(Debug)]
pub struct TestServer {
    /// `None` in memory.
    addr: Option<SocketAddr>,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<JoinHandle<Result<(), crate::Error>>>,
}

impl TestServer {
    /// Serves `handler` at `path` on a free port of 127.0.0.1.
    ///
    /// # Panics
    /// If the path is invalid.
    #[track_caller]
    pub fn serve<H: WebSocketHandler>(path: &str, handler: H) -> impl Future<Output = TestServer> {
        let mut registry = HandlerRegistry::new();
        registry.add_handler(path, handler);
        TestServer::start(registry)
    }

    /// Serves exactly `registry` (no `#[ws_handler]` collection) on a free port
    /// of 127.0.0.1, with default settings.
    ///
    /// # Panics
    /// If the registry is invalid.
    pub async fn start(registry: HandlerRegistry) -> TestServer {
        TestServer::start_with(Server::builder().registry(registry)).await
    }

    /// Serves what `builder` describes (its registry, settings, interceptors,
    /// plugins) on a free port of 127.0.0.1.
    ///
    /// # Panics
    /// If the server cannot start; the message says why.
    pub async fn start_with(builder: ServerBuilder) -> TestServer {
        let server = builder.bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("the test server cannot start: {e}"));
        TestServer::run(Some(server.local_addr()), server)
    }

    /// Serves exactly `registry` with no TCP: each [`connect`](Self::connect)
    /// opens an in-memory pipe to the server's real connection code.
    ///
    /// # Panics
    /// If the registry is invalid.
    pub async fn in_memory(registry: HandlerRegistry) -> TestServer {
        TestServer::in_memory_with(Server::builder().registry(registry)).await
    }

    /// What `builder` describes, with no TCP.
    ///
    /// # Panics
    /// If the server cannot start; the message says why.
    pub async fn in_memory_with(builder: ServerBuilder) -> TestServer {
        let server = builder.in_memory().await.unwrap_or_else(|e| panic!("the test server cannot start: {e}"));
        TestServer::run(None, server)
    }

    fn run(addr: Option<SocketAddr>, server: Server) -> TestServer {
        let shared = server.shared().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve_with_shutdown(async {
            let _ = stopped.await;
        }));
        TestServer { addr, shared, stop: Some(stop), serving: Some(serving) }
    }

    /// The TCP address, or `None` for an in-memory server.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The `ws://` URL of `path` (which may carry a query).
    pub fn url(&self, path: &str) -> String {
        match self.addr {
            Some(addr) => format!("ws://{addr}{path}"),
            None => format!("ws://localhost{path}"),
        }
    }

    /// The hub of the server: its sessions, topics, publishing.
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    /// A handshake to `path` to add headers to before connecting.
    pub fn request(&self, path: &str) -> TestRequest<'_> {
        TestRequest { server: self, path: path.to_owned(), headers: Vec::new(), remote_addr: None }
    }

    /// Opens a WebSocket session at `path` (with its query, if any).
    ///
    /// # Panics
    /// If the server refuses the upgrade (the message gives the status and body)
    /// or does not answer in time.
    pub async fn connect(&self, path: &str) -> TestClient {
        self.request(path).connect().await
    }

    /// Sends a plain `GET` for `path` (a page, `/metrics`, `/healthz`) and reads
    /// the whole answer.
    ///
    /// # Panics
    /// If the server does not answer with a well-formed response in time.
    pub async fn get(&self, path: &str) -> TestResponse {
        let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let mut io = self.open(None).await;
        within(DEFAULT_TIMEOUT, "the request to be written", io.write_all(request.as_bytes()))
            .await
            .unwrap_or_else(|e| panic!("writing GET {path} failed: {e}"));
        let mut raw = Vec::new();
        within(DEFAULT_TIMEOUT, "the response", io.read_to_end(&mut raw))
            .await
            .unwrap_or_else(|e| panic!("reading the answer to GET {path} failed: {e}"));
        TestResponse::parse(&raw).unwrap_or_else(|| panic!("malformed answer to GET {path}: {raw:?}"))
    }

    /// Stops gracefully: no new connections, every open session gets the
    /// shutdown close frame after what it already queued, and the server waits
    /// for the sessions to end (at most the shutdown timeout).
    ///
    /// # Panics
    /// If the server failed or does not stop in time.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            let limit = self.shared.config.shutdown_timeout + Duration::from_secs(5);
            let result = within(limit, "the server to shut down", serving).await;
            result.expect("the server does not panic").expect("the server stops cleanly");
        }
    }

    /// A byte stream to the server: TCP, or a pipe served by the real
    /// connection code.
    async fn open(&self, remote_addr: Option<SocketAddr>) -> Box<dyn ClientIo> {
        match self.addr {
            Some(addr) => {
                let tcp = within(DEFAULT_TIMEOUT, "the TCP connect", TcpStream::connect(addr))
                    .await
                    .unwrap_or_else(|e| panic!("cannot connect to the test server at {addr}: {e}"));
                Box::new(tcp)
            }
            None => {
                let (client, server) = tokio::io::duplex(PIPE_CAPACITY);
                let shared = self.shared.clone();
                let remote = remote_addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
                let stream = Stream::Memory(tokio::io::BufReader::with_capacity(8 * 1024, server));
                let deadline = Instant::now() + shared.config.handshake_timeout;
                let live = shared.shutdown.track();
                tokio::spawn(crate::connection::serve_stream(stream, remote, shared, deadline, live));
                Box::new(client)
            }
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

/// The byte stream under a test client.
trait ClientIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ClientIo for T {}

/// A WebSocket handshake being prepared: headers, subprotocols, the client's
/// address.
#[derive(Debug)]
pub struct TestRequest<'a> {
    server: &'a TestServer,
    path: String,
    headers: Vec<(String, String)>,
    remote_addr: Option<SocketAddr>,
}

impl TestRequest<'_> {
    /// Adds a request header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Offers these subprotocols (`Sec-WebSocket-Protocol`).
    pub fn subprotocols(self, protocols: &[&str]) -> Self {
        let value = protocols.join(", ");
        self.header("Sec-WebSocket-Protocol", &value)
    }

    /// Sends an `Origin` header.
    pub fn origin(self, origin: &str) -> Self {
        self.header("Origin", origin)
    }

    /// The client's address the server sees (in-memory servers only; over TCP
    /// it is the socket's).
    pub fn remote_addr(mut self, addr: SocketAddr) -> Self {
        self.remote_addr = Some(addr);
        self
    }

    /// Opens the session.
    ///
    /// # Panics
    /// If the server refuses (the message gives the status and body) or does not
    /// answer in time.
    pub async fn connect(self) -> TestClient {
        let path = self.path.clone();
        self.try_connect().await.unwrap_or_else(|refused| panic!("the upgrade to {path} was refused: {refused}"))
    }

    /// Opens the session, or returns the server's refusal.
    ///
    /// # Panics
    /// If the server does not answer in time or the connection fails.
    pub async fn try_connect(self) -> Result<TestClient, TestResponse> {
        let url = self.server.url(&self.path);
        let mut request = url.as_str().into_client_request().unwrap_or_else(|e| panic!("invalid URL {url}: {e}"));
        for (name, value) in &self.headers {
            let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                .unwrap_or_else(|e| panic!("invalid header name {name:?}: {e}"));
            let value = HeaderValue::from_str(value).unwrap_or_else(|e| panic!("invalid header value {value:?}: {e}"));
            request.headers_mut().append(name, value);
        }
        let io = self.server.open(self.remote_addr).await;
        let handshake = tokio_tungstenite::client_async(request, io);
        match within(DEFAULT_TIMEOUT, &format!("the handshake with {url}"), handshake).await {
            Ok((ws, response)) => {
                let protocol =
                    response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()).map(str::to_owned);
                Ok(TestClient { ws, protocol, timeout: DEFAULT_TIMEOUT })
            }
            Err(tungstenite::Error::Http(response)) => {
                let headers = response
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                    .collect();
                let body = response.body().as_deref().map(|b| String::from_utf8_lossy(b).into_owned());
                Err(TestResponse { status: response.status().as_u16(), headers, body: body.unwrap_or_default() })
            }
            Err(e) => panic!("the WebSocket handshake with {url} failed: {e}"),
        }
    }
}

/// A plain HTTP answer: a refused upgrade, or a page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestResponse {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl TestResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn parse(raw: &[u8]) -> Option<TestResponse> {
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        response.parse(&raw[..end]).ok()?;
        let headers = response
            .headers
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned()))
            .collect();
        Some(TestResponse { status: response.code?, headers, body: String::from_utf8_lossy(&raw[end..]).into_owned() })
    }
}

impl fmt::Display for TestResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.body.trim_end())
    }
}

/// What a [`TestClient`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A message: text, binary, ping or pong.
    Message(Message),
    /// The server's close frame: its status (`None` if it carried no code).
    Close(Option<CloseStatus>),
    /// The connection ended without a close frame.
    Dropped,
}

/// A WebSocket client connected to a [`TestServer`]. It answers pings on its
/// own; every method waits at most its timeout and panics with a message naming
/// what it waited for.
pub struct TestClient {
    ws: WebSocketStream<Box<dyn ClientIo>>,
    protocol: Option<String>,
    timeout: Duration,
}

impl fmt::Debug for TestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestClient").field("protocol", &self.protocol).field("timeout", &self.timeout).finish()
    }
}

fn from_tungstenite(message: tungstenite::Message) -> Received {
    match message {
        tungstenite::Message::Text(text) => Received::Message(Message::text(text.as_str().to_owned())),
        tungstenite::Message::Binary(data) => Received::Message(Message::binary(data)),
        tungstenite::Message::Ping(data) => Received::Message(Message::Ping(data)),
        tungstenite::Message::Pong(data) => Received::Message(Message::Pong(data)),
        tungstenite::Message::Close(frame) => Received::Close(
            frame.map(|f| CloseStatus::new(u16::from(f.code)).with_reason(f.reason.as_str().to_owned())),
        ),
        tungstenite::Message::Frame(_) => unreachable!("tungstenite yields raw frames only when asked to"),
    }
}

fn to_tungstenite(message: Message) -> tungstenite::Message {
    match message {
        Message::Text(text) => tungstenite::Message::text(text.as_str()),
        Message::Binary(data) => tungstenite::Message::Binary(data),
        Message::Ping(data) => tungstenite::Message::Ping(data),
        Message::Pong(data) => tungstenite::Message::Pong(data),
    }
}

impl TestClient {
    /// Changes how long each method waits before failing the test.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The subprotocol the server accepted.
    pub fn accepted_protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Sends a message.
    ///
    /// # Panics
    /// If the connection failed or the write does not finish in time.
    pub async fn send(&mut self, message: impl Into<Message>) {
        let message = to_tungstenite(message.into());
        within(self.timeout, "a message to be sent", self.ws.send(message))
            .await
            .unwrap_or_else(|e| panic!("sending failed: {e}"));
    }

    /// Sends a text message.
    ///
    /// # Panics
    /// See [`send`](Self::send).
    pub async fn send_text(&mut self, text: &str) {
        self.send(Message::text(text.to_owned())).await;
    }

    /// The next thing received: a message (pings and pongs included), the
    /// server's close frame, or the end of the connection.
    ///
    /// # Panics
    /// If nothing arrives in time.
    pub async fn next(&mut self) -> Received {
        match within(self.timeout, "something from the server", self.ws.next()).await {
            Some(Ok(message)) => from_tungstenite(message),
            Some(Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed)) | None => {
                Received::Dropped
            }
            Some(Err(tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            ))) => Received::Dropped,
            Some(Err(tungstenite::Error::Io(_))) => Received::Dropped,
            Some(Err(e)) => panic!("the client failed: {e}"),
        }
    }

    /// The next data message (text or binary); pings and pongs are skipped.
    ///
    /// # Panics
    /// If the server closes or drops the session first (the message gives the
    /// status), or nothing arrives in time.
    pub async fn recv(&mut self) -> Message {
        loop {
            match self.next().await {
                Received::Message(Message::Ping(_) | Message::Pong(_)) => continue,
                Received::Message(message) => return message,
                Received::Close(status) => panic!("expected a message, but the server closed the session: {status:?}"),
                Received::Dropped => panic!("expected a message, but the connection ended"),
            }
        }
    }

    /// The next data message, which must be text.
    ///
    /// # Panics
    /// If it is binary, or see [`recv`](Self::recv).
    pub async fn recv_text(&mut self) -> String {
        match self.recv().await {
            Message::Text(text) => text.as_str().to_owned(),
            other => panic!("expected a text message, got {other:?}"),
        }
    }

    /// Waits for the server to close the session and returns the status of its
    /// close frame: 1005 if it carried no code, 1006 if the connection ended
    /// without one. Answers the close and waits for the connection to end.
    ///
    /// # Panics
    /// If a data message arrives first (a test should read it), or nothing
    /// arrives in time.
    pub async fn closed(&mut self) -> CloseStatus {
        loop {
            match self.next().await {
                Received::Message(Message::Ping(_) | Message::Pong(_)) => continue,
                Received::Message(message) => panic!("expected the server's close frame, got {message:?}"),
                Received::Close(status) => {
                    self.drain().await;
                    return status.unwrap_or(CloseStatus::NO_STATUS_CODE);
                }
                Received::Dropped => return CloseStatus::NO_CLOSE_FRAME,
            }
        }
    }

    /// Closes the session with `status` and returns the status the server
    /// answered with (1006 if the connection ended without an answer). Messages
    /// that arrive before the answer are discarded.
    ///
    /// # Panics
    /// If the close frame cannot be sent or no answer arrives in time.
    pub async fn close(&mut self, status: CloseStatus) -> CloseStatus {
        let frame = CloseFrame { code: CloseCode::from(status.code()), reason: status.reason().to_owned().into() };
        within(self.timeout, "the close frame to be sent", self.ws.close(Some(frame)))
            .await
            .unwrap_or_else(|e| panic!("sending the close frame failed: {e}"));
        loop {
            match self.next().await {
                Received::Message(_) => continue,
                Received::Close(status) => {
                    self.drain().await;
                    return status.unwrap_or(CloseStatus::NO_STATUS_CODE);
                }
                Received::Dropped => return CloseStatus::NO_CLOSE_FRAME,
            }
        }
    }

    /// Reads until the connection ends (after a close).
    async fn drain(&mut self) {
        within(self.timeout, "the connection to end", async { while let Some(Ok(_)) = self.ws.next().await {} }).await;
    }
}
