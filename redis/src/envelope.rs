//! The envelope around every message on Redis: who published it (so its origin
//! skips it) and what kind of WebSocket message it is (so binary stays binary).
//!
//! ```text
//! byte 0        format version (1)
//! byte 1        kind: 1 text, 2 binary, 3 ping, 4 pong
//! bytes 2..18   origin node id, 128 bits big-endian
//! bytes 18..    the payload, unchanged
//! ```
//!
//! Binary and compact: a payload is copied once into the envelope, never escaped.

use std::fmt;

use bytes::Bytes;
use wsboot_core::{Message, Utf8Bytes};

use crate::node_id::NodeId;

const VERSION: u8 = 1;
const HEADER: usize = 2 + NodeId::LEN;

const TEXT: u8 = 1;
const BINARY: u8 = 2;
const PING: u8 = 3;
const PONG: u8 = 4;

/// A message as it travels between nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Envelope {
    /// The node that published it.
    pub(crate) origin: NodeId,
    /// The message itself.
    pub(crate) message: Message,
}

/// Why bytes from Redis are not an envelope (another program publishing on our
/// channels, or a node of an incompatible version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EnvelopeError {
    /// Shorter than the header.
    Truncated(usize),
    /// A format version this node does not speak.
    Version(u8),
    /// An unknown message kind.
    Kind(u8),
    /// A text message whose payload is not UTF-8.
    NotUtf8,
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvelopeError::Truncated(len) => write!(f, "{len} bytes, shorter than the {HEADER}-byte envelope header"),
            EnvelopeError::Version(v) => write!(f, "envelope format version {v}, this node speaks {VERSION}"),
            EnvelopeError::Kind(k) => write!(f, "unknown message kind {k}"),
            EnvelopeError::NotUtf8 => f.write_str("a text message whose payload is not UTF-8"),
        }
    }
}

/// Wraps `message`, published by `origin`.
pub(crate) fn encode(origin: NodeId, message: &Message) -> Vec<u8> {
    let kind = match message {
        Message::Text(_) => TEXT,
        Message::Binary(_) => BINARY,
        Message::Ping(_) => PING,
        Message::Pong(_) => PONG,
    };
    let payload = message.payload();
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.push(VERSION);
    out.push(kind);
    out.extend_from_slice(&origin.to_bytes());
    out.extend_from_slice(payload);
    out
}

/// Unwraps an envelope received from Redis.
pub(crate) fn decode(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
    if bytes.len() < HEADER {
        return Err(EnvelopeError::Truncated(bytes.len()));
    }
    if bytes[0] != VERSION {
        return Err(EnvelopeError::Version(bytes[0]));
    }
    let mut id = [0u8; NodeId::LEN];
    id.copy_from_slice(&bytes[2..HEADER]);
    let origin = NodeId::from_bytes(id);
    let payload = Bytes::copy_from_slice(&bytes[HEADER..]);
    let message = match bytes[1] {
        TEXT => Message::Text(Utf8Bytes::try_from_bytes(payload).map_err(|_| EnvelopeError::NotUtf8)?),
        BINARY => Message::Binary(payload),
        PING => Message::Ping(payload),
        PONG => Message::Pong(payload),
        other => return Err(EnvelopeError::Kind(other)),
    };
    Ok(Envelope { origin, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_with_its_origin() {
        let origin = NodeId::random();
        for message in [
            Message::text("héllo"),
            Message::text(""),
            Message::binary(vec![0u8, 255, 1, 2]),
            Message::binary(Vec::new()),
            Message::Ping(Bytes::from_static(b"p")),
            Message::Pong(Bytes::from_static(b"q")),
        ] {
            let wire = encode(origin, &message);
            assert_eq!(wire.len(), HEADER + message.len());
            assert_eq!(decode(&wire), Ok(Envelope { origin, message }));
        }
    }

    #[test]
    fn foreign_bytes_are_refused_with_the_reason() {
        let origin = NodeId::random();
        assert_eq!(decode(b"hello"), Err(EnvelopeError::Truncated(5)));
        let mut wire = encode(origin, &Message::text("x"));
        wire[0] = 9;
        assert_eq!(decode(&wire), Err(EnvelopeError::Version(9)));
        wire[0] = VERSION;
        wire[1] = 7;
        assert_eq!(decode(&wire), Err(EnvelopeError::Kind(7)));
        let mut wire = encode(origin, &Message::binary(vec![0xff, 0xfe]));
        wire[1] = TEXT;
        assert_eq!(decode(&wire), Err(EnvelopeError::NotUtf8));
        assert!(EnvelopeError::Version(9).to_string().contains("version 9"));
    }
}
