//! Helpers for the hostile-input tests: servers with chosen settings, clients
//! that misbehave on purpose over raw sockets, and the process's open-file count
//! (the test process hosts the server, so its sockets show up there).
//!
//! Tests that compare open-file counts run under [`serial_test`]: the tests of
//! one binary share a process, so another test's sockets would skew the count.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response;
use wsboot::{Bytes, CloseStatus, HandlerRegistry, HandlerResult, ServerBuilder, Session, Utf8Bytes, WebSocketHandler};

use crate::{Client, RawClient, TIMEOUT, TestServer, close_normally, connect, next_text, opcode, within};

/// Binds a server from `builder` (its settings) serving exactly `registry` on
/// `127.0.0.1:0`, in the background until stopped or dropped.
///
/// # Panics
/// If the registry is invalid or the bind fails.
pub async fn start_with(builder: ServerBuilder, registry: HandlerRegistry) -> TestServer {
    crate::start_with_builder(builder.registry(registry)).await
}

/// Runs an async test alone in its process: under a lock that every test of the
/// binary using it takes, on a runtime of its own built under that lock, so that
/// no other test's sockets or runtime show up in [`open_files`].
///
/// ```ignore
/// #[test]
/// fn drops_slow_clients() {
///     serial_test(async {
///         // ...
///     });
/// }
/// ```
///
/// # Panics
/// If the test panics (the lock is released for the next test).
pub fn serial_test(test: impl Future<Output = ()>) {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _alone = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a test runtime");
    runtime.block_on(test);
}

/// The number of files (sockets included) this process has open.
///
/// # Panics
/// If `/proc/self/fd` cannot be read (these tests need Linux's procfs).
pub fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd lists the open files").count()
}

/// What each open file is (`socket:[…]`, `anon_inode:[eventpoll]`, …), for
/// failure messages.
pub fn open_file_targets() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else { return Vec::new() };
    entries.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok()).map(|target| target.display().to_string()).collect()
}

/// The soft limit on open files of this process, from `/proc/self/limits`.
pub fn max_open_files() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

/// Waits until the open-file count is back to `baseline` (sockets the server
/// closes take a moment: its tasks end asynchronously, and error answers linger
/// up to a second for the client to read them).
///
/// # Panics
/// If the count is still above `baseline` after [`TIMEOUT`].
pub async fn settle_open_files(baseline: usize) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let now = open_files();
        if now <= baseline {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{now} files open, {} more than the {baseline} before the scenario, after {TIMEOUT:?}: {:?}",
            now - baseline,
            open_file_targets()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// After a hostile scenario: the server still serves a normal client at
/// `echo_path` (a handler that echoes text), and the open-file count returns to
/// `baseline`.
///
/// # Panics
/// If either is not the case.
pub async fn assert_recovered(server: &TestServer, echo_path: &str, baseline: usize) {
    let mut client = connect(server, echo_path).await;
    within("sending a message", futures_util::SinkExt::send(&mut client, "still there?".into()))
        .await
        .expect("the message is sent");
    assert_eq!(next_text(&mut client).await, "still there?", "the server echoes after the scenario");
    close_normally(&mut client).await;
    drop(client);
    settle_open_files(baseline).await;
}

/// Connects a TCP socket to `addr`.
///
/// # Panics
/// If the connection fails or times out.
pub async fn tcp(addr: SocketAddr) -> TcpStream {
    within("the TCP connect", TcpStream::connect(addr)).await.expect("the server accepts the connection")
}

/// Reads until the server ends the connection (EOF or reset); returns what it
/// sent before.
///
/// # Panics
/// If the connection is still open after [`TIMEOUT`].
pub async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    within("the server to close the connection", async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    received
}

/// Sends `bytes` one at a time, `interval` apart, until all are sent or the server
/// closes the connection; returns what the server sent, and whether it closed
/// the connection before the last byte.
///
/// # Panics
/// If the whole exchange takes longer than [`TIMEOUT`].
pub async fn dribble(stream: &mut TcpStream, bytes: &[u8], interval: Duration) -> (Vec<u8>, bool) {
    let _ = stream.set_nodelay(true);
    let (mut read, mut write) = stream.split();
    let mut received = Vec::new();
    within("the dribbled request", async {
        let mut chunk = [0u8; 1024];
        for byte in bytes {
            if write.write_all(std::slice::from_ref(byte)).await.is_err() {
                return (received, true);
            }
            let pause = tokio::time::sleep(interval);
            tokio::pin!(pause);
            loop {
                tokio::select! {
                    () = &mut pause => break,
                    n = read.read(&mut chunk) => match n {
                        Ok(0) | Err(_) => return (received, true),
                        Ok(n) => received.extend_from_slice(&chunk[..n]),
                    },
                }
            }
        }
        (received, false)
    })
    .await
}

/// The header of a masked client frame announcing `length` payload bytes (the
/// 64-bit length form), with no payload.
pub fn frame_header(fin: bool, opcode: u8, length: u64) -> Vec<u8> {
    let mut header = vec![if fin { 0x80 } else { 0 } | opcode, 0x80 | 127];
    header.extend_from_slice(&length.to_be_bytes());
    header.extend_from_slice(&[0x11, 0x22, 0x33, 0x44]);
    header
}

/// After the server's close frame: answers it as a client must, checks the server
/// ends the connection, and closes the client's socket.
///
/// # Panics
/// If the server sends anything but the end of the connection.
pub async fn finish_close(mut client: RawClient, code: u16) {
    client.send_frame(true, opcode::CLOSE, &code.to_be_bytes(), true).await;
    assert_eq!(client.read_frame().await, None, "the server ends the connection after the closing handshake");
}

/// Opens a WebSocket to `path` on `server` with extra request headers; returns the
/// client and the server's 101 response, or the handshake error.
///
/// # Panics
/// If a header is invalid or the handshake does not finish in time.
pub async fn connect_with_headers(
    server: &TestServer,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(Client, Response), tokio_tungstenite::tungstenite::Error> {
    let mut request = server.url(path).into_client_request().expect("a valid URL");
    for (name, value) in headers {
        let name: tokio_tungstenite::tungstenite::http::HeaderName = name.parse().expect("a valid header name");
        request.headers_mut().append(name, value.parse().expect("a valid header value"));
    }
    within("the handshake", tokio_tungstenite::connect_async(request)).await
}

/// Echoes text and binary messages and reports each session's close status.
#[derive(Debug, Clone)]
pub struct ReportingEcho {
    closed: mpsc::UnboundedSender<CloseStatus>,
}

/// Where a [`ReportingEcho`] reports close statuses.
#[derive(Debug)]
pub struct Closures(mpsc::UnboundedReceiver<CloseStatus>);

impl ReportingEcho {
    /// The handler and the receiving end of its reports.
    pub fn new() -> (ReportingEcho, Closures) {
        let (closed, received) = mpsc::unbounded_channel();
        (ReportingEcho { closed }, Closures(received))
    }
}

impl Closures {
    /// The status of the next session that closed.
    ///
    /// # Panics
    /// If no session reports a close in time.
    pub async fn next(&mut self) -> CloseStatus {
        within("after_connection_closed", self.0.recv()).await.expect("the handler is alive")
    }
}

impl WebSocketHandler for ReportingEcho {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        Ok(session.send(text).await?)
    }

    async fn handle_binary_message(&self, session: &Session, data: Bytes) -> HandlerResult {
        Ok(session.send(data).await?)
    }

    async fn after_connection_closed(&self, _session: &Session, status: &CloseStatus) {
        let _ = self.closed.send(status.clone());
    }
}
