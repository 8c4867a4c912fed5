//! permessage-deflate, measured: chat-like JSON echoed with and without
//! compression (bytes on the wire, messages per second, server CPU per message),
//! and the server's memory per idle connection with compression negotiated.
//!
//! ```sh
//! cargo bench -p wsboot --bench deflate
//! cargo bench -p wsboot --bench deflate -- --conns 64 --messages 2000 --idle 1000
//! ```
//!
//! The server runs in a child process (this program again, with `--serve MODE`)
//! so that its RSS and CPU time are its own; the clients, which compress and
//! inflate like a browser, run in this one. Server CPU comes from
//! `/proc/PID/stat` (Linux, 100 ticks per second), memory from `/proc/PID/status`.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wsboot::{Bytes, DeflateConfig, HandlerRegistry, HandlerResult, Server, Session, Utf8Bytes, WebSocketHandler};

/// What the bench's server does: `plain`, or `deflate:LEVEL:takeover|fresh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mode {
    /// `None`: compression off.
    level: Option<u32>,
    context_takeover: bool,
}

impl Mode {
    const PLAIN: Mode = Mode { level: None, context_takeover: true };

    fn deflate(level: u32, context_takeover: bool) -> Mode {
        Mode { level: Some(level), context_takeover }
    }

    fn arg(self) -> String {
        match self.level {
            None => "plain".to_owned(),
            Some(level) => format!("deflate:{level}:{}", if self.context_takeover { "takeover" } else { "fresh" }),
        }
    }

    fn parse(arg: &str) -> Mode {
        match arg.split(':').collect::<Vec<_>>()[..] {
            ["plain"] => Mode::PLAIN,
            ["deflate", level, takeover] => Mode::deflate(level.parse().expect("a level"), takeover == "takeover"),
            _ => panic!("unknown mode {arg}"),
        }
    }

    fn label(self) -> String {
        match self.level {
            None => "no compression".to_owned(),
            Some(level) => format!(
                "deflate level {level}, {}",
                if self.context_takeover { "context takeover" } else { "no context takeover" }
            ),
        }
    }
}

struct Echo;

impl WebSocketHandler for Echo {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        Ok(session.send(text).await?)
    }

    async fn handle_binary_message(&self, session: &Session, data: Bytes) -> HandlerResult {
        Ok(session.send(data).await?)
    }
}

/// The child: serves `/echo` in `mode` until its standard input closes.
fn serve(mode: Mode) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/echo", Echo);
        let mut builder = Server::builder().registry(registry);
        if let Some(level) = mode.level {
            let mut deflate = DeflateConfig::enabled();
            deflate.level = level;
            deflate.context_takeover = mode.context_takeover;
            builder = builder.deflate(deflate);
        }
        let server = builder.bind("127.0.0.1:0").await.expect("binds");
        println!("{}", server.local_addr());
        std::io::stdout().flush().expect("stdout");
        let stdin_closed = async {
            let _ = tokio::task::spawn_blocking(|| std::io::stdin().lines().count()).await;
        };
        server.serve_with_shutdown(stdin_closed).await.expect("serves");
    });
}

/// A server child process.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    /// Starts a server for `mode`; with `fixed_mmap_threshold`, glibc maps
    /// blocks of 256 KiB and more on their own (see the memory table).
    fn start(mode: Mode, fixed_mmap_threshold: bool) -> ServerProcess {
        let mut command = Command::new(std::env::current_exe().expect("own path"));
        if fixed_mmap_threshold {
            command.env("MALLOC_MMAP_THRESHOLD_", "262144");
        }
        let mut child = command
            .args(["--serve", &mode.arg()])
            .env("RUST_LOG", "off")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("the address");
        let addr = line.trim().parse().unwrap_or_else(|_| panic!("the server printed {line:?}"));
        ServerProcess { child, addr }
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("/proc status");
        let line = status.lines().find(|l| l.starts_with(field)).expect("the field");
        line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("a number")
    }

    fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// User plus system CPU time so far.
    fn cpu(&self) -> Duration {
        cpu_time(&format!("/proc/{}/stat", self.child.id()))
    }
}

/// User plus system CPU time of the process whose `stat` file is `path`.
fn cpu_time(path: &str) -> Duration {
    let stat = std::fs::read_to_string(path).expect("/proc stat");
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<u64> = after.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    Duration::from_millis((fields[11] + fields[12]) * 10)
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// One client connection that speaks permessage-deflate like a browser: it
/// offers `permessage-deflate; client_max_window_bits` and keeps its context
/// unless the server asks otherwise.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Set when compression was negotiated.
    deflate: Option<(Compress, Decompress)>,
    reset_compressor: bool,
    /// Frame bytes (headers included) each way.
    sent: u64,
    received: u64,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
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

    async fn send_text(&mut self, text: &[u8]) {
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
    async fn receive(&mut self) -> usize {
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
fn chat_messages(count: usize) -> Vec<Vec<u8>> {
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

struct Throughput {
    mode: Mode,
    msgs_per_sec: f64,
    server_cpu_us: f64,
    client_cpu_us: f64,
    bytes_per_msg_out: f64,
    bytes_per_msg_in: f64,
    raw_bytes_per_msg: f64,
}

async fn throughput(mode: Mode, conns: usize, per_conn: usize) -> Throughput {
    let server = ServerProcess::start(mode, false);
    let messages = std::sync::Arc::new(chat_messages(1000));
    let mut clients = Vec::new();
    for _ in 0..conns {
        clients.push(Client::connect(server.addr).await);
    }
    // Warm up: one round trip each.
    for client in &mut clients {
        client.send_text(&messages[0]).await;
        client.receive().await;
    }
    let cpu_before = server.cpu();
    let client_cpu_before = cpu_time("/proc/self/stat");
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(c, mut client)| {
            let messages = messages.clone();
            tokio::spawn(async move {
                client.sent = 0;
                client.received = 0;
                let mut raw = 0;
                for i in 0..per_conn {
                    let message = &messages[(c * 31 + i) % messages.len()];
                    client.send_text(message).await;
                    let len = client.receive().await;
                    assert_eq!(len, message.len(), "the echo has the length sent");
                    raw += message.len() as u64;
                }
                (client.sent, client.received, raw)
            })
        })
        .collect();
    let (mut sent, mut received, mut raw) = (0, 0, 0);
    for task in tasks {
        let (s, r, w) = task.await.expect("a client task");
        sent += s;
        received += r;
        raw += w;
    }
    let elapsed = started.elapsed();
    let cpu = server.cpu() - cpu_before;
    let client_cpu = cpu_time("/proc/self/stat") - client_cpu_before;
    let total = (conns * per_conn) as f64;
    Throughput {
        mode,
        msgs_per_sec: total / elapsed.as_secs_f64(),
        server_cpu_us: cpu.as_secs_f64() * 1e6 / total,
        client_cpu_us: client_cpu.as_secs_f64() * 1e6 / total,
        bytes_per_msg_out: received as f64 / total,
        bytes_per_msg_in: sent as f64 / total,
        raw_bytes_per_msg: raw as f64 / total,
    }
}

/// Server RSS per connection, in KiB, for `conns` idle connections; with
/// `echo_first`, each exchanges one message first (so compression state exists).
async fn idle_kib(mode: Mode, conns: usize, echo_first: bool, fixed_mmap_threshold: bool) -> f64 {
    let server = ServerProcess::start(mode, fixed_mmap_threshold);
    let message = &chat_messages(1)[0];
    // One connection first, so one-time allocations do not count per connection.
    let mut warm = Client::connect(server.addr).await;
    warm.send_text(message).await;
    warm.receive().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = server.rss_kib();
    let mut clients = Vec::with_capacity(conns);
    for _ in 0..conns {
        let mut client = Client::connect(server.addr).await;
        if echo_first {
            client.send_text(message).await;
            client.receive().await;
        }
        clients.push(client);
    }
    // Idle means rested: a session gives back its working memory (buffers, zlib
    // state) within half a second of its last message.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let after = server.rss_kib();
    drop(clients);
    after.saturating_sub(before) as f64 / conns as f64
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} takes a number")))
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        return serve(Mode::parse(&args[i + 1]));
    }
    let conns = arg(&args, "--conns", 64);
    let per_conn = arg(&args, "--messages", 1000);
    let idle = arg(&args, "--idle", 1000);
    let only_throughput = args.iter().any(|a| a == "--no-idle");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        println!("## Chat-like JSON echo: {conns} connections x {per_conn} round trips\n");
        println!(
            "| server | msgs/s | server CPU µs/msg | client CPU µs/msg | wire bytes/msg server→client | client→server \
             | JSON bytes/msg |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        let modes = [Mode::PLAIN, Mode::deflate(1, true), Mode::deflate(6, true), Mode::deflate(1, false)];
        for mode in modes {
            let t = throughput(mode, conns, per_conn).await;
            println!(
                "| {} | {:.0} | {:.1} | {:.1} | {:.1} ({:.1}×) | {:.1} | {:.1} |",
                t.mode.label(),
                t.msgs_per_sec,
                t.server_cpu_us,
                t.client_cpu_us,
                t.bytes_per_msg_out,
                t.raw_bytes_per_msg / t.bytes_per_msg_out,
                t.bytes_per_msg_in,
                t.raw_bytes_per_msg
            );
        }
        if only_throughput {
            return;
        }
        // A resting session frees its compressor (one block of about 370 KiB)
        // and keeps its window; whether the process's RSS shows it is up to the
        // allocator. glibc maps large blocks on their own only until the first
        // one is freed, then takes them from the heap, where freed ones stay
        // resident: the last column fixes its threshold, as a deployment would.
        println!("\n## Server memory per idle connection ({idle} connections, RSS)\n");
        println!("| server | after the handshake | after one echo | after one echo, MALLOC_MMAP_THRESHOLD_=262144 |");
        println!("|---|---:|---:|---:|");
        for mode in [Mode::PLAIN, Mode::deflate(1, true), Mode::deflate(1, false)] {
            let handshake = idle_kib(mode, idle, false, false).await;
            let echoed = idle_kib(mode, idle, true, false).await;
            let mapped = idle_kib(mode, idle, true, true).await;
            println!("| {} | {handshake:.1} KiB | {echoed:.1} KiB | {mapped:.1} KiB |", mode.label());
        }
    });
}
