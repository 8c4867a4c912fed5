//! `echo-load`: wsboot's own load program. It starts the echo example (or drives
//! a server at `--url`), opens N WebSocket connections from its own client and
//! prints messages per second, latency percentiles, CPU time per message on
//! both sides and the server's resident memory per connection. `--idle N`
//! opens N quiet connections instead and reports memory per connection.
//!
//! ```sh
//! cargo run --release -p wsboot-bench --bin echo-load -- --conns 64 --size 32
//! cargo run --release -p wsboot-bench --bin echo-load -- --conns 64 --pipeline 16
//! cargo run --release -p wsboot-bench --bin echo-load -- --conns 16 --size 64KiB --binary
//! cargo run --release -p wsboot-bench --bin echo-load -- --idle 10000
//! cargo run --release -p wsboot-bench --bin echo-load -- --idle 100000 --sources 4
//! ```
//!
//! Server figures come from `/proc` (Linux). On a machine shared with other
//! work, compare CPU per message and ratios between runs, not absolute rates.

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod args;
mod clients;
mod idle;
mod load;
mod server;
mod ws;

use args::{Mode, Options, Target};
use clients::{Control, Phase, Plan, Work};
use load::{Job, Percentiles, Recorder};
use server::ChildServer;
use wsboot_bench::format::thousands as group;
use wsboot_bench::procfs;

/// Descriptors a process needs besides its connections (stdio, epoll, listener, files).
const SPARE_DESCRIPTORS: usize = 64;
/// Ephemeral ports of each source address left to the rest of the machine.
const PORTS_LEFT_FREE: usize = 1_000;
/// Opening gives up when no connection opened or failed for this long.
const OPENING_STALL: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let options = match args::parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("echo-load: {problem}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("echo-load: {problem}");
            ExitCode::FAILURE
        }
    }
}

/// The server being driven and what is known of its process.
struct Driven {
    url: String,
    pid: Option<String>,
    /// Kept until the end: dropping it stops the server.
    _child: Option<ChildServer>,
}

fn run(options: &Options) -> Result<(), String> {
    if cfg!(debug_assertions) {
        return Err("this build has no optimizations, so the client would be the bottleneck: \
                    run it with `cargo run --release -p wsboot-bench --bin echo-load`"
            .to_owned());
    }
    // Before the server starts, which inherits the raised limit.
    raise_open_files_limit(options.conns)?;
    let driven = match &options.target {
        Target::Spawn(program) => {
            let program = match program {
                Some(program) => program.clone(),
                None => server::echo_example()?,
            };
            let child = ChildServer::start(&program, &options.server_args)?;
            Driven { url: format!("{}/echo", child.base_url), pid: Some(child.pid().to_string()), _child: Some(child) }
        }
        Target::Url { url, pid } => Driven { url: url.clone(), pid: pid.map(|p| p.to_string()), _child: None },
    };
    if let Some(pid) = &driven.pid {
        check_server_open_files(pid, options.conns)?;
    }
    let endpoint = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))?
        .block_on(ws::Endpoint::parse(&driven.url))?;
    let sources = source_addresses(options, endpoint.addr.ip())?;
    let plan = Plan {
        endpoint,
        conns: options.conns,
        threads: options.threads,
        sources,
        connect_concurrency: options.connect_concurrency,
    };
    match options.mode {
        Mode::Load => run_load(options, &plan, &driven),
        Mode::Idle { echo_once } => run_idle(options, &plan, &driven, echo_once),
    }
}

fn run_load(options: &Options, plan: &Plan, driven: &Driven) -> Result<(), String> {
    let server_rss_before = driven.pid.as_deref().map(procfs::resident_kib).transpose().map_err(proc_error)?;
    let control = Control::new();
    let payload = payload(options.size, options.binary);
    let (opcode, pipeline) = (if options.binary { ws::BINARY } else { ws::TEXT }, options.pipeline);
    let threads =
        clients::start(plan, &control, move || Work::Load(Rc::new(Job { payload: payload.clone(), opcode, pipeline })))
            .map_err(|e| format!("cannot start the client threads: {e}"))?;
    let (opened, _) = wait_for_opening(&control, plan.conns, false);
    if opened < plan.conns {
        drop(stop(&control, plan.conns, threads));
        return Err(failure_report(&control, "not every connection opened"));
    }
    let server_rss_open = driven.pid.as_deref().map(procfs::resident_kib).transpose().map_err(proc_error)?;

    control.set_phase(Phase::Warmup);
    std::thread::sleep(options.warmup);
    let before = CpuSnapshot::take(driven.pid.as_deref())?;
    control.set_phase(Phase::Measuring);
    std::thread::sleep(options.duration);
    control.set_phase(Phase::Stopping);
    let after = CpuSnapshot::take(driven.pid.as_deref())?;
    let recorders = stop(&control, plan.conns, threads);
    if control.failed_later() > 0 {
        return Err(failure_report(&control, "connections broke during the run"));
    }

    let elapsed = after.at - before.at;
    let received: u64 = recorders.iter().map(|r| r.received).sum();
    let latencies: Vec<u64> = recorders.into_iter().flat_map(|r| r.latencies).collect();
    let rate = received as f64 / elapsed.as_secs_f64();
    println!(
        "echo-load: {} connections x {} in flight, {} {} messages, {} client thread{}; server {}{}",
        group(plan.conns as u64),
        options.pipeline,
        size_label(options.size),
        if options.binary { "binary" } else { "text" },
        plan.threads,
        if plan.threads == 1 { "" } else { "s" },
        driven.url,
        driven.pid.as_deref().map(|p| format!(" (pid {p})")).unwrap_or_default(),
    );
    println!("measured {:.1} s after a {:.1} s warm-up", elapsed.as_secs_f64(), options.warmup.as_secs_f64());
    println!("  messages/s      {}", group(rate.round() as u64));
    if let Some(p) = Percentiles::of(latencies) {
        println!(
            "  latency         p50 {}   p99 {}   p99.9 {}   max {}",
            millis(p.p50),
            millis(p.p99),
            millis(p.p999),
            millis(p.max)
        );
    }
    let per_message = |cpu: Duration| {
        if received == 0 {
            "-".to_owned()
        } else {
            format!(
                "{:.2} µs/msg   ({:.2} cores)",
                cpu.as_secs_f64() * 1e6 / received as f64,
                cpu.as_secs_f64() / elapsed.as_secs_f64()
            )
        }
    };
    if let (Some(server_before), Some(server_after)) = (before.server, after.server) {
        println!("  server CPU      {}", per_message(server_after - server_before));
    }
    println!("  client CPU      {}", per_message(after.client - before.client));
    if let (Some(before), Some(open)) = (server_rss_before, server_rss_open) {
        println!(
            "  server memory   {} resident with the connections open, {} before: {} per connection",
            mebibytes(open),
            mebibytes(before),
            kib_per_connection(open, before, plan.conns)
        );
    }
    if driven.pid.is_none() {
        println!("  (pass --server-pid with --url for the server's CPU and memory)");
    }
    Ok(())
}

fn run_idle(options: &Options, plan: &Plan, driven: &Driven, echo_once: bool) -> Result<(), String> {
    let Some(pid) = driven.pid.as_deref() else {
        return Err("--idle measures the server's memory: let echo-load start the server, or pass --server-pid".into());
    };
    // Let the server finish starting before the baseline.
    std::thread::sleep(Duration::from_millis(500));
    let rss_before = procfs::resident_kib(pid).map_err(proc_error)?;
    let client_rss_before = procfs::resident_kib("self").map_err(proc_error)?;
    let control = Control::new();
    let started = Instant::now();
    let threads = clients::start(plan, &control, move || Work::Idle { echo_once })
        .map_err(|e| format!("cannot start the client threads: {e}"))?;
    let (opened, open_time) = wait_for_opening(&control, plan.conns, true);
    let open_time = open_time.unwrap_or_else(|| started.elapsed());
    std::thread::sleep(options.duration);
    let rss_open = procfs::resident_kib(pid).map_err(proc_error)?;
    let client_rss_open = procfs::resident_kib("self").map_err(proc_error)?;
    let still_open = opened - control.failed_later().min(opened);
    control.set_phase(Phase::Stopping);
    let closing = Instant::now();
    drop(stop(&control, plan.conns, threads));
    let close_time = closing.elapsed();

    let sources = if plan.sources.is_empty() {
        "addresses the kernel chose".to_owned()
    } else {
        format!("{} source address{}", plan.sources.len(), if plan.sources.len() == 1 { "" } else { "es" })
    };
    println!(
        "echo-load idle: {} connections{}, from {sources}; server {} (pid {pid})",
        group(plan.conns as u64),
        if echo_once { " (one echo each, then quiet)" } else { " (no message sent)" },
        driven.url
    );
    println!(
        "  opened          {} of {} in {:.2} s ({} per second); {} still open after {:.1} s",
        group(opened as u64),
        group(plan.conns as u64),
        open_time.as_secs_f64(),
        group((opened as f64 / open_time.as_secs_f64().max(1e-9)).round() as u64),
        group(still_open as u64),
        options.duration.as_secs_f64()
    );
    println!(
        "  server memory   {} resident with them open, {} before: {} per connection",
        mebibytes(rss_open),
        mebibytes(rss_before),
        kib_per_connection(rss_open, rss_before, still_open)
    );
    println!(
        "  client memory   {} resident with them open: {} per connection",
        mebibytes(client_rss_open),
        kib_per_connection(client_rss_open, client_rss_before, still_open)
    );
    println!("  closed          in {:.2} s", close_time.as_secs_f64());
    println!("  limits          {}", limits(pid));
    if opened < plan.conns || control.failed_later() > 0 {
        return Err(failure_report(&control, "not every connection stayed open"));
    }
    Ok(())
}

/// Waits until every connection opened or failed; `progress` prints a line a
/// second. Returns how many opened and when the last one did.
fn wait_for_opening(control: &Control, conns: usize, progress: bool) -> (usize, Option<Duration>) {
    let started = Instant::now();
    let mut last_change = (0, Instant::now());
    let mut last_print = Instant::now();
    loop {
        let (opened, failed) = (control.opened(), control.failed_to_open());
        if opened + failed >= conns {
            return (opened, Some(started.elapsed()));
        }
        if opened + failed != last_change.0 {
            last_change = (opened + failed, Instant::now());
        } else if last_change.1.elapsed() > OPENING_STALL {
            return (opened, None);
        }
        if progress && last_print.elapsed() >= Duration::from_secs(1) {
            eprintln!("opened {} of {}{}", group(opened as u64), group(conns as u64), failed_note(failed));
            last_print = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn failed_note(failed: usize) -> String {
    if failed == 0 { String::new() } else { format!(", {} failed", group(failed as u64)) }
}

/// Ends the run and collects what each client thread recorded.
fn stop(control: &Arc<Control>, conns: usize, threads: Vec<std::thread::JoinHandle<Recorder>>) -> Vec<Recorder> {
    control.set_phase(Phase::Stopping);
    let recorders = threads.into_iter().map(|thread| thread.join().expect("a client thread panicked")).collect();
    let unfinished = conns.saturating_sub(control.finished());
    if unfinished > 0 {
        eprintln!(
            "echo-load: {} connections had not finished closing in time and were dropped",
            group(unfinished as u64)
        );
    }
    recorders
}

/// Every distinct error of the run, most frequent first.
fn failure_report(control: &Control, summary: &str) -> String {
    let mut report = format!(
        "{summary}: {} failed to open, {} broke after opening",
        group(control.failed_to_open() as u64),
        group(control.failed_later() as u64)
    );
    for (error, count) in control.errors().into_iter().take(10) {
        report.push_str(&format!("\n  {} x {error}", group(count as u64)));
    }
    report
}

/// Raises this process's soft open-files limit to what `conns` connections
/// need, or says why it cannot.
fn raise_open_files_limit(conns: usize) -> Result<(), String> {
    let needed = (conns + SPARE_DESCRIPTORS) as u64;
    let got = rlimit::increase_nofile_limit(needed).map_err(|e| format!("cannot raise the open-files limit: {e}"))?;
    if got < needed {
        return Err(format!(
            "{conns} connections need about {needed} open files in this process and as many in the server, \
             but the hard limit (RLIMIT_NOFILE) is {got}: raise it (`ulimit -Hn`, limits.conf or systemd's \
             LimitNOFILE, which need privileges) or ask for fewer connections"
        ));
    }
    Ok(())
}

/// The server must be able to hold the connections too.
fn check_server_open_files(pid: &str, conns: usize) -> Result<(), String> {
    let (soft, _) = procfs::open_files_limit(pid).map_err(proc_error)?;
    match soft {
        Some(limit) if (limit as usize) < conns + SPARE_DESCRIPTORS / 2 => Err(format!(
            "the server (pid {pid}) may open only {limit} files, too few for {conns} connections: \
             start it with a higher `ulimit -n`"
        )),
        _ => Ok(()),
    }
}

/// The client addresses to connect from: `--sources K` gives 127.0.0.2 ..
/// 127.0.0.(K+1), and more connections than one address has ephemeral ports
/// for need that many. Empty: connect without binding.
fn source_addresses(options: &Options, server: IpAddr) -> Result<Vec<IpAddr>, String> {
    let ports = procfs::ephemeral_ports().unwrap_or(28_232);
    let usable = ports.saturating_sub(PORTS_LEFT_FREE).max(1);
    let needed = options.conns.div_ceil(usable);
    let count = match options.sources {
        Some(count) if count < needed => {
            return Err(format!(
                "{} connections need at least {needed} source addresses ({ports} ephemeral ports each, \
                 net.ipv4.ip_local_port_range): pass --sources {needed}",
                options.conns
            ));
        }
        Some(count) => count,
        None if needed == 1 => return Ok(Vec::new()),
        None => needed,
    };
    if !server.is_loopback() {
        return Err("--sources binds 127.0.0.x addresses, which reach only a server on this machine".to_owned());
    }
    if count > 253 {
        return Err(format!("--sources {count}: at most 253 addresses (127.0.0.2 .. 127.0.0.254)"));
    }
    Ok((0..count).map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i as u8))).collect())
}

/// The limits that bound how many connections this machine can hold.
fn limits(pid: &str) -> String {
    let files = |pid: &str| match procfs::open_files_limit(pid) {
        Ok((soft, hard)) => {
            let show = |v: Option<u64>| v.map_or("unlimited".to_owned(), |v| v.to_string());
            format!("{} (hard {})", show(soft), show(hard))
        }
        Err(_) => "?".to_owned(),
    };
    let sysctl = |name: &str| format!("{name} {}", procfs::sysctl(name).unwrap_or_else(|| "-".to_owned()));
    format!(
        "open files: this process {}, server {}; {}; {}; {}; {}",
        files("self"),
        files(pid),
        sysctl("net.ipv4.ip_local_port_range"),
        sysctl("net.core.somaxconn"),
        sysctl("fs.nr_open"),
        sysctl("net.netfilter.nf_conntrack_max"),
    )
}

/// CPU time of both sides at one instant.
struct CpuSnapshot {
    at: Instant,
    server: Option<Duration>,
    client: Duration,
}

impl CpuSnapshot {
    fn take(server_pid: Option<&str>) -> Result<CpuSnapshot, String> {
        Ok(CpuSnapshot {
            at: Instant::now(),
            server: server_pid.map(procfs::cpu_time).transpose().map_err(proc_error)?,
            client: procfs::cpu_time("self").map_err(proc_error)?,
        })
    }
}

fn proc_error(e: std::io::Error) -> String {
    format!("cannot read /proc (echo-load measures processes on Linux): {e}")
}

/// A message of `size` bytes: printable ASCII for text, varied bytes for binary.
fn payload(size: usize, binary: bool) -> Vec<u8> {
    if binary {
        (0..size).map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8).collect()
    } else {
        (0..size).map(|i| b'a' + (i % 26) as u8).collect()
    }
}

fn kib_per_connection(after_kib: u64, before_kib: u64, conns: usize) -> String {
    if conns == 0 {
        return "-".to_owned();
    }
    format!("{:.1} KiB", after_kib.saturating_sub(before_kib) as f64 / conns as f64)
}

fn mebibytes(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn millis(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn size_label(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests;
