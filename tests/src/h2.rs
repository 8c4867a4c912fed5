//! A WebSocket client over HTTP/2 (RFC 8441), on Rust's `h2` crate: one
//! connection, each WebSocket an extended CONNECT stream, framed by
//! tokio-tungstenite over the stream.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, Bytes};
use h2::client::SendRequest;
use h2::{RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;

/// One HTTP/2 connection to a server.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct H2Connection {
    send: SendRequest<Bytes>,
    scheme: &'static str,
    authority: String,
}

/// A WebSocket on an HTTP/2 stream.
pub type H2WebSocket = WebSocketStream<H2Stream>;

impl H2Connection {
    /// h2c with prior knowledge.
    pub async fn connect(addr: SocketAddr) -> H2Connection {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        H2Connection::handshake(tcp, "http", addr).await
    }

    /// HTTP/2 over an established stream (TLS with ALPN `h2`, say).
    pub async fn handshake<T>(io: T, scheme: &'static str, addr: SocketAddr) -> H2Connection
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (send, connection) = h2::client::handshake(io).await.expect("HTTP/2 handshake");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut send = send.ready().await.expect("connection ready");
        // The server's SETTINGS arrive after the handshake: wait until they
        // allow extended CONNECT (or give up and let the test see why).
        for _ in 0..200 {
            if send.is_extended_connect_protocol_enabled() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            send = send.ready().await.expect("connection ready");
        }
        H2Connection { send, scheme, authority: addr.to_string() }
    }

    /// Whether the server advertised `SETTINGS_ENABLE_CONNECT_PROTOCOL`.
    pub fn extended_connect_enabled(&self) -> bool {
        self.send.is_extended_connect_protocol_enabled()
    }

    /// Sends a request on a new stream; the response head and the stream.
    /// `protocol` is the `:protocol` pseudo-header (`None` for a plain request).
    pub async fn request(
        &self,
        method: http::Method,
        path: &str,
        protocol: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (http::Response<()>, H2Stream) {
        let uri = format!("{}://{}{}", self.scheme, self.authority, path);
        let mut request = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request.body(()).expect("a valid request");
        if let Some(protocol) = protocol {
            request.extensions_mut().insert(h2::ext::Protocol::from(protocol));
        }
        let mut send = self.send.clone().ready().await.expect("connection ready");
        let (response, send_stream) = send.send_request(request, false).expect("send the request");
        let response = response.await.expect("a response");
        let (head, recv) = response.into_parts();
        (http::Response::from_parts(head, ()), H2Stream { send: send_stream, recv, pending: Bytes::new() })
    }

    /// Opens a WebSocket at `path` by extended CONNECT; the response (with its
    /// status) and, when it is 200, the WebSocket.
    pub async fn open(&self, path: &str, headers: &[(&str, &str)]) -> (http::Response<()>, Option<H2WebSocket>) {
        let mut all = vec![("sec-websocket-version", "13")];
        all.extend_from_slice(headers);
        let (response, stream) = self.request(http::Method::CONNECT, path, Some("websocket"), &all).await;
        if response.status() != http::StatusCode::OK {
            return (response, None);
        }
        let socket = WebSocketStream::from_raw_socket(stream, Role::Client, None).await;
        (response, Some(socket))
    }

    /// Opens a WebSocket that must be accepted.
    pub async fn websocket(&self, path: &str) -> H2WebSocket {
        let (response, socket) = self.open(path, &[]).await;
        assert_eq!(response.status(), 200, "extended CONNECT to {path}");
        socket.expect("accepted")
    }

    /// The body of a plain `GET`.
    pub async fn get(&self, path: &str) -> (http::StatusCode, String) {
        let (response, mut stream) = self.request(http::Method::GET, path, None, &[]).await;
        let _ = stream.send.send_data(Bytes::new(), true);
        let mut body = Vec::new();
        while let Some(chunk) = stream.recv.data().await {
            body.extend_from_slice(&chunk.expect("body"));
        }
        (response.status(), String::from_utf8_lossy(&body).into_owned())
    }
}

/// One HTTP/2 stream as a byte stream (with flow control released as bytes
/// are read).
#[allow(missing_debug_implementations)]
pub struct H2Stream {
    send: SendStream<Bytes>,
    recv: RecvStream,
    pending: Bytes,
}

impl H2Stream {
    /// Resets the stream (RST_STREAM CANCEL), as a client that gives up does.
    pub fn reset(&mut self) {
        self.send.send_reset(h2::Reason::CANCEL);
    }
}

impl AsyncRead for H2Stream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.pending.is_empty() {
            match ready!(self.recv.poll_data(cx)) {
                None => return Poll::Ready(Ok(())),
                Some(Err(e)) => return Poll::Ready(Err(io::Error::other(e))),
                Some(Ok(data)) => {
                    let _ = self.recv.flow_control().release_capacity(data.len());
                    self.pending = data;
                }
            }
        }
        let n = self.pending.len().min(buf.remaining());
        buf.put_slice(&self.pending[..n]);
        self.pending.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for H2Stream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.send.reserve_capacity(buf.len());
        match ready!(self.send.poll_capacity(cx)) {
            Some(Ok(n)) => {
                let n = n.min(buf.len());
                self.send.send_data(Bytes::copy_from_slice(&buf[..n]), false).map_err(io::Error::other)?;
                Poll::Ready(Ok(n))
            }
            Some(Err(e)) => Poll::Ready(Err(io::Error::other(e))),
            None => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let _ = self.send.send_data(Bytes::new(), true);
        Poll::Ready(Ok(()))
    }
}
