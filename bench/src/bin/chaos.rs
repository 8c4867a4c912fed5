//! `chaos`: the chat's continuity under node failures. It starts chat nodes
//! (`chaos-node`) on one Redis, spreads members over them, and has a publisher
//! send numbered messages with ids at a steady rate while nodes are killed
//! (SIGKILL) and stopped (SIGTERM). Members reconnect to a surviving node and
//! resume from the last offset they saw, as the page does. At the end it
//! prints, per member, the acked messages lost, duplicated and reordered (all
//! must be 0) and the longest gap between two messages, and exits with 1 if
//! any count is nonzero.
//!
//! ```sh
//! cargo build -p wsboot-bench --bin chaos --bin chaos-node
//! target/debug/chaos --duration 60 --clients 48 --rate 50
//! target/debug/chaos --duration 300 --rounds 5 --redis-url redis://127.0.0.1:6379/
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use wsboot_bench::chaos::{Plan, RedisServer, run};

const USAGE: &str = "\
chaos: chat nodes on one Redis, reconnecting members, a publisher with acked
messages; nodes killed and stopped mid-run. Every acked message must reach
every member exactly once, in order.

USAGE:
    chaos [OPTIONS]

    --duration SECS    how long the publisher publishes                [30]
    --clients N        members, spread over the nodes                  [48]
    --rate N           messages per second                             [50]
    --nodes N          chat nodes                                      [3]
    --rounds N         kill/stop rounds over the duration; with more than
                       one, downed nodes restart                       [1]
    --restart          restart each downed node later in its round
    --redis-url URL    use this Redis (else a private redis-server is started)
    --node-bin PATH    the node program     [chaos-node next to this program]
    -h, --help         this text

In each round, node r is killed (SIGKILL) at 30 % of the round and node r+1
stopped (SIGTERM) at 60 %; the publisher starts on node 0. Exits with 0 when
lost, duplicated and reordered are all 0, 1 when not, 2 on a usage or setup
problem.
";

#[derive(Debug)]
struct Options {
    duration: f64,
    clients: usize,
    rate: f64,
    nodes: usize,
    rounds: u32,
    restart: bool,
    redis_url: Option<String>,
    node_bin: Option<PathBuf>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        duration: 30.0,
        clients: 48,
        rate: 50.0,
        nodes: 3,
        rounds: 1,
        restart: false,
        redis_url: None,
        node_bin: None,
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        fn number<T: std::str::FromStr>(flag: &str, text: String) -> Result<T, String> {
            text.parse().map_err(|_| format!("{flag}: {text:?} is not a valid number"))
        }
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--duration" => options.duration = number(&arg, value()?)?,
            "--clients" => options.clients = number(&arg, value()?)?,
            "--rate" => options.rate = number(&arg, value()?)?,
            "--nodes" => options.nodes = number(&arg, value()?)?,
            "--rounds" => options.rounds = number(&arg, value()?)?,
            "--restart" => options.restart = true,
            "--redis-url" => options.redis_url = Some(value()?),
            "--node-bin" => options.node_bin = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown option {other:?}; see --help")),
        }
    }
    if !(options.duration > 0.0 && options.rate > 0.0) || options.clients == 0 || options.nodes == 0 {
        return Err("--duration, --rate, --clients and --nodes must be positive".to_owned());
    }
    Ok(Some(options))
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("chaos: {problem}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("chaos: cannot start a runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(chaos(options))
}

async fn chaos(options: Options) -> ExitCode {
    let node_bin = match options.node_bin.clone().map(Ok).unwrap_or_else(default_node_bin) {
        Ok(path) => path,
        Err(problem) => {
            eprintln!("chaos: {problem}");
            return ExitCode::from(2);
        }
    };
    // Kept until the end: dropping it stops the private Redis.
    let mut _redis = None;
    let redis_url = match options.redis_url.clone() {
        Some(url) => url,
        None => {
            let started = match wsboot_bench::chaos::redis::find_binary() {
                Some(binary) => RedisServer::start(&binary).await,
                None => Err("`redis-server` is not installed (Debian: apt-get install redis-server); \
                             install it or pass --redis-url"
                    .to_owned()),
            };
            match started {
                Ok(server) => _redis.insert(server).url(),
                Err(problem) => {
                    eprintln!("chaos: {problem}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    let duration = Duration::from_secs_f64(options.duration);
    let plan = Plan::rounds(options.nodes, options.clients, options.rate, duration, options.rounds, options.restart);
    match run(&plan, &node_bin, &redis_url, |line| eprintln!("{line}")).await {
        Ok(report) => {
            print!("{}", report.table());
            if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                print!("{}", report.details());
                ExitCode::FAILURE
            }
        }
        Err(problem) => {
            eprintln!("chaos: {problem}");
            ExitCode::from(2)
        }
    }
}

/// `chaos-node` in the directory of this program (cargo builds both there).
fn default_node_bin() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program's path: {e}"))?;
    let node = exe.with_file_name(format!("chaos-node{}", std::env::consts::EXE_SUFFIX));
    if node.is_file() {
        Ok(node)
    } else {
        Err(format!(
            "{} does not exist: build it (cargo build -p wsboot-bench --bin chaos-node) or pass --node-bin",
            node.display()
        ))
    }
}
