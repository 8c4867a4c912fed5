//! Client frames in, complete (or partial) messages out.

use std::io::Cursor;

use bytes::{Buf, Bytes, BytesMut};
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use wsboot_core::{CloseStatus, Message, Utf8Bytes};

use super::Violation;
use super::deflate::{InflateError, Inflater};
use super::mask::apply_mask;

/// Size limits the decoder enforces, read afresh for every frame so that
/// `Session::set_*_message_size_limit` applies to the next message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DecoderLimits {
    pub(crate) max_frame_size: usize,
    pub(crate) max_text_message_size: usize,
    pub(crate) max_binary_message_size: usize,
}

/// One thing decoded from the client.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// A complete data message.
    Message(Message),
    /// One fragment, in partial-message mode; `is_last` marks the end of the message.
    Fragment(Message, bool),
    /// A ping to answer.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer's close frame: its status, or `None` when it carried no code.
    Close(Option<CloseStatus>),
}

#[derive(Debug)]
struct PartialMessage {
    is_text: bool,
    /// Compressed with permessage-deflate: each frame is inflated as it arrives,
    /// and the fields below count inflated bytes.
    compressed: bool,
    /// Whole-message mode: the fragments so far. Partial mode: the bytes of an
    /// incomplete UTF-8 character carried to the next text fragment.
    buffer: BytesMut,
    /// Bytes of the message seen so far (for the size limit in partial mode).
    total: usize,
    /// Compressed messages: bytes received so far, as sent.
    wire: usize,
    /// Whole-message mode: how much of `buffer` is known to be valid UTF-8.
    validated: usize,
}

impl PartialMessage {
    fn new(is_text: bool, compressed: bool) -> Self {
        PartialMessage { is_text, compressed, buffer: BytesMut::new(), total: 0, wire: 0, validated: 0 }
    }
}

/// Incremental frame decoder for one connection.
#[derive(Debug, Default)]
pub(crate) struct FrameDecoder {
    partial: Option<PartialMessage>,
    /// Deliver fragments as they come instead of whole messages.
    partial_delivery: bool,
    /// permessage-deflate, when negotiated: RSV1 on a message's first frame
    /// marks it compressed.
    inflater: Option<Inflater>,
}

/// The most a compressed message may take on the wire for `limit` inflated
/// bytes: DEFLATE's worst case is fixed Huffman codes at 9 bits per byte, plus
/// block headers. Past it, no valid message fits the limit.
fn compressed_limit(limit: usize) -> usize {
    limit.saturating_add(limit / 8).saturating_add(64)
}

/// Outcome of checking a text prefix: `Ok(valid_len)` where the remainder is an
/// incomplete character (allowed only mid-message), or `Err` on invalid UTF-8.
fn utf8_prefix(bytes: &[u8]) -> Result<usize, ()> {
    match std::str::from_utf8(bytes) {
        Ok(_) => Ok(bytes.len()),
        Err(e) if e.error_len().is_none() => Ok(e.valid_up_to()),
        Err(_) => Err(()),
    }
}

impl FrameDecoder {
    pub(crate) fn new(partial_delivery: bool) -> Self {
        FrameDecoder { partial: None, partial_delivery, inflater: None }
    }

    /// Accepts compressed messages (permessage-deflate was negotiated).
    pub(crate) fn with_inflater(mut self, inflater: Option<Inflater>) -> Self {
        self.inflater = inflater;
        self
    }

    /// Decodes the next frame from `buf`. `Ok(None)` means more bytes are needed;
    /// `needed` then tells how many in total would complete the frame, so the caller
    /// can reserve exactly that (never more than the limits allow).
    pub(crate) fn decode(
        &mut self,
        buf: &mut BytesMut,
        limits: &DecoderLimits,
        needed: &mut usize,
    ) -> Result<Option<Decoded>, Violation> {
        loop {
            let mut cursor = Cursor::new(&buf[..]);
            let (header, length) = match FrameHeader::parse(&mut cursor) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => {
                    *needed = 14;
                    return Ok(None);
                }
                Err(_) => return Err(Violation::protocol("reserved opcode")),
            };
            let header_len = cursor.position() as usize;
            self.check_header(&header, length, limits).map_err(|violation| Violation {
                in_close_frame: header.opcode == OpCode::Control(Control::Close),
                ..violation
            })?;
            let length = length as usize; // bounded by the limits just checked
            if buf.len() < header_len + length {
                *needed = header_len + length;
                return Ok(None);
            }
            buf.advance(header_len);
            let mut payload = buf.split_to(length);
            if let Some(mask) = header.mask {
                apply_mask(&mut payload, mask);
            }
            if let Some(decoded) = self.on_frame(&header, payload, limits)? {
                return Ok(Some(decoded));
            }
        }
    }

    fn check_header(&self, header: &FrameHeader, length: u64, limits: &DecoderLimits) -> Result<(), Violation> {
        if header.rsv2 || header.rsv3 {
            return Err(Violation::protocol("reserved bits set without a negotiated extension"));
        }
        if header.rsv1 {
            if self.inflater.is_none() {
                return Err(Violation::protocol("RSV1 set without a negotiated extension"));
            }
            // RFC 7692 §6: only a message's first frame says it is compressed.
            match header.opcode {
                OpCode::Control(_) => return Err(Violation::protocol("RSV1 set on a control frame")),
                OpCode::Data(Data::Continue) => return Err(Violation::protocol("RSV1 set on a continuation frame")),
                OpCode::Data(_) => {}
            }
        }
        if header.mask.is_none() {
            return Err(Violation::protocol("client frames must be masked"));
        }
        match header.opcode {
            OpCode::Control(_) => {
                if !header.is_final {
                    return Err(Violation::protocol("fragmented control frame"));
                }
                if length > 125 {
                    return Err(Violation::protocol("control frame payload over 125 bytes"));
                }
                return Ok(());
            }
            OpCode::Data(Data::Continue) if self.partial.is_none() => {
                return Err(Violation::protocol("continuation frame without a message to continue"));
            }
            OpCode::Data(Data::Text | Data::Binary) if self.partial.is_some() => {
                return Err(Violation::protocol("new message before the previous one finished"));
            }
            OpCode::Data(_) => {}
        }
        if length > limits.max_frame_size as u64 {
            return Err(Violation::too_big(format!(
                "frame of {length} bytes exceeds the limit of {}",
                limits.max_frame_size
            )));
        }
        let is_text = match (&header.opcode, &self.partial) {
            (_, Some(partial)) => partial.is_text,
            (OpCode::Data(Data::Text), None) => true,
            _ => false,
        };
        let limit = if is_text { limits.max_text_message_size } else { limits.max_binary_message_size };
        let compressed = self.partial.as_ref().map_or(header.rsv1, |p| p.compressed);
        if compressed {
            // The inflated size is checked while inflating; here only what no
            // message within the limit can take on the wire.
            let so_far = self.partial.as_ref().map_or(0, |p| p.wire) as u64;
            if so_far + length > compressed_limit(limit) as u64 {
                return Err(Violation::too_big(format!(
                    "compressed {} message of at least {} bytes cannot fit the limit of {limit}",
                    if is_text { "text" } else { "binary" },
                    so_far + length
                )));
            }
            return Ok(());
        }
        let so_far = self.partial.as_ref().map_or(0, |p| p.total) as u64;
        if so_far + length > limit as u64 {
            return Err(Violation::too_big(format!(
                "{} message of at least {} bytes exceeds the limit of {limit}",
                if is_text { "text" } else { "binary" },
                so_far + length
            )));
        }
        Ok(())
    }

    fn on_frame(
        &mut self,
        header: &FrameHeader,
        payload: BytesMut,
        limits: &DecoderLimits,
    ) -> Result<Option<Decoded>, Violation> {
        match header.opcode {
            OpCode::Control(Control::Ping) => Ok(Some(Decoded::Ping(payload.freeze()))),
            OpCode::Control(Control::Pong) => Ok(Some(Decoded::Pong(payload.freeze()))),
            OpCode::Control(Control::Close) => match decode_close(payload.freeze()) {
                Ok(status) => Ok(Some(Decoded::Close(status))),
                Err(violation) => Err(Violation { in_close_frame: true, ..violation }),
            },
            OpCode::Control(Control::Reserved(_)) | OpCode::Data(Data::Reserved(_)) => {
                Err(Violation::protocol("reserved opcode"))
            }
            OpCode::Data(data) => {
                let starts = !matches!(data, Data::Continue);
                let is_text =
                    if starts { matches!(data, Data::Text) } else { self.partial.as_ref().is_some_and(|p| p.is_text) };
                let compressed = if starts { header.rsv1 } else { self.partial.as_ref().is_some_and(|p| p.compressed) };
                let wire = payload.len();
                let payload = if compressed {
                    self.inflate(starts, is_text, header.is_final, &payload, limits)?
                } else {
                    payload
                };
                let decoded = if self.partial_delivery {
                    self.on_fragment_delivered(starts, is_text, compressed, header.is_final, payload)
                } else {
                    self.on_fragment_buffered(starts, is_text, compressed, header.is_final, payload)
                };
                if let Some(partial) = self.partial.as_mut() {
                    partial.wire += wire;
                }
                decoded
            }
        }
    }

    /// Inflates one frame of a compressed message, bounded by what is left of
    /// the message size limit: a small frame that would inflate past it fails
    /// with 1009 before the memory is spent.
    fn inflate(
        &mut self,
        starts: bool,
        is_text: bool,
        fin: bool,
        payload: &[u8],
        limits: &DecoderLimits,
    ) -> Result<BytesMut, Violation> {
        let limit = if is_text { limits.max_text_message_size } else { limits.max_binary_message_size };
        let so_far = if starts { 0 } else { self.partial.as_ref().map_or(0, |p| p.total) };
        let inflater = self.inflater.as_mut().expect("RSV1 is refused unless permessage-deflate was negotiated");
        let mut out = Vec::new();
        match inflater.inflate(payload, fin, &mut out, limit.saturating_sub(so_far)) {
            Ok(()) => {
                // What reaches the handler may be kept (a chat's history): hand over
                // no more memory than the message needs. Fragments that are only
                // copied into the message being buffered need no trimming.
                let handed_over = (starts && fin) || self.partial_delivery;
                if handed_over && out.capacity() - out.len() > out.len() / 8 {
                    out.shrink_to_fit();
                }
                Ok(BytesMut::from(Bytes::from(out)))
            }
            Err(InflateError::TooBig) => Err(Violation::too_big(format!(
                "compressed {} message inflates past the limit of {limit} bytes",
                if is_text { "text" } else { "binary" }
            ))),
            Err(InflateError::Corrupt) => Err(Violation::bad_data("invalid compressed data")),
        }
    }

    /// Whole-message mode.
    fn on_fragment_buffered(
        &mut self,
        starts: bool,
        is_text: bool,
        compressed: bool,
        fin: bool,
        payload: BytesMut,
    ) -> Result<Option<Decoded>, Violation> {
        if starts && fin {
            // The common case: an unfragmented message, handed over without a copy.
            return complete(is_text, payload.freeze()).map(|m| Some(Decoded::Message(m)));
        }
        let partial = self.partial.get_or_insert_with(|| PartialMessage::new(is_text, compressed));
        partial.total += payload.len();
        if partial.buffer.is_empty() {
            partial.buffer = payload;
        } else {
            partial.buffer.extend_from_slice(&payload);
        }
        if partial.is_text {
            // Fail fast on invalid UTF-8, checking only the bytes not yet checked.
            let start = partial.validated;
            let valid = utf8_prefix(&partial.buffer[start..]).map_err(|()| invalid_text())?;
            partial.validated = start + valid;
        }
        if !fin {
            return Ok(None);
        }
        let partial = self.partial.take().expect("present");
        complete(partial.is_text, partial.buffer.freeze()).map(|m| Some(Decoded::Message(m)))
    }

    /// Partial-message mode: each frame is delivered at once; text fragments end on
    /// a character boundary, the rest of a split character waits for the next one.
    fn on_fragment_delivered(
        &mut self,
        starts: bool,
        is_text: bool,
        compressed: bool,
        fin: bool,
        payload: BytesMut,
    ) -> Result<Option<Decoded>, Violation> {
        if starts {
            self.partial = Some(PartialMessage::new(is_text, compressed));
        }
        let partial = self.partial.as_mut().expect("set above or by the first fragment");
        partial.total += payload.len();
        let fragment = if is_text {
            let mut bytes = std::mem::take(&mut partial.buffer);
            if bytes.is_empty() {
                bytes = payload;
            } else {
                bytes.extend_from_slice(&payload);
            }
            let valid = utf8_prefix(&bytes).map_err(|()| invalid_text())?;
            if fin && valid != bytes.len() {
                return Err(invalid_text());
            }
            partial.buffer = bytes.split_off(valid);
            Message::Text(Utf8Bytes::try_from_bytes(bytes.freeze()).map_err(|_| invalid_text())?)
        } else {
            Message::Binary(payload.freeze())
        };
        if fin {
            self.partial = None;
        }
        Ok(Some(Decoded::Fragment(fragment, fin)))
    }
}

fn invalid_text() -> Violation {
    Violation::bad_data("invalid UTF-8 in text message")
}

fn complete(is_text: bool, payload: Bytes) -> Result<Message, Violation> {
    if is_text {
        Utf8Bytes::try_from_bytes(payload).map(Message::Text).map_err(|_| invalid_text())
    } else {
        Ok(Message::Binary(payload))
    }
}

/// Parses a close frame's payload (RFC 6455 §5.5.1, §7.4).
fn decode_close(payload: Bytes) -> Result<Option<CloseStatus>, Violation> {
    match payload.len() {
        0 => Ok(None),
        1 => Err(Violation::protocol("close frame with a 1-byte payload")),
        _ => {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            let status = CloseStatus::new(code);
            if !status.is_sendable() {
                return Err(Violation::protocol("invalid close code"));
            }
            let reason = std::str::from_utf8(&payload[2..]).map_err(|_| invalid_text())?;
            Ok(Some(if reason.is_empty() { status } else { status.with_reason(reason.to_owned()) }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::deflate::{Deflater, Direction};

    const LIMITS: DecoderLimits =
        DecoderLimits { max_frame_size: 1 << 20, max_text_message_size: 1 << 20, max_binary_message_size: 1 << 20 };

    /// A masked client frame.
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [1, 2, 3, 4];
        let mut out = vec![first];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n < 65536 => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    fn decode_all(decoder: &mut FrameDecoder, bytes: &[u8]) -> Result<Vec<Decoded>, Violation> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        let mut needed = 0;
        while let Some(decoded) = decoder.decode(&mut buf, &LIMITS, &mut needed)? {
            out.push(decoded);
        }
        Ok(out)
    }

    fn status_of(result: Result<Vec<Decoded>, Violation>) -> u16 {
        result.expect_err("a violation").status.code()
    }

    #[test]
    fn unfragmented_text_and_binary() {
        let mut d = FrameDecoder::default();
        let mut bytes = frame(0x81, b"hello");
        bytes.extend(frame(0x82, &[0, 1, 2]));
        assert_eq!(
            decode_all(&mut d, &bytes).unwrap(),
            vec![Decoded::Message(Message::text("hello")), Decoded::Message(Message::binary(vec![0, 1, 2]))]
        );
    }

    #[test]
    fn fragments_are_reassembled_around_control_frames() {
        let mut d = FrameDecoder::default();
        let mut bytes = frame(0x01, "hé".as_bytes());
        bytes.extend(frame(0x89, b"p"));
        bytes.extend(frame(0x80, "llo".as_bytes()));
        assert_eq!(
            decode_all(&mut d, &bytes).unwrap(),
            vec![Decoded::Ping(Bytes::from_static(b"p")), Decoded::Message(Message::text("héllo"))]
        );
    }

    #[test]
    fn a_character_split_across_fragments_is_valid() {
        let euro = "€".as_bytes();
        let mut d = FrameDecoder::default();
        let mut bytes = frame(0x01, &euro[..1]);
        bytes.extend(frame(0x80, &euro[1..]));
        assert_eq!(decode_all(&mut d, &bytes).unwrap(), vec![Decoded::Message(Message::text("€"))]);
    }

    #[test]
    fn partial_delivery_keeps_characters_whole() {
        let euro = "a€".as_bytes();
        let mut d = FrameDecoder::new(true);
        let mut bytes = frame(0x01, &euro[..2]);
        bytes.extend(frame(0x80, &euro[2..]));
        assert_eq!(
            decode_all(&mut d, &bytes).unwrap(),
            vec![Decoded::Fragment(Message::text("a"), false), Decoded::Fragment(Message::text("€"), true)]
        );
    }

    #[test]
    fn invalid_utf8_fails_fast_with_1007() {
        let mut d = FrameDecoder::default();
        // The first fragment is already invalid: no need to wait for the rest.
        assert_eq!(status_of(decode_all(&mut d, &frame(0x01, b"\xce\xba\xff"))), 1007);
        assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0x81, b"\xed\xa0\x80"))), 1007);
        // A message that ends mid-character.
        assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0x81, b"\xe2\x82"))), 1007);
    }

    #[test]
    fn protocol_violations_close_with_1002() {
        let unmasked = vec![0x81, 0x01, b'a'];
        assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &unmasked)), 1002);
        assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0x83, b""))), 1002); // opcode 3
        assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0x8b, b""))), 1002); // opcode 11
        assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0xc1, b"a"))), 1002); // rsv1
        assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0x09, b""))), 1002); // fragmented ping
        assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0x89, &[0; 126]))), 1002);
        assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0x80, b"a"))), 1002); // stray continuation
        let mut twice = frame(0x01, b"a");
        twice.extend(frame(0x81, b"b"));
        assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &twice)), 1002);
    }

    #[test]
    fn close_frames_are_validated() {
        let ok = |payload: &[u8]| decode_all(&mut FrameDecoder::default(), &frame(0x88, payload));
        assert_eq!(ok(b"").unwrap(), vec![Decoded::Close(None)]);
        assert_eq!(
            ok(&[0x03, 0xe8, b'o', b'k']).unwrap(),
            vec![Decoded::Close(Some(CloseStatus::NORMAL.with_reason("ok")))]
        );
        assert_eq!(status_of(ok(&[0x03])), 1002);
        assert!(ok(&[0x03]).unwrap_err().in_close_frame);
        assert_eq!(status_of(ok(&1005u16.to_be_bytes())), 1002);
        assert_eq!(status_of(ok(&999u16.to_be_bytes())), 1002);
        assert_eq!(status_of(ok(&[0x03, 0xe8, 0xff])), 1007);
    }

    #[test]
    fn oversized_frames_fail_from_the_header_alone() {
        // A header announcing 2^63 bytes: rejected before any payload is buffered.
        let mut header = vec![0x82, 0x80 | 127];
        header.extend_from_slice(&(1u64 << 63).to_be_bytes());
        header.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &header)), 1009);

        let small = DecoderLimits { max_frame_size: 100, max_text_message_size: 150, max_binary_message_size: 150 };
        let mut d = FrameDecoder::default();
        let mut buf = BytesMut::from(&frame(0x02, &[0; 100])[..]);
        buf.extend_from_slice(&frame(0x80, &[0; 60]));
        let mut needed = 0;
        // The first fragment fits; the second would take the message past 150 bytes.
        let err = d.decode(&mut buf, &small, &mut needed).unwrap_err();
        assert_eq!(err.status.code(), 1009);
        assert!(err.status.reason().contains("limit of 150"), "{:?}", err.status);
    }

    fn deflating() -> FrameDecoder {
        let direction = Direction { no_context_takeover: false, max_window_bits: 15 };
        FrameDecoder::default().with_inflater(Some(Inflater::new(direction)))
    }

    fn compressed(payload: &[u8]) -> Bytes {
        let direction = Direction { no_context_takeover: false, max_window_bits: 15 };
        Deflater::new(direction, 6, 0).compress(payload).expect("compressible")
    }

    #[test]
    fn rsv1_marks_a_compressed_message_once_negotiated() {
        let text = "héllo ".repeat(40);
        let data = compressed(text.as_bytes());
        let mut bytes = frame(0xc1, &data); // FIN + RSV1 + text
        bytes.extend(frame(0x81, b"plain")); // uncompressed messages stay allowed
        assert_eq!(
            decode_all(&mut deflating(), &bytes).unwrap(),
            vec![Decoded::Message(Message::text(text)), Decoded::Message(Message::text("plain"))]
        );
    }

    #[test]
    fn a_compressed_message_may_be_split_anywhere() {
        let text = "a€b".repeat(100);
        let data = compressed(text.as_bytes());
        let (first, rest) = data.split_at(3);
        let (second, third) = rest.split_at(rest.len() / 2);
        let mut bytes = frame(0x41, first); // RSV1 + text, not final
        bytes.extend(frame(0x89, b"p"));
        bytes.extend(frame(0x00, second));
        bytes.extend(frame(0x80, third));
        assert_eq!(
            decode_all(&mut deflating(), &bytes).unwrap(),
            vec![Decoded::Ping(Bytes::from_static(b"p")), Decoded::Message(Message::text(text.clone()))]
        );
        // Partial delivery: each frame's inflated bytes, characters kept whole.
        let mut d = FrameDecoder::new(true).with_inflater(deflating().inflater);
        let mut bytes = frame(0x41, first);
        bytes.extend(frame(0x00, second));
        bytes.extend(frame(0x80, third));
        let joined: String = decode_all(&mut d, &bytes)
            .unwrap()
            .into_iter()
            .map(|decoded| match decoded {
                Decoded::Fragment(Message::Text(t), _) => t.as_str().to_owned(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn an_inflated_message_holds_no_spare_memory() {
        let text = "small chat message ".repeat(5);
        let mut buf = BytesMut::from(&frame(0xc1, &compressed(text.as_bytes()))[..]);
        let Some(Decoded::Message(Message::Text(got))) = deflating().decode(&mut buf, &LIMITS, &mut 0).unwrap() else {
            panic!("a text message");
        };
        assert_eq!(got.as_str(), text);
        // The Bytes owns exactly the message: converting back to a Vec reuses it.
        let bytes = got.into_bytes();
        assert_eq!(Vec::from(bytes).capacity(), text.len());
    }

    #[test]
    fn rsv1_is_a_protocol_error_where_rfc_7692_forbids_it() {
        // Not negotiated.
        assert_eq!(status_of(decode_all(&mut FrameDecoder::default(), &frame(0xc1, b"a"))), 1002);
        // On a control frame, and on a continuation frame.
        assert_eq!(status_of(decode_all(&mut deflating(), &frame(0xc9, b""))), 1002);
        let mut bytes = frame(0x41, &compressed(b"hello hello hello")[..2]);
        bytes.extend(frame(0xc0, b""));
        let err = decode_all(&mut deflating(), &bytes).unwrap_err();
        assert_eq!(err.status.code(), 1002);
        assert!(err.status.reason().contains("continuation"), "{:?}", err.status);
        // RSV2 and RSV3 mean nothing with permessage-deflate.
        assert_eq!(status_of(decode_all(&mut deflating(), &frame(0xa1, b"a"))), 1002);
    }

    #[test]
    fn inflating_past_the_limit_is_1009_and_garbage_is_1007() {
        let bomb = compressed(&vec![b'x'; 1 << 20]);
        let small =
            DecoderLimits { max_frame_size: 1 << 20, max_text_message_size: 1000, max_binary_message_size: 1000 };
        let mut buf = BytesMut::from(&frame(0xc1, &bomb)[..]);
        let err = deflating().decode(&mut buf, &small, &mut 0).unwrap_err();
        assert_eq!(err.status.code(), 1009);
        assert!(err.status.reason().contains("inflates past the limit of 1000"), "{:?}", err.status);
        // Invalid UTF-8 inside the compressed data is still 1007, and so is garbage.
        assert_eq!(status_of(decode_all(&mut deflating(), &frame(0xc1, &compressed(b"\xff\xfe\xfd")))), 1007);
        assert_eq!(status_of(decode_all(&mut deflating(), &frame(0xc1, &[0xff, 0xff]))), 1007);
    }

    #[test]
    fn incomplete_frames_ask_for_exactly_what_is_missing() {
        let bytes = frame(0x82, &[7; 300]);
        let mut buf = BytesMut::from(&bytes[..100]);
        let mut needed = 0;
        assert_eq!(FrameDecoder::default().decode(&mut buf, &LIMITS, &mut needed).unwrap(), None);
        assert_eq!(needed, bytes.len());
        assert_eq!(buf.len(), 100, "nothing consumed");
    }
}
