//! Server frames out: many frames per socket write, large payloads by reference.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use wsboot_core::{CloseStatus, EncodedFrame, Message};

/// Payloads up to this size are copied next to their header (one contiguous
/// buffer, fewer iovecs); larger ones are written from their own `Bytes`.
const COPY_THRESHOLD: usize = 2048;
/// At most this many slices per `writev`.
const MAX_IOVECS: usize = 64;

/// Frames waiting to be written, as a list of byte chunks.
#[derive(Debug, Default)]
pub(crate) struct WriteBuffer {
    chunks: VecDeque<Bytes>,
    scratch: BytesMut,
    /// Bytes currently buffered (headers and payloads).
    len: usize,
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
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues one unfragmented frame.
    pub(crate) fn push_frame(&mut self, opcode: OpCode, payload: &Bytes) {
        let header = FrameHeader { opcode, ..FrameHeader::default() };
        let length = payload.len() as u64;
        let header_len = header.len(length);
        if payload.len() <= COPY_THRESHOLD {
            self.scratch.reserve(header_len + payload.len());
            header.format(length, &mut (&mut self.scratch).writer()).expect("writing to memory cannot fail");
            self.scratch.extend_from_slice(payload);
        } else {
            self.scratch.reserve(header_len);
            header.format(length, &mut (&mut self.scratch).writer()).expect("writing to memory cannot fail");
            self.seal_scratch();
            self.chunks.push_back(payload.clone());
        }
        self.len += header_len + payload.len();
    }

    pub(crate) fn push_message(&mut self, message: &Message) {
        let (opcode, payload) = match message {
            Message::Text(text) => (OpCode::Data(Data::Text), text.as_bytes()),
            Message::Binary(data) => (OpCode::Data(Data::Binary), data),
            Message::Ping(data) => (OpCode::Control(Control::Ping), data),
            Message::Pong(data) => (OpCode::Control(Control::Pong), data),
        };
        self.push_frame(opcode, payload);
    }

    /// Queues a frame encoded elsewhere (a broadcast), by reference.
    pub(crate) fn push_encoded(&mut self, frame: &EncodedFrame) {
        let bytes = frame.bytes();
        if bytes.len() <= COPY_THRESHOLD {
            self.scratch.extend_from_slice(bytes);
        } else {
            self.seal_scratch();
            self.chunks.push_back(bytes.clone());
        }
        self.len += bytes.len();
    }

    pub(crate) fn push_close(&mut self, status: &CloseStatus) {
        self.push_frame(OpCode::Control(Control::Close), &close_payload(status));
    }

    fn seal_scratch(&mut self) {
        if !self.scratch.is_empty() {
            self.chunks.push_back(self.scratch.split().freeze());
        }
    }

    /// Writes everything buffered. Memory is released as chunks are written, so an
    /// idle connection holds no write buffer.
    pub(crate) async fn write_to<W: AsyncWrite + Unpin>(&mut self, out: &mut W) -> std::io::Result<()> {
        self.seal_scratch();
        while !self.chunks.is_empty() {
            let written = if self.chunks.len() == 1 {
                out.write(&self.chunks[0]).await?
            } else {
                let slices: Vec<IoSlice<'_>> = self.chunks.iter().take(MAX_IOVECS).map(|c| IoSlice::new(c)).collect();
                out.write_vectored(&slices).await?
            };
            if written == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            self.advance(written);
        }
        // Drop the scratch allocation too: the next frames allocate what they need.
        self.scratch = BytesMut::new();
        Ok(())
    }

    fn advance(&mut self, mut written: usize) {
        self.len -= written;
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

#[cfg(test)]
mod tests {
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

    #[test]
    fn close_reasons_are_cut_on_a_character_boundary() {
        let long = "é".repeat(100); // 200 bytes
        let payload = close_payload(&CloseStatus::NORMAL.with_reason(long));
        assert_eq!(payload.len(), 2 + 122);
        assert!(std::str::from_utf8(&payload[2..]).is_ok());
        assert!(close_payload(&CloseStatus::NO_CLOSE_FRAME).is_empty());
    }
}
