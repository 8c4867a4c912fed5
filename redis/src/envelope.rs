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
//! The publications of a topic whose history is on travel with their
//! positions: one message carries one or more that follow each other, each a
//! version-1 envelope (the form it is kept in, in the topic's stream). The
//! history script writes this form, so it is text that Lua builds without
//! arithmetic on 64-bit numbers:
//!
//! ```text
//! byte 0        format version (2)
//! bytes 1..17   the history's epoch, 16 lowercase hex digits
//! bytes 17..37  the offset of the first publication, 20 decimal digits (zero-padded)
//! then, for each publication, at consecutive offsets:
//!   8 lowercase hex digits: the length of its envelope
//!   its version-1 envelope
//! ```
//!
//! Binary and compact: a payload is copied once into the envelope, never escaped.

use std::fmt;

use bytes::Bytes;
use wsboot_core::{Message, Position, Utf8Bytes};

use crate::node_id::NodeId;

const VERSION: u8 = 1;
const HEADER: usize = 2 + NodeId::LEN;

/// The version of a message that carries recorded publications.
const POSITIONED: u8 = 2;
const EPOCH_DIGITS: usize = 16;
const OFFSET_DIGITS: usize = 20;
const POSITION_HEADER: usize = 1 + EPOCH_DIGITS + OFFSET_DIGITS;
const LENGTH_DIGITS: usize = 8;

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
    /// A message of recorded publications whose position or lengths are
    /// not digits, or whose lengths do not add up.
    Position,
}

/// What a message from Redis carries: a plain message, or publications of a
/// topic whose history is on, with their positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Received {
    /// A message without a position (a topic without history, or a user's).
    Plain(Envelope),
    /// Recorded publications, at consecutive positions.
    Recorded(Vec<(Position, Envelope)>),
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvelopeError::Truncated(len) => write!(f, "{len} bytes, shorter than the {HEADER}-byte envelope header"),
            EnvelopeError::Version(v) => write!(f, "envelope format version {v}, this node speaks {VERSION}"),
            EnvelopeError::Kind(k) => write!(f, "unknown message kind {k}"),
            EnvelopeError::NotUtf8 => f.write_str("a text message whose payload is not UTF-8"),
            EnvelopeError::Position => f.write_str(
                "recorded publications whose position is not an epoch and an offset, or whose lengths are wrong",
            ),
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

/// Wraps `message`, published by `origin`, after its length: a publication
/// as a run of recorded ones holds it (see [`decode_run`]).
pub(crate) fn encode_in_run(origin: NodeId, message: &Message) -> Vec<u8> {
    let length = HEADER + message.len();
    let mut out = Vec::with_capacity(LENGTH_DIGITS + length);
    out.extend_from_slice(format!("{length:0width$x}", width = LENGTH_DIGITS).as_bytes());
    out.extend_from_slice(&encode(origin, message));
    out
}

/// The text form of an epoch, as kept in Redis and carried in envelopes.
pub(crate) fn epoch_text(epoch: u64) -> String {
    format!("{epoch:0width$x}", width = EPOCH_DIGITS)
}

/// An epoch from its text form.
pub(crate) fn parse_epoch(text: &[u8]) -> Option<u64> {
    if text.len() != EPOCH_DIGITS || !text.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(text).ok()?, 16).ok()
}

/// Wraps version-1 envelopes with the position of the first (what the
/// history script does in Lua; here for the tests that check both agree).
#[cfg(test)]
pub(crate) fn encode_recorded(first: Position, envelopes: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![POSITIONED];
    out.extend_from_slice(epoch_text(first.epoch()).as_bytes());
    out.extend_from_slice(format!("{:0width$}", first.offset(), width = OFFSET_DIGITS).as_bytes());
    for envelope in envelopes {
        out.extend_from_slice(format!("{:0width$x}", envelope.len(), width = LENGTH_DIGITS).as_bytes());
        out.extend_from_slice(envelope);
    }
    out
}

/// Unwraps a message received from Redis: a plain envelope, or recorded publications.
pub(crate) fn decode_received(bytes: &[u8]) -> Result<Received, EnvelopeError> {
    if bytes.first() != Some(&POSITIONED) {
        return decode(bytes).map(Received::Plain);
    }
    if bytes.len() < POSITION_HEADER {
        return Err(EnvelopeError::Truncated(bytes.len()));
    }
    let epoch = parse_epoch(&bytes[1..1 + EPOCH_DIGITS]).ok_or(EnvelopeError::Position)?;
    let first = parse_digits(&bytes[1 + EPOCH_DIGITS..POSITION_HEADER], 10)?;
    let publications = decode_run(Position::new(epoch, first), &bytes[POSITION_HEADER..])?;
    if publications.is_empty() {
        return Err(EnvelopeError::Position);
    }
    Ok(Received::Recorded(publications))
}

/// Unwraps a run of consecutive publications, the first at `first`: each
/// version-1 envelope after its length in 8 hex digits (the body of a message
/// of recorded publications, and of an entry of a topic's stream).
pub(crate) fn decode_run(first: Position, mut rest: &[u8]) -> Result<Vec<(Position, Envelope)>, EnvelopeError> {
    let mut offset = first.offset();
    let mut publications = Vec::new();
    while !rest.is_empty() {
        if rest.len() < LENGTH_DIGITS {
            return Err(EnvelopeError::Position);
        }
        let length = usize::try_from(parse_digits(&rest[..LENGTH_DIGITS], 16)?).map_err(|_| EnvelopeError::Position)?;
        let body = rest.get(LENGTH_DIGITS..LENGTH_DIGITS + length).ok_or(EnvelopeError::Position)?;
        publications.push((Position::new(first.epoch(), offset), decode(body)?));
        rest = &rest[LENGTH_DIGITS + length..];
        offset += 1;
    }
    Ok(publications)
}

/// A number written in `radix` digits, nothing else.
fn parse_digits(text: &[u8], radix: u32) -> Result<u64, EnvelopeError> {
    let valid = !text.is_empty() && text.iter().all(|b| (*b as char).is_digit(radix));
    let text = std::str::from_utf8(text).ok().filter(|_| valid).ok_or(EnvelopeError::Position)?;
    u64::from_str_radix(text, radix).map_err(|_| EnvelopeError::Position)
}

/// Unwraps a version-1 envelope received from Redis.
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

    #[test]
    fn positions_travel_in_front_of_the_envelopes() {
        let origin = NodeId::random();
        let hi = encode(origin, &Message::text("hi"));
        let bin = encode(origin, &Message::binary(vec![0u8; 300]));
        let first = Position::new(u64::MAX - 1, 12_345);
        let wire = encode_recorded(first, &[&hi, &bin]);
        assert_eq!(&wire[1..17], b"fffffffffffffffe");
        assert_eq!(&wire[17..37], b"00000000000000012345");
        assert_eq!(&wire[37..45], format!("{:08x}", hi.len()).as_bytes());
        let expected = vec![
            (first, Envelope { origin, message: Message::text("hi") }),
            (Position::new(u64::MAX - 1, 12_346), Envelope { origin, message: Message::binary(vec![0u8; 300]) }),
        ];
        assert_eq!(decode_received(&wire), Ok(Received::Recorded(expected.clone())));
        let run =
            [encode_in_run(origin, &Message::text("hi")), encode_in_run(origin, &Message::binary(vec![0u8; 300]))];
        assert_eq!(decode_run(first, &run.concat()), Ok(expected), "as the recording node writes them");
        let plain = Envelope { origin, message: Message::text("hi") };
        assert_eq!(decode_received(&hi), Ok(Received::Plain(plain)));
        assert_eq!(parse_epoch(epoch_text(1).as_bytes()), Some(1));

        let mut bad = wire.clone();
        bad[20] = b'x';
        assert_eq!(decode_received(&bad), Err(EnvelopeError::Position));
        assert_eq!(decode_received(&wire[..30]), Err(EnvelopeError::Truncated(30)));
        assert_eq!(decode_received(&wire[..POSITION_HEADER]), Err(EnvelopeError::Position), "no publication");
        assert_eq!(decode_received(&wire[..wire.len() - 1]), Err(EnvelopeError::Position), "a length too long");
        assert_eq!(decode_received(&wire[..POSITION_HEADER + 4]), Err(EnvelopeError::Position), "a cut length");
        let mut bad = wire;
        bad[POSITION_HEADER + LENGTH_DIGITS] = 9;
        assert_eq!(decode_received(&bad), Err(EnvelopeError::Version(9)));
    }
}
