//! The HTTP/1.1 request in front of the upgrade: reading and parsing the request
//! head (with httparse), and writing plain responses.

use std::fmt::Write as _;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};

pub(crate) use crate::request::RequestHead;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why no request head could be read; each maps to an HTTP answer (or none).
#[derive(Debug)]
pub(crate) enum HeadError {
    /// The client closed the connection (or it failed) before a full head arrived.
    Disconnected,
    /// The head exceeds the size or header-count limit: 431.
    TooLarge(&'static str),
    /// Not HTTP/1.x or malformed: 400.
    Malformed(String),
}

/// Reads until a complete request head is buffered. Bytes after the head (the
/// first WebSocket frames of an eager client) stay in `buf`.
pub(crate) async fn read_head<R: AsyncRead + Unpin>(
    io: &mut R,
    buf: &mut BytesMut,
    max_size: usize,
    max_headers: usize,
) -> Result<RequestHead, HeadError> {
    let mut scanner = HeadScanner::new(max_size, max_headers);
    loop {
        if let Some(head) = scanner.advance(buf)? {
            return Ok(head);
        }
        // Read in small steps so a request never buffers past the limit.
        let budget = scanner.budget(buf);
        buf.reserve(1024.min(budget));
        match (&mut *io).take(budget as u64).read_buf(buf).await {
            Ok(0) | Err(_) => return Err(HeadError::Disconnected),
            Ok(_) => {}
        }
    }
}

/// Finds the end of a request head as bytes arrive, in time linear in the size
/// of the head however the client splits it: a client that sends one byte per
/// packet must not make the server parse the whole head again for each byte.
///
/// The head is parsed when the first bytes arrive (so that something that is not
/// HTTP at all, like a TLS handshake, is refused at once) and again only when an
/// empty line (the end of the head) has arrived.
#[derive(Debug)]
pub(crate) struct HeadScanner {
    max_size: usize,
    max_headers: usize,
    /// How much of the buffer has been searched for the empty line.
    scanned: usize,
    /// Blank lines dropped before the request line; they count towards the size limit.
    discarded: usize,
    parsed_once: bool,
}

impl HeadScanner {
    pub(crate) fn new(max_size: usize, max_headers: usize) -> Self {
        HeadScanner { max_size, max_headers, scanned: 0, discarded: 0, parsed_once: false }
    }

    /// Looks at what `buf` holds now: the head once complete (removed from `buf`),
    /// `Ok(None)` to read more, or why the request is refused.
    pub(crate) fn advance(&mut self, buf: &mut BytesMut) -> Result<Option<RequestHead>, HeadError> {
        // Empty lines before the request line are ignored (RFC 9112 §2.2). Dropping
        // them here keeps a client from growing a prefix that every parse rescans.
        let blank = leading_blank_lines(buf);
        if blank > 0 {
            bytes::Buf::advance(buf, blank);
            self.scanned = self.scanned.saturating_sub(blank);
            self.discarded += blank;
        }
        if buf.is_empty() {
            return if self.budget(buf) == 0 {
                Err(HeadError::TooLarge("request header fields too large"))
            } else {
                Ok(None)
            };
        }
        let complete = find_empty_line(buf, self.scanned.saturating_sub(2));
        self.scanned = buf.len();
        if complete || !self.parsed_once {
            self.parsed_once = true;
            if let Some(head) = parse_head(buf, self.max_headers)? {
                return Ok(Some(head));
            }
        }
        if self.budget(buf) == 0 {
            return Err(HeadError::TooLarge("request header fields too large"));
        }
        Ok(None)
    }

    /// How many more bytes the head may take.
    pub(crate) fn budget(&self, buf: &BytesMut) -> usize {
        self.max_size.saturating_sub(self.discarded + buf.len())
    }
}

/// The length of the empty lines (`\r\n` or `\n`) at the start of `buf`.
fn leading_blank_lines(buf: &[u8]) -> usize {
    let mut at = 0;
    loop {
        match &buf[at..] {
            [b'\n', ..] => at += 1,
            [b'\r', b'\n', ..] => at += 2,
            _ => return at,
        }
    }
}

/// Whether `buf[from..]` holds the end of a head: a line feed followed by an
/// empty line (httparse accepts bare `\n` line endings as well as `\r\n`).
fn find_empty_line(buf: &[u8], from: usize) -> bool {
    buf[from.min(buf.len())..].windows(2).enumerate().any(|(i, pair)| match pair {
        [b'\n', b'\n'] => true,
        [b'\n', b'\r'] => buf.get(from + i + 2) == Some(&b'\n'),
        _ => false,
    })
}

/// Parses `buf` as a request head; `Ok(None)` if it is incomplete. On success the
/// head is removed from `buf`.
pub(crate) fn parse_head(buf: &mut BytesMut, max_headers: usize) -> Result<Option<RequestHead>, HeadError> {
    let mut storage = vec![httparse::EMPTY_HEADER; max_headers];
    let mut request = httparse::Request::new(&mut storage);
    let consumed = match request.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge("too many request headers")),
        Err(e) => return Err(HeadError::Malformed(format!("malformed HTTP request: {e}"))),
    };
    let method = Method::from_bytes(request.method.unwrap_or_default().as_bytes())
        .map_err(|_| HeadError::Malformed("invalid HTTP method".into()))?;
    let uri: Uri =
        request.path.unwrap_or_default().parse().map_err(|_| HeadError::Malformed("invalid request target".into()))?;
    if uri.path().is_empty() || !uri.path().starts_with('/') {
        return Err(HeadError::Malformed("the request target must be an absolute path".into()));
    }
    let mut headers = HeaderMap::with_capacity(request.headers.len());
    for header in request.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|_| HeadError::Malformed(format!("invalid header name {:?}", header.name)))?;
        let value = HeaderValue::from_bytes(header.value)
            .map_err(|_| HeadError::Malformed(format!("invalid value for header {name}")))?;
        headers.append(name, value);
    }
    let version = if request.version == Some(1) { Version::HTTP_11 } else { Version::HTTP_10 };
    bytes::Buf::advance(buf, consumed);
    Ok(Some(RequestHead::new(method, uri, version, headers)))
}

/// After an error response, how long and how much the server keeps reading (and
/// discarding) what the client still sends before closing. Closing a socket with
/// unread input makes the kernel answer with a reset, which can destroy the
/// response before the client reads it (the "lingering close" of HTTP servers).
const LINGER_TIME: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 64 << 10;

/// A plain HTTP response; always closes the connection.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
    pub(crate) content_type: String,
    /// Answering `HEAD`: the head announces the body, which is not sent.
    pub(crate) head_only: bool,
}

impl Response {
    /// A response whose body names the problem.
    pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Self {
        let mut body = body.into();
        if !body.ends_with('\n') {
            body.push('\n');
        }
        Response::bytes(status, "text/plain; charset=utf-8", body)
    }

    /// A response with `body` of type `content_type`.
    pub(crate) fn bytes(status: StatusCode, content_type: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Response { status, headers: Vec::new(), body: body.into(), content_type: content_type.into(), head_only: false }
    }

    /// The answer to a `HEAD` request: the same head, no body.
    pub(crate) fn head_only(mut self) -> Self {
        self.head_only = true;
        self
    }

    /// Adds a header. The caller passes a valid name and a value without line
    /// breaks (`HeaderName`/`HeaderValue` checked, or a constant).
    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Replaces the `Content-Type` of the body.
    pub(crate) fn content_type(mut self, value: impl Into<String>) -> Self {
        self.content_type = value.into();
        self
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut head = String::with_capacity(128);
        let reason = self.status.canonical_reason().unwrap_or("");
        let _ = write!(head, "HTTP/1.1 {} {reason}\r\n", self.status.as_u16());
        // Every response closes the connection, so it carries one `Connection`
        // header: a 426's `Upgrade` token joins `close` there (two `Connection`
        // headers would contradict each other).
        let mut connection = String::new();
        for (name, value) in &self.headers {
            if name.eq_ignore_ascii_case("connection") {
                connection.push_str(value);
                connection.push_str(", ");
            } else {
                let _ = write!(head, "{name}: {value}\r\n");
            }
        }
        // A 304 stands for the representation the client already has: no body,
        // and no Content-Type or Content-Length of its own (RFC 9110 §15.4.5).
        // A 204 has no body either, and must not announce one (§8.6); an
        // interceptor may refuse with either.
        let not_modified = matches!(self.status, StatusCode::NOT_MODIFIED | StatusCode::NO_CONTENT);
        if !not_modified {
            let _ = write!(head, "Content-Type: {}\r\nContent-Length: {}\r\n", self.content_type, self.body.len());
        }
        let _ = write!(head, "Connection: {connection}close\r\n\r\n");
        let mut out = head.into_bytes();
        if !self.head_only && !not_modified {
            out.extend_from_slice(&self.body);
        }
        out
    }

    /// Writes the response, shuts the write side down, and lingers briefly (see
    /// [`LINGER_TIME`]) so that the client reads the answer before the connection
    /// closes.
    pub(crate) async fn send<S: AsyncRead + AsyncWrite + Unpin>(&self, io: &mut S) -> std::io::Result<()> {
        io.write_all(&self.encode()).await?;
        io.shutdown().await?;
        linger(io).await;
        Ok(())
    }
}

/// Reads and discards input until the client closes, [`LINGER_BYTES`] were read
/// or [`LINGER_TIME`] passed, whichever comes first.
pub(crate) async fn linger<R: AsyncRead + Unpin>(io: &mut R) {
    // On the heap, and only while lingering: a local array here would live inside
    // every connection's future and cost each idle session 4 KiB.
    let mut sink = vec![0u8; 4096];
    let mut read = 0;
    let _ = tokio::time::timeout(LINGER_TIME, async {
        while read < LINGER_BYTES {
            match io.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => read += n,
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_head_and_keeps_what_follows() {
        let mut buf = BytesMut::from(&b"GET /chat?x=1 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n\x81\x80"[..]);
        let head = parse_head(&mut buf, 16).unwrap().unwrap();
        assert_eq!(head.method, Method::GET);
        assert_eq!(head.uri.path(), "/chat");
        assert_eq!(head.uri.query(), Some("x=1"));
        assert_eq!(head.version, Version::HTTP_11);
        assert_eq!(head.headers["upgrade"], "websocket");
        assert_eq!(&buf[..], b"\x81\x80");
    }

    #[test]
    fn incomplete_malformed_and_oversized_heads() {
        assert!(parse_head(&mut BytesMut::from(&b"GET / HTTP/1.1\r\nHost"[..]), 16).unwrap().is_none());
        assert!(matches!(
            parse_head(&mut BytesMut::from(&b"\x00\x01 / HTTP/1.1\r\n\r\n"[..]), 16),
            Err(HeadError::Malformed(_))
        ));
        let many: String = (0..5).map(|i| format!("X-{i}: v\r\n")).collect();
        let mut buf = BytesMut::from(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes());
        assert!(matches!(parse_head(&mut buf, 4), Err(HeadError::TooLarge(_))));
    }
    /// Feeds `request` to a scanner in chunks of `step` bytes, as reads would.
    fn scan_in_steps(request: &[u8], step: usize, max_size: usize) -> Result<Option<RequestHead>, HeadError> {
        let mut scanner = HeadScanner::new(max_size, 16);
        let mut buf = BytesMut::new();
        for chunk in request.chunks(step) {
            buf.extend_from_slice(chunk);
            if let Some(head) = scanner.advance(&mut buf)? {
                return Ok(Some(head));
            }
        }
        Ok(None)
    }

    #[test]
    fn a_head_dribbled_byte_by_byte_is_found_at_its_end() {
        let request = b"\r\n\r\nGET /chat HTTP/1.1\r\nHost: a\r\n\r\n\x81";
        let head = scan_in_steps(request, 1, 1024);
        let head = head.unwrap().expect("complete at the empty line");
        assert_eq!(head.uri.path(), "/chat");
        // Bare line feeds end a head too.
        let head = scan_in_steps(b"GET /lf HTTP/1.1\nHost: a\n\n", 1, 1024);
        assert_eq!(head.unwrap().unwrap().uri.path(), "/lf");
        let head = scan_in_steps(b"GET /mixed HTTP/1.1\r\nHost: a\n\r\n", 1, 1024);
        assert_eq!(head.unwrap().unwrap().uri.path(), "/mixed");
    }

    #[test]
    fn garbage_is_refused_on_the_first_bytes() {
        // A TLS ClientHello sent to a plain-text port.
        let result = scan_in_steps(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01], 6, 1024);
        assert!(matches!(result, Err(HeadError::Malformed(_))), "{result:?}");
    }

    #[test]
    fn the_size_limit_counts_every_byte_blank_lines_included() {
        let result = scan_in_steps(&b"\r\n".repeat(600), 7, 1024);
        assert!(matches!(result, Err(HeadError::TooLarge(_))), "{result:?}");
        let mut long = b"GET / HTTP/1.1\r\nX: ".to_vec();
        long.resize(2000, b'a');
        let result = scan_in_steps(&long, 100, 1024);
        assert!(matches!(result, Err(HeadError::TooLarge(_))), "{result:?}");
    }

    #[test]
    fn responses_frame_themselves() {
        let response = Response::text(StatusCode::FORBIDDEN, "no").header("X-Why", "origin").content_type("text/html");
        let text = String::from_utf8(response.encode()).unwrap();
        assert_eq!(
            text,
            "HTTP/1.1 403 Forbidden\r\nX-Why: origin\r\nContent-Type: text/html\r\nContent-Length: 3\r\n\
             Connection: close\r\n\r\nno\n"
        );
    }

    #[test]
    fn a_connection_header_joins_close_in_one_header() {
        let text = String::from_utf8(
            Response::text(StatusCode::UPGRADE_REQUIRED, "x").header("Connection", "Upgrade").encode(),
        )
        .unwrap();
        assert_eq!(text.matches("Connection:").count(), 1, "{text}");
        assert!(text.contains("\r\nConnection: Upgrade, close\r\n"), "{text}");
    }
}
