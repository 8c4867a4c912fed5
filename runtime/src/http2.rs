//! HTTP/2 connections on wsboot's own listener: h2c with prior knowledge (a
//! client that opens with the HTTP/2 preface) and `h2` chosen by ALPN on a
//! TLS listener. hyper runs the connection, advertising
//! `SETTINGS_ENABLE_CONNECT_PROTOCOL` (RFC 8441); each stream is one request
//! on the one handshake path (`hosted`), and each WebSocket opened by an
//! extended CONNECT is a session of its own sharing the connection. Ending
//! one stream (a client's reset) ends that session only.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::io::Stream;
use crate::server::Shared;
use crate::shutdown::LiveGuard;

/// The most streams (WebSockets and plain requests) open at once on one
/// connection; a client that wants more opens another connection.
const MAX_CONCURRENT_STREAMS: u32 = 256;

/// Whether what a client sent first is the start of HTTP/2's connection
/// preface (`PRI * HTTP/2.0`), which HTTP/1.1's parser refuses at the version.
pub(crate) fn is_preface(read: &[u8]) -> bool {
    read.starts_with(b"PRI * HTTP/2")
}

/// Serves an HTTP/2 connection to its end: until the client leaves, or the
/// server shuts down (then it sends GOAWAY, takes no new streams, and ends
/// once the sessions on it have been drained). `read` is what was already read
/// from the stream (the start of the preface).
pub(crate) async fn serve(stream: Stream, read: BytesMut, remote: SocketAddr, shared: Arc<Shared>, _live: LiveGuard) {
    let io = TokioIo::new(Rewind { read, stream });
    let service_shared = shared.clone();
    let requested = Arc::new(AtomicBool::new(false));
    let first_request = requested.clone();
    let service = hyper::service::service_fn(move |request| {
        first_request.store(true, Ordering::Relaxed);
        let shared = service_shared.clone();
        async move { Ok::<_, Infallible>(crate::hosted::serve_request(request, remote, shared).await) }
    });
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder.timer(TokioTimer::new()).enable_connect_protocol().max_concurrent_streams(MAX_CONCURRENT_STREAMS);
    // HTTP/2 pings find a peer that went away while the connection had no
    // stream (the sessions' own WebSocket pings cover the streams).
    if let Some(interval) = shared.config.ping_interval {
        builder.keep_alive_interval(interval).keep_alive_timeout(shared.config.pong_timeout);
    }
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    // The preface, the settings and a first request come within the handshake
    // time limit, as an HTTP/1.1 request head must (slowloris).
    let handshake_deadline = tokio::time::sleep(shared.config.handshake_timeout);
    tokio::pin!(handshake_deadline);
    let mut deadline_armed = true;
    let outcome = loop {
        tokio::select! {
            outcome = connection.as_mut() => break outcome,
            () = &mut handshake_deadline, if deadline_armed => {
                deadline_armed = false;
                if requested.load(Ordering::Relaxed) {
                    continue;
                }
                tracing::debug!(%remote, "no HTTP/2 request within the handshake time limit; dropping the connection");
                crate::handshake::count_dropped(&shared, "timeout");
                return;
            }
            () = shared.shutdown.requested() => {
                connection.as_mut().graceful_shutdown();
                break connection.await;
            }
        }
    };
    if let Err(e) = outcome {
        tracing::debug!(%remote, "HTTP/2 connection ended: {e}");
    }
}

/// The connection's stream, with the bytes already read from it put back in
/// front.
struct Rewind {
    read: BytesMut,
    stream: Stream,
}

impl AsyncRead for Rewind {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if !self.read.is_empty() {
            let n = self.read.len().min(buf.remaining());
            buf.put_slice(&self.read[..n]);
            self.read.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
