//! [`Stream`]: the byte stream under a session — plain TCP, TLS over TCP, a
//! stream hyper handed over (an HTTP/2 stream, or a connection an HTTP
//! framework upgraded), or (for the test kit) an in-memory pipe — behind one
//! type, so the handshake and the session loop are written once.
//!
//! The plain path costs what a bare `TcpStream` does: every method is a `match`
//! that hands the call to tokio. The session loop waits with
//! [`poll_read_ready`](Stream::poll_read_ready) before it reserves a read buffer, so an idle
//! plain connection holds none; TLS keeps the record buffers rustls needs.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

#[cfg(any(feature = "tls", feature = "test-util"))]
use tokio::io::AsyncBufRead;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use crate::protocol::WriteBuffer;

/// A connection's byte stream.
#[derive(Debug)]
pub(crate) enum Stream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://` (boxed: the TLS state is large, plain connections stay small).
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// An in-memory pipe, for sessions driven by the test kit (boxed: inline,
    /// its 56 bytes would enlarge every TCP session of a build that enables
    /// `test-util`, as a workspace's tests often do).
    #[cfg(feature = "test-util")]
    Memory(Box<tokio::io::BufReader<tokio::io::DuplexStream>>),
    /// A WebSocket whose handshake hyper answered.
    #[cfg(feature = "http2")]
    Upgraded(Box<crate::hosted::UpgradedIo>),
}

impl Stream {
    /// Polls until a read would make progress: bytes (or the end of the stream, or
    /// an error) are there to read. For TCP, the socket's readiness; for TLS and
    /// pipes, buffered plaintext.
    pub(crate) fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Stream::Plain(tcp) => tcp.poll_read_ready(cx),
            // A readable TCP socket says nothing of TLS records: wait until rustls
            // has plaintext (or the stream ended), without taking it.
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => Pin::new(&mut **tls).poll_fill_buf(cx).map_ok(|_| ()),
            #[cfg(feature = "test-util")]
            Stream::Memory(pipe) => Pin::new(pipe).poll_fill_buf(cx).map_ok(|_| ()),
            #[cfg(feature = "http2")]
            Stream::Upgraded(upgraded) => upgraded.poll_read_ready(cx),
        }
    }

    /// Disables Nagle's algorithm on the TCP socket, if there is one.
    // Without the optional variants the `match` has one arm; it is written for all.
    #[allow(clippy::infallible_destructuring_match)]
    pub(crate) fn set_nodelay(&self) {
        let tcp = match self {
            Stream::Plain(tcp) => tcp,
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.get_ref().0,
            #[cfg(feature = "test-util")]
            Stream::Memory(_) => return,
            // The HTTP server that owns the socket configured it.
            #[cfg(feature = "http2")]
            Stream::Upgraded(_) => return,
        };
        let _ = tcp.set_nodelay(true);
    }

    /// Gives back what a quiet session's stream keeps for reading (a hosted
    /// stream's read-ahead buffer; the others keep nothing of their own).
    pub(crate) fn release_read_ahead(&mut self) {
        #[cfg(feature = "http2")]
        if let Stream::Upgraded(upgraded) = self {
            upgraded.release();
        }
    }

    /// Whether the client chose HTTP/2 by ALPN in the TLS handshake.
    #[cfg(feature = "http2")]
    pub(crate) fn negotiated_h2(&self) -> bool {
        match self {
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.get_ref().1.alpn_protocol() == Some(b"h2"),
            _ => false,
        }
    }

    /// Writes everything `frames` holds, then flushes: TLS may keep records
    /// after accepting the plaintext; for TCP the flush is a no-op.
    pub(crate) async fn write_frames(&mut self, frames: &mut WriteBuffer) -> io::Result<()> {
        frames.write_to(self).await?;
        match self {
            Stream::Plain(_) => Ok(()),
            #[allow(unreachable_patterns)]
            _ => self.flush().await,
        }
    }
}

impl From<TcpStream> for Stream {
    fn from(tcp: TcpStream) -> Self {
        Stream::Plain(tcp)
    }
}

/// Hands a poll to the stream inside.
macro_rules! delegate {
    ($self:ident, $inner:ident => $call:expr) => {
        match $self.get_mut() {
            Stream::Plain($inner) => $call,
            #[cfg(feature = "tls")]
            Stream::Tls($inner) => $call,
            #[cfg(feature = "test-util")]
            Stream::Memory($inner) => $call,
            #[cfg(feature = "http2")]
            Stream::Upgraded($inner) => $call,
        }
    };
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        delegate!(self, io => Pin::new(io).poll_read(cx, buf))
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        delegate!(self, io => Pin::new(io).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, io => Pin::new(io).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(tcp) => tcp.is_write_vectored(),
            #[cfg(feature = "tls")]
            Stream::Tls(tls) => tls.is_write_vectored(),
            #[cfg(feature = "test-util")]
            Stream::Memory(pipe) => pipe.is_write_vectored(),
            #[cfg(feature = "http2")]
            Stream::Upgraded(upgraded) => upgraded.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, io => Pin::new(io).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, io => Pin::new(io).poll_shutdown(cx))
    }
}

/// Opens the stream of a freshly accepted TCP connection: plain as it is, or
/// through the TLS handshake. A client that speaks plain HTTP to a TLS port is
/// answered `400` in plain text, saying so, rather than left with a TLS alert it
/// cannot read. `Err` carries why the connection is dropped, for the logs.
pub(crate) async fn accept(tcp: TcpStream, tls: Option<&crate::tls::Acceptor>) -> Result<Stream, &'static str> {
    let Some(acceptor) = tls else {
        return Ok(Stream::Plain(tcp));
    };
    accept_tls(tcp, acceptor).await
}

#[cfg(feature = "tls")]
async fn accept_tls(mut tcp: TcpStream, acceptor: &crate::tls::Acceptor) -> Result<Stream, &'static str> {
    // A TLS connection opens with a handshake record (0x16); an HTTP request
    // opens with a method name.
    let mut first = [0u8; 1];
    match tcp.peek(&mut first).await {
        Ok(0) | Err(_) => return Err("closed before the TLS handshake"),
        Ok(_) if first[0].is_ascii_uppercase() => {
            let response = crate::http1::Response::text(
                http::StatusCode::BAD_REQUEST,
                "this port speaks TLS: connect with wss:// (or https://)",
            );
            let _ = response.send(&mut tcp).await;
            return Err("plain HTTP on the TLS port");
        }
        Ok(_) => {}
    }
    match acceptor.0.accept(tcp).await {
        Ok(tls) => Ok(Stream::Tls(Box::new(tls))),
        Err(_) => Err("TLS handshake failed"),
    }
}

#[cfg(not(feature = "tls"))]
async fn accept_tls(_tcp: TcpStream, acceptor: &crate::tls::Acceptor) -> Result<Stream, &'static str> {
    match *acceptor {}
}
