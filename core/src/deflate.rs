//! [`DeflateConfig`]: the settings of permessage-deflate compression (RFC 7692),
//! server-wide and per handler.

/// How a server (or one handler) compresses messages with permessage-deflate.
///
/// The extension is negotiated only with clients that offer it (every browser
/// does). Off by default, for memory: with context takeover a connection keeps
/// its compressor and decompressor (zlib-rs allocates about 370 KiB and 40 KiB
/// with the 32 KiB window) from its first compressed message to its end. The
/// `deflate` bench (`cargo bench -p wsboot --bench deflate`, 1,000 connections)
/// measured 338 KiB of server RSS per idle connection after one echo, against
/// 7 KiB without compression, and 14 KiB without context takeover, where
/// nothing is kept between messages. Turn it on where bandwidth costs more than
/// memory: chat-style JSON shrinks 3.5× at level 1 with context takeover (the
/// bench's 194-byte messages go out as 56 bytes), but only 1.1× without it.
///
/// ```
/// use wsboot_core::DeflateConfig;
///
/// let mut deflate = DeflateConfig::enabled();
/// deflate.context_takeover = false; // nothing kept between messages
/// deflate.level = 1;
/// assert!(deflate.validate().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// Accept permessage-deflate when the client offers it. Default: off (see
    /// the type's documentation for the memory it costs).
    pub enabled: bool,
    /// zlib compression level, 0 (store only) to 9 (smallest, slowest).
    /// Default: 1. On chat-style JSON with context takeover it reaches 3.5×
    /// against level 6's 4.3×, compressing a message in 0.5 µs instead of 10 µs
    /// (the bench's echo server spent 15 µs per message at level 1, 31 at level
    /// 6, 5.5 without compression).
    pub level: u32,
    /// Messages shorter than this many bytes are sent uncompressed. Default: 64:
    /// below that a message can save a few dozen bytes at most, not worth a
    /// compressor call (nor, without context takeover, making a compressor).
    pub threshold: usize,
    /// Allow context takeover: keep the LZ77 window from one message to the next
    /// (better ratio on small, similar messages), at the memory cost above. When
    /// `false` the server answers with `server_no_context_takeover` and
    /// `client_no_context_takeover`, and allocates a compressor only while it is
    /// writing. Default: `true` (clients that ask for no context takeover get it
    /// either way).
    pub context_takeover: bool,
    /// Largest LZ77 window, as a power of two, 9 to 15: the server compresses
    /// with at most this and asks clients that accept the parameter to do the
    /// same. Default: 15 (32 KiB, the deflate maximum). A smaller window saves
    /// less memory than it suggests: the compressor's 128 KiB hash table and its
    /// buffers do not shrink with it.
    pub max_window_bits: u8,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig { enabled: false, level: 1, threshold: 64, context_takeover: true, max_window_bits: 15 }
    }
}

impl DeflateConfig {
    /// The default settings with compression turned on.
    pub fn enabled() -> Self {
        DeflateConfig { enabled: true, ..DeflateConfig::default() }
    }

    /// Checks the ranges; the error names the setting and the range it must be in.
    pub fn validate(&self) -> Result<(), String> {
        if self.level > 9 {
            return Err(format!("deflate level {} is out of range: use 0 (store) to 9 (smallest)", self.level));
        }
        if !(9..=15).contains(&self.max_window_bits) {
            return Err(format!(
                "deflate max_window_bits {} is out of range: use 9 (512-byte window) to 15 (32 KiB)",
                self.max_window_bits
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked_with_a_helpful_message() {
        assert!(DeflateConfig::default().validate().is_ok());
        let bad_level = DeflateConfig { level: 10, ..DeflateConfig::enabled() };
        assert!(bad_level.validate().unwrap_err().contains("0 (store) to 9"));
        let bad_window = DeflateConfig { max_window_bits: 8, ..DeflateConfig::enabled() };
        assert!(bad_window.validate().unwrap_err().contains("max_window_bits 8"));
    }
}
