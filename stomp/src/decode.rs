//! Reading frames from what the client sends: several frames in one WebSocket
//! message, one frame over several, heart-beats (bare EOLs) between them, and
//! limits on every size, so that hostile input costs a bounded amount of
//! memory and gets an error that names the problem.

use std::fmt;

use bytes::Bytes;

use crate::frame::{Command, Frame, Version, unescape};

/// How large a client's frames may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest frame, headers and body together, in bytes (default 64 KiB).
    pub max_frame_bytes: usize,
    /// The most headers in a frame (default 64).
    pub max_headers: usize,
    /// The longest header line, in bytes (default 8 KiB).
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_frame_bytes: 64 << 10, max_headers: 64, max_header_bytes: 8 << 10 }
    }
}

/// Why bytes from the client are not a frame. Each names the problem, as the
/// ERROR frame's `message` header tells the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// A command STOMP does not have.
    UnknownCommand(String),
    /// A header line without a `:`.
    MalformedHeader(String),
    /// A header with an escape sequence the version does not define.
    BadEscape {
        /// The header line, as received.
        header: String,
        /// The sequence.
        escape: String,
    },
    /// A command or header that is not UTF-8.
    NotUtf8,
    /// A `content-length` that is not a number.
    BadContentLength(String),
    /// The `content-length` bytes of the body are not followed by a NUL.
    MissingNul,
    /// A frame larger than [`Limits::max_frame_bytes`].
    FrameTooLarge(usize),
    /// More headers than [`Limits::max_headers`].
    TooManyHeaders(usize),
    /// A header line longer than [`Limits::max_header_bytes`].
    HeaderTooLong(usize),
}

impl DecodeError {
    /// A short summary, for the ERROR frame's `message` header.
    pub fn summary(&self) -> &'static str {
        match self {
            DecodeError::UnknownCommand(_) => "unknown command",
            DecodeError::MalformedHeader(_) => "malformed header",
            DecodeError::BadEscape { .. } => "invalid header escape",
            DecodeError::NotUtf8 => "frame is not UTF-8",
            DecodeError::BadContentLength(_) => "invalid content-length",
            DecodeError::MissingNul => "frame does not end with NUL",
            DecodeError::FrameTooLarge(_) => "frame too large",
            DecodeError::TooManyHeaders(_) => "too many headers",
            DecodeError::HeaderTooLong(_) => "header too long",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnknownCommand(name) => write!(f, "unknown command {name:?}"),
            DecodeError::MalformedHeader(line) => write!(f, "header line {line:?} has no ':'"),
            DecodeError::BadEscape { header, escape } => {
                write!(f, "header {header:?} has the escape {escape:?}, which this STOMP version does not define")
            }
            DecodeError::NotUtf8 => f.write_str("the command and headers must be UTF-8"),
            DecodeError::BadContentLength(value) => write!(f, "content-length {value:?} is not a number of bytes"),
            DecodeError::MissingNul => f.write_str("the body of content-length bytes is not followed by a NUL"),
            DecodeError::FrameTooLarge(limit) => write!(f, "a frame may be at most {limit} bytes"),
            DecodeError::TooManyHeaders(limit) => write!(f, "a frame may have at most {limit} headers"),
            DecodeError::HeaderTooLong(limit) => write!(f, "a header line may be at most {limit} bytes"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Turns a client's bytes into frames.
#[derive(Debug)]
pub struct Decoder {
    buffer: Vec<u8>,
    version: Version,
    limits: Limits,
}

impl Decoder {
    /// A decoder for a new connection (headers are read as 1.2 until the
    /// session's version is known: CONNECT is never escaped).
    pub fn new(limits: Limits) -> Decoder {
        Decoder { buffer: Vec::new(), version: Version::V1_2, limits }
    }

    /// The version the session agreed on: how headers are unescaped.
    pub fn set_version(&mut self, version: Version) {
        self.version = version;
    }

    /// Adds bytes the client sent.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Whether bytes of an unfinished frame are waiting.
    pub fn is_mid_frame(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// The next complete frame, if one has arrived; heart-beats (EOLs
    /// between frames) are skipped.
    ///
    /// # Errors
    /// The first problem found; the connection cannot go on after it (the
    /// spec closes it after an ERROR frame).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, DecodeError> {
        let start = self.buffer.iter().position(|b| *b != b'\n' && *b != b'\r').unwrap_or(self.buffer.len());
        self.buffer.drain(..start);
        if self.buffer.is_empty() {
            return Ok(None);
        }
        let Some((command, headers, body_start)) = self.head()? else {
            if self.buffer.len() > self.limits.max_frame_bytes {
                return Err(DecodeError::FrameTooLarge(self.limits.max_frame_bytes));
            }
            return Ok(None);
        };
        let length = headers.iter().find(|(name, _)| name == "content-length").map(|(_, v)| v.trim());
        let (body_end, frame_end) = match length {
            Some(text) => {
                let length: usize = text.parse().map_err(|_| DecodeError::BadContentLength(text.to_owned()))?;
                let body_end = body_start.checked_add(length).filter(|end| *end < self.limits.max_frame_bytes);
                let body_end = body_end.ok_or(DecodeError::FrameTooLarge(self.limits.max_frame_bytes))?;
                match self.buffer.get(body_end) {
                    None => return Ok(None),
                    Some(0) => (body_end, body_end + 1),
                    Some(_) => return Err(DecodeError::MissingNul),
                }
            }
            None => match self.buffer[body_start..].iter().position(|b| *b == 0) {
                Some(at) => (body_start + at, body_start + at + 1),
                None if self.buffer.len() > self.limits.max_frame_bytes => {
                    return Err(DecodeError::FrameTooLarge(self.limits.max_frame_bytes));
                }
                None => return Ok(None),
            },
        };
        if frame_end > self.limits.max_frame_bytes {
            return Err(DecodeError::FrameTooLarge(self.limits.max_frame_bytes));
        }
        let body = Bytes::copy_from_slice(&self.buffer[body_start..body_end]);
        self.buffer.drain(..frame_end);
        let mut frame = Frame::new(command).body(body);
        for (name, value) in headers {
            frame.push_header(name, value);
        }
        Ok(Some(frame))
    }

    /// The command and headers, once the blank line after them arrived, and
    /// where the body starts.
    #[allow(clippy::type_complexity)]
    fn head(&self) -> Result<Option<(Command, Vec<(String, String)>, usize)>, DecodeError> {
        let mut lines = Vec::new();
        let mut at = 0;
        loop {
            let Some(end) = self.buffer[at..].iter().position(|b| *b == b'\n') else {
                if self.buffer.len() - at > self.limits.max_header_bytes {
                    return Err(DecodeError::HeaderTooLong(self.limits.max_header_bytes));
                }
                return Ok(None);
            };
            let line = &self.buffer[at..at + end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.len() > self.limits.max_header_bytes {
                return Err(DecodeError::HeaderTooLong(self.limits.max_header_bytes));
            }
            at += end + 1;
            if line.is_empty() {
                break;
            }
            if lines.len() > self.limits.max_headers {
                return Err(DecodeError::TooManyHeaders(self.limits.max_headers));
            }
            lines.push(line);
        }
        let (command, header_lines) = lines.split_first().expect("leading EOLs were skipped");
        let command = Command::parse(command)
            .ok_or_else(|| DecodeError::UnknownCommand(String::from_utf8_lossy(command).into_owned()))?;
        let escaped = command.escapes_headers(self.version);
        let mut headers = Vec::with_capacity(header_lines.len());
        for line in header_lines {
            let line = std::str::from_utf8(line).map_err(|_| DecodeError::NotUtf8)?;
            let (name, value) = line.split_once(':').ok_or_else(|| DecodeError::MalformedHeader(line.to_owned()))?;
            let (name, value) = if escaped {
                let bad = |escape| DecodeError::BadEscape { header: line.to_owned(), escape };
                (unescape(name, self.version).map_err(bad)?, unescape(value, self.version).map_err(bad)?)
            } else {
                (name.to_owned(), value.to_owned())
            };
            headers.push((name, value));
        }
        Ok(Some((command, headers, at)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(decoder: &mut Decoder, bytes: &[u8]) -> Result<Vec<Frame>, DecodeError> {
        decoder.push(bytes);
        let mut frames = Vec::new();
        while let Some(frame) = decoder.next_frame()? {
            frames.push(frame);
        }
        Ok(frames)
    }

    #[test]
    fn frames_arrive_whole_split_and_several_at_once() {
        let wire = b"\n\r\nSEND\r\ndestination:/queue/a\r\n\r\nhello\0\nSUBSCRIBE\nid:0\ndestination:/topic/b\n\n\0";
        let frames = decode_all(&mut Decoder::new(Limits::default()), wire).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0], Frame::new(Command::Send).header("destination", "/queue/a").body("hello"));
        assert_eq!(frames[1].get("destination"), Some("/topic/b"));

        // Byte by byte: the same frames, and nothing before they are whole.
        let mut decoder = Decoder::new(Limits::default());
        let mut got = Vec::new();
        for byte in wire {
            got.extend(decode_all(&mut decoder, &[*byte]).unwrap());
        }
        assert_eq!(got, frames);
        assert!(!decoder.is_mid_frame());
    }

    #[test]
    fn content_length_carries_nuls_and_must_end_with_one() {
        let mut decoder = Decoder::new(Limits::default());
        let frames = decode_all(&mut decoder, b"SEND\ndestination:/a\ncontent-length:3\n\na\0b\0").unwrap();
        assert_eq!(frames[0].body.as_ref(), b"a\0b");
        let error = decode_all(&mut Decoder::new(Limits::default()), b"SEND\ncontent-length:1\n\nab\0").unwrap_err();
        assert_eq!(error, DecodeError::MissingNul);
        let error = decode_all(&mut Decoder::new(Limits::default()), b"SEND\ncontent-length:x\n\n\0").unwrap_err();
        assert_eq!(error, DecodeError::BadContentLength("x".into()));
    }

    #[test]
    fn headers_are_unescaped_per_version_and_connect_is_not() {
        let mut decoder = Decoder::new(Limits::default());
        let frames = decode_all(&mut decoder, b"SEND\nk\\c:v\\nw\\\\\n\n\0CONNECT\nlogin:a\\c\n\n\0").unwrap();
        assert_eq!(frames[0].get("k:"), Some("v\nw\\"));
        assert_eq!(frames[1].get("login"), Some("a\\c"), "CONNECT is read as is");
        decoder.set_version(Version::V1_0);
        let frames = decode_all(&mut decoder, b"SEND\nk:a\\cb\n\n\0").unwrap();
        assert_eq!(frames[0].get("k"), Some("a\\cb"), "1.0 has no escapes");
        decoder.set_version(Version::V1_1);
        let error = decode_all(&mut decoder, b"SEND\nk:\\r\n\n\0").unwrap_err();
        assert!(matches!(error, DecodeError::BadEscape { ref escape, .. } if escape == "\\r"), "{error}");
    }

    #[test]
    fn hostile_input_is_refused_with_the_reason() {
        let limits = Limits { max_frame_bytes: 100, max_headers: 2, max_header_bytes: 20 };
        let cases: [(&[u8], DecodeError); 6] = [
            (b"HELLO\n\n\0", DecodeError::UnknownCommand("HELLO".into())),
            (b"SEND\nnocolon\n\n\0", DecodeError::MalformedHeader("nocolon".into())),
            (b"SEND\na:1\nb:2\nc:3\nd:4\n\n\0", DecodeError::TooManyHeaders(2)),
            (b"SEND\nname:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", DecodeError::HeaderTooLong(20)),
            (b"SEND\ncontent-length:500\n\n", DecodeError::FrameTooLarge(100)),
            (b"SEND\n\xff:\n\n\0", DecodeError::NotUtf8),
        ];
        for (wire, expected) in cases {
            assert_eq!(decode_all(&mut Decoder::new(limits), wire), Err(expected.clone()), "{wire:?}");
            assert!(!expected.to_string().is_empty() && !expected.summary().is_empty());
        }
        // A body that never ends stops at the frame limit.
        let mut decoder = Decoder::new(limits);
        assert_eq!(decode_all(&mut decoder, b"SEND\n\n"), Ok(vec![]));
        assert_eq!(decode_all(&mut decoder, &[b'x'; 200]), Err(DecodeError::FrameTooLarge(100)));
    }
}
