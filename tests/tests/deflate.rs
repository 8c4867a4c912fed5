//! permessage-deflate (RFC 7692) against a real server: negotiation of every
//! parameter, declined offers, compressed messages both ways (whole, fragmented,
//! with and without context takeover) and the zip-bomb guard.
//!
//! tokio-tungstenite has no compression, so these tests speak the protocol with
//! a small raw client: they write the handshake and the frames themselves and
//! compress and inflate with flate2, as a browser does.

use std::net::SocketAddr;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wsboot::test::{TestServer, within};
use wsboot::{Bytes, DeflateConfig, HandlerRegistry, HandlerResult, Server, Session, Utf8Bytes, WebSocketHandler};
use wsboot_tests::opcode::{BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT};
use wsboot_tests::{Echo, upgrade_request};

/// Echoes like [`Echo`], and answers the text `extensions?` with what
/// `Session::extensions()` reports.
struct Reporter;

impl WebSocketHandler for Reporter {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        if text.as_str() == "extensions?" {
            let extensions: Vec<&str> = session.extensions().collect();
            return Ok(session.send(format!("extensions: {}", extensions.join(", "))).await?);
        }
        Ok(session.send(text).await?)
    }

    async fn handle_binary_message(&self, session: &Session, data: Bytes) -> HandlerResult {
        Ok(session.send(data).await?)
    }
}

/// A server with `/echo` compressing with `config`, `/plain` without compression.
async fn server_with(config: DeflateConfig) -> TestServer {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Reporter).deflate_config(config).max_message_size(64 << 10);
    registry.add_handler("/plain", Echo);
    TestServer::start(registry).await
}

async fn server() -> TestServer {
    server_with(DeflateConfig::enabled()).await
}

/// A frame from the server.
#[derive(Debug)]
struct Frame {
    fin: bool,
    rsv1: bool,
    opcode: u8,
    payload: Vec<u8>,
}

/// A WebSocket client with permessage-deflate: the client side of RFC 7692.
struct DeflateClient {
    stream: TcpStream,
    buf: Vec<u8>,
    /// The `Sec-WebSocket-Extensions` header of the 101, if any.
    extensions: Option<String>,
    /// The client's compressor; reset after each message when `reset_compressor`.
    compress: Compress,
    reset_compressor: bool,
    /// Inflates the server's messages; `None` until a window size is known.
    decompress: Decompress,
    /// The window the server's answer allows the client (and the inflater's).
    server_window_bits: u8,
}

const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

impl DeflateClient {
    /// Opens `path` offering `offer` (`None`: no extension header at all). The
    /// client compresses with `client_window_bits` and inflates with
    /// `server_window_bits`, and resets its compressor after every message if
    /// `reset_compressor`.
    async fn connect_with(
        addr: SocketAddr,
        path: &str,
        offer: Option<&str>,
        client_window_bits: u8,
        server_window_bits: u8,
        reset_compressor: bool,
    ) -> DeflateClient {
        let mut stream = within("the TCP connect", TcpStream::connect(addr)).await.expect("connects");
        let extra = offer.map_or(String::new(), |offer| format!("Sec-WebSocket-Extensions: {offer}\r\n"));
        within("writing the upgrade", stream.write_all(upgrade_request(path, &extra).as_bytes()))
            .await
            .expect("the upgrade request is written");
        let mut buf = Vec::new();
        let head_end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = within("the 101", stream.read(&mut chunk)).await.expect("reads");
            assert!(n > 0, "the server closed before answering: {:?}", String::from_utf8_lossy(&buf));
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).expect("an ASCII head");
        assert!(head.starts_with("HTTP/1.1 101 "), "the upgrade is accepted: {head}");
        let extensions: Vec<String> = head
            .split("\r\n")
            .filter_map(|line| line.split_once(':'))
            .filter(|(name, _)| name.eq_ignore_ascii_case("sec-websocket-extensions"))
            .map(|(_, value)| value.trim().to_owned())
            .collect();
        assert!(extensions.len() <= 1, "one extension header at most: {head}");
        buf.drain(..head_end);
        DeflateClient {
            stream,
            buf,
            extensions: extensions.into_iter().next(),
            compress: Compress::new_with_window_bits(Compression::new(6), false, client_window_bits),
            reset_compressor,
            decompress: Decompress::new_with_window_bits(false, server_window_bits),
            server_window_bits,
        }
    }

    /// Offers `offer` with a browser's settings: full windows, context takeover.
    async fn connect(server: &TestServer, path: &str, offer: Option<&str>) -> DeflateClient {
        DeflateClient::connect_with(server.tcp_addr(), path, offer, 15, 15, false).await
    }

    /// Compresses one message's payload as RFC 7692 §7.2.1 says.
    fn deflate(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() + 64);
        let start = self.compress.total_in();
        loop {
            let done = (self.compress.total_in() - start) as usize;
            self.compress.compress_vec(&payload[done..], &mut out, FlushCompress::Sync).expect("compresses");
            if (self.compress.total_in() - start) as usize == payload.len() && out.len() < out.capacity() {
                break;
            }
            out.reserve(out.capacity());
        }
        assert!(out.ends_with(&TAIL));
        out.truncate(out.len() - 4);
        if self.reset_compressor {
            self.compress.reset();
        }
        out
    }

    /// Inflates one compressed message from the server.
    fn inflate(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut input = payload.to_vec();
        input.extend_from_slice(&TAIL);
        let mut out = Vec::with_capacity(input.len() * 8 + 1024);
        let start = self.decompress.total_in();
        loop {
            let done = (self.decompress.total_in() - start) as usize;
            self.decompress.decompress_vec(&input[done..], &mut out, FlushDecompress::Sync).unwrap_or_else(|e| {
                panic!("the server's message does not inflate with a {}-bit window: {e}", self.server_window_bits)
            });
            if (self.decompress.total_in() - start) as usize == input.len() && out.len() < out.capacity() {
                return out;
            }
            out.reserve(out.capacity());
        }
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        within("writing frames", self.stream.write_all(bytes)).await.expect("the frames are written");
    }

    /// Sends one masked frame with the given first byte (FIN, RSV bits, opcode).
    async fn send_frame(&mut self, first: u8, payload: &[u8]) {
        self.send_raw(&frame(first, payload)).await;
    }

    /// Sends `text` compressed, in one frame.
    async fn send_compressed_text(&mut self, text: &str) -> usize {
        let data = self.deflate(text.as_bytes());
        self.send_frame(0x80 | 0x40 | TEXT, &data).await;
        data.len()
    }

    async fn read_frame(&mut self) -> Option<Frame> {
        loop {
            if let Some((frame, used)) = parse_frame(&self.buf) {
                self.buf.drain(..used);
                return Some(frame);
            }
            let mut chunk = [0u8; 16384];
            match within("a frame from the server", self.stream.read(&mut chunk)).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// The next data message: its opcode, whether it came compressed, its
    /// (inflated) payload and its size on the wire. Pings are answered.
    async fn next_message(&mut self) -> (u8, bool, Vec<u8>, usize) {
        loop {
            let frame = self.read_frame().await.expect("a message before the connection ends");
            match frame.opcode {
                PING => self.send_frame(0x80 | PONG, &frame.payload).await,
                PONG => {}
                CLOSE => panic!("the server closed instead of answering: {:?}", close_status(&frame.payload)),
                opcode => {
                    assert!(frame.fin, "the server sends unfragmented messages");
                    let wire = frame.payload.len();
                    let payload = if frame.rsv1 { self.inflate(&frame.payload) } else { frame.payload };
                    return (opcode, frame.rsv1, payload, wire);
                }
            }
        }
    }

    async fn next_text(&mut self) -> String {
        let (opcode, _, payload, _) = self.next_message().await;
        assert_eq!(opcode, TEXT, "a text message");
        String::from_utf8(payload).expect("UTF-8 text")
    }

    /// Waits for the server's close frame and returns its code and reason.
    async fn expect_close(&mut self) -> (u16, String) {
        loop {
            let frame = self.read_frame().await.expect("a close frame before the connection ends");
            if frame.opcode == CLOSE {
                return close_status(&frame.payload);
            }
        }
    }

    async fn close(mut self) {
        self.send_frame(0x80 | CLOSE, &1000u16.to_be_bytes()).await;
        assert_eq!(self.expect_close().await.0, 1000);
    }
}

fn close_status(payload: &[u8]) -> (u16, String) {
    assert!(payload.len() >= 2, "a close frame with a status: {payload:?}");
    (u16::from_be_bytes([payload[0], payload[1]]), String::from_utf8_lossy(&payload[2..]).into_owned())
}

/// A masked client frame.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n < 65536 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mask = [0x1f, 0x2e, 0x3d, 0x4c];
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

fn parse_frame(buf: &[u8]) -> Option<(Frame, usize)> {
    if buf.len() < 2 {
        return None;
    }
    assert_eq!(buf[0] & 0x30, 0, "RSV2 and RSV3 are never set");
    assert_eq!(buf[1] & 0x80, 0, "server frames are not masked");
    let (len, header) = match buf[1] & 0x7f {
        126 if buf.len() >= 4 => (usize::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
        127 if buf.len() >= 10 => (u64::from_be_bytes(buf[2..10].try_into().unwrap()) as usize, 10),
        126 | 127 => return None,
        n => (usize::from(n), 2),
    };
    if buf.len() < header + len {
        return None;
    }
    let frame = Frame {
        fin: buf[0] & 0x80 != 0,
        rsv1: buf[0] & 0x40 != 0,
        opcode: buf[0] & 0x0f,
        payload: buf[header..header + len].to_vec(),
    };
    Some((frame, header + len))
}

/// Inflates one message (RFC 1951, written out so that it can report what zlib
/// does not: the farthest back-reference, which must fit the negotiated window).
/// Returns the data and that distance.
fn inflate_tracking_distance(payload: &[u8]) -> (Vec<u8>, usize) {
    struct Bits<'a> {
        data: &'a [u8],
        pos: usize,
        buf: u32,
        count: u32,
    }
    impl Bits<'_> {
        fn take(&mut self, n: u32) -> u32 {
            while self.count < n {
                self.buf |= u32::from(self.data[self.pos]) << self.count;
                self.pos += 1;
                self.count += 8;
            }
            let value = self.buf & ((1 << n) - 1);
            self.buf >>= n;
            self.count -= n;
            value
        }
    }
    /// A canonical Huffman code: how many codes of each length, symbols in order.
    struct Huffman {
        counts: [i32; 16],
        symbols: Vec<usize>,
    }
    impl Huffman {
        fn new(lengths: &[u8]) -> Huffman {
            let mut counts = [0i32; 16];
            lengths.iter().for_each(|&l| counts[usize::from(l)] += 1);
            counts[0] = 0;
            let mut symbols: Vec<usize> = (0..lengths.len()).filter(|&s| lengths[s] != 0).collect();
            symbols.sort_by_key(|&s| lengths[s]);
            Huffman { counts, symbols }
        }
        fn decode(&self, bits: &mut Bits<'_>) -> usize {
            let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
            for len in 1..16 {
                code |= bits.take(1) as i32;
                let count = self.counts[len];
                if code - count < first {
                    return self.symbols[(index + code - first) as usize];
                }
                index += count;
                first = (first + count) << 1;
                code <<= 1;
            }
            panic!("an invalid Huffman code");
        }
    }
    const LBASE: [usize; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227,
        258,
    ];
    const LEXT: [u32; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
    const DBASE: [usize; 30] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
        6145, 8193, 12289, 16385, 24577,
    ];
    const DEXT: [u32; 30] =
        [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
    let mut data = payload.to_vec();
    data.extend_from_slice(&TAIL);
    let mut bits = Bits { data: &data, pos: 0, buf: 0, count: 0 };
    let (mut out, mut farthest) = (Vec::new(), 0);
    while bits.pos < data.len() {
        let last = bits.take(1) == 1;
        match bits.take(2) {
            0 => {
                bits.buf = 0;
                bits.count = 0;
                let len = usize::from(u16::from_le_bytes([data[bits.pos], data[bits.pos + 1]]));
                bits.pos += 4;
                out.extend_from_slice(&data[bits.pos..bits.pos + len]);
                bits.pos += len;
            }
            kind @ (1 | 2) => {
                let (lit, dist) = if kind == 1 {
                    let mut lengths = [8u8; 288];
                    lengths[144..256].fill(9);
                    lengths[256..280].fill(7);
                    (Huffman::new(&lengths), Huffman::new(&[5; 30]))
                } else {
                    let nlen = bits.take(5) as usize + 257;
                    let ndist = bits.take(5) as usize + 1;
                    let ncode = bits.take(4) as usize + 4;
                    const ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
                    let mut code_lengths = [0u8; 19];
                    for &i in &ORDER[..ncode] {
                        code_lengths[i] = bits.take(3) as u8;
                    }
                    let code = Huffman::new(&code_lengths);
                    let mut lengths = Vec::new();
                    while lengths.len() < nlen + ndist {
                        match code.decode(&mut bits) {
                            sym @ 0..=15 => lengths.push(sym as u8),
                            16 => {
                                let prev = *lengths.last().expect("a length to repeat");
                                lengths.extend(std::iter::repeat_n(prev, 3 + bits.take(2) as usize));
                            }
                            17 => lengths.extend(std::iter::repeat_n(0, 3 + bits.take(3) as usize)),
                            _ => lengths.extend(std::iter::repeat_n(0, 11 + bits.take(7) as usize)),
                        }
                    }
                    (Huffman::new(&lengths[..nlen]), Huffman::new(&lengths[nlen..]))
                };
                loop {
                    match lit.decode(&mut bits) {
                        sym @ 0..=255 => out.push(sym as u8),
                        256 => break,
                        sym => {
                            let i = sym - 257;
                            let len = LBASE[i] + bits.take(LEXT[i]) as usize;
                            let d = dist.decode(&mut bits);
                            let distance = DBASE[d] + bits.take(DEXT[d]) as usize;
                            assert!(distance <= out.len(), "a reference before the start of the message");
                            farthest = farthest.max(distance);
                            for _ in 0..len {
                                out.push(out[out.len() - distance]);
                            }
                        }
                    }
                }
            }
            _ => panic!("reserved block type"),
        }
        if last {
            break;
        }
    }
    (out, farthest)
}

/// A chat-like JSON message.
fn chat(i: usize) -> String {
    format!(
        r#"{{"type":"message","room":"general","user":"user{}","sentAt":"2026-01-01T10:{:02}:00Z","text":"message number {i} about the weekly planning meeting"}}"#,
        i % 5,
        i % 60
    )
}

#[tokio::test]
async fn a_browser_offer_is_accepted_and_the_session_reports_it() {
    let server = server().await;
    // What Chromium and Firefox send.
    let mut client = DeflateClient::connect(&server, "/echo", Some("permessage-deflate; client_max_window_bits")).await;
    assert_eq!(client.extensions.as_deref(), Some("permessage-deflate"));
    client.send_compressed_text("extensions?").await;
    assert_eq!(client.next_text().await, "extensions: permessage-deflate");
    let text = chat(1);
    client.send_compressed_text(&text).await;
    let (opcode, compressed, payload, wire) = client.next_message().await;
    assert_eq!((opcode, payload), (TEXT, text.clone().into_bytes()));
    assert!(compressed, "the echo comes back compressed (RSV1)");
    assert!(wire < text.len(), "{wire} bytes on the wire for {}", text.len());
    // Uncompressed messages stay allowed, and messages under the threshold are
    // sent as they are.
    client.send_frame(0x80 | TEXT, b"tiny").await;
    assert_eq!(client.next_message().await, (TEXT, false, b"tiny".to_vec(), 4));
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn binary_messages_are_compressed_too() {
    let server = server().await;
    let mut client = DeflateClient::connect(&server, "/echo", Some("permessage-deflate")).await;
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let compressed = client.deflate(&data);
    client.send_frame(0x80 | 0x40 | BINARY, &compressed).await;
    let (opcode, rsv1, payload, wire) = client.next_message().await;
    assert_eq!((opcode, rsv1), (BINARY, true));
    assert_eq!(payload, data);
    assert!(wire < data.len() / 4, "{wire} bytes on the wire for {}", data.len());
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn server_no_context_takeover_makes_every_message_stand_alone() {
    let server = server().await;
    let offer = "permessage-deflate; server_no_context_takeover";
    let mut client = DeflateClient::connect(&server, "/echo", Some(offer)).await;
    assert_eq!(client.extensions.as_deref(), Some(offer));
    let text = chat(7);
    let mut frames = Vec::new();
    for _ in 0..3 {
        client.send_compressed_text(&text).await;
        // Each message must inflate alone: reset the client's inflater each time.
        client.decompress.reset(false);
        let (_, rsv1, payload, wire) = client.next_message().await;
        assert!(rsv1);
        assert_eq!(payload, text.as_bytes());
        frames.push(wire);
    }
    assert!(frames.iter().all(|&w| w == frames[0]), "identical messages, identical frames: {frames:?}");
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn client_no_context_takeover_is_acknowledged_and_honoured() {
    let server = server().await;
    let offer = "permessage-deflate; client_no_context_takeover";
    let mut client = DeflateClient::connect_with(server.tcp_addr(), "/echo", Some(offer), 15, 15, true).await;
    assert_eq!(client.extensions.as_deref(), Some(offer));
    for i in 0..20 {
        let text = chat(i);
        client.send_compressed_text(&text).await;
        assert_eq!(client.next_text().await, text);
    }
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn server_max_window_bits_limits_the_servers_window() {
    let server = server().await;
    // Repeats 1,000 bytes apart: with a 32 KiB window the server refers back to
    // them; with a 512-byte one it cannot.
    let block: String = (0..1000).map(|i| char::from(b'a' + ((i * 7 + i / 26) % 26) as u8)).collect();
    let text = block.repeat(8);
    for (offer, window) in [("permessage-deflate", 1 << 15), ("permessage-deflate; server_max_window_bits=9", 512)] {
        let mut client = DeflateClient::connect(&server, "/echo", Some(offer)).await;
        assert_eq!(client.extensions.as_deref(), Some(offer));
        client.send_compressed_text(&text).await;
        let frame = loop {
            let frame = client.read_frame().await.expect("the echo");
            if frame.opcode == TEXT {
                break frame;
            }
        };
        assert!(frame.rsv1, "compressed");
        let (inflated, farthest) = inflate_tracking_distance(&frame.payload);
        assert_eq!(inflated, text.as_bytes());
        assert!(farthest <= window, "{offer}: a reference {farthest} bytes back");
        if window == 1 << 15 {
            assert!(farthest >= 1000, "the check can see far references ({farthest})");
        }
        client.close().await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn client_max_window_bits_is_answered_and_used() {
    let server = server().await;
    let offer = "permessage-deflate; client_max_window_bits=10";
    let mut client = DeflateClient::connect_with(server.tcp_addr(), "/echo", Some(offer), 10, 15, false).await;
    assert_eq!(client.extensions.as_deref(), Some(offer));
    for i in 0..10 {
        let text = chat(i).repeat(20);
        client.send_compressed_text(&text).await;
        assert_eq!(client.next_text().await, text);
    }
    client.close().await;
    // The server's own limit applies when lower, and a bare client_max_window_bits
    // lets it choose.
    let mut config = DeflateConfig::enabled();
    config.max_window_bits = 11;
    let limited = server_with(config).await;
    let client = DeflateClient::connect_with(
        limited.tcp_addr(),
        "/echo",
        Some("permessage-deflate; client_max_window_bits"),
        11,
        11,
        false,
    )
    .await;
    assert_eq!(
        client.extensions.as_deref(),
        Some("permessage-deflate; server_max_window_bits=11; client_max_window_bits=11")
    );
    client.close().await;
    limited.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_without_context_takeover_says_so_for_both_sides() {
    let mut config = DeflateConfig::enabled();
    config.context_takeover = false;
    let server = server_with(config).await;
    let mut client =
        DeflateClient::connect_with(server.tcp_addr(), "/echo", Some("permessage-deflate"), 15, 15, true).await;
    assert_eq!(
        client.extensions.as_deref(),
        Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    );
    for i in 0..5 {
        let text = chat(i);
        client.send_compressed_text(&text).await;
        client.decompress.reset(false);
        assert_eq!(client.next_text().await, text);
    }
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_offers_are_declined_without_an_extension_header() {
    let server = server().await;
    for offer in [
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=08",
        "permessage-deflate; unknown_parameter",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; server_no_context_takeover=yes",
        "permessage-deflate;",
        "x-webkit-deflate-frame",
    ] {
        let mut client = DeflateClient::connect(&server, "/echo", Some(offer)).await;
        assert_eq!(client.extensions, None, "{offer:?} is declined");
        // Without the extension, RSV1 is a protocol error.
        let data = client.deflate(b"hello hello hello");
        client.send_frame(0x80 | 0x40 | TEXT, &data).await;
        let (code, reason) = client.expect_close().await;
        assert_eq!(code, 1002, "{offer:?}: {reason}");
    }
    // The next acceptable offer is taken, in the client's order.
    let client = DeflateClient::connect(
        &server,
        "/echo",
        Some("permessage-deflate; bogus, permessage-deflate; server_max_window_bits=12"),
    )
    .await;
    assert_eq!(client.extensions.as_deref(), Some("permessage-deflate; server_max_window_bits=12"));
    client.close().await;
    // A handler without compression ignores the offer.
    let client = DeflateClient::connect(&server, "/plain", Some("permessage-deflate")).await;
    assert_eq!(client.extensions, None);
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_zip_bomb_closes_with_1009_before_inflating() {
    let server = server().await; // 64 KiB message limit on /echo
    let mut client = DeflateClient::connect(&server, "/echo", Some("permessage-deflate")).await;
    // 16 MiB of zeros in about 16 KiB: within every wire limit.
    let bomb = client.deflate(&vec![0u8; 16 << 20]);
    assert!(bomb.len() < 32 << 10, "{} bytes", bomb.len());
    client.send_frame(0x80 | 0x40 | BINARY, &bomb).await;
    let (code, reason) = client.expect_close().await;
    assert_eq!(code, 1009, "{reason}");
    assert!(reason.contains("inflates past the limit of 65536"), "{reason}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_message_just_under_the_limit_inflates() {
    let server = server().await;
    let mut client = DeflateClient::connect(&server, "/echo", Some("permessage-deflate")).await;
    let data = vec![7u8; 64 << 10];
    let compressed = client.deflate(&data);
    client.send_frame(0x80 | 0x40 | BINARY, &compressed).await;
    assert_eq!(client.next_message().await.2, data);
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn context_takeover_holds_across_many_messages() {
    let server = server().await;
    let mut client = DeflateClient::connect(&server, "/echo", Some("permessage-deflate")).await;
    let (mut first_sent, mut first_received) = (0, 0);
    let (mut last_sent, mut last_received) = (0, 0);
    for i in 0..300 {
        let text = chat(i);
        let sent = client.send_compressed_text(&text).await;
        let (opcode, rsv1, payload, received) = client.next_message().await;
        assert_eq!((opcode, rsv1), (TEXT, true));
        assert_eq!(String::from_utf8(payload).unwrap(), text, "message {i}");
        if i == 0 {
            (first_sent, first_received) = (sent, received);
        }
        (last_sent, last_received) = (sent, received);
    }
    // Later messages refer back to earlier ones: both sides kept their window.
    assert!(last_received * 3 < first_received, "server: first {first_received} B, last {last_received} B");
    assert!(last_sent * 3 < first_sent, "client: first {first_sent} B, last {last_sent} B");
    let text = chat(1000);
    assert!(last_received * 4 < text.len(), "{last_received} B on the wire for a {}-byte message", text.len());
    client.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_compressed_message_split_across_fragments_arrives_whole() {
    let server = server().await;
    let mut client = DeflateClient::connect(&server, "/echo", Some("permessage-deflate")).await;
    let text: String = (0..40).map(chat).collect();
    let data = client.deflate(text.as_bytes());
    let third = data.len() / 3;
    // RSV1 only on the first frame; a ping between fragments is answered.
    client.send_frame(0x40 | TEXT, &data[..third]).await;
    client.send_frame(0x80 | PING, b"between").await;
    client.send_frame(CONTINUATION, &data[third..2 * third]).await;
    client.send_frame(0x80 | CONTINUATION, &data[2 * third..]).await;
    let pong = client.read_frame().await.expect("a pong");
    assert_eq!((pong.opcode, pong.payload.as_slice()), (PONG, &b"between"[..]));
    assert_eq!(client.next_text().await, text);
    // RSV1 on a continuation frame is a protocol error.
    let data = client.deflate(text.as_bytes());
    client.send_frame(0x40 | TEXT, &data[..10]).await;
    client.send_frame(0x80 | 0x40 | CONTINUATION, &data[10..]).await;
    let (code, reason) = client.expect_close().await;
    assert_eq!(code, 1002, "{reason}");
    assert!(reason.contains("continuation"), "{reason}");
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_compressed_data_closes_with_1007() {
    let server = server().await;
    let mut client = DeflateClient::connect(&server, "/echo", Some("permessage-deflate")).await;
    client.send_frame(0x80 | 0x40 | TEXT, &[0xff, 0xff, 0xff, 0xff]).await;
    assert_eq!(client.expect_close().await.0, 1007);
    // Valid DEFLATE that inflates to invalid UTF-8 in a text message, too.
    let mut client = DeflateClient::connect(&server, "/echo", Some("permessage-deflate")).await;
    let data = client.deflate(b"valid until \xff");
    client.send_frame(0x80 | 0x40 | TEXT, &data).await;
    assert_eq!(client.expect_close().await.0, 1007);
    server.shutdown().await;
}

/// Subscribes every session to one room; `publish:TEXT` publishes TEXT there,
/// `ready?` answers `ready` (so the subscription is known to be in place).
struct Room;

impl WebSocketHandler for Room {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        Ok(session.subscribe("room").await?)
    }

    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        if let Some(message) = text.as_str().strip_prefix("publish:") {
            session.hub().publish("room", message.to_owned()).await.unwrap();
        } else if text.as_str() == "ready?" {
            session.send("ready").await?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_broadcast_reaches_every_kind_of_session_compressed_as_negotiated() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/room", Room).deflate(true);
    let server = TestServer::start(registry).await;
    let fresh = "permessage-deflate; server_no_context_takeover";
    let mut clients = Vec::new();
    for offer in [Some(fresh), Some(fresh), Some(fresh), Some("permessage-deflate"), None] {
        let mut client = DeflateClient::connect(&server, "/room", offer).await;
        // Messages are handled after after_connection_established: subscribed.
        client.send_frame(0x80 | TEXT, b"ready?").await;
        assert_eq!(client.next_text().await, "ready");
        clients.push(client);
    }
    let text: String = (0..20).map(chat).collect();
    for round in 0..2 {
        let mut fresh_frames = Vec::new();
        clients[0].send_frame(0x80 | TEXT, format!("publish:{text}").as_bytes()).await;
        for (i, client) in clients.iter_mut().enumerate() {
            let (opcode, rsv1, payload, wire) = client.next_message().await;
            assert_eq!(opcode, TEXT);
            assert_eq!(String::from_utf8(payload).unwrap(), text, "client {i}, round {round}");
            assert_eq!(rsv1, i < 4, "client {i} receives compression as negotiated");
            if i < 3 {
                fresh_frames.push(wire);
            }
            if rsv1 {
                assert!(wire * 4 < text.len(), "client {i}: {wire} bytes for {}", text.len());
            }
        }
        assert!(fresh_frames.iter().all(|&w| w == fresh_frames[0]), "{fresh_frames:?}");
    }
    for client in clients {
        client.close().await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn compression_can_be_enabled_server_wide_and_refused_per_handler() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/on", Echo);
    registry.add_handler("/off", Echo).deflate(false);
    let server = Server::builder()
        .registry(registry)
        .deflate(DeflateConfig::enabled())
        .bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve_with_shutdown(async {
        let _ = stopped.await;
    }));
    let on = DeflateClient::connect_with(addr, "/on", Some("permessage-deflate"), 15, 15, false).await;
    assert_eq!(on.extensions.as_deref(), Some("permessage-deflate"));
    on.close().await;
    let off = DeflateClient::connect_with(addr, "/off", Some("permessage-deflate"), 15, 15, false).await;
    assert_eq!(off.extensions, None);
    off.close().await;
    stop.send(()).unwrap();
    within("the server to stop", serving).await.unwrap().unwrap();
}

#[tokio::test]
async fn invalid_settings_fail_at_startup_naming_the_handler() {
    let mut config = DeflateConfig::enabled();
    config.max_window_bits = 8;
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/x", Echo).deflate_config(config);
    let error = Server::builder().registry(registry).bind("127.0.0.1:0").await.expect_err("refused");
    let message = error.to_string();
    assert!(message.contains("`deflate.max_window_bits` must be") && message.contains("found 8"), "{message}");
    assert!(message.contains("Echo"), "{message}");
}
