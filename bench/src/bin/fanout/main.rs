//! Fan-out: one publish to N subscribed WebSocket connections.
//!
//! ```sh
//! cargo run --release -p wsboot-bench --bin fanout
//! cargo run --release -p wsboot-bench --bin fanout -- --subscribers 1000,10000 --repetitions 200 --seconds 5
//! ```
//!
//! The server runs in a child process (this program with `--serve`), so that its
//! memory is measured alone: every connection to `/sub` is subscribed to one
//! topic, and each binary message sent to `/pub` is published there. This
//! process opens the subscribers and one publisher, then measures for each N:
//!
//! - **fan-out time**: from sending one publish until the last subscriber has
//!   read it, over many publishes one at a time (median, p99, max);
//! - **server CPU per fan-out**: the server process's CPU time (user and system)
//!   over those publishes, per publish: what one fan-out costs, whatever else
//!   the machine is doing;
//! - **deliveries per second** under sustained publishing (a few publishes in
//!   flight, far below the queue bounds, so nothing is dropped);
//! - **server CPU per delivery** in that run, likewise;
//! - **server memory per idle connection**: the growth of the server's resident
//!   memory from before the first connection to when all N are open, subscribed
//!   and idle, divided by N.
//!
//! With `--rounds R`, every server and count is measured R times, rounds
//! interleaved; the table gives medians over the rounds and the lines under
//! it each round's ratios, so the spread between rounds shows.
//!
//! With `--baseline`, each N is measured again against a minimal server that
//! writes every frame to every subscriber socket from one thread (no framework,
//! no tasks, no queues): what the sockets alone cost on this machine. With
//! `--bun PATH`, again against Bun's pub/sub (`peers/bun-fanout.js`: uWebSockets'
//! topics), the fastest widely used server outside Rust.
//!
//! Clients and server share the machine's cores. Every wait is bounded: the
//! program stops with an error rather than hang.

mod clients;
mod report;
mod rounds;
mod server;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use wsboot_bench::format::thousands;
use wsboot_bench::procfs::load_average;

use crate::clients::{Publisher, SLOTS, Tallies};
use crate::report::{machine, today};
use crate::rounds::{Measured, Rounds};
use crate::server::{Kind, ServerProcess};

/// The wsboot server (this program as a child) allocates with mimalloc, as the
/// examples do and as Bun does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
usage: fanout [--subscribers N[,N...]] [--repetitions R] [--seconds S] [--payload BYTES] [--rounds R]
              [--baseline] [--bun PATH]

Measures one publish to N subscribed WebSocket connections: the time until the last
one received it, deliveries per second under sustained publishing, and the server's
memory per idle connection. Prints a markdown table.

options:
  --subscribers N,...  subscriber counts to measure (default 1000,10000)
  --repetitions R      single publishes timed per count (default 200)
  --seconds S          length of the sustained-publishing run per count (default 3)
  --payload BYTES      message size, at least 8 (default 64)
  --rounds R           measure every server R times, interleaved; print medians and
                       each round's ratios (default 1)
  --baseline           also measure a minimal one-thread server, for comparison
  --bun PATH           also measure Bun's pub/sub (uWebSockets) with this Bun binary
  -h, --help           print this help";

/// Publishes in flight during the sustained run: enough to keep the server busy,
/// far below the per-session queue bound (1,024 messages), so nothing overflows.
const WINDOW: u64 = 8;
const _: () = assert!((WINDOW as usize) < SLOTS);
/// Concurrent handshakes while connecting subscribers.
const CONNECTING_AT_ONCE: usize = 256;
/// Source addresses the subscribers are spread over (127.0.0.1 to 127.0.0.8), so
/// that ephemeral ports never run short.
const SOURCE_ADDRESSES: usize = 8;
/// The longest any single wait may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
struct Options {
    subscribers: Vec<usize>,
    repetitions: usize,
    seconds: u64,
    payload: usize,
    rounds: usize,
    baseline: bool,
    bun: Option<PathBuf>,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            subscribers: vec![1_000, 10_000],
            repetitions: 200,
            seconds: 3,
            payload: 64,
            rounds: 1,
            baseline: false,
            bun: None,
        };
        let number = |text: &str, name: &str| {
            text.trim().parse::<usize>().map_err(|_| format!("{name}: `{text}` is not a number\n\n{USAGE}"))
        };
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value\n\n{USAGE}"));
            match arg.as_str() {
                "--subscribers" => {
                    let list = value("--subscribers")?;
                    options.subscribers =
                        list.split(',').map(|n| number(n, "--subscribers")).collect::<Result<_, _>>()?;
                }
                "--repetitions" => options.repetitions = number(&value("--repetitions")?, "--repetitions")?.max(1),
                "--seconds" => options.seconds = number(&value("--seconds")?, "--seconds")? as u64,
                "--payload" => options.payload = number(&value("--payload")?, "--payload")?.max(8),
                "--rounds" => options.rounds = number(&value("--rounds")?, "--rounds")?.max(1),
                "--baseline" => options.baseline = true,
                "--bun" => options.bun = Some(PathBuf::from(value("--bun")?)),
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
            }
        }
        if options.subscribers.contains(&0) {
            return Err("--subscribers: counts must be at least 1".to_owned());
        }
        Ok(options)
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    match args.peek().map(String::as_str) {
        Some("--serve") => return server::run_child(Kind::Wsboot),
        Some("--serve-baseline") => return server::run_child(Kind::Baseline),
        _ => {}
    }
    let options = match Options::parse(args) {
        Ok(options) => options,
        Err(message) if message == USAGE => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let largest = options.subscribers.iter().max().copied().unwrap_or(0) as u64;
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < largest + 100 => {
            eprintln!("warning: the open-files limit is {limit}; {largest} connections may not fit");
        }
        Ok(_) => {}
        Err(e) => eprintln!("warning: cannot raise the open-files limit: {e}"),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("the tokio runtime starts");
    let load_before = load_average();
    let mut kinds = vec![Kind::Wsboot];
    kinds.extend(options.baseline.then_some(Kind::Baseline));
    kinds.extend(options.bun.clone().map(Kind::Bun));
    let mut rounds = Rounds::default();
    for round in 1..=options.rounds {
        for &n in &options.subscribers {
            for kind in &kinds {
                let name = kind.name();
                eprintln!("round {round} of {}: {name}, {} subscribers…", options.rounds, thousands(n as u64));
                match runtime.block_on(measure(kind, n, &options)) {
                    Ok(measured) => rounds.record(n, kind, measured),
                    Err(e) => {
                        eprintln!("error: {name}, {} subscribers: {e}", thousands(n as u64));
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
    }
    let table = rounds.table(&options.subscribers, &kinds);
    println!("{}", table.render());
    for line in rounds.ratio_lines(&options.subscribers) {
        println!("- {line}");
    }
    println!(
        "\n{}: {} round(s), medians over them; each round {} single publishes per count and {} s of \
         sustained publishing, {WINDOW} publishes in flight; {}-byte binary messages; server and clients \
         in separate processes on one machine: {}.",
        today(),
        options.rounds,
        options.repetitions,
        options.seconds,
        options.payload,
        machine()
    );
    // Other work on the machine takes cores from both sides: say how busy it was.
    if let (Some(before), Some(after)) = (load_before, load_average()) {
        println!("Load average (1 min) before and after the run: {before:.2}, {after:.2}.");
    }
    ExitCode::SUCCESS
}

async fn measure(kind: &Kind, n: usize, options: &Options) -> Result<Measured, String> {
    let server = ServerProcess::start(kind)?;
    // Let the server's runtime settle before the baseline reading.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let memory_before = server.rss()?;
    let tallies = Arc::new(Tallies::new(n));

    // Connect the subscribers, a bounded number of handshakes at a time.
    let permits = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let mut connecting = JoinSet::new();
    for i in 0..n {
        let permit = permits.clone().acquire_owned().await.expect("the semaphore is never closed");
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (i % SOURCE_ADDRESSES) as u8));
        let addr = server.addr;
        connecting.spawn(async move {
            let opened = tokio::time::timeout(STEP_TIMEOUT, clients::open(addr, source, "/sub")).await;
            drop(permit);
            match opened {
                Ok(Ok(opened)) => Ok(opened),
                Ok(Err(e)) => Err(format!("subscriber {i}: {e}")),
                Err(_) => Err(format!("subscriber {i}: no handshake in {STEP_TIMEOUT:?}")),
            }
        });
    }
    let mut readers = JoinSet::new();
    while let Some(joined) = connecting.join_next().await {
        let (stream, rest) = joined.map_err(|e| format!("a connecting task failed: {e}"))??;
        readers.spawn(clients::receive(stream, rest, tallies.clone()));
    }
    let mut publisher = tokio::time::timeout(STEP_TIMEOUT, Publisher::connect(server.addr, options.payload))
        .await
        .map_err(|_| "the publisher's handshake timed out".to_owned())?
        .map_err(|e| format!("the publisher cannot connect: {e}"))?;
    let mut seq = 0u64;
    let mut publish = async |seq: u64| {
        tallies.reset(seq);
        publisher.publish(seq).await.map_err(|e| format!("publishing failed: {e}"))
    };

    // A session subscribes just after its handshake: publish until one message
    // reaches everyone, so that every later one is expected by all.
    let warm_until = Instant::now() + STEP_TIMEOUT;
    loop {
        publish(seq).await?;
        let reached = tallies.wait_complete(seq, Duration::from_secs(1)).await;
        seq += 1;
        match reached {
            Ok(()) => break,
            Err(e) if Instant::now() > warm_until => return Err(format!("not every subscriber subscribed: {e}")),
            Err(_) => {}
        }
    }

    // Every connection open, subscribed and idle: the server's memory.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let memory_per_connection = server.rss()?.saturating_sub(memory_before) as f64 / n as f64;

    // One publish at a time, until the last subscriber has it.
    let mut fan_out = Vec::with_capacity(options.repetitions);
    let cpu_before = server.cpu_time()?;
    for _ in 0..options.repetitions {
        let sent = Instant::now();
        publish(seq).await?;
        tallies.wait_complete(seq, STEP_TIMEOUT).await?;
        fan_out.push(tallies.last_delivery(seq).saturating_duration_since(sent));
        seq += 1;
    }
    let cpu_per_fan_out = server.cpu_time()?.saturating_sub(cpu_before).div_f64(options.repetitions as f64);

    // Sustained: WINDOW publishes in flight for the run's length.
    let first = seq;
    let delivered_before = tallies.delivered();
    let cpu_before = server.cpu_time()?;
    let started = Instant::now();
    let end = started + Duration::from_secs(options.seconds);
    while Instant::now() < end {
        if seq >= first + WINDOW {
            tallies.wait_complete(seq - WINDOW, STEP_TIMEOUT).await?;
        }
        publish(seq).await?;
        seq += 1;
    }
    for pending in seq.saturating_sub(WINDOW).max(first)..seq {
        tallies.wait_complete(pending, STEP_TIMEOUT).await?;
    }
    let delivered = tallies.delivered() - delivered_before;
    let deliveries_per_second = delivered as f64 / started.elapsed().as_secs_f64();
    let cpu_per_delivery = server.cpu_time()?.saturating_sub(cpu_before).div_f64(delivered.max(1) as f64);

    readers.abort_all();
    while readers.join_next().await.is_some() {}
    drop(server);
    Ok(Measured { fan_out, cpu_per_fan_out, deliveries_per_second, cpu_per_delivery, memory_per_connection })
}
