//! [`UpgradedIo`]: the byte stream of a WebSocket whose handshake hyper
//! answered (an HTTP/2 stream, or an HTTP/1.1 connection an HTTP framework
//! upgraded), in the shape the session loop reads.
//!
//! The loop waits for readability before it reserves a read buffer, so that
//! an idle session holds none. hyper's streams can only say "readable" by
//! reading, so waiting reads into a small buffer of its own (kept while the
//! session is busy, so a busy session does not allocate per message, and
//! released with the session's read buffer once it goes quiet). A read takes
//! those bytes first, then reads on from the stream into the room left, so a
//! large message still comes in large reads.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How much a readiness check reads: a burst of small messages, or the start
/// of a large one.
const PEEK: usize = 2 << 10;

/// An upgraded stream with what a readiness check read ahead.
#[derive(Debug)]
pub(crate) struct UpgradedIo {
    io: TokioIo<Upgraded>,
    /// The readiness check's buffer; `None` while the session is quiet.
    peek: Option<Box<[u8]>>,
    /// `peek[start..end]`: read by a readiness check, not yet by the session.
    start: usize,
    end: usize,
    /// What a readiness check found instead of bytes, for the next read:
    /// the end of the stream (`None` inside) or an error.
    ended: Option<Option<io::ErrorKind>>,
}

impl UpgradedIo {
    pub(crate) fn new(upgraded: Upgraded) -> Self {
        UpgradedIo { io: TokioIo::new(upgraded), peek: None, start: 0, end: 0, ended: None }
    }

    /// Polls until a read would make progress.
    pub(crate) fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.start < self.end || self.ended.is_some() {
            return Poll::Ready(Ok(()));
        }
        let peek = self.peek.get_or_insert_with(|| vec![0; PEEK].into_boxed_slice());
        let mut buf = ReadBuf::new(peek);
        let polled = Pin::new(&mut self.io).poll_read(cx, &mut buf);
        let filled = buf.filled().len();
        match polled {
            Poll::Ready(Ok(())) if filled > 0 => (self.start, self.end) = (0, filled),
            Poll::Ready(Ok(())) => self.ended = Some(None),
            Poll::Ready(Err(ref e)) => self.ended = Some(Some(e.kind())),
            Poll::Pending => {}
        }
        polled
    }

    /// Gives the readiness check's buffer back (the session went quiet).
    pub(crate) fn release(&mut self) {
        if self.start == self.end {
            self.peek = None;
        }
    }
}

impl AsyncRead for UpgradedIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let (Some(peek), true) = (&this.peek, this.start < this.end) {
            let n = (this.end - this.start).min(buf.remaining());
            buf.put_slice(&peek[this.start..this.start + n]);
            this.start += n;
            if this.start < this.end || buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            // Read on into the room left: what a large message has waiting
            // comes in this same read. Nothing more there is fine, the bytes
            // copied are the answer (an error or the end shows on the next read).
            let before = buf.filled().len();
            match Pin::new(&mut this.io).poll_read(cx, buf) {
                Poll::Ready(Ok(())) if buf.filled().len() == before => this.ended = Some(None),
                Poll::Ready(Err(e)) => this.ended = Some(Some(e.kind())),
                _ => {}
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
