//! [`UpgradedIo`]: the byte stream of a WebSocket whose handshake hyper
//! answered (an HTTP/2 stream, or an HTTP/1.1 connection an HTTP framework
//! upgraded), in the shape the session loop reads.
//!
//! The loop waits for readability before it reserves a read buffer, so that
//! an idle session holds none. hyper's streams can only say "readable" by
//! reading, so waiting reads into a small buffer of its own: on the stack
//! while the session is quiet, in the heap once bytes came (kept while the
//! session is busy, so a busy session does not allocate per message, and
//! released with the session's read buffer once it goes quiet). A read takes
//! those bytes first, then reads on from the stream into the room left, so a
//! large message still comes in large reads.

use std::io;
use std::mem::MaybeUninit;
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
        let (polled, filled) = match self.peek.as_deref_mut() {
            Some(peek) => {
                let mut buf = ReadBuf::new(peek);
                let polled = Pin::new(&mut self.io).poll_read(cx, &mut buf);
                (polled, buf.filled().len())
            }
            None => {
                // A quiet session has no buffer: the check reads into the stack
                // and keeps a buffer only if bytes came. Kept in the heap while
                // waiting, it would stay for good with a session that never
                // speaks (it rests only after activity).
                let mut stack = [MaybeUninit::<u8>::uninit(); PEEK];
                let mut buf = ReadBuf::uninit(&mut stack);
                let polled = Pin::new(&mut self.io).poll_read(cx, &mut buf);
                let filled = buf.filled().len();
                if filled > 0 {
                    let mut peek = vec![0; PEEK].into_boxed_slice();
                    peek[..filled].copy_from_slice(buf.filled());
                    self.peek = Some(peek);
                }
                (polled, filled)
            }
        };
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

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::sync::Mutex;

    use bytes::Bytes;
    use http_body_util::Empty;
    use hyper::service::service_fn;
    use hyper::{Request, Response, StatusCode};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::oneshot;

    use super::*;

    /// A connection hyper upgraded on a real socket: the server's end, and the
    /// client's (its `101` read).
    async fn upgraded() -> (UpgradedIo, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (sender, upgrade) = oneshot::channel();
        let sender = Mutex::new(Some(sender));
        let service = service_fn(move |mut request: Request<hyper::body::Incoming>| {
            if let Some(sender) = sender.lock().unwrap().take() {
                let _ = sender.send(hyper::upgrade::on(&mut request));
            }
            async {
                Response::builder()
                    .status(StatusCode::SWITCHING_PROTOCOLS)
                    .header("connection", "upgrade")
                    .header("upgrade", "test")
                    .body(Empty::<Bytes>::new())
            }
        });
        let connection = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(server), service);
        tokio::spawn(connection.with_upgrades());
        client
            .write_all(b"GET / HTTP/1.1\r\nhost: test\r\nconnection: upgrade\r\nupgrade: test\r\n\r\n")
            .await
            .unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(client.read_u8().await.unwrap());
        }
        assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
        (UpgradedIo::new(upgrade.await.unwrap().await.unwrap()), client)
    }

    /// One poll of the readiness check: whether it found bytes.
    async fn check_once(io: &mut UpgradedIo) -> bool {
        poll_fn(|cx| Poll::Ready(io.poll_read_ready(cx).is_ready())).await
    }

    #[tokio::test]
    async fn waiting_for_bytes_holds_no_buffer_until_some_come() {
        let (mut io, mut client) = upgraded().await;
        assert!(!check_once(&mut io).await, "the client sent nothing");
        assert!(io.peek.is_none(), "a session that waits holds no read-ahead buffer");

        client.write_all(b"hello").await.unwrap();
        poll_fn(|cx| io.poll_read_ready(cx)).await.unwrap();
        assert!(io.peek.is_some(), "bytes that came wait in the buffer for the read");
        let mut read = [0; 16];
        let n = io.read(&mut read).await.unwrap();
        assert_eq!(&read[..n], b"hello");

        // Busy: the next wait reads into the same buffer.
        client.write_all(b"again").await.unwrap();
        poll_fn(|cx| io.poll_read_ready(cx)).await.unwrap();
        let n = io.read(&mut read).await.unwrap();
        assert_eq!(&read[..n], b"again");

        // Quiet again: given back, and waiting takes none.
        io.release();
        assert!(io.peek.is_none());
        assert!(!check_once(&mut io).await);
        assert!(io.peek.is_none());
        client.write_all(b"late").await.unwrap();
        poll_fn(|cx| io.poll_read_ready(cx)).await.unwrap();
        let n = io.read(&mut read).await.unwrap();
        assert_eq!(&read[..n], b"late");
    }

    #[tokio::test]
    async fn the_end_of_the_stream_is_seen_without_a_buffer() {
        let (mut io, client) = upgraded().await;
        drop(client);
        poll_fn(|cx| io.poll_read_ready(cx)).await.unwrap();
        assert!(io.peek.is_none());
        let mut read = [0; 16];
        assert_eq!(io.read(&mut read).await.unwrap(), 0, "the end of the stream");
    }
}
