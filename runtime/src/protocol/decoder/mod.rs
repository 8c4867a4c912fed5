//! Client frames in, complete (or partial) messages out.

mod header;

use bytes::{Buf, Bytes, BytesMut};
use header::Parse;
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
    /// The message being assembled from fragments. Boxed, like the inflater:
    /// every session holds a decoder, few hold either.
    partial: Option<Box<PartialMessage>>,
    /// Deliver fragments as they come instead of whole messages.
    partial_delivery: bool,
    /// permessage-deflate, when negotiated: RSV1 on a message's first frame
    /// marks it compressed.
    inflater: Option<Box<Inflater>>,
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
    match simdutf8::compat::from_utf8(bytes) {
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
        self.inflater = inflater.map(Box::new);
        self
    }

    /// Gives back the decompressor's state between messages (the session rests).
    pub(crate) fn rest(&mut self) {
        if let Some(inflater) = self.inflater.as_mut() {
            inflater.rest();
        }
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
            let (header, length, header_len) = match header::parse(buf)? {
                Parse::Header { header, payload_len, header_len } => (header, payload_len, header_len),
                Parse::Incomplete(header_len) => {
                    *needed = header_len;
                    return Ok(None);
                }
            };
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
            let mut payload = take_payload(buf, length);
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
        let partial = self.partial.get_or_insert_with(|| Box::new(PartialMessage::new(is_text, compressed)));
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
            self.partial = Some(Box::new(PartialMessage::new(is_text, compressed)));
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

/// Payloads up to this size are copied out of the read buffer; larger ones are
/// split off it without a copy.
const COPY_LIMIT: usize = 1024;

/// Takes the next `length` bytes of `buf` as a frame's payload.
///
/// A small payload gets an allocation of its own: a slice of the read buffer
/// would share its reference count, which every message then increments when
/// split off and decrements when dropped (two atomic operations per message,
/// each waiting for the writes before it), and a message an app keeps would
/// keep the whole read buffer alive. Copying a small payload costs less, and
/// leaves the read buffer unshared, so the next read reuses it in place.
fn take_payload(buf: &mut BytesMut, length: usize) -> BytesMut {
    if length > COPY_LIMIT {
        return buf.split_to(length);
    }
    let payload = BytesMut::from(&buf[..length]);
    buf.advance(length);
    payload
}

#[cfg(test)]
mod tests;
