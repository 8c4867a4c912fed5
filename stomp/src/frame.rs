//! STOMP frames: a command, headers and a body, and how they are written
//! (STOMP 1.0, 1.1 and 1.2).
//!
//! ```text
//! COMMAND EOL
//! name:value EOL        (any number; EOL is LF, or CR LF in 1.2)
//! EOL
//! body NUL              (content-length bytes when the header is present)
//! ```
//!
//! From 1.1 on, header names and values escape `\`, LF, `:` (and CR in 1.2)
//! as `\\`, `\n`, `\c` (and `\r`), except in CONNECT and CONNECTED frames.

use std::fmt;

use bytes::Bytes;

/// A STOMP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// STOMP 1.0.
    V1_0,
    /// STOMP 1.1.
    V1_1,
    /// STOMP 1.2.
    V1_2,
}

impl Version {
    /// Every version, newest first.
    pub const ALL: [Version; 3] = [Version::V1_2, Version::V1_1, Version::V1_0];

    /// As the `version` and `accept-version` headers write it (`1.2`).
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_0 => "1.0",
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        }
    }

    /// From its header form.
    pub fn parse(text: &str) -> Option<Version> {
        Version::ALL.into_iter().find(|v| v.as_str() == text.trim())
    }

    /// The WebSocket subprotocol that selects it (`v12.stomp`).
    pub fn subprotocol(self) -> &'static str {
        match self {
            Version::V1_0 => "v10.stomp",
            Version::V1_1 => "v11.stomp",
            Version::V1_2 => "v12.stomp",
        }
    }

    /// The version a WebSocket subprotocol selects.
    pub fn from_subprotocol(protocol: &str) -> Option<Version> {
        Version::ALL.into_iter().find(|v| v.subprotocol() == protocol)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a frame asks or says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Client: opens the session.
    Connect,
    /// Client: opens the session (the 1.1+ name of CONNECT).
    Stomp,
    /// Client: sends a message to a destination.
    Send,
    /// Client: subscribes to a destination.
    Subscribe,
    /// Client: ends a subscription.
    Unsubscribe,
    /// Client: acknowledges a message.
    Ack,
    /// Client: refuses a message (1.1+).
    Nack,
    /// Client: starts a transaction.
    Begin,
    /// Client: commits a transaction.
    Commit,
    /// Client: aborts a transaction.
    Abort,
    /// Client: ends the session.
    Disconnect,
    /// Server: the session is open.
    Connected,
    /// Server: a message for a subscription.
    Message,
    /// Server: a frame that asked for a receipt was processed.
    Receipt,
    /// Server: something went wrong; the connection closes after it.
    Error,
}

impl Command {
    /// Every command.
    pub const ALL: [Command; 15] = [
        Command::Connect,
        Command::Stomp,
        Command::Send,
        Command::Subscribe,
        Command::Unsubscribe,
        Command::Ack,
        Command::Nack,
        Command::Begin,
        Command::Commit,
        Command::Abort,
        Command::Disconnect,
        Command::Connected,
        Command::Message,
        Command::Receipt,
        Command::Error,
    ];

    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Connect => "CONNECT",
            Command::Stomp => "STOMP",
            Command::Send => "SEND",
            Command::Subscribe => "SUBSCRIBE",
            Command::Unsubscribe => "UNSUBSCRIBE",
            Command::Ack => "ACK",
            Command::Nack => "NACK",
            Command::Begin => "BEGIN",
            Command::Commit => "COMMIT",
            Command::Abort => "ABORT",
            Command::Disconnect => "DISCONNECT",
            Command::Connected => "CONNECTED",
            Command::Message => "MESSAGE",
            Command::Receipt => "RECEIPT",
            Command::Error => "ERROR",
        }
    }

    /// From its name on the wire (case-sensitive, as the spec says).
    pub fn parse(name: &[u8]) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.as_str().as_bytes() == name)
    }

    /// Whether a client sends it.
    pub fn is_client(self) -> bool {
        !matches!(self, Command::Connected | Command::Message | Command::Receipt | Command::Error)
    }

    /// Whether headers of this command are escaped in `version`: from 1.1 on,
    /// except in CONNECT and CONNECTED (the spec keeps those readable by 1.0
    /// peers).
    pub fn escapes_headers(self, version: Version) -> bool {
        version >= Version::V1_1 && !matches!(self, Command::Connect | Command::Connected)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A frame: its command, its headers in order (a repeated header's first
/// value is the one that counts) and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The command.
    pub command: Command,
    headers: Vec<(String, String)>,
    /// The body, any bytes (NULs included when `content-length` is given).
    pub body: Bytes,
}

impl Frame {
    /// A frame with no header and an empty body.
    pub fn new(command: Command) -> Frame {
        Frame { command, headers: Vec::new(), body: Bytes::new() }
    }

    /// Adds a header (after those already there).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Frame {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Frame {
        self.body = body.into();
        self
    }

    /// Adds a header to a frame held by reference.
    pub fn push_header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.headers.push((name.into(), value.into()));
    }

    /// The value of header `name`: its first occurrence.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every header, in order, repeats included.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Writes the frame as `version` has it, adding `content-length` for a
    /// body (so that a body may hold NULs) unless the frame has one.
    pub fn encode(&self, version: Version) -> Vec<u8> {
        let escape = self.command.escapes_headers(version);
        let mut out = Vec::with_capacity(self.command.as_str().len() + 64 + self.body.len());
        out.extend_from_slice(self.command.as_str().as_bytes());
        out.push(b'\n');
        for (name, value) in &self.headers {
            write_escaped(&mut out, name, escape, version);
            out.push(b':');
            write_escaped(&mut out, value, escape, version);
            out.push(b'\n');
        }
        if !self.body.is_empty() && self.get("content-length").is_none() {
            out.extend_from_slice(format!("content-length:{}\n", self.body.len()).as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        out.push(0);
        out
    }
}

fn write_escaped(out: &mut Vec<u8>, text: &str, escape: bool, version: Version) {
    if !escape {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    for byte in text.bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b':' => out.extend_from_slice(b"\\c"),
            b'\r' if version >= Version::V1_2 => out.extend_from_slice(b"\\r"),
            other => out.push(other),
        }
    }
}

/// Undoes [`write_escaped`]; `Err` names an escape the spec does not define.
pub(crate) fn unescape(text: &str, version: Version) -> Result<String, String> {
    if !text.contains('\\') {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('c') => out.push(':'),
            Some('r') if version >= Version::V1_2 => out.push('\r'),
            Some(other) => return Err(format!("\\{other}")),
            None => return Err("\\ at the end".to_owned()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_commands_round_trip_their_names() {
        for version in Version::ALL {
            assert_eq!(Version::parse(version.as_str()), Some(version));
            assert_eq!(Version::from_subprotocol(version.subprotocol()), Some(version));
        }
        assert_eq!(Version::parse("2.0"), None);
        for command in Command::ALL {
            assert_eq!(Command::parse(command.as_str().as_bytes()), Some(command));
        }
        assert_eq!(Command::parse(b"send"), None, "commands are case-sensitive");
        assert!(Command::Send.is_client() && !Command::Message.is_client());
    }

    #[test]
    fn a_frame_is_written_with_escapes_and_a_content_length() {
        let frame =
            Frame::new(Command::Message).header("destination", "/topic/a:b").header("x", "l1\nl2\\").body("hi\0!");
        assert_eq!(
            frame.encode(Version::V1_2),
            b"MESSAGE\ndestination:/topic/a\\cb\nx:l1\\nl2\\\\\ncontent-length:4\n\nhi\0!\0"
        );
        assert_eq!(
            frame.encode(Version::V1_0),
            b"MESSAGE\ndestination:/topic/a:b\nx:l1\nl2\\\ncontent-length:4\n\nhi\0!\0"
        );
        let connected = Frame::new(Command::Connected).header("server", "a:b");
        assert_eq!(connected.encode(Version::V1_2), b"CONNECTED\nserver:a:b\n\n\0", "CONNECTED is not escaped");
        assert_eq!(Frame::new(Command::Receipt).encode(Version::V1_2), b"RECEIPT\n\n\0");
        assert_eq!(Frame::new(Command::Error).header("a", "1").header("a", "2").get("a"), Some("1"), "the first wins");
    }

    #[test]
    fn escapes_come_back_and_unknown_ones_are_named() {
        assert_eq!(unescape("a\\cb\\nc\\\\d\\re", Version::V1_2).unwrap(), "a:b\nc\\d\re");
        assert_eq!(unescape("\\r", Version::V1_1), Err("\\r".to_owned()), "\\r is 1.2's");
        assert_eq!(unescape("\\t", Version::V1_2), Err("\\t".to_owned()));
        assert_eq!(unescape("end\\", Version::V1_2), Err("\\ at the end".to_owned()));
    }
}
