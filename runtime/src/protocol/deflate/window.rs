//! [`Window`]: the end of one direction's uncompressed stream, as much of it
//! as a DEFLATE window holds. With context takeover each message may refer
//! back into it; keeping it lets a session drop its compressor or
//! decompressor while it rests (a few hundred KiB of zlib state) and make a
//! new one later that starts from the same window (`set_dictionary`), so the
//! stream goes on as if nothing had been dropped.

use std::collections::VecDeque;

/// The last bytes of a stream, at most `size`.
#[derive(Debug)]
pub(super) struct Window {
    bytes: VecDeque<u8>,
    size: usize,
}

impl Window {
    /// An empty window of `2^bits` bytes.
    pub(super) fn new(bits: u8) -> Self {
        Window { bytes: VecDeque::new(), size: 1 << bits }
    }

    /// A window that starts with `saved` (what [`into_saved`](Self::into_saved) kept).
    pub(super) fn resume(bits: u8, saved: &[u8]) -> Self {
        let mut window = Window::new(bits);
        window.push(saved);
        window
    }

    /// Appends what went through the stream, forgetting what falls out of the window.
    pub(super) fn push(&mut self, data: &[u8]) {
        let data = &data[data.len().saturating_sub(self.size)..];
        let overflow = (self.bytes.len() + data.len()).saturating_sub(self.size);
        self.bytes.drain(..overflow);
        self.bytes.extend(data);
    }

    /// The stream started over (a final block, or a reset): nothing to refer to.
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
    }

    /// The window's bytes in order, in an allocation of exactly their size.
    pub(super) fn into_saved(mut self) -> Box<[u8]> {
        self.bytes.make_contiguous();
        self.bytes.as_slices().0.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_bytes_up_to_its_size() {
        let mut window = Window::new(9);
        window.push(&[1; 300]);
        window.push(&[2; 300]);
        let saved = window.into_saved();
        assert_eq!(saved.len(), 512);
        assert_eq!(&saved[..212], &[1; 212][..]);
        assert_eq!(&saved[212..], &[2; 300][..]);

        let mut window = Window::resume(9, &saved);
        window.push(&(0..=255).cycle().take(1000).collect::<Vec<u8>>());
        let saved = window.into_saved();
        assert_eq!(saved.len(), 512);
        assert_eq!(saved[511], (999 % 256) as u8, "the newest byte last");

        let mut window = Window::resume(9, &saved);
        window.clear();
        assert!(window.into_saved().is_empty());
    }
}
