//! Server frames out: many frames per socket write, large payloads by reference.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use wsboot_core::__runtime::Broadcast;
use wsboot_core::{CloseStatus, Message};

use super::deflate::{Deflater, compress_once};

/// Payloads up to this size are copied next to their header (one contiguous
/// buffer, fewer iovecs); larger ones are written from their own `Bytes`.
const COPY_THRESHOLD: usize = 2048;
/// At most this many slices per `writev` (kept on the stack while it waits).
const MAX_IOVECS: usize = 32;

/// Frames waiting to be written, as a list of byte chunks.
#[derive(Debug, Default)]
pub(crate) struct WriteBuffer {
    /// The frames' memory, only while there is some: a resting session holds
    /// none (8 bytes here rather than 64 in every idle session).
    frames: Option<Box<Frames>>,
    /// Bytes currently buffered (headers and payloads).
    len: usize,
    /// permessage-deflate, when negotiated: data messages are compressed as they
    /// are queued (in queue order, which the compression context depends on).
    /// Boxed: most sessions have none.
    deflater: Option<Box<Deflater>>,
}

/// Small frames copied together in `scratch`; sealed chunks and large payloads
/// (by reference) in `chunks`, in write order, `scratch` last.
#[derive(Debug, Default)]
struct Frames {
    chunks: VecDeque<Bytes>,
    scratch: BytesMut,
}

impl Frames {
    fn seal_scratch(&mut self) {
        if !self.scratch.is_empty() {
            self.chunks.push_back(self.scratch.split().freeze());
        }
    }

    /// Takes `written` bytes off the front of `chunks`.
    fn advance(&mut self, mut written: usize) {
        while written > 0 {
            let front = self.chunks.front_mut().expect("written bytes come from chunks");
            if written >= front.len() {
                written -= front.len();
                self.chunks.pop_front();
            } else {
                bytes::Buf::advance(front, written);
                written = 0;
            }
        }
    }
}

/// The header of an unfragmented, unmasked frame (RFC 6455 §5.2) carrying
/// `len` payload bytes, and how many of the 10 bytes it uses. Written by hand:
/// the general encoder behind an `io::Write` cost about 5% of a fan-out's
/// user time, framing a small message once per subscriber.
fn server_header(opcode: OpCode, rsv1: bool, len: usize) -> ([u8; 10], usize) {
    let mut header = [0; 10];
    header[0] = 0x80 | if rsv1 { 0x40 } else { 0 } | u8::from(opcode);
    let used = match len {
        0..=125 => {
            header[1] = len as u8;
            2
        }
        126..=0xffff => {
            header[1] = 126;
            header[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        }
        _ => {
            header[1] = 127;
            header[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        }
    };
    (header, used)
}

/// The opcode and payload of `message` as one unfragmented frame.
fn frame_of(message: &Message) -> (OpCode, &Bytes) {
    match message {
        Message::Text(text) => (OpCode::Data(Data::Text), text.as_bytes()),
        Message::Binary(data) => (OpCode::Data(Data::Binary), data),
        Message::Ping(data) => (OpCode::Control(Control::Ping), data),
        Message::Pong(data) => (OpCode::Control(Control::Pong), data),
    }
}

/// The payload of a close frame for `status`: the code and as much of the reason
/// as fits in 123 bytes, cut on a character boundary.
fn close_payload(status: &CloseStatus) -> Bytes {
    if !status.is_sendable() {
        return Bytes::new();
    }
    let reason = status.reason();
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut payload = BytesMut::with_capacity(2 + cut);
    payload.put_u16(status.code());
    payload.put_slice(&reason.as_bytes()[..cut]);
    payload.freeze()
}

impl WriteBuffer {
    /// A buffer that compresses data messages with `deflater`.
    pub(crate) fn with_deflater(deflater: Option<Deflater>) -> Self {
        WriteBuffer { deflater: deflater.map(Box::new), ..WriteBuffer::default() }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues one unfragmented frame.
    pub(crate) fn push_frame(&mut self, opcode: OpCode, payload: &Bytes) {
        self.push_frame_with(opcode, false, payload);
    }

    /// Queues one unfragmented frame; `compressed` sets RSV1 (permessage-deflate).
    fn push_frame_with(&mut self, opcode: OpCode, compressed: bool, payload: &Bytes) {
        let (header, header_len) = server_header(opcode, compressed, payload.len());
        let header = &header[..header_len];
        let frames = self.frames.get_or_insert_with(Box::default);
        if payload.len() <= COPY_THRESHOLD {
            frames.scratch.reserve(header_len + payload.len());
            frames.scratch.extend_from_slice(header);
            frames.scratch.extend_from_slice(payload);
        } else {
            frames.scratch.extend_from_slice(header);
            frames.seal_scratch();
            frames.chunks.push_back(payload.clone());
        }
        self.len += header_len + payload.len();
    }

    pub(crate) fn push_message(&mut self, message: &Message) {
        let (opcode, payload) = frame_of(message);
        if let (OpCode::Data(_), Some(deflater)) = (opcode, self.deflater.as_mut()) {
            if let Some(compressed) = deflater.compress(payload) {
                return self.push_frame_with(opcode, true, &compressed);
            }
        }
        self.push_frame(opcode, payload);
    }

    /// Queues a message published to many sessions; its payload is shared, not
    /// copied, above the copy threshold. With permessage-deflate it is compressed
    /// like any other message: without context takeover, once for every session
    /// with the same parameters (a variant of the broadcast); with it, by this
    /// connection's compressor.
    pub(crate) fn push_broadcast(&mut self, broadcast: &Broadcast) {
        let message = broadcast.message();
        let (opcode, payload) = frame_of(message);
        match (opcode, self.deflater.as_ref()) {
            // Without context takeover: the variant shared by every session with
            // these parameters, made (or found not worth it) once.
            (OpCode::Data(_), Some(deflater)) if deflater.compresses_alone() => {
                let key = deflater.shared_key();
                let compressed = deflater
                    .wants(payload.len())
                    .then(|| broadcast.variant(key.as_u32(), |m| compress_once(key, m.payload())))
                    .flatten();
                match compressed {
                    Some(compressed) => self.push_frame_with(opcode, true, &compressed),
                    None => self.push_frame(opcode, payload),
                }
            }
            // With context takeover, or uncompressed: like any other message of
            // this connection.
            _ => self.push_message(message),
        }
    }

    pub(crate) fn push_close(&mut self, status: &CloseStatus) {
        self.push_frame(OpCode::Control(Control::Close), &close_payload(status));
    }

    /// Writes everything buffered. Memory is released as chunks are written, so an
    /// idle connection holds no write buffer.
    pub(crate) async fn write_to<W: AsyncWrite + Unpin>(&mut self, out: &mut W) -> std::io::Result<()> {
        let Some(frames) = self.frames.as_deref_mut() else { return Ok(()) };
        if frames.chunks.is_empty() {
            // Small frames only (the common case): write the scratch buffer as it is,
            // no freezing into shared `Bytes`, and keep its (small) allocation.
            while !frames.scratch.is_empty() {
                let written = out.write(&frames.scratch).await?;
                if written == 0 {
                    return Err(std::io::ErrorKind::WriteZero.into());
                }
                bytes::Buf::advance(&mut frames.scratch, written);
                self.len -= written;
            }
            self.release_large_scratch();
            return Ok(());
        }
        frames.seal_scratch();
        while !frames.chunks.is_empty() {
            let written = if frames.chunks.len() == 1 {
                out.write(&frames.chunks[0]).await?
            } else {
                // On the stack: a `Vec` here was an allocation per write of a large frame.
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let mut count = 0;
                for (slice, chunk) in slices.iter_mut().zip(&frames.chunks) {
                    *slice = IoSlice::new(chunk);
                    count += 1;
                }
                out.write_vectored(&slices[..count]).await?
            };
            if written == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            frames.advance(written);
            self.len -= written;
        }
        self.release_large_scratch();
        Ok(())
    }

    /// Whether a compressor is allocated (what makes resting worth it for a
    /// session that only sends).
    pub(crate) fn holds_compressor(&self) -> bool {
        self.deflater.as_ref().is_some_and(|deflater| deflater.is_allocated())
    }

    /// Gives back what a resting session does not need: the scratch and chunk
    /// list's allocations (when everything was written) and the compressor's
    /// state (see [`Deflater::rest`]).
    pub(crate) fn rest(&mut self) {
        if self.is_empty() {
            self.frames = None;
        }
        if let Some(deflater) = self.deflater.as_mut() {
            deflater.rest();
        }
    }

    /// Keeps a small scratch allocation for the next frames, but not a burst's
    /// worth, and lets the compressor free what it holds between messages: an idle
    /// connection keeps almost no write memory.
    fn release_large_scratch(&mut self) {
        const KEEP: usize = 512;
        if let Some(frames) = self.frames.as_deref_mut() {
            if frames.scratch.capacity() > KEEP {
                frames.scratch = BytesMut::new();
            } else {
                frames.scratch.clear();
            }
        }
        if let Some(deflater) = self.deflater.as_mut() {
            deflater.release_idle();
        }
    }
}

#[cfg(test)]
mod tests {
    use tungstenite::protocol::frame::FrameHeader;

    use super::*;

    #[tokio::test]
    async fn frames_are_encoded_unmasked_and_in_order() {
        let mut buffer = WriteBuffer::default();
        buffer.push_message(&Message::text("hi"));
        buffer.push_message(&Message::binary(vec![9; 3000]));
        buffer.push_close(&CloseStatus::NORMAL.with_reason("bye"));
        let mut out = Vec::new();
        buffer.write_to(&mut out).await.unwrap();
        assert!(buffer.is_empty());
        assert_eq!(&out[..4], &[0x81, 2, b'h', b'i']);
        assert_eq!(&out[4..8], &[0x82, 126, 0x0b, 0xb8]);
        assert!(out[8..3008].iter().all(|&b| b == 9));
        assert_eq!(&out[3008..], &[0x88, 5, 0x03, 0xe8, b'b', b'y', b'e']);
    }

    #[tokio::test]
    async fn data_messages_are_compressed_with_rsv1_and_control_frames_never() {
        use super::super::deflate::{Direction, Inflater};
        let direction = Direction { no_context_takeover: true, max_window_bits: 15 };
        let mut buffer = WriteBuffer::with_deflater(Some(Deflater::new(direction, 6, 16)));
        let text = "compress me ".repeat(20);
        buffer.push_message(&Message::text(text.clone()));
        buffer.push_message(&Message::text("short"));
        buffer.push_message(&Message::Ping(Bytes::from(vec![b'p'; 100])));
        let mut out = Vec::new();
        buffer.write_to(&mut out).await.unwrap();
        assert_eq!(out[0], 0xc1, "FIN, RSV1 and text");
        let len = usize::from(out[1]);
        assert!(len < text.len() / 4, "{len} bytes for {}", text.len());
        let mut inflated = Vec::new();
        Inflater::new(direction).inflate(&out[2..2 + len], true, &mut inflated, 1 << 20).unwrap();
        assert_eq!(inflated, text.as_bytes());
        let rest = &out[2 + len..];
        assert_eq!(&rest[..7], &[0x81, 5, b's', b'h', b'o', b'r', b't'], "below the threshold");
        assert_eq!(&rest[7..9], &[0x89, 100], "control frames are never compressed");
        assert!(!buffer.deflater.as_ref().unwrap().is_allocated(), "released once written");
    }

    #[tokio::test]
    async fn a_broadcast_is_compressed_once_for_sessions_without_context_takeover() {
        use super::super::deflate::{Direction, Inflater};
        let fresh = Direction { no_context_takeover: true, max_window_bits: 15 };
        let takeover = Direction { no_context_takeover: false, max_window_bits: 15 };
        let text = "broadcast to the whole room ".repeat(10);
        let broadcast = Broadcast::new(Message::text(text.clone()));
        let mut outputs = Vec::new();
        for direction in [fresh, fresh, takeover] {
            let mut buffer = WriteBuffer::with_deflater(Some(Deflater::new(direction, 6, 16)));
            buffer.push_broadcast(&broadcast);
            let mut out = Vec::new();
            buffer.write_to(&mut out).await.unwrap();
            assert_eq!(out[0], 0xc1, "compressed");
            let mut inflated = Vec::new();
            Inflater::new(direction).inflate(&out[2..], true, &mut inflated, 1 << 20).unwrap();
            assert_eq!(inflated, text.as_bytes());
            outputs.push(out);
        }
        assert_eq!(outputs[0], outputs[1]);
        // The compressed variant is cached on the broadcast: the second
        // session did not compress again.
        let key = Deflater::new(fresh, 6, 16).shared_key().as_u32();
        assert!(broadcast.variant(key, |_| panic!("compressed twice")).is_some());
        // Without compression the payload goes out unchanged.
        let mut plain = WriteBuffer::default();
        plain.push_broadcast(&broadcast);
        let mut out = Vec::new();
        plain.write_to(&mut out).await.unwrap();
        assert_eq!(&out[..4], &[0x81, 126, 1, 24], "a 280-byte text frame, RSV1 clear");
        assert_eq!(&out[4..], text.as_bytes());
    }

    #[test]
    fn close_reasons_are_cut_on_a_character_boundary() {
        let long = "é".repeat(100); // 200 bytes
        let payload = close_payload(&CloseStatus::NORMAL.with_reason(long));
        assert_eq!(payload.len(), 2 + 122);
        assert!(std::str::from_utf8(&payload[2..]).is_ok());
        assert!(close_payload(&CloseStatus::NO_CLOSE_FRAME).is_empty());
    }

    /// A socket that takes at most `limit` bytes per write, across the slices
    /// of a vectored write.
    struct Trickle {
        out: Vec<u8>,
        limit: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            self.poll_write_vectored(cx, &[IoSlice::new(buf)])
        }

        fn poll_write_vectored(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> std::task::Poll<std::io::Result<usize>> {
            let mut taken = 0;
            for buf in bufs {
                let n = buf.len().min(self.limit - taken);
                self.out.extend_from_slice(&buf[..n]);
                taken += n;
            }
            std::task::Poll::Ready(Ok(taken))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn more_large_frames_than_one_writev_takes_go_out_whole_and_in_order_through_partial_writes() {
        let mut buffer = WriteBuffer::default();
        let mut expected = Vec::new();
        for i in 0..(MAX_IOVECS as u8 * 2) {
            let large = vec![i; COPY_THRESHOLD + 1 + usize::from(i)];
            buffer.push_message(&Message::binary(large.clone()));
            expected.extend_from_slice(&[0x82, 126]);
            expected.extend_from_slice(&(large.len() as u16).to_be_bytes());
            expected.extend_from_slice(&large);
            buffer.push_message(&Message::text("s"));
            expected.extend_from_slice(&[0x81, 1, b's']);
        }
        let mut socket = Trickle { out: Vec::new(), limit: 5000 };
        buffer.write_to(&mut socket).await.unwrap();
        assert!(buffer.is_empty());
        assert_eq!(socket.out.len(), expected.len());
        assert!(socket.out == expected, "the bytes differ from the frames in order");
    }

    #[test]
    fn headers_match_the_general_encoder_at_every_length_boundary() {
        let opcodes = [
            OpCode::Data(Data::Text),
            OpCode::Data(Data::Binary),
            OpCode::Control(Control::Close),
            OpCode::Control(Control::Ping),
            OpCode::Control(Control::Pong),
        ];
        for opcode in opcodes {
            for rsv1 in [false, true] {
                for len in [0, 1, 125, 126, 127, 0xffff, 0x1_0000, 1 << 40] {
                    let general = FrameHeader { opcode, rsv1, ..FrameHeader::default() };
                    let mut expected = Vec::new();
                    general.format(len as u64, &mut expected).unwrap();
                    let (header, used) = server_header(opcode, rsv1, len);
                    assert_eq!(&header[..used], &expected[..], "{opcode:?}, rsv1 {rsv1}, {len} bytes");
                }
            }
        }
    }
}
