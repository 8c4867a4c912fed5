//! The client side of WebSocket, as little as a load generator needs: the
//! upgrade request, masked frames built once and written many times, and a
//! reader of the server's (unmasked) frames that does not copy payloads.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

pub(crate) const CONTINUATION: u8 = 0x0;
pub(crate) const TEXT: u8 = 0x1;
pub(crate) const BINARY: u8 = 0x2;
pub(crate) const CLOSE: u8 = 0x8;
pub(crate) const PING: u8 = 0x9;
pub(crate) const PONG: u8 = 0xa;

/// Largest response head accepted from the server.
const MAX_RESPONSE_HEAD: usize = 8 * 1024;

/// Where the server is: the socket address, and the `Host` and path of the request.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) addr: SocketAddr,
    pub(crate) host: String,
    pub(crate) path: String,
}

impl Endpoint {
    /// Parses `ws://HOST:PORT/PATH` (the path defaults to `/echo`) and resolves the host.
    pub(crate) async fn parse(url: &str) -> Result<Endpoint, String> {
        let rest = match url.split_once("://") {
            Some(("ws", rest)) => rest,
            Some(("wss", _)) => return Err(format!("{url}: wss:// is not supported, drive the server over ws://")),
            _ => return Err(format!("{url}: expected ws://HOST:PORT/PATH")),
        };
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/echo"),
        };
        let resolve = if authority.contains(':') { authority.to_owned() } else { format!("{authority}:80") };
        let addr = tokio::net::lookup_host(&resolve)
            .await
            .map_err(|e| format!("{url}: cannot resolve {authority}: {e}"))?
            .next()
            .ok_or_else(|| format!("{url}: {authority} has no address"))?;
        Ok(Endpoint { addr, host: authority.to_owned(), path: path.to_owned() })
    }
}

/// Connects (from `source`, when given, with an ephemeral port of that address)
/// and completes the upgrade. Returns the stream and any bytes that followed the
/// response head.
pub(crate) async fn connect(endpoint: &Endpoint, source: Option<IpAddr>) -> io::Result<(TcpStream, Vec<u8>)> {
    let mut stream = match source {
        None => TcpStream::connect(endpoint.addr).await?,
        Some(ip) => {
            let socket = if ip.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
            socket
                .bind(SocketAddr::new(ip, 0))
                .map_err(|e| io::Error::new(e.kind(), format!("binding a port of {ip}: {e}")))?;
            socket.connect(endpoint.addr).await?
        }
    };
    // Small messages are written as they come: no Nagle delay on the client side.
    stream.set_nodelay(true)?;
    let leftover = handshake(&mut stream, endpoint).await?;
    Ok((stream, leftover))
}

async fn handshake(stream: &mut TcpStream, endpoint: &Endpoint) -> io::Result<Vec<u8>> {
    let key = tungstenite::handshake::client::generate_key();
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        endpoint.path, endpoint.host
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::with_capacity(256);
    let head_end = loop {
        if let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if response.len() > MAX_RESPONSE_HEAD {
            return Err(io::Error::other("the server's response head is over 8 KiB"));
        }
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed during the handshake"));
        }
        response.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&response[..head_end]);
    let status_line = head.lines().next().unwrap_or_default();
    if status_line.split_whitespace().nth(1) != Some("101") {
        return Err(io::Error::other(format!("the server refused the upgrade: {status_line}")));
    }
    let expected = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let accepted = head.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("sec-websocket-accept") && value.trim() == expected
        })
    });
    if !accepted {
        return Err(io::Error::other("the server's Sec-WebSocket-Accept does not match the key sent"));
    }
    Ok(response[head_end..].to_vec())
}

/// A mask key for one connection. The server unmasks whatever the key, so any
/// well-mixed value serves a load generator; this one is cheap (SplitMix64).
pub(crate) fn mask_key(seed: u64) -> [u8; 4] {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    let bytes = (z ^ (z >> 31)).to_le_bytes();
    [bytes[0], bytes[1], bytes[2], bytes[3]]
}

/// One complete client frame (FIN set): header, mask key and masked payload.
pub(crate) fn masked_frame(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(14 + payload.len());
    frame.push(0x80 | opcode);
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().zip(mask.iter().cycle()).map(|(byte, key)| byte ^ key));
    frame
}

/// The close frame a client sends to end a session normally (1000).
pub(crate) fn close_frame(mask: [u8; 4]) -> Vec<u8> {
    masked_frame(CLOSE, &1000u16.to_be_bytes(), mask)
}

/// A frame's header fields and where its payload is in the reader's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) fin: bool,
    pub(crate) opcode: u8,
    start: usize,
    len: usize,
}

/// Reads server frames into one growable buffer; a frame's payload is borrowed
/// from it until the next [`fill`](Self::fill).
#[derive(Debug)]
pub(crate) struct FrameReader {
    buf: Vec<u8>,
    /// Start of the first byte not yet returned as part of a frame.
    pos: usize,
    /// End of the bytes read.
    end: usize,
}

impl FrameReader {
    /// Starts with `leftover` (what followed the handshake) and room for `capacity` bytes.
    pub(crate) fn new(leftover: Vec<u8>, capacity: usize) -> FrameReader {
        let end = leftover.len();
        let mut buf = leftover;
        buf.resize(capacity.max(end), 0);
        FrameReader { buf, pos: 0, end }
    }

    /// The next complete frame in the buffer, if there is one.
    pub(crate) fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        let bytes = &self.buf[self.pos..self.end];
        if bytes.len() < 2 {
            return Ok(None);
        }
        if bytes[1] & 0x80 != 0 {
            return Err(io::Error::other("the server sent a masked frame"));
        }
        if bytes[0] & 0x70 != 0 {
            return Err(io::Error::other("the server set RSV bits no extension was agreed for"));
        }
        let (header, len) = match bytes[1] & 0x7f {
            126 if bytes.len() >= 4 => (4, u16::from_be_bytes([bytes[2], bytes[3]]) as usize),
            127 if bytes.len() >= 10 => {
                let len = u64::from_be_bytes(bytes[2..10].try_into().expect("eight bytes"));
                (10, usize::try_from(len).map_err(|_| io::Error::other("frame larger than memory"))?)
            }
            126 | 127 => return Ok(None),
            len => (2, len as usize),
        };
        if bytes.len() < header + len {
            return Ok(None);
        }
        let frame = Frame { fin: bytes[0] & 0x80 != 0, opcode: bytes[0] & 0x0f, start: self.pos + header, len };
        self.pos += header + len;
        Ok(Some(frame))
    }

    /// A frame's payload.
    pub(crate) fn payload(&self, frame: &Frame) -> &[u8] {
        &self.buf[frame.start..frame.start + frame.len]
    }

    /// Reads more bytes, keeping the unreturned ones (moved to the front, and the
    /// buffer grown when a frame needs more room than there is).
    pub(crate) async fn fill(&mut self, stream: &mut (impl AsyncRead + Unpin)) -> io::Result<()> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).max(256);
            self.buf.resize(grown, 0);
        }
        let n = stream.read(&mut self.buf[self.end..]).await?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection"));
        }
        self.end += n;
        Ok(())
    }
}

/// The status of a close frame's payload, for error messages.
pub(crate) fn close_reason(payload: &[u8]) -> String {
    match payload {
        [a, b, reason @ ..] => {
            format!("{} {}", u16::from_be_bytes([*a, *b]), String::from_utf8_lossy(reason))
        }
        _ => "without a status".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_frames_have_the_right_header_and_unmask_to_the_payload() {
        let mask = mask_key(7);
        let frame = masked_frame(TEXT, b"hello", mask);
        assert_eq!(&frame[..2], &[0x81, 0x85]);
        assert_eq!(&frame[2..6], &mask);
        let unmasked: Vec<u8> = frame[6..].iter().zip(mask.iter().cycle()).map(|(b, k)| b ^ k).collect();
        assert_eq!(unmasked, b"hello");
        assert_eq!(&masked_frame(BINARY, &[0; 300], mask)[..4], &[0x82, 0xfe, 0x01, 0x2c]);
        assert_eq!(&masked_frame(BINARY, &[0; 70_000], mask)[..10], &[0x82, 0xff, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    }

    #[tokio::test]
    async fn reader_splits_frames_across_reads() {
        let mut wire = vec![0x81, 2, b'h', b'i', 0x02, 126, 0x01, 0x00];
        wire.extend(std::iter::repeat_n(7u8, 256));
        wire.extend([0x80, 1, b'!', 0x89, 0]);
        let mut reader = FrameReader::new(wire[..3].to_vec(), 4);
        let mut rest = &wire[3..];
        let mut frames = Vec::new();
        while frames.len() < 4 {
            match reader.next_frame().unwrap() {
                Some(frame) => frames.push((frame.fin, frame.opcode, reader.payload(&frame).to_vec())),
                None => reader.fill(&mut rest).await.unwrap(),
            }
        }
        assert_eq!(frames[0], (true, TEXT, b"hi".to_vec()));
        assert_eq!(frames[1], (false, BINARY, vec![7; 256]));
        assert_eq!(frames[2], (true, CONTINUATION, b"!".to_vec()));
        assert_eq!(frames[3], (true, PING, Vec::new()));
        assert_eq!(reader.fill(&mut rest).await.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn masked_server_frames_are_refused() {
        let mut reader = FrameReader::new(vec![0x81, 0x80, 0, 0, 0, 0], 16);
        assert!(reader.next_frame().is_err());
    }
}
