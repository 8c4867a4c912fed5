//! permessage-deflate, measured: chat-like JSON echoed with and without
//! compression (bytes on the wire, messages per second, server CPU per message),
//! and the server's memory per idle connection with compression negotiated.
//!
//! ```sh
//! cargo bench -p wsboot --bench deflate
//! cargo bench -p wsboot --bench deflate -- --conns 64 --messages 2000 --idle 1000
//! cargo bench -p wsboot --bench deflate -- --bun PATH   # Bun (uWebSockets) too
//! ```
//!
//! Each server runs in a child process (see `server.rs`); the clients, which
//! compress and inflate like a browser, run in this one. Server CPU comes from
//! `/proc/PID/stat` (Linux, 100 ticks per second), memory from `/proc/PID/status`.
//! This program, and so wsboot's server, allocates with mimalloc, as the examples
//! do and as Bun does.

mod client;
mod server;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use client::{Client, chat_messages};
use server::{BUN_COMPRESSIONS, Mode, ServerProcess, Target, cpu_time, serve};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Throughput {
    target: Target,
    msgs_per_sec: f64,
    server_cpu_us: f64,
    client_cpu_us: f64,
    bytes_per_msg_out: f64,
    bytes_per_msg_in: f64,
    raw_bytes_per_msg: f64,
}

async fn throughput(target: Target, conns: usize, per_conn: usize) -> Throughput {
    let server = ServerProcess::start(&target);
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
        target,
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
async fn idle_kib(target: &Target, conns: usize, echo_first: bool) -> f64 {
    let server = ServerProcess::start(target);
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
    let bun =
        args.iter().position(|a| a == "--bun").map(|i| PathBuf::from(args.get(i + 1).expect("--bun takes a path")));
    let bun_target = |compression| bun.clone().map(|bun| Target::Bun { bun, compression });
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        println!("## Chat-like JSON echo: {conns} connections x {per_conn} round trips\n");
        println!(
            "| server | msgs/s | server CPU µs/msg | client CPU µs/msg | wire bytes/msg server→client | client→server \
             | JSON bytes/msg |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        let mut targets: Vec<Target> =
            [Mode::PLAIN, Mode::deflate(1, true), Mode::deflate(6, true), Mode::deflate(1, false)]
                .into_iter()
                .map(Target::Wsboot)
                .collect();
        targets.extend(BUN_COMPRESSIONS.into_iter().filter_map(bun_target));
        for target in targets {
            let t = throughput(target, conns, per_conn).await;
            println!(
                "| {} | {:.0} | {:.1} | {:.1} | {:.1} ({:.1}×) | {:.1} | {:.1} |",
                t.target.label(),
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
        // A resting wsboot session frees its compressor and decompressor and
        // keeps only their windows; uWebSockets keeps a dedicated compressor
        // for the connection's life and shares one otherwise.
        println!("\n## Server memory per idle connection ({idle} connections, RSS)\n");
        println!("| server | after the handshake | after one echo |");
        println!("|---|---:|---:|");
        let mut targets: Vec<Target> =
            [Mode::PLAIN, Mode::deflate(1, true), Mode::deflate(1, false)].into_iter().map(Target::Wsboot).collect();
        targets.extend(BUN_COMPRESSIONS.into_iter().filter_map(bun_target));
        for target in &targets {
            let handshake = idle_kib(target, idle, false).await;
            let echoed = idle_kib(target, idle, true).await;
            println!("| {} | {handshake:.1} KiB | {echoed:.1} KiB |", target.label());
        }
    });
}
