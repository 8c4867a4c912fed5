//! The bench's clients: WebSocket connections that speak permessage-deflate like
//! a browser, and the chat-like JSON they send.

use std::net::SocketAddr;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// One client connection that speaks permessage-deflate like a browser: it
/// offers `permessage-deflate; client_max_window_bits` and keeps its context
/// unless the server asks otherwise.
pub(crate) struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Set when compression was negotiated.
    deflate: Option<(Compress, Decompress)>,
    reset_compressor: bool,
    /// Frame bytes (headers included) each way.
    pub(crate) sent: u64,
    pub(crate) received: u64,
}

impl Client {
    pub(crate) async fn connect(addr: SocketAddr) -> Client {
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        let request = "GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
        stream.write_all(request.as_bytes()).await.expect("writes");
        let mut buf = Vec::new();
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 1024];
            let n = stream.read(&mut chunk).await.expect("reads");
            assert!(n > 0, "the server closed during the handshake");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 101"), "{head}");
        let extension = head.lines().find_map(|l| l.strip_prefix("sec-websocket-extensions:")).map(str::to_owned);
        buf.drain(..end);
        let deflate = extension.as_ref().map(|_| {
            (
                Compress::new_with_window_bits(Compression::new(6), false, 15),
                Decompress::new_with_window_bits(false, 15),
            )
        });
        let reset_compressor = extension.is_some_and(|e| e.contains("client_no_context_takeover"));
        Client { stream, buf, deflate, reset_compressor, sent: 0, received: 0 }
    }

    pub(crate) async fn send_text(&mut self, text: &[u8]) {
        let (payload, first) = match &mut self.deflate {
            Some((compress, _)) => {
                let mut out = Vec::with_capacity(text.len() + 64);
                let start = compress.total_in();
                loop {
                    let done = (compress.total_in() - start) as usize;
                    compress.compress_vec(&text[done..], &mut out, FlushCompress::Sync).expect("compresses");
                    if (compress.total_in() - start) as usize == text.len() && out.len() < out.capacity() {
                        break;
                    }
                    out.reserve(out.capacity());
                }
                out.truncate(out.len() - TAIL.len());
                if self.reset_compressor {
                    compress.reset();
                }
                (out, 0xc1)
            }
            None => (text.to_vec(), 0x81),
        };
        let mut frame = vec![first];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        frame.extend_from_slice(&[0, 0, 0, 0]); // a zero mask: the payload is unchanged
        frame.extend_from_slice(&payload);
        self.sent += frame.len() as u64;
        self.stream.write_all(&frame).await.expect("writes");
    }

    /// Reads one data message; returns its inflated length.
    pub(crate) async fn receive(&mut self) -> usize {
        loop {
            if self.buf.len() >= 2 {
                let (len, header) = match self.buf[1] & 0x7f {
                    126 if self.buf.len() >= 4 => (usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]])), 4),
                    127 if self.buf.len() >= 10 => {
                        (u64::from_be_bytes(self.buf[2..10].try_into().expect("8 bytes")) as usize, 10)
                    }
                    126 | 127 => (usize::MAX, 0),
                    n => (usize::from(n), 2),
                };
                if len != usize::MAX && self.buf.len() >= header + len {
                    let first = self.buf[0];
                    let payload: Vec<u8> = self.buf.drain(..header + len).skip(header).collect();
                    self.received += (header + len) as u64;
                    if first & 0x0f >= 8 {
                        continue; // a ping; the bench is shorter than the ping interval
                    }
                    if first & 0x40 == 0 {
                        return payload.len();
                    }
                    let (_, decompress) = self.deflate.as_mut().expect("RSV1 only once negotiated");
                    let mut input = payload;
                    input.extend_from_slice(&TAIL);
                    let mut out = Vec::with_capacity(input.len() * 10 + 256);
                    let start = decompress.total_in();
                    loop {
                        let done = (decompress.total_in() - start) as usize;
                        decompress.decompress_vec(&input[done..], &mut out, FlushDecompress::Sync).expect("inflates");
                        if (decompress.total_in() - start) as usize == input.len() && out.len() < out.capacity() {
                            return out.len();
                        }
                        out.reserve(out.capacity());
                    }
                }
            }
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk).await.expect("reads");
            assert!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Chat-like JSON: a few rooms and users, sentences from a small vocabulary,
/// 120 to 300 bytes, the same every run.
pub(crate) fn chat_messages(count: usize) -> Vec<Vec<u8>> {
    const WORDS: [&str; 48] = [
        "the", "meeting", "is", "moved", "to", "tomorrow", "at", "ten", "can", "you", "review", "my", "pull",
        "request", "before", "lunch", "deploy", "finished", "tests", "are", "green", "again", "thanks", "for", "help",
        "I", "will", "check", "logs", "and", "come", "back", "with", "numbers", "please", "ship", "it", "after",
        "standup", "customer", "reported", "a", "bug", "in", "login", "page", "on", "mobile",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    (0..count)
        .map(|i| {
            let words: Vec<&str> = (0..6 + next(16)).map(|_| WORDS[next(WORDS.len())]).collect();
            format!(
                r#"{{"type":"message","id":{},"room":"{}","user":{{"id":{},"name":"user{}"}},"sentAt":"2026-11-25T10:{:02}:{:02}Z","text":"{}"}}"#,
                100_000 + i,
                ["general", "random", "engineering", "support"][next(4)],
                next(50),
                next(50),
                next(60),
                next(60),
                words.join(" ")
            )
            .into_bytes()
        })
        .collect()
}
