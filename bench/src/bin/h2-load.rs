//! `h2-load`: WebSockets over HTTP/2 against HTTP/1.1, on the echo example.
//! Two figures, each in a fresh server process, interleaved over repetitions:
//!
//! - messages per second and server CPU time per message for `--sessions`
//!   sessions (default 64) echoing 32-byte text, one message in flight each:
//!   all on one HTTP/2 connection, against one HTTP/1.1 connection each;
//! - server memory (RSS) per idle session for `--idle` sessions (default
//!   10,000): over HTTP/2, 250 per connection, against one HTTP/1.1
//!   connection each.
//!
//! ```sh
//! cargo run --release -p wsboot-bench --bin h2-load
//! cargo run --release -p wsboot-bench --bin h2-load -- --sessions 64 --seconds 5 --idle 10000 --repeat 3
//! ```
//!
//! The client is Rust's `h2` crate with tokio-tungstenite's framing on each
//! stream (the same client the HTTP/2 tests use).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use wsboot_bench::format::thousands;
use wsboot_bench::procfs;
use wsboot_tests::h2::H2Connection;

#[path = "echo-load/server.rs"]
#[allow(dead_code)]
mod server;

use server::ChildServer;

/// Streams per HTTP/2 connection in the idle figure (the server allows 256).
const STREAMS_PER_CONNECTION: usize = 250;

const USAGE: &str = "usage: h2-load [--sessions N] [--seconds S] [--idle N] [--repeat N] [--server PATH]\n";

struct Options {
    sessions: usize,
    seconds: u64,
    idle: usize,
    repeat: usize,
    server: Option<PathBuf>,
}

fn parse() -> Result<Options, String> {
    let mut options = Options { sessions: 64, seconds: 5, idle: 10_000, repeat: 3, server: None };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |text: String| text.parse::<usize>().map_err(|_| format!("{flag} takes a number, not {text:?}"));
        match flag.as_str() {
            "--sessions" => options.sessions = number(value()?)?,
            "--seconds" => options.seconds = number(value()?)? as u64,
            "--idle" => options.idle = number(value()?)?,
            "--repeat" => options.repeat = number(value()?)?.max(1),
            "--server" => options.server = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

#[derive(Clone, Copy, PartialEq)]
enum Transport {
    Http2,
    Http1,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Http2 => "HTTP/2, one connection",
            Transport::Http1 => "HTTP/1.1, a connection each",
        }
    }
}

type Socket = Box<dyn SocketLike>;

/// A WebSocket over either transport, as the measuring loop uses it.
trait SocketLike {
    fn echo(&mut self, text: &'static str) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>;
}

impl<S> SocketLike for tokio_tungstenite::WebSocketStream<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    fn echo(&mut self, text: &'static str) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>> {
        Box::pin(async move {
            self.send(Message::text(text)).await.expect("send");
            match self.next().await {
                Some(Ok(Message::Text(_))) => {}
                other => panic!("expected the echo, got {other:?}"),
            }
        })
    }
}

/// Opens `count` WebSockets to `/echo`.
async fn open(base: &str, transport: Transport, count: usize) -> (Vec<Socket>, Vec<H2Connection>) {
    let addr: std::net::SocketAddr = base.trim_start_matches("ws://").parse().expect("the server's address");
    let mut sockets: Vec<Socket> = Vec::with_capacity(count);
    let mut connections = Vec::new();
    match transport {
        Transport::Http2 => {
            for _ in 0..count.div_ceil(STREAMS_PER_CONNECTION) {
                connections.push(H2Connection::connect(addr).await);
            }
            for i in 0..count {
                sockets.push(Box::new(connections[i / STREAMS_PER_CONNECTION].websocket("/echo").await));
            }
        }
        Transport::Http1 => {
            for _ in 0..count {
                let (socket, _) = tokio_tungstenite::connect_async(format!("{base}/echo")).await.expect("upgrade");
                sockets.push(Box::new(socket));
            }
        }
    }
    (sockets, connections)
}

/// Messages per second and server CPU µs per message.
async fn throughput(program: &Path, transport: Transport, sessions: usize, seconds: u64) -> (f64, f64) {
    let server = ChildServer::start(program, &[]).expect("the echo example starts");
    let pid = server.pid().to_string();
    let (sockets, _connections) = open(&server.base_url, transport, sessions).await;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let cpu_before = procfs::cpu_time(&pid).expect("/proc");
    let started = Instant::now();
    let counts: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            tokio::task::spawn_local(async move {
                let mut sent = 0u64;
                while Instant::now() < deadline {
                    socket.echo("thirty-two bytes of text, echo!!").await;
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    let mut messages = 0;
    for count in counts {
        messages += count.await.expect("a session");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = procfs::cpu_time(&pid).expect("/proc").saturating_sub(cpu_before);
    (messages as f64 / elapsed, cpu.as_secs_f64() * 1e6 / messages.max(1) as f64)
}

/// Server KiB of RSS per idle session.
async fn idle_memory(program: &Path, transport: Transport, count: usize) -> f64 {
    let server = ChildServer::start(program, &[]).expect("the echo example starts");
    let pid = server.pid().to_string();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = procfs::resident_kib(&pid).expect("/proc");
    let opened = open(&server.base_url, transport, count).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = procfs::resident_kib(&pid).expect("/proc");
    drop(opened);
    after.saturating_sub(before) as f64 / count as f64
}

fn median(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[values.len() / 2], values[0], values[values.len() - 1])
}

fn main() -> ExitCode {
    let options = match parse() {
        Ok(options) => options,
        Err(problem) => {
            if !problem.is_empty() {
                eprintln!("h2-load: {problem}");
            }
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let program = match options.server.clone().map_or_else(server::echo_example, Ok) {
        Ok(program) => program,
        Err(problem) => {
            eprintln!("h2-load: {problem}");
            return ExitCode::FAILURE;
        }
    };
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let transports = [Transport::Http2, Transport::Http1];
        let mut rates = vec![Vec::new(); 2];
        let mut costs = vec![Vec::new(); 2];
        let mut memory = vec![Vec::new(); 2];
        for round in 0..options.repeat {
            for (i, transport) in transports.into_iter().enumerate() {
                let (rate, cost) = throughput(&program, transport, options.sessions, options.seconds).await;
                eprintln!("round {round}: {}: {} msg/s, {cost:.2} µs/msg", transport.name(), thousands(rate as u64));
                rates[i].push(rate);
                costs[i].push(cost);
                if options.idle > 0 {
                    let kib = idle_memory(&program, transport, options.idle).await;
                    eprintln!("round {round}: {}: {kib:.2} KiB per idle session", transport.name());
                    memory[i].push(kib);
                }
            }
        }
        let sessions = options.sessions;
        println!(
            "\n| {} sessions, 32 B echo, 1 in flight ({} runs, median [min-max]) | msg/s | server CPU µs/msg | KiB RSS per idle session ({}) |",
            sessions, options.repeat, thousands(options.idle as u64)
        );
        println!("|---|---:|---:|---:|");
        for (i, transport) in transports.into_iter().enumerate() {
            let (rate, rate_min, rate_max) = median(rates[i].clone());
            let (cost, cost_min, cost_max) = median(costs[i].clone());
            let idle = if memory[i].is_empty() {
                "-".to_owned()
            } else {
                let (kib, low, high) = median(memory[i].clone());
                format!("{kib:.2} [{low:.2}-{high:.2}]")
            };
            println!(
                "| {} | {} [{}-{}] | {cost:.2} [{cost_min:.2}-{cost_max:.2}] | {idle} |",
                transport.name(),
                thousands(rate as u64),
                thousands(rate_min as u64),
                thousands(rate_max as u64),
            );
        }
    });
    ExitCode::SUCCESS
}
