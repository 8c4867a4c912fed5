//! A WebSocket client with permessage-deflate (RFC 7692) for the compression
//! tests: tokio-tungstenite has no compression, so this client writes the
//! handshake and the frames itself and compresses and inflates with flate2, as
//! a browser does.

use std::net::SocketAddr;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wsboot::test::{TestServer, within};

use crate::opcode::{CLOSE, PING, PONG, TEXT};
use crate::{encode_frame, upgrade_request};

/// A frame from the server.
#[derive(Debug)]
pub struct Frame {
    /// The FIN bit: the last frame of its message.
    pub fin: bool,
    /// RSV1: the message is compressed (on its first frame).
    pub rsv1: bool,
    /// The frame's opcode.
    pub opcode: u8,
    /// The payload as sent (not inflated).
    pub payload: Vec<u8>,
}

/// A WebSocket client with permessage-deflate: the client side of RFC 7692.
#[derive(Debug)]
pub struct DeflateClient {
    stream: TcpStream,
    buf: Vec<u8>,
    /// The `Sec-WebSocket-Extensions` header of the 101, if any.
    pub extensions: Option<String>,
    /// The client's compressor; reset after each message when `reset_compressor`.
    compress: Compress,
    reset_compressor: bool,
    /// Inflates the server's messages; `None` until a window size is known.
    pub decompress: Decompress,
    /// The window the server's answer allows the client (and the inflater's).
    server_window_bits: u8,
}

const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

impl DeflateClient {
    /// Opens `path` offering `offer` (`None`: no extension header at all). The
    /// client compresses with `client_window_bits` and inflates with
    /// `server_window_bits`, and resets its compressor after every message if
    /// `reset_compressor`.
    pub async fn connect_with(
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
    pub async fn connect(server: &TestServer, path: &str, offer: Option<&str>) -> DeflateClient {
        DeflateClient::connect_with(server.tcp_addr(), path, offer, 15, 15, false).await
    }

    /// Compresses one message's payload as RFC 7692 §7.2.1 says.
    pub fn deflate(&mut self, payload: &[u8]) -> Vec<u8> {
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
    pub fn inflate(&mut self, payload: &[u8]) -> Vec<u8> {
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

    /// Writes `bytes` to the socket as they are.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        within("writing frames", self.stream.write_all(bytes)).await.expect("the frames are written");
    }

    /// Sends one masked frame with the given first byte (FIN, RSV bits, opcode).
    pub async fn send_frame(&mut self, first: u8, payload: &[u8]) {
        // The kit's encoder, with the whole first byte kept (RSV1 marks compression).
        let mut frame = encode_frame(first & 0x80 != 0, first & 0x0f, payload, true);
        frame[0] = first;
        self.send_raw(&frame).await;
    }

    /// Sends `text` compressed, in one frame.
    pub async fn send_compressed_text(&mut self, text: &str) -> usize {
        let data = self.deflate(text.as_bytes());
        self.send_frame(0x80 | 0x40 | TEXT, &data).await;
        data.len()
    }

    /// The next frame from the server; `None` once the connection ends.
    pub async fn read_frame(&mut self) -> Option<Frame> {
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
    pub async fn next_message(&mut self) -> (u8, bool, Vec<u8>, usize) {
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

    /// The next data message, which must be text, inflated if it came compressed.
    pub async fn next_text(&mut self) -> String {
        let (opcode, _, payload, _) = self.next_message().await;
        assert_eq!(opcode, TEXT, "a text message");
        String::from_utf8(payload).expect("UTF-8 text")
    }

    /// Waits for the server's close frame and returns its code and reason.
    pub async fn expect_close(&mut self) -> (u16, String) {
        loop {
            let frame = self.read_frame().await.expect("a close frame before the connection ends");
            if frame.opcode == CLOSE {
                return close_status(&frame.payload);
            }
        }
    }

    /// Closes with 1000 and expects the server to answer with 1000.
    pub async fn close(mut self) {
        self.send_frame(0x80 | CLOSE, &1000u16.to_be_bytes()).await;
        assert_eq!(self.expect_close().await.0, 1000);
    }
}

/// A close frame's status code and reason.
pub fn close_status(payload: &[u8]) -> (u16, String) {
    assert!(payload.len() >= 2, "a close frame with a status: {payload:?}");
    (u16::from_be_bytes([payload[0], payload[1]]), String::from_utf8_lossy(&payload[2..]).into_owned())
}

/// One server frame from the start of `buf` and the bytes it took; `None` if
/// `buf` does not hold a whole frame yet.
pub fn parse_frame(buf: &[u8]) -> Option<(Frame, usize)> {
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
pub fn inflate_tracking_distance(payload: &[u8]) -> (Vec<u8>, usize) {
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
