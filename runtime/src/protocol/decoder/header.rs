//! A client frame's header (RFC 6455 §5.2), parsed straight from the read
//! buffer's bytes.
//!
//! Every message goes through here, so it reads the two fixed bytes, the
//! extended length and the mask key in place: no cursor, no I/O error type to
//! build and drop (tungstenite's `FrameHeader::parse` reads through
//! `std::io::Read` and returns its own error enum, which cost as much as the rest
//! of a small message's decoding).

use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use super::super::Violation;

/// The most a header can take: 2 fixed bytes, an 8-byte length, a 4-byte mask key.
pub(super) const MAX_HEADER_LEN: usize = 14;

/// What the start of the read buffer holds.
pub(super) enum Parse {
    /// A whole header: the header, its payload's length and its own length in bytes.
    Header { header: FrameHeader, payload_len: u64, header_len: usize },
    /// Part of a header, which takes this many bytes (a bound, not the exact
    /// length, while even its first two bytes are missing).
    Incomplete(usize),
}

/// Parses the header at the start of `buf`.
pub(super) fn parse(buf: &[u8]) -> Result<Parse, Violation> {
    let [first, second, ..] = *buf else {
        return Ok(Parse::Incomplete(MAX_HEADER_LEN));
    };
    let opcode = OpCode::from(first & 0x0F);
    if matches!(opcode, OpCode::Control(Control::Reserved(_)) | OpCode::Data(Data::Reserved(_))) {
        return Err(Violation::protocol("reserved opcode"));
    }
    let masked = second & 0x80 != 0;
    let (length_len, short_length) = match second & 0x7F {
        126 => (2, 0),
        127 => (8, 0),
        length => (0, u64::from(length)),
    };
    let header_len = 2 + length_len + if masked { 4 } else { 0 };
    if buf.len() < header_len {
        return Ok(Parse::Incomplete(header_len));
    }
    let payload_len = match length_len {
        0 => short_length,
        2 => u64::from(u16::from_be_bytes([buf[2], buf[3]])),
        _ => u64::from_be_bytes(buf[2..10].try_into().expect("8 bytes")),
    };
    let mask = masked.then(|| {
        let at = 2 + length_len;
        [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]
    });
    let header = FrameHeader {
        is_final: first & 0x80 != 0,
        rsv1: first & 0x40 != 0,
        rsv2: first & 0x20 != 0,
        rsv3: first & 0x10 != 0,
        opcode,
        mask,
    };
    Ok(Parse::Header { header, payload_len, header_len })
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    /// The header tungstenite parses from `bytes`, for comparison.
    fn tungstenite_parse(bytes: &[u8]) -> Option<(FrameHeader, u64, usize)> {
        let mut cursor = Cursor::new(bytes);
        let (header, length) = FrameHeader::parse(&mut cursor).unwrap()?;
        Some((header, length, cursor.position() as usize))
    }

    #[test]
    fn headers_of_every_length_form_parse_as_tungstenite_parses_them() {
        let cases: [&[u8]; 6] = [
            &[0x81, 0x85, 1, 2, 3, 4],
            &[0x02, 0xFE, 0x01, 0x00, 9, 9, 9, 9],
            &[0xC1, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 5, 6, 7, 8],
            &[0x88, 0x80, 0, 0, 0, 0],
            // Unmasked and with reserved bits: parsed, for the decoder to refuse.
            &[0xB2, 0x03],
            &[0x80, 0x7E, 0x00, 0x7E],
        ];
        for bytes in cases {
            let Ok(Parse::Header { header, payload_len, header_len }) = parse(bytes) else {
                panic!("a whole header in {bytes:?}");
            };
            assert_eq!(Some((header, payload_len, header_len)), tungstenite_parse(bytes), "{bytes:?}");
        }
    }

    #[test]
    fn an_incomplete_header_says_how_many_bytes_it_takes() {
        let cases: [(&[u8], usize); 5] = [
            (&[], MAX_HEADER_LEN),
            (&[0x81], MAX_HEADER_LEN),
            (&[0x81, 0x85, 1], 6),
            (&[0x82, 0xFE, 0x01], 8),
            (&[0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 5], 14),
        ];
        for (bytes, takes) in cases {
            assert!(matches!(parse(bytes), Ok(Parse::Incomplete(n)) if n == takes), "{bytes:?}");
            assert!(tungstenite_parse(bytes).is_none());
        }
    }

    #[test]
    fn a_reserved_opcode_is_a_protocol_error() {
        for opcode in [0x3, 0x7, 0xB, 0xF] {
            let violation = parse(&[0x80 | opcode, 0x80, 1, 2, 3, 4]).err().expect("refused");
            assert_eq!(violation, Violation::protocol("reserved opcode"));
        }
    }
}
