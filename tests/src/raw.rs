//! Clients made of raw bytes over a `TcpStream`, for what a well-behaved client
//! cannot send: malformed and unmasked frames, oversized or dribbled heads,
//! hand-written upgrade requests, and the exact bytes of an HTTP answer.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wsboot::test::{TestServer, within};

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
        let mut stream = tcp(server.tcp_addr()).await;
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
/// If the connection is still open after the test kit's default timeout
/// ([`wsboot::test::DEFAULT_TIMEOUT`]).
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
/// If the whole exchange takes longer than the test kit's default timeout
/// ([`wsboot::test::DEFAULT_TIMEOUT`]).
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
