//! A session's read buffer: how much to reserve before each socket read, and
//! when to give the memory back.
//!
//! Three costs pull against each other. Every `read` is a syscall, so a read
//! should bring a whole message when one is waiting. A read that fills its buffer
//! exactly leaves tokio's readiness flag set, which costs a second `read` that
//! returns EWOULDBLOCK, so there is always room to spare. A fresh allocation per
//! message costs a malloc and a free (and page faults, for large ones), yet an
//! idle session should hold no buffer at all. The policy:
//!
//! - each read reserves the rest of the frame being read plus `chunk` bytes;
//! - `chunk` follows what the last read brought (plus the configured floor), and
//!   doubles after a read that filled the buffer, up to [`MAX_CHUNK`];
//! - the buffer is kept between bursts: message payloads are cut from it, and
//!   once the app has dropped them the next read starts again at its start
//!   (rather than further on: a session echoing 64 KiB messages went through
//!   128 KiB of buffer in turn, sixteen such sessions a core's whole 2 MiB L2
//!   cache, and the kernel's copies and the unmasking missed it);
//! - it is given back when the session rests (the session's rest clock says
//!   when: it has read and written nothing for a while).

use std::io;

use bytes::BytesMut;
use futures_util::FutureExt;

use crate::io::Stream;

/// Largest read a session reserves beyond the current frame: a 64 KiB frame and
/// the next frame's header fit in one read.
const MAX_CHUNK: usize = 128 << 10;

pub(crate) struct ReadBuffer {
    /// Only while the session reads: a resting one holds none (8 bytes here
    /// rather than 32 in every idle session).
    buf: Option<Box<BytesMut>>,
    /// Bytes to reserve beyond the current frame for the next read, at most
    /// [`MAX_CHUNK`] (`u32`s: every session holds one of these).
    chunk: u32,
    /// `limits.read_buffer_size`: the smallest chunk.
    floor: u32,
}

impl ReadBuffer {
    /// Starts with `buf` (bytes the client sent after its HTTP request).
    pub(crate) fn new(buf: BytesMut, floor: usize) -> Self {
        let floor = floor.min(MAX_CHUNK) as u32;
        let buf = (!buf.is_empty()).then(|| Box::new(buf));
        ReadBuffer { buf, chunk: floor, floor }
    }

    /// The bytes read and not yet decoded.
    pub(crate) fn bytes(&mut self) -> &mut BytesMut {
        self.buf.get_or_insert_with(Box::default)
    }

    /// One read of what the socket has, with room for the rest of a frame of
    /// `frame_len` bytes (0 when unknown). `None` when the socket had nothing after
    /// all; `Some(Ok(0))` at end of stream.
    pub(crate) fn read_from(&mut self, stream: &mut Stream, frame_len: usize) -> Option<io::Result<usize>> {
        let buf = self.buf.get_or_insert_with(Box::default);
        if buf.is_empty() {
            // Back to the start of the allocation, once the app has dropped every
            // message cut from it.
            let _ = buf.try_reclaim(buf.capacity() + 1);
        }
        let rest = frame_len.saturating_sub(buf.len());
        buf.reserve(rest + self.chunk as usize);
        let spare = buf.capacity() - buf.len();
        // One poll of `poll_read` rather than `try_read_buf`: after a short read it
        // clears the readiness flag (the socket is drained, epoll will tell us
        // again), which saves a second `read` returning EWOULDBLOCK per message.
        let result = tokio::io::AsyncReadExt::read_buf(stream, &mut **buf).now_or_never()?;
        if let Ok(n) = result {
            let chunk = self.chunk as usize;
            let floor = self.floor as usize;
            let next = if n == spare {
                // More is probably waiting.
                chunk * 2
            } else if n < floor {
                floor
            } else {
                // The next burst is likely the size of this one; the floor on top
                // keeps the read short, so it clears readiness.
                n + floor
            };
            self.chunk = next.min(MAX_CHUNK) as u32;
        }
        Some(result)
    }

    /// Gives the buffer back (the session rests), unless it holds part of a
    /// frame; says whether it did.
    pub(crate) fn release(&mut self) -> bool {
        if self.buf.as_ref().is_some_and(|buf| !buf.is_empty()) {
            return false;
        }
        self.buf = None;
        self.chunk = self.floor;
        true
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    const FLOOR: usize = 1024;

    /// A server-side stream on a real socket, and the client's end.
    async fn connected() -> (Stream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (Stream::Plain(server), client)
    }

    /// Waits for the socket, then reads once; returns the byte count.
    async fn read(reader: &mut ReadBuffer, stream: &mut Stream, frame_len: usize) -> usize {
        loop {
            std::future::poll_fn(|cx| stream.poll_read_ready(cx)).await.unwrap();
            if let Some(result) = reader.read_from(stream, frame_len) {
                return result.unwrap();
            }
        }
    }

    /// Reads until `total` bytes are buffered.
    async fn read_all(reader: &mut ReadBuffer, stream: &mut Stream, total: usize) {
        while reader.bytes().len() < total {
            read(reader, stream, total).await;
        }
    }

    #[tokio::test]
    async fn the_buffer_is_reused_once_the_app_drops_the_message() {
        let (mut stream, mut client) = connected().await;
        let mut reader = ReadBuffer::new(BytesMut::new(), FLOOR);
        client.write_all(&[7; 40]).await.unwrap();
        read_all(&mut reader, &mut stream, 40).await;
        let first = reader.bytes().as_ptr();
        let message = reader.bytes().split_to(40).freeze();

        // While the app holds the message, its bytes are not overwritten.
        client.write_all(&[8; 40]).await.unwrap();
        read_all(&mut reader, &mut stream, 40).await;
        assert_eq!(&message[..], &[7; 40][..]);
        let second = reader.bytes().split_to(40);
        let reused = second.as_ptr();
        assert_ne!(reused, first);
        drop((message, second));

        // Once it is dropped, the next read lands in the same memory.
        client.write_all(&[9; 40]).await.unwrap();
        read_all(&mut reader, &mut stream, 40).await;
        assert_eq!(&reader.bytes()[..], &[9; 40][..]);
        assert_eq!(reader.bytes().as_ptr(), reused, "no new allocation per message");
    }

    #[tokio::test]
    async fn each_message_is_read_into_the_start_of_the_buffer_once_the_last_is_dropped() {
        // Reads that walked on through the buffer put 64 KiB messages in
        // the two halves of a 128 KiB buffer in turn: twice the memory to keep
        // in the cache.
        let (mut stream, mut client) = connected().await;
        let mut reader = ReadBuffer::new(BytesMut::new(), FLOOR);
        let mut starts = Vec::new();
        for round in 0..4u8 {
            client.write_all(&[round; 65_536]).await.unwrap();
            read_all(&mut reader, &mut stream, 65_536).await;
            starts.push(reader.bytes().as_ptr());
            let message = reader.bytes().split_to(65_536).freeze();
            assert_eq!(&message[..], &[round; 65_536][..]);
        }
        // The first read may grow the buffer; from then on it is reused from its start.
        assert!(starts[1..].iter().all(|&start| start == starts[1]), "{starts:?}");
    }

    #[tokio::test]
    async fn a_read_that_completes_a_frame_has_room_to_spare() {
        let (mut stream, mut client) = connected().await;
        // The start of a 70,000-byte frame is buffered; the rest arrives now.
        let mut reader = ReadBuffer::new(BytesMut::from(&[0u8; 1000][..]), FLOOR);
        client.write_all(&[7; 69_000]).await.unwrap();
        read_all(&mut reader, &mut stream, 70_000).await;
        let buffer = reader.bytes();
        assert_eq!(buffer.len(), 70_000);
        assert!(buffer.capacity() - buffer.len() >= FLOOR, "a read that fills its buffer exactly costs an extra read");
    }

    #[tokio::test]
    async fn the_buffer_is_released_when_the_session_rests_unless_it_holds_part_of_a_frame() {
        let (mut stream, mut client) = connected().await;
        let mut reader = ReadBuffer::new(BytesMut::new(), FLOOR);
        client.write_all(&[7; 70_000]).await.unwrap();
        read_all(&mut reader, &mut stream, 70_000).await;
        let rest = reader.bytes().split_off(69_000);
        assert!(!reader.release(), "kept while it holds bytes not yet decoded");
        drop(reader.bytes().split_to(69_000));
        drop(rest);
        assert!(reader.release());
        assert_eq!(reader.bytes().capacity(), 0);

        // The next read starts small again.
        client.write_all(&[1; 10]).await.unwrap();
        read_all(&mut reader, &mut stream, 10).await;
        assert!(reader.bytes().capacity() <= 2 * FLOOR);
    }
}
