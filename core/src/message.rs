//! WebSocket messages: what a handler receives and sends.

use std::fmt;
use std::ops::Deref;
use std::str::Utf8Error;

use bytes::Bytes;

/// UTF-8 text backed by [`Bytes`], so a text payload moves from the socket to the
/// handler (and back out, or to many recipients) without being copied.
///
/// The invariant is checked on construction: the bytes are always valid UTF-8.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Text from a static string, without allocating.
    pub const fn from_static(text: &'static str) -> Self {
        Utf8Bytes(Bytes::from_static(text.as_bytes()))
    }

    /// Checks that `bytes` is UTF-8 and wraps it without copying.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Self, Utf8Error> {
        if simdutf8::basic::from_utf8(&bytes).is_err() {
            // The standard library's check again, for its error (where and why).
            std::str::from_utf8(&bytes)?;
        }
        Ok(Utf8Bytes(bytes))
    }

    /// The text as a `&str`.
    pub fn as_str(&self) -> &str {
        // The constructors only admit valid UTF-8, but safe code reaches a `&str`
        // only through a check: one (SIMD) scan per call, and an empty string
        // only if that invariant broke.
        simdutf8::basic::from_utf8(&self.0).unwrap_or_default()
    }

    /// The underlying bytes (a cheap reference-counted handle).
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Gives back the underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Utf8Bytes {
    fn from(text: String) -> Self {
        Utf8Bytes(Bytes::from(text))
    }
}

// Any `&str`, not only `&'static str`: `session.send(reply.as_str())` is the
// natural thing to write. The text is copied; `Utf8Bytes::from_static` keeps a
// static string without copying.
impl From<&str> for Utf8Bytes {
    fn from(text: &str) -> Self {
        Utf8Bytes(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(text: Utf8Bytes) -> Self {
        text.0
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A WebSocket message (Spring's `TextMessage`, `BinaryMessage`, `PingMessage`,
/// `PongMessage`).
///
/// Close frames are not messages: the closing handshake is reported through
/// [`WebSocketHandler::after_connection_closed`](crate::WebSocketHandler::after_connection_closed)
/// and started with [`Session::close`](crate::Session::close).
#[derive(Clone, PartialEq, Eq)]
pub enum Message {
    /// A UTF-8 text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping. The server answers pings itself; a handler sees them only as an
    /// informational event and never needs to reply.
    Ping(Bytes),
    /// A pong, the answer to a ping (the server's own keep-alive pings included).
    Pong(Bytes),
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Message::Text(text.into())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Message::Binary(data.into())
    }

    /// The payload as bytes, whatever the kind.
    pub fn payload(&self) -> &[u8] {
        match self {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data,
        }
    }

    /// Payload length in bytes (Spring's `getPayloadLength`).
    pub fn len(&self) -> usize {
        self.payload().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.payload().is_empty()
    }

    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(text) => Some(text.as_str()),
            _ => None,
        }
    }

    /// The kind of message, for logs and error messages.
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Text(_) => MessageKind::Text,
            Message::Binary(_) => MessageKind::Binary,
            Message::Ping(_) => MessageKind::Ping,
            Message::Pong(_) => MessageKind::Pong,
        }
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Long payloads would swamp a log line: show the kind, the size and a prefix.
        const PREVIEW: usize = 64;
        match self {
            Message::Text(text) if text.len() <= PREVIEW => write!(f, "Text({:?})", text.as_str()),
            Message::Text(text) => {
                let cut = (0..=PREVIEW).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
                write!(f, "Text({:?}... {} bytes)", &text[..cut], text.len())
            }
            other => write!(f, "{:?}({} bytes)", other.kind(), other.len()),
        }
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Text(text.into())
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Text(text.into())
    }
}

impl From<Utf8Bytes> for Message {
    fn from(text: Utf8Bytes) -> Self {
        Message::Text(text)
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Self {
        Message::Binary(data)
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Message::Binary(data.into())
    }
}

/// The kind of a [`Message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// Text.
    Text,
    /// Binary.
    Binary,
    /// Ping.
    Ping,
    /// Pong.
    Pong,
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MessageKind::Text => "text",
            MessageKind::Binary => "binary",
            MessageKind::Ping => "ping",
            MessageKind::Pong => "pong",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_bytes_rejects_invalid_utf8() {
        assert!(Utf8Bytes::try_from_bytes(Bytes::from_static(b"\xff\xfe")).is_err());
        let ok = Utf8Bytes::try_from_bytes(Bytes::from_static("héllo".as_bytes())).unwrap();
        assert_eq!(ok, "héllo");
    }

    #[test]
    fn borrowed_text_of_any_lifetime_converts() {
        // A reply built at run time, borrowed: what `session.send(reply.as_str())` passes.
        let reply = format!("{}-{}", "hello", 7);
        let message = Message::from(reply.as_str());
        let text = Utf8Bytes::from(reply.as_str());
        drop(reply);
        assert_eq!(message, Message::text("hello-7".to_owned()));
        assert_eq!(text, "hello-7");
    }

    #[test]
    fn debug_of_long_text_is_truncated_on_a_char_boundary() {
        let long = "é".repeat(100);
        let shown = format!("{:?}", Message::text(long));
        assert!(shown.ends_with("... 200 bytes)"), "{shown}");
    }
}
