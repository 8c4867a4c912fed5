//! permessage-deflate's compression (RFC 7692 §7.2): each message is raw DEFLATE
//! data flushed to a byte boundary, sent without the empty stored block
//! (`00 00 ff ff`) a sync flush ends with; the receiver appends it back.
//!
//! A compressor costs about 370 KiB and a decompressor about 40 KiB (zlib-rs,
//! 32 KiB window), so both are made on first use. Without context takeover the
//! decompressor is dropped after every message and the compressor once
//! everything queued has been written. With it, the next message may refer back
//! to this one: while the session is busy both live on; when it rests they are
//! dropped and only their windows kept (at most 2^bits bytes each, often far
//! less: only what went through), from which a new one resumes (see `window`).
//! An idle connection holds no zlib state either way.

mod window;

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use self::window::Window;

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

/// A (de)compressor at work, and with context takeover the window it has
/// built, for when it rests.
#[derive(Debug)]
struct Busy<Z> {
    zlib: Z,
    /// `None` without context takeover: then nothing outlives a message.
    window: Option<Window>,
}

impl<Z> Busy<Z> {
    /// `zlib`, already primed with `saved`, and (context takeover) the window
    /// it starts from.
    fn new(zlib: Z, direction: Direction, bits: u8, saved: Option<&[u8]>) -> Box<Self> {
        let window = (!direction.no_context_takeover).then(|| Window::resume(bits, saved.unwrap_or_default()));
        Box::new(Busy { zlib, window })
    }

    /// Gives the zlib state back and keeps what a new one resumes from.
    fn rest(slot: &mut Option<Box<Self>>, saved: &mut Option<Box<[u8]>>) {
        if let Some(busy) = slot.take() {
            *saved = busy.window.map(Window::into_saved);
        }
    }
}

impl Busy<Decompress> {
    /// A decompressor with `2^bits` of window, resuming from `saved`.
    fn inflating(direction: Direction, bits: u8, saved: Option<Box<[u8]>>) -> Result<Box<Self>, InflateError> {
        let mut zlib = Decompress::new_with_window_bits(false, bits);
        if let Some(saved) = saved.as_deref().filter(|saved| !saved.is_empty()) {
            zlib.set_dictionary(saved).map_err(|_| InflateError::Corrupt)?;
        }
        Ok(Busy::new(zlib, direction, bits, saved.as_deref()))
    }
}

impl Busy<Compress> {
    /// A compressor for `direction`, resuming from `saved`.
    fn deflating(direction: Direction, level: Compression, saved: Option<Box<[u8]>>) -> Box<Self> {
        let bits = direction.max_window_bits;
        let mut zlib = Compress::new_with_window_bits(level, false, bits);
        // A dictionary the compressor refused would leave our window and the
        // client's apart: then start from an empty one (the output refers to
        // nothing older, which is always valid).
        let saved = saved.filter(|saved| saved.is_empty() || zlib.set_dictionary(saved).is_ok());
        Busy::new(zlib, direction, bits, saved.as_deref())
    }
}

/// Decompresses a client's compressed messages.
#[derive(Debug)]
pub(crate) struct Inflater {
    direction: Direction,
    /// Made on first use (from `saved`, after a rest); dropped after each
    /// message without context takeover.
    busy: Option<Box<Busy<Decompress>>>,
    /// With context takeover, the window of a decompressor that rested.
    saved: Option<Box<[u8]>>,
    /// Inside a message: its decompressor's state cannot be given back yet.
    mid_message: bool,
}

impl Inflater {
    pub(crate) fn new(direction: Direction) -> Self {
        Inflater { direction, busy: None, saved: None, mid_message: false }
    }

    /// The decompressor's window bits: zlib cannot inflate with a 256-byte
    /// window; a larger one reads the same data.
    fn bits(&self) -> u8 {
        self.direction.max_window_bits.max(9)
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
        self.mid_message = !last;
        if result.is_err() || (last && self.direction.no_context_takeover) {
            // After an error the connection fails; without context takeover the
            // next message starts from an empty window anyway.
            self.busy = None;
        }
        result
    }

    fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), InflateError> {
        let bits = self.bits();
        let busy = match &mut self.busy {
            Some(busy) => busy,
            empty => empty.insert(Busy::inflating(self.direction, bits, self.saved.take())?),
        };
        let decompress = &mut busy.zlib;
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
            if let Some(window) = &mut busy.window {
                window.push(&out[before_out..]);
            }
            if status == Status::StreamEnd {
                // The client ended the DEFLATE stream (a final block): anything after
                // it starts a new one, with an empty window.
                decompress.reset(false);
                if let Some(window) = &mut busy.window {
                    window.clear();
                }
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

    /// Gives the decompressor back between messages (the session rests),
    /// keeping its window when the next message may refer to it.
    pub(crate) fn rest(&mut self) {
        if !self.mid_message {
            Busy::rest(&mut self.busy, &mut self.saved);
        }
    }

    /// Whether a decompressor is allocated (for tests and memory accounting).
    #[cfg(test)]
    pub(crate) fn is_allocated(&self) -> bool {
        self.busy.is_some()
    }
}

/// Compresses the server's messages for one connection.
#[derive(Debug)]
pub(crate) struct Deflater {
    direction: Direction,
    level: Compression,
    /// Messages shorter than this are sent as they are.
    threshold: usize,
    /// Made on first use (from `saved`, after a rest); without context
    /// takeover, dropped by [`Deflater::release_idle`].
    busy: Option<Box<Busy<Compress>>>,
    /// With context takeover, the window of a compressor that rested.
    saved: Option<Box<[u8]>>,
}

impl Deflater {
    pub(crate) fn new(direction: Direction, level: u32, threshold: usize) -> Self {
        Deflater { direction, level: Compression::new(level), threshold, busy: None, saved: None }
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
        let busy = match &mut self.busy {
            Some(busy) => busy,
            empty => empty.insert(Busy::deflating(self.direction, self.level, self.saved.take())),
        };
        let compressed = compress_message(&mut busy.zlib, payload);
        match &mut busy.window {
            Some(window) => window.push(payload),
            None => busy.zlib.reset(),
        }
        match compressed {
            // Without context takeover a message may go out uncompressed when that
            // is shorter; with it, the client's window must see what ours saw.
            Some(out) if self.direction.no_context_takeover && out.len() >= payload.len() => None,
            Some(out) => Some(out),
            None => {
                // Cannot happen with a valid stream; a fresh compressor keeps the
                // client's window consistent (its output refers to nothing older).
                self.busy = None;
                None
            }
        }
    }

    /// Frees the compressor when nothing needs to be remembered between messages;
    /// called once the write buffer is empty.
    pub(crate) fn release_idle(&mut self) {
        if self.direction.no_context_takeover {
            self.busy = None;
        }
    }

    /// Gives the compressor back (the session rests), keeping its window when
    /// the next message may refer to it. Messages are flushed whole, so between
    /// two of them the compressor holds nothing else.
    pub(crate) fn rest(&mut self) {
        Busy::rest(&mut self.busy, &mut self.saved);
    }

    /// Whether a compressor is allocated.
    pub(crate) fn is_allocated(&self) -> bool {
        self.busy.is_some()
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
mod tests;
