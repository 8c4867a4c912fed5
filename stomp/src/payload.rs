//! What applications send: a body and its content type, and the form a
//! message to a destination travels in through the hub (to every node, with
//! the Redis broker) until each subscriber's session frames it as a `MESSAGE`
//! for its own subscription.

use bytes::Bytes;
use serde::Serialize;
use wsboot_core::{Error, ErrorKind, Message, Position};

use crate::decode::{Decoder, Limits};
use crate::frame::{Command, Frame, Version};

/// A message body and its content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The body.
    pub body: Bytes,
    /// Its `content-type` (`text/plain;charset=UTF-8` for text,
    /// `application/json` for JSON).
    pub content_type: String,
}

impl Payload {
    /// A text body.
    pub fn text(text: impl Into<String>) -> Payload {
        Payload { body: Bytes::from(text.into()), content_type: "text/plain;charset=UTF-8".to_owned() }
    }

    /// `value` as JSON.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] if serde cannot write it.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Payload, Error> {
        let body = serde_json::to_vec(value)
            .map_err(|e| Error::new(ErrorKind::Config, format!("cannot write the payload as JSON: {e}")))?;
        Ok(Payload { body: Bytes::from(body), content_type: "application/json".to_owned() })
    }

    /// Any bytes, with their content type.
    pub fn bytes(body: impl Into<Bytes>, content_type: impl Into<String>) -> Payload {
        Payload { body: body.into(), content_type: content_type.into() }
    }
}

impl From<&str> for Payload {
    fn from(text: &str) -> Payload {
        Payload::text(text)
    }
}

impl From<String> for Payload {
    fn from(text: String) -> Payload {
        Payload::text(text)
    }
}

/// The start of a message that carries a publication to a destination
/// through the hub: no client sends this (a STOMP frame starts with a command).
const MAGIC: &[u8] = b"\0wsboot-stomp\n";

/// The hub topic of a broker destination.
pub(crate) fn topic(destination: &str) -> String {
    format!("stomp:{destination}")
}

/// A publication to `destination`, as the hub carries it: a MESSAGE frame
/// without the subscriber's headers.
pub(crate) fn publication(destination: &str, payload: &Payload, headers: &[(&str, &str)]) -> Message {
    let mut frame = Frame::new(Command::Message).header("destination", destination);
    if !payload.content_type.is_empty() {
        frame.push_header("content-type", payload.content_type.as_str());
    }
    for (name, value) in headers {
        frame.push_header(*name, *value);
    }
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&frame.body(payload.body.clone()).encode(Version::V1_2));
    Message::binary(bytes)
}

/// The frame in a publication; `None` for any other message.
pub(crate) fn read_publication(message: &Message) -> Option<Frame> {
    let bytes = message.payload().strip_prefix(MAGIC)?;
    let mut decoder =
        Decoder::new(Limits { max_frame_bytes: usize::MAX, max_headers: usize::MAX, ..Limits::default() });
    decoder.push(bytes);
    decoder.next_frame().ok().flatten()
}

/// A publication with its position in an `x-offset` header (the stamp of a
/// destination whose history is on).
pub(crate) fn with_offset(position: &Position, message: &Message) -> Message {
    let Some(mut frame) = read_publication(message) else { return message.clone() };
    frame.push_header("x-offset", position.to_string());
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&frame.encode(Version::V1_2));
    Message::binary(bytes)
}

/// A frame as a WebSocket message: text when it is UTF-8 (as browsers'
/// clients expect), binary otherwise.
pub(crate) fn to_message(frame: &Frame, version: Version) -> Message {
    let bytes = frame.encode(version);
    match String::from_utf8(bytes) {
        Ok(text) => Message::text(text),
        Err(error) => Message::binary(error.into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publication_carries_its_frame_through_the_hub() {
        let payload = Payload::json(&serde_json::json!({"a": 1})).unwrap();
        let message = publication("/topic/x", &payload, &[("x-offset", "7:1")]);
        let frame = read_publication(&message).expect("a publication");
        assert_eq!(frame.get("destination"), Some("/topic/x"));
        assert_eq!(frame.get("content-type"), Some("application/json"));
        assert_eq!(frame.get("x-offset"), Some("7:1"));
        assert_eq!(frame.body.as_ref(), br#"{"a":1}"#);
        assert!(read_publication(&Message::text("MESSAGE\n\n\0")).is_none(), "a client's bytes are not one");
        assert!(matches!(to_message(&frame, Version::V1_2), Message::Text(_)));
        let fresh = publication("/topic/x", &Payload::text("t"), &[]);
        let stamped = with_offset(&"00000000000000ff:3".parse().unwrap(), &fresh);
        let frame = read_publication(&stamped).expect("still a publication");
        assert_eq!(frame.get("x-offset"), Some("00000000000000ff:3"));
        let binary = Frame::new(Command::Message).body(vec![0xff_u8]);
        assert!(matches!(to_message(&binary, Version::V1_2), Message::Binary(_)));
    }
}
