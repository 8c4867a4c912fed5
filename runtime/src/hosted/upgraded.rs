//! [`UpgradedIo`]: the byte stream of a WebSocket whose handshake hyper
//! answered (an HTTP/2 stream, or an HTTP/1.1 connection an HTTP framework
//! upgraded), in the shape the session loop reads.
//!
//! The loop waits for readability before it reserves a read buffer, so that
//! an idle session holds none. hyper's streams can only say "readable" by
//! reading, so waiting reads into a small buffer of its own, which is given
//! back when nothing came: an idle session holds no buffer here either.
//! Reads take those bytes first, and go straight to the stream after.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How much a readiness check reads: a small message and its header, or the
/// start of a large one (whose rest the session reads directly).
const PEEK: usize = 2 << 10;

/// An upgraded stream with what a readiness check read ahead.
#[derive(Debug)]
pub(crate) struct UpgradedIo {
    io: TokioIo<Upgraded>,
    /// Read by a readiness check, not yet read by the session.
    ahead: BytesMut,
    /// What a readiness check found instead of bytes, for the next read:
    /// the end of the stream (`None` inside) or an error.
    ended: Option<Option<io::ErrorKind>>,
}

impl UpgradedIo {
    pub(crate) fn new(upgraded: Upgraded) -> Self {
        UpgradedIo { io: TokioIo::new(upgraded), ahead: BytesMut::new(), ended: None }
    }

    /// Polls until a read would make progress.
    pub(crate) fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.ahead.is_empty() || self.ended.is_some() {
            return Poll::Ready(Ok(()));
        }
        self.ahead.resize(PEEK, 0);
        let mut buf = ReadBuf::new(&mut self.ahead[..]);
        let polled = Pin::new(&mut self.io).poll_read(cx, &mut buf);
        let filled = buf.filled().len();
        match polled {
            Poll::Ready(Ok(())) if filled > 0 => {
                self.ahead.truncate(filled);
                return Poll::Ready(Ok(()));
            }
            Poll::Ready(Ok(())) => self.ended = Some(None),
            Poll::Ready(Err(ref e)) => self.ended = Some(Some(e.kind())),
            Poll::Pending => {}
        }
        // Nothing to keep: the buffer goes back while the session waits.
        self.ahead = BytesMut::new();
        polled
    }
}

impl AsyncRead for UpgradedIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.ahead.is_empty() {
            let n = this.ahead.len().min(buf.remaining());
            buf.put_slice(&this.ahead[..n]);
            this.ahead.advance(n);
            if this.ahead.is_empty() {
                this.ahead = BytesMut::new();
            }
            return Poll::Ready(Ok(()));
        }
        match this.ended {
            Some(None) => Poll::Ready(Ok(())),
            Some(Some(kind)) => Poll::Ready(Err(kind.into())),
            None => Pin::new(&mut this.io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for UpgradedIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
