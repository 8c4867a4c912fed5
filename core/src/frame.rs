//! Encoding a message as a server frame once, to share the bytes between many
//! recipients (a broadcast does not re-encode or copy per session), and its
//! variants for extensions (compressed once per parameter set, not per session).

use std::sync::{Arc, Mutex};

use bytes::{BufMut, Bytes, BytesMut};
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use crate::message::{Message, MessageKind};

/// A complete, unmasked server frame (header and payload) ready for the socket.
#[derive(Clone)]
pub struct EncodedFrame {
    bytes: Bytes,
    payload_len: usize,
    /// Transformed copies by extension parameters (see [`EncodedFrame::variant`]),
    /// shared by every clone.
    variants: Arc<Mutex<Variants>>,
}

/// Each variant made so far, by key; `None` when the extension left the frame as is.
type Variants = Vec<(u32, Option<EncodedFrame>)>;

impl PartialEq for EncodedFrame {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes && self.payload_len == other.payload_len
    }
}

impl Eq for EncodedFrame {}

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
        EncodedFrame { bytes: bytes.freeze(), payload_len: payload.len(), variants: Arc::default() }
    }

    /// The kind of message the frame carries.
    pub fn kind(&self) -> MessageKind {
        match self.bytes[0] & 0x0f {
            0x1 => MessageKind::Text,
            0x2 => MessageKind::Binary,
            0x9 => MessageKind::Ping,
            _ => MessageKind::Pong,
        }
    }

    /// The payload, as it goes on the wire (a cheap, shared handle).
    pub fn payload(&self) -> Bytes {
        self.bytes.slice(self.bytes.len() - self.payload_len..)
    }

    /// The variant of this frame for one set of extension parameters, named by
    /// `key` (e.g. the permessage-deflate frame for one window size and level):
    /// made by `make` for the first recipient that asks, then shared by every
    /// clone, so a broadcast to many sessions with the same parameters transforms
    /// the message once. A `None` from `make` (not worth it) is remembered too.
    /// Recipients asking at the same time wait for the first one's result.
    pub fn variant(&self, key: u32, make: impl FnOnce(&EncodedFrame) -> Option<EncodedFrame>) -> Option<EncodedFrame> {
        // Nothing in the critical section can leave the list inconsistent (a
        // panicking `make` adds nothing), so a poisoned lock is still usable.
        let mut variants = self.variants.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, made)) = variants.iter().find(|(k, _)| *k == key) {
            return made.clone();
        }
        let made = make(self);
        variants.push((key, made.clone()));
        made
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
        assert_eq!((big.kind(), big.payload().len()), (MessageKind::Binary, 300));
    }

    #[test]
    fn variants_are_made_once_per_key_and_shared_by_clones() {
        let frame = EncodedFrame::encode(&Message::text("hello hello hello"));
        let mut made = 0;
        let mut shrink = |f: &EncodedFrame| {
            made += 1;
            Some(EncodedFrame::from_parts(f.kind(), true, &f.payload()[..5]))
        };
        let first = frame.variant(1, &mut shrink).unwrap();
        let second = frame.clone().variant(1, &mut shrink).unwrap();
        assert_eq!(made, 1);
        assert_eq!(first.bytes().as_ptr(), second.bytes().as_ptr());
        assert_eq!(&first.bytes()[..], &[0xc1, 5, b'h', b'e', b'l', b'l', b'o']);
        // Another key is another variant; "not worth it" is remembered.
        assert_eq!(frame.variant(2, |_| None), None);
        assert_eq!(frame.variant(2, |_| panic!("made twice")), None);
    }
}
