//! permessage-deflate's compression (RFC 7692 §7.2): each message is raw DEFLATE
//! data flushed to a byte boundary, sent without the empty stored block
//! (`00 00 ff ff`) a sync flush ends with; the receiver appends it back.
//!
//! A compressor costs about 370 KiB and a decompressor about 40 KiB (zlib-rs,
//! 32 KiB window), so both are made on first use. With context takeover they live
//! as long as the connection, since the next message may refer back to this one.
//! Without it the decompressor is dropped after every message and the compressor
//! once everything queued has been written, so an idle connection holds neither.

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The empty stored block that ends a sync flush (RFC 7692 §7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Smallest step the output of an inflate grows by.
const MIN_INFLATE_STEP: usize = 4096;

/// Why an incoming message could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// The message inflates to more than the limit allowed (a zip bomb, or just
    /// too big): stopped before the memory was spent.
    TooBig,
    /// Not valid DEFLATE data.
    Corrupt,
}

/// The settings of one direction of a negotiated permessage-deflate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Direction {
    /// The sender resets its LZ77 window after every message.
    pub(crate) no_context_takeover: bool,
    /// The sender's LZ77 window is at most 2^bits bytes (8 to 15).
    pub(crate) max_window_bits: u8,
}

/// Decompresses a client's compressed messages.
#[derive(Debug)]
pub(crate) struct Inflater {
    direction: Direction,
    /// Made on first use; dropped after each message without context takeover.
    decompress: Option<Box<Decompress>>,
}

impl Inflater {
    pub(crate) fn new(direction: Direction) -> Self {
        Inflater { direction, decompress: None }
    }

    /// Inflates one frame of a compressed message, appending to `out`. `last` is
    /// the message's final frame. Fails with [`InflateError::TooBig`] as soon as
    /// `out` would pass `limit` bytes: `out` never grows past `limit + 1`.
    pub(crate) fn inflate(
        &mut self,
        input: &[u8],
        last: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        let result =
            self.feed(input, out, limit).and_then(|()| if last { self.feed(&TAIL, out, limit) } else { Ok(()) });
        if result.is_err() || (last && self.direction.no_context_takeover) {
            // After an error the connection fails; without context takeover the
            // next message starts from an empty window anyway.
            self.decompress = None;
        }
        result
    }

    fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), InflateError> {
        // zlib cannot inflate with a 256-byte window; a larger one reads the same data.
        let bits = self.direction.max_window_bits.max(9);
        let decompress = self.decompress.get_or_insert_with(|| Box::new(Decompress::new_with_window_bits(false, bits)));
        loop {
            if out.len() == out.capacity() {
                if out.len() > limit {
                    return Err(InflateError::TooBig);
                }
                // Grow geometrically, but never past one byte over the limit: that
                // byte is how an oversized message shows without inflating it all.
                let room = (limit - out.len()).saturating_add(1);
                let step = out.len().max(input.len().saturating_mul(4)).max(MIN_INFLATE_STEP);
                out.reserve_exact(step.min(room));
            }
            let before_in = decompress.total_in();
            let before_out = out.len();
            let status =
                decompress.decompress_vec(input, out, FlushDecompress::Sync).map_err(|_| InflateError::Corrupt)?;
            let consumed = (decompress.total_in() - before_in) as usize;
            input = &input[consumed..];
            if out.len() > limit {
                return Err(InflateError::TooBig);
            }
            if status == Status::StreamEnd {
                // The client ended the DEFLATE stream (a final block): anything after
                // it starts a new one, with an empty window.
                decompress.reset(false);
            }
            let has_room = out.len() < out.capacity();
            if input.is_empty() && has_room {
                return Ok(());
            }
            if consumed == 0 && out.len() == before_out && has_room && status != Status::StreamEnd {
                // Input left, room to write, and no progress: the data is not DEFLATE.
                return Err(InflateError::Corrupt);
            }
        }
    }

    /// Whether a decompressor is allocated (for tests and memory accounting).
    #[cfg(test)]
    pub(crate) fn is_allocated(&self) -> bool {
        self.decompress.is_some()
    }
}

/// Compresses the server's messages for one connection.
#[derive(Debug)]
pub(crate) struct Deflater {
    direction: Direction,
    level: Compression,
    /// Messages shorter than this are sent as they are.
    threshold: usize,
    /// Made on first use; without context takeover, dropped by [`Deflater::release_idle`].
    compress: Option<Box<Compress>>,
}

impl Deflater {
    pub(crate) fn new(direction: Direction, level: u32, threshold: usize) -> Self {
        Deflater { direction, level: Compression::new(level), threshold, compress: None }
    }

    /// Whether messages are compressed at all: zlib has no 256-byte window, so a
    /// client that asked for `server_max_window_bits=8` gets uncompressed
    /// messages, which RFC 7692 allows (RSV1 is set per message).
    fn can_compress(&self) -> bool {
        self.direction.max_window_bits >= 9
    }

    /// Whether every message is compressed on its own (no context takeover):
    /// then a compressed frame made for another connection with the same
    /// [`SharedKey`] is exactly what this one would send.
    pub(crate) fn compresses_alone(&self) -> bool {
        self.direction.no_context_takeover
    }

    /// The parameters a shared compressed frame must have been made with.
    pub(crate) fn shared_key(&self) -> SharedKey {
        SharedKey { window_bits: self.direction.max_window_bits, level: self.level.level() as u8 }
    }

    /// Whether `len` bytes are worth compressing.
    pub(crate) fn wants(&self, len: usize) -> bool {
        len >= self.threshold && self.can_compress()
    }

    /// The compressed payload of a message, or `None` to send it as it is (below
    /// the threshold, or no smaller when that does not disturb the window).
    pub(crate) fn compress(&mut self, payload: &[u8]) -> Option<Bytes> {
        if !self.wants(payload.len()) {
            return None;
        }
        let (bits, level) = (self.direction.max_window_bits, self.level);
        let compress =
            self.compress.get_or_insert_with(|| Box::new(Compress::new_with_window_bits(level, false, bits)));
        let compressed = compress_message(compress, payload);
        if self.direction.no_context_takeover {
            compress.reset();
        }
        match compressed {
            // Without context takeover a message may go out uncompressed when that
            // is shorter; with it, the client's window must see what ours saw.
            Some(out) if self.direction.no_context_takeover && out.len() >= payload.len() => None,
            Some(out) => Some(out),
            None => {
                // Cannot happen with a valid stream; a fresh compressor keeps the
                // client's window consistent (its output refers to nothing older).
                self.compress = None;
                None
            }
        }
    }

    /// Frees the compressor when nothing needs to be remembered between messages;
    /// called once the write buffer is empty.
    pub(crate) fn release_idle(&mut self) {
        if self.direction.no_context_takeover {
            self.compress = None;
        }
    }

    #[cfg(test)]
    pub(crate) fn is_allocated(&self) -> bool {
        self.compress.is_some()
    }
}

/// The parameters that make two connections' compressed frames identical:
/// without context takeover, the same window and level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SharedKey {
    window_bits: u8,
    level: u8,
}

impl SharedKey {
    /// A small integer naming these parameters (for caches keyed by integers).
    pub(crate) fn as_u32(self) -> u32 {
        u32::from(self.window_bits) << 8 | u32::from(self.level)
    }
}

/// Compresses `payload` with a fresh compressor for `key`: the frame payload
/// every connection without context takeover sharing `key` would send, or
/// `None` when compressing does not make it smaller.
pub(crate) fn compress_once(key: SharedKey, payload: &[u8]) -> Option<Bytes> {
    let mut compress = Compress::new_with_window_bits(Compression::new(u32::from(key.level)), false, key.window_bits);
    compress_message(&mut compress, payload).filter(|compressed| compressed.len() < payload.len())
}

/// One message through `compress`, sync-flushed, without the trailing empty block.
fn compress_message(compress: &mut Compress, payload: &[u8]) -> Option<Bytes> {
    let mut out = Vec::with_capacity(payload.len() / 2 + 64);
    let start = compress.total_in();
    loop {
        let consumed = (compress.total_in() - start) as usize;
        compress.compress_vec(&payload[consumed..], &mut out, FlushCompress::Sync).ok()?;
        // The flush is complete once all input is taken and it left room unused.
        if (compress.total_in() - start) as usize == payload.len() && out.len() < out.capacity() {
            break;
        }
        out.reserve(out.capacity().max(64));
    }
    if !out.ends_with(&TAIL) {
        return None;
    }
    out.truncate(out.len() - TAIL.len());
    Some(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAKEOVER: Direction = Direction { no_context_takeover: false, max_window_bits: 15 };
    const NO_TAKEOVER: Direction = Direction { no_context_takeover: true, max_window_bits: 15 };

    fn chat(i: usize) -> Vec<u8> {
        format!(r#"{{"type":"message","room":"general","user":"user{}","text":"hello number {i}"}}"#, i % 7)
            .into_bytes()
    }

    fn inflate_all(inflater: &mut Inflater, data: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
        let mut out = Vec::new();
        inflater.inflate(data, true, &mut out, limit)?;
        Ok(out)
    }

    #[test]
    fn round_trip_with_context_takeover_shrinks_later_messages() {
        let mut deflater = Deflater::new(TAKEOVER, 6, 0);
        let mut inflater = Inflater::new(TAKEOVER);
        let mut sizes = Vec::new();
        for i in 0..20 {
            let message = chat(i);
            let compressed = deflater.compress(&message).expect("compressed");
            assert!(!compressed.ends_with(&TAIL));
            sizes.push(compressed.len());
            assert_eq!(inflate_all(&mut inflater, &compressed, 1 << 20).unwrap(), message);
        }
        // Later messages refer back to earlier ones.
        assert!(sizes[19] * 2 < sizes[0], "{sizes:?}");
        assert!(deflater.is_allocated() && inflater.is_allocated());
    }

    #[test]
    fn without_context_takeover_nothing_is_kept() {
        let mut deflater = Deflater::new(NO_TAKEOVER, 6, 0);
        let mut inflater = Inflater::new(NO_TAKEOVER);
        let message = b"abcabcabcabcabcabcabcabcabcabcabcabc".repeat(4);
        let first = deflater.compress(&message).unwrap();
        let second = deflater.compress(&message).unwrap();
        assert_eq!(first, second, "each message starts from an empty window");
        assert_eq!(first, compress_once(deflater.shared_key(), &message).unwrap());
        deflater.release_idle();
        assert!(!deflater.is_allocated());
        assert_eq!(inflate_all(&mut inflater, &first, 1 << 20).unwrap(), message);
        assert!(!inflater.is_allocated());
    }

    #[test]
    fn the_rfc_example_inflates() {
        // RFC 7692 §7.2.3.1: "Hello" compressed.
        let mut inflater = Inflater::new(TAKEOVER);
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        assert_eq!(inflate_all(&mut inflater, &hello, 100).unwrap(), b"Hello");
        // §7.2.3.2: the same message again, referring to the first.
        assert_eq!(inflate_all(&mut inflater, &[0xf2, 0x00, 0x11, 0x00, 0x00], 100).unwrap(), b"Hello");
    }

    #[test]
    fn a_message_split_across_frames_inflates_as_one() {
        let message = chat(3).repeat(50);
        let compressed = Deflater::new(TAKEOVER, 6, 0).compress(&message).unwrap();
        let mut inflater = Inflater::new(TAKEOVER);
        let mut out = Vec::new();
        let chunks: Vec<&[u8]> = compressed.chunks(7).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            inflater.inflate(chunk, i + 1 == chunks.len(), &mut out, 1 << 20).unwrap();
        }
        assert_eq!(out, message);
    }

    #[test]
    fn a_zip_bomb_stops_one_byte_past_the_limit() {
        let bomb = Deflater::new(NO_TAKEOVER, 9, 0).compress(&vec![0u8; 10 << 20]).unwrap();
        assert!(bomb.len() < 20_000, "10 MiB of zeros compresses to {} bytes", bomb.len());
        let mut inflater = Inflater::new(NO_TAKEOVER);
        let mut out = Vec::new();
        assert_eq!(inflater.inflate(&bomb, true, &mut out, 64 << 10), Err(InflateError::TooBig));
        assert!(out.capacity() <= (64 << 10) + 1, "grew to {}", out.capacity());
        // Exactly at the limit is fine.
        let fits = Deflater::new(NO_TAKEOVER, 9, 0).compress(&vec![0u8; 64 << 10]).unwrap();
        assert_eq!(inflate_all(&mut inflater, &fits, 64 << 10).unwrap().len(), 64 << 10);
    }

    #[test]
    fn garbage_is_corrupt() {
        let mut inflater = Inflater::new(TAKEOVER);
        // BTYPE 11 is reserved.
        assert_eq!(inflate_all(&mut inflater, &[0xff, 0xff, 0xff], 100), Err(InflateError::Corrupt));
    }

    #[test]
    fn a_final_block_starts_a_new_stream() {
        // RFC 7692 §7.2.3.4: "Hello" in a block with BFINAL set, then the 0x00
        // that lets the appended tail parse; then a message from a new stream.
        let mut inflater = Inflater::new(TAKEOVER);
        let hello = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        assert_eq!(inflate_all(&mut inflater, &hello, 100).unwrap(), b"Hello");
        let next = Deflater::new(TAKEOVER, 6, 0).compress(b"world").unwrap();
        assert_eq!(inflate_all(&mut inflater, &next, 100).unwrap(), b"world");
    }

    #[test]
    fn small_messages_and_tiny_windows_go_uncompressed() {
        let mut deflater = Deflater::new(TAKEOVER, 6, 64);
        assert_eq!(deflater.compress(&[b'a'; 63]), None);
        assert!(deflater.compress(&[b'a'; 64]).is_some());
        let mut eight = Deflater::new(Direction { no_context_takeover: false, max_window_bits: 8 }, 6, 0);
        assert_eq!(eight.compress(&[b'a'; 1000]), None);
        // Incompressible data without context takeover is sent as it is.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let noise: Vec<u8> = (0..1000)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        assert_eq!(Deflater::new(NO_TAKEOVER, 6, 0).compress(&noise), None);
    }
}
