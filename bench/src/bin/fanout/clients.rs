//! The client side: subscriber connections that parse frames straight off the
//! socket (so that 10,000 of them cost the machine as little as possible), a
//! publisher connection, and the tallies of who received which message when.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Notify;

/// Slots for per-message tallies: messages in flight at once stay below this.
pub(crate) const SLOTS: usize = 64;

/// Per-message delivery counts and the time of each message's last delivery.
#[derive(Debug)]
pub(crate) struct Tallies {
    base: Instant,
    slots: Vec<Slot>,
    subscribers: usize,
    delivered: AtomicU64,
    complete: Notify,
}

#[derive(Debug, Default)]
struct Slot {
    count: AtomicUsize,
    /// Nanoseconds after `base` of the latest delivery.
    last: AtomicU64,
}

impl Tallies {
    pub(crate) fn new(subscribers: usize) -> Self {
        Tallies {
            base: Instant::now(),
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
            subscribers,
            delivered: AtomicU64::new(0),
            complete: Notify::new(),
        }
    }

    fn slot(&self, seq: u64) -> &Slot {
        &self.slots[(seq % SLOTS as u64) as usize]
    }

    /// Clears `seq`'s slot before `seq` is published.
    pub(crate) fn reset(&self, seq: u64) {
        let slot = self.slot(seq);
        slot.count.store(0, Ordering::SeqCst);
        slot.last.store(0, Ordering::SeqCst);
    }

    fn record(&self, seq: u64) {
        let slot = self.slot(seq);
        slot.last.fetch_max(self.base.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.delivered.fetch_add(1, Ordering::Relaxed);
        if slot.count.fetch_add(1, Ordering::AcqRel) + 1 == self.subscribers {
            self.complete.notify_one();
        }
    }

    /// Every delivery so far.
    pub(crate) fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    fn is_complete(&self, seq: u64) -> bool {
        self.slot(seq).count.load(Ordering::Acquire) >= self.subscribers
    }

    /// Waits until every subscriber has `seq`, at most `limit`.
    pub(crate) async fn wait_complete(&self, seq: u64, limit: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + limit;
        while !self.is_complete(seq) {
            if tokio::time::timeout_at(deadline, self.complete.notified()).await.is_err() {
                let got = self.slot(seq).count.load(Ordering::Relaxed);
                return Err(format!("message {seq} reached {got} of {} subscribers in {limit:?}", self.subscribers));
            }
        }
        Ok(())
    }

    /// When the last subscriber received `seq`.
    pub(crate) fn last_delivery(&self, seq: u64) -> Instant {
        self.base + Duration::from_nanos(self.slot(seq).last.load(Ordering::Acquire))
    }
}

/// A fixed, valid `Sec-WebSocket-Key` (the server's answer is not checked beyond
/// its `101`: the benchmark measures the server, not the handshake).
fn upgrade_request(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// Connects from `source` and completes the handshake for `path`; returns the
/// stream and the bytes already read past the `101` head.
pub(crate) async fn open(server: SocketAddr, source: IpAddr, path: &str) -> std::io::Result<(TcpStream, Vec<u8>)> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let mut stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    stream.write_all(upgrade_request(path).as_bytes()).await?;
    let mut buf = Vec::with_capacity(512);
    loop {
        let mut chunk = [0u8; 512];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("the server closed the connection during the handshake"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            if !buf.starts_with(b"HTTP/1.1 101") {
                let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                return Err(std::io::Error::other(format!("the upgrade was refused: {head}")));
            }
            return Ok((stream, buf.split_off(end + 4)));
        }
    }
}

/// Reads server frames until the connection ends, tallying each binary message
/// by the sequence number in its first 8 bytes.
pub(crate) async fn receive(mut stream: TcpStream, mut buf: Vec<u8>, tallies: std::sync::Arc<Tallies>) {
    let mut filled = buf.len();
    buf.resize(filled.max(2048), 0);
    loop {
        let mut at = 0;
        while let Some((opcode, payload, used)) = parse_frame(&buf[at..filled]) {
            if opcode == 2 && payload.len() >= 8 {
                tallies.record(u64::from_le_bytes(payload[..8].try_into().expect("8 bytes")));
            }
            at += used;
        }
        buf.copy_within(at..filled, 0);
        filled -= at;
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0); // a frame larger than the buffer
        }
        match stream.read(&mut buf[filled..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => filled += n,
        }
    }
}

/// One unmasked server frame at the start of `buf`: opcode, payload, bytes used.
fn parse_frame(buf: &[u8]) -> Option<(u8, &[u8], usize)> {
    let (&first, &second) = (buf.first()?, buf.get(1)?);
    let (len, header): (usize, usize) = match second & 0x7f {
        126 => (usize::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])), 4),
        127 => (usize::try_from(u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?)).ok()?, 10),
        n => (usize::from(n), 2),
    };
    let payload = buf.get(header..header.checked_add(len)?)?;
    Some((first & 0x0f, payload, header + len))
}

/// The publisher: sends numbered binary messages of a fixed size.
#[derive(Debug)]
pub(crate) struct Publisher {
    stream: TcpStream,
    payload: usize,
}

/// The mask of every client frame (RFC 6455 requires one, not a random one for
/// a benchmark's own traffic).
const MASK: [u8; 4] = [0x5a, 0x3c, 0x96, 0xe1];

impl Publisher {
    pub(crate) async fn connect(server: SocketAddr, payload: usize) -> std::io::Result<Publisher> {
        let (stream, _) = open(server, server.ip(), "/pub").await?;
        Ok(Publisher { stream, payload: payload.max(8) })
    }

    /// Sends message `seq`: a binary frame whose payload starts with `seq`.
    pub(crate) async fn publish(&mut self, seq: u64) -> std::io::Result<()> {
        let len = self.payload;
        let mut frame = Vec::with_capacity(len + 8);
        frame.push(0x82);
        match len {
            0..126 => frame.push(0x80 | len as u8),
            126..=0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&MASK);
        let mut payload = vec![0u8; len];
        payload[..8].copy_from_slice(&seq.to_le_bytes());
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
        self.stream.write_all(&frame).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_parsed_whole_or_not_at_all() {
        assert_eq!(parse_frame(&[0x82, 2, 7, 8, 0x81]), Some((2, &[7u8, 8][..], 4)));
        assert_eq!(parse_frame(&[0x82, 3, 7, 8]), None);
        let mut long = vec![0x82, 126, 1, 0];
        long.extend(std::iter::repeat_n(1u8, 256));
        assert_eq!(parse_frame(&long).map(|(_, p, used)| (p.len(), used)), Some((256, 260)));
    }
}
