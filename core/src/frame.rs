//! Encoding a message as a server frame once, to share the bytes between many
//! recipients (a broadcast does not re-encode or copy per session).

use bytes::{BufMut, Bytes, BytesMut};
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use crate::message::{Message, MessageKind};

/// A complete, unmasked server frame (header and payload) ready for the socket.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    bytes: Bytes,
    payload_len: usize,
}

impl EncodedFrame {
    /// Encodes `message` as one unfragmented frame.
    pub fn encode(message: &Message) -> Self {
        Self::from_parts(message.kind(), false, message.payload())
    }

    /// Encodes a frame of `kind` whose payload was already transformed by an
    /// extension; `compressed` sets RSV1 (permessage-deflate).
    pub fn from_parts(kind: MessageKind, compressed: bool, payload: &[u8]) -> Self {
        let opcode = match kind {
            MessageKind::Text => OpCode::Data(Data::Text),
            MessageKind::Binary => OpCode::Data(Data::Binary),
            MessageKind::Ping => OpCode::Control(Control::Ping),
            MessageKind::Pong => OpCode::Control(Control::Pong),
        };
        let rsv1 = compressed;
        let header = FrameHeader { opcode, rsv1, ..FrameHeader::default() };
        let length = payload.len() as u64;
        let mut bytes = BytesMut::with_capacity(header.len(length) + payload.len());
        header.format(length, &mut (&mut bytes).writer()).expect("writing to memory cannot fail");
        bytes.extend_from_slice(payload);
        EncodedFrame { bytes: bytes.freeze(), payload_len: payload.len() }
    }

    /// The frame's bytes (a cheap, shared handle).
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The payload length (what counts against queue limits).
    pub fn payload_len(&self) -> usize {
        self.payload_len
    }
}

impl std::fmt::Debug for EncodedFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncodedFrame({} bytes)", self.bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_header_and_payload_once() {
        let frame = EncodedFrame::encode(&Message::text("hi"));
        assert_eq!(&frame.bytes()[..], &[0x81, 2, b'h', b'i']);
        let big = EncodedFrame::encode(&Message::binary(vec![1; 300]));
        assert_eq!(&big.bytes()[..4], &[0x82, 126, 0x01, 0x2c]);
        assert_eq!(big.payload_len(), 300);
        // Clones share the allocation.
        assert_eq!(big.clone().bytes().as_ptr(), big.bytes().as_ptr());
    }
}
