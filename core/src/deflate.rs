//! [`DeflateConfig`]: the settings of permessage-deflate compression (RFC 7692),
//! server-wide and per handler.

use crate::error::Error;
use crate::problem::ConfigProblem;

/// How a server (or one handler) compresses messages with permessage-deflate.
///
/// The extension is negotiated only with clients that offer it (every browser
/// does). Off by default, for memory: a connection's compressor and
/// decompressor (zlib-rs allocates about 370 KiB and 40 KiB with the 32 KiB
/// window) exist while it exchanges messages. When a session goes quiet (a
/// quarter to half a second without reads or writes) they are freed; with
/// context takeover only their windows are kept (at most 2^`max_window_bits`
/// bytes each, and only as much as went through), and new ones resume from
/// them, so the stream goes on as if they had never been dropped. With mimalloc
/// as the process's allocator (as in wsboot's examples), the `deflate` bench
/// (`cargo bench -p wsboot --bench deflate`, 1,000 connections, one chat message
/// each, then idle) measured 2.0 to 4.1 KiB of server RSS per idle connection
/// with context takeover and 1.5 to 2.1 KiB without compression. glibc's malloc keeps freed
/// compressors resident (112 to 244 KiB per connection) unless its mmap threshold
/// is fixed (`MALLOC_MMAP_THRESHOLD_=262144` in the environment: 23.3 KiB). Use
/// mimalloc or jemalloc, or set the threshold, where many
/// connections compress. Turn compression on where bandwidth costs more than
/// CPU: chat-style JSON shrinks 3.5× at level 1 with context takeover (the
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

    /// Checks the ranges: a configuration [`Error`] with one
    /// [problem](Error::problems) per setting out of range, naming its key
    /// (`deflate.level`, `deflate.max_window_bits`) and the range it must be in.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        if self.level > 9 {
            problems.push(
                ConfigProblem::new(format!("must be from 0 (store) to 9 (smallest); found {}", self.level))
                    .with_key("deflate.level"),
            );
        }
        if !(9..=15).contains(&self.max_window_bits) {
            problems.push(
                ConfigProblem::new(format!(
                    "must be from 9 (512-byte window) to 15 (32 KiB); found {}",
                    self.max_window_bits
                ))
                .with_key("deflate.max_window_bits"),
            );
        }
        if problems.is_empty() { Ok(()) } else { Err(Error::config(problems)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked_with_a_helpful_message() {
        assert!(DeflateConfig::default().validate().is_ok());
        let bad_level = DeflateConfig { level: 10, ..DeflateConfig::enabled() };
        assert_eq!(
            bad_level.validate().unwrap_err().to_string(),
            "`deflate.level` must be from 0 (store) to 9 (smallest); found 10"
        );
        let bad_window = DeflateConfig { max_window_bits: 8, ..DeflateConfig::enabled() };
        assert!(bad_window.validate().unwrap_err().to_string().contains("`deflate.max_window_bits` must be from 9"));
    }

    #[test]
    fn every_setting_out_of_range_is_its_own_problem() {
        let error =
            DeflateConfig { level: 10, max_window_bits: 16, ..DeflateConfig::enabled() }.validate().unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Config);
        let keys: Vec<_> = error.problems().iter().map(|problem| problem.key()).collect();
        assert_eq!(keys, [Some("deflate.level"), Some("deflate.max_window_bits")]);
    }
}
