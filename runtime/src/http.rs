//! The HTTP/1.1 request in front of the upgrade: reading and parsing the request
//! head (with httparse), and writing plain responses.

use std::fmt::Write as _;

use bytes::BytesMut;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A parsed request head.
#[derive(Debug)]
pub(crate) struct RequestHead {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    /// HTTP/1.x minor version.
    pub(crate) minor_version: u8,
    pub(crate) headers: HeaderMap,
}

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
    loop {
        if !buf.is_empty() {
            if let Some(head) = parse_head(buf, max_headers)? {
                return Ok(head);
            }
        }
        if buf.len() >= max_size {
            return Err(HeadError::TooLarge("request header fields too large"));
        }
        // Read in small steps so a request never buffers past the limit.
        buf.reserve(1024.min(max_size - buf.len()));
        let limit = max_size - buf.len();
        match (&mut *io).take(limit as u64).read_buf(buf).await {
            Ok(0) | Err(_) => return Err(HeadError::Disconnected),
            Ok(_) => {}
        }
    }
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
    let minor_version = request.version.unwrap_or(0);
    bytes::Buf::advance(buf, consumed);
    Ok(Some(RequestHead { method, uri, minor_version, headers }))
}

/// A plain HTTP response with a text body; always closes the connection.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
    pub(crate) content_type: &'static str,
}

impl Response {
    /// A response whose body names the problem.
    pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Self {
        let mut body = body.into();
        if !body.ends_with('\n') {
            body.push('\n');
        }
        Response { status, headers: Vec::new(), body, content_type: "text/plain; charset=utf-8" }
    }

    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut head = String::with_capacity(128 + self.body.len());
        let reason = self.status.canonical_reason().unwrap_or("");
        let _ = write!(head, "HTTP/1.1 {} {reason}\r\n", self.status.as_u16());
        for (name, value) in &self.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        let _ = write!(
            head,
            "Content-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.content_type,
            self.body.len()
        );
        head.push_str(&self.body);
        head.into_bytes()
    }

    /// Writes the response and shuts the write side down.
    pub(crate) async fn send<W: AsyncWrite + Unpin>(&self, io: &mut W) -> std::io::Result<()> {
        io.write_all(&self.encode()).await?;
        io.shutdown().await
    }
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
        assert_eq!(head.minor_version, 1);
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
}
