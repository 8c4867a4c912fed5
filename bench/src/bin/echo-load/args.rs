//! The command line: what to drive, how hard, and for how long.

use std::path::PathBuf;
use std::time::Duration;

pub(crate) const USAGE: &str = "\
echo-load: drives wsboot's echo example with many WebSocket connections and
prints messages per second, latency percentiles, CPU per message and the
server's memory per connection.

USAGE:
    cargo run --release -p wsboot-bench --bin echo-load -- [OPTIONS]

By default it builds and starts the echo example (target/release/examples/echo)
as a child process on a free port and drives its /echo route.

LOAD (the default mode): every connection sends a message, waits for the echo
and sends again, keeping --pipeline messages in flight.
    --conns N          connections                                  [64]
    --size BYTES       payload size, e.g. 32, 512, 64KiB            [32]
    --text | --binary  message type                                 [--text]
    --pipeline N       messages in flight per connection            [1]
    --warmup TIME      time before measuring, e.g. 2s, 500ms        [2s]
    --duration TIME    time measured (idle mode: time held open)    [10s; idle 2s]
    --threads N        client threads, one event loop each          [1]

IDLE: opens N connections that send nothing and reports the server's resident
memory per connection (VmRSS after minus before, over N).
    --idle N           open N idle connections instead of load
    --idle-echo        each idle connection echoes one message first
    --sources K        client source addresses 127.0.0.2 .. 127.0.0.(K+1), to get
                       past the ephemeral port range        [enough for N]

SERVER:
    --server PATH      the server binary to start (given `--addr 127.0.0.1:0`, it
                       must print `listening on ws://HOST:PORT`)  [examples/echo]
    --server-arg ARG   an argument for --server, before `--addr` (repeatable), e.g.
                       `--server bun --server-arg echo.js` for Bun's echo peer
    --url URL          drive a server that is already running (ws://HOST:PORT/PATH;
                       the path defaults to /echo)
    --server-pid PID   with --url: the server's process, for its CPU and memory
    --connect-concurrency N  handshakes in progress at once           [256]
    -h, --help         this text
";

/// What the run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Messages echoed as fast as the server answers.
    Load,
    /// Connections opened and held; `echo_once` sends one message on each first.
    Idle { echo_once: bool },
}

/// Which server is driven.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// Start this binary as a child process (`None`: the echo example, built first).
    Spawn(Option<PathBuf>),
    /// A server already running at this URL, optionally with its process id.
    Url { url: String, pid: Option<u32> },
}

/// Everything the command line says.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) mode: Mode,
    pub(crate) target: Target,
    /// Arguments for a spawned server, before its `--addr`.
    pub(crate) server_args: Vec<String>,
    pub(crate) conns: usize,
    pub(crate) size: usize,
    pub(crate) binary: bool,
    pub(crate) pipeline: usize,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    pub(crate) threads: usize,
    pub(crate) sources: Option<usize>,
    pub(crate) connect_concurrency: usize,
}

/// `Ok(None)`: help was asked for.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        mode: Mode::Load,
        target: Target::Spawn(None),
        server_args: Vec::new(),
        conns: 64,
        size: 32,
        binary: false,
        pipeline: 1,
        warmup: Duration::from_secs(2),
        duration: Duration::from_secs(10),
        threads: 1,
        sources: None,
        connect_concurrency: 256,
    };
    let mut duration_given = false;
    let mut idle_echo = false;
    let mut idle = None;
    let mut server = None;
    let mut url = None;
    let mut pid = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // `--name=value` and `--name value` alike.
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next()).ok_or_else(|| format!("{name} needs a value"));
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--conns" => options.conns = count(&name, &value()?)?,
            "--size" => options.size = size(&name, &value()?)?,
            "--text" => options.binary = false,
            "--binary" => options.binary = true,
            "--pipeline" => options.pipeline = count(&name, &value()?)?,
            "--warmup" => options.warmup = duration(&name, &value()?)?,
            "--duration" => {
                options.duration = duration(&name, &value()?)?;
                duration_given = true;
            }
            "--threads" => options.threads = count(&name, &value()?)?,
            "--idle" => idle = Some(count(&name, &value()?)?),
            "--idle-echo" => idle_echo = true,
            "--sources" => options.sources = Some(count(&name, &value()?)?),
            "--server" => server = Some(PathBuf::from(value()?)),
            "--server-arg" => options.server_args.push(value()?),
            "--url" => url = Some(value()?),
            "--server-pid" => pid = Some(value()?.parse().map_err(|_| format!("{name} takes a process id"))?),
            "--connect-concurrency" => options.connect_concurrency = count(&name, &value()?)?,
            other => return Err(format!("unknown option `{other}` (see --help)")),
        }
    }
    if let Some(n) = idle {
        options.mode = Mode::Idle { echo_once: idle_echo };
        options.conns = n;
        if !duration_given {
            options.duration = Duration::from_secs(2);
        }
    } else if idle_echo {
        return Err("--idle-echo goes with --idle N".to_owned());
    }
    options.target = match (server, url) {
        (Some(_), Some(_)) => return Err("--server and --url exclude each other: start a server or drive one".into()),
        (_, None) if pid.is_some() => return Err("--server-pid goes with --url".to_owned()),
        (None, None) if !options.server_args.is_empty() => return Err("--server-arg goes with --server".to_owned()),
        (server, None) => Target::Spawn(server),
        (None, Some(url)) => Target::Url { url, pid },
    };
    if options.size.saturating_mul(options.pipeline) > 64 << 20 {
        return Err("--size times --pipeline is over 64 MiB per connection: lower one of them".to_owned());
    }
    if options.threads > options.conns {
        options.threads = options.conns;
    }
    Ok(Some(options))
}

/// A count of at least 1.
fn count(name: &str, value: &str) -> Result<usize, String> {
    let digits: String = value.chars().filter(|c| *c != '_' && *c != ',').collect();
    match digits.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{name} takes a whole number above 0, not `{value}`")),
    }
}

/// Bytes, with an optional `K`/`KiB`/`M`/`MiB` suffix (powers of 1024).
fn size(name: &str, value: &str) -> Result<usize, String> {
    let split = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let (digits, unit) = value.split_at(split);
    let multiplier = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1024,
        "m" | "mib" | "mb" => 1024 * 1024,
        _ => return Err(format!("{name}: unknown unit in `{value}` (write e.g. 512, 64KiB, 1MiB)")),
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("{name} takes a size such as 512, 64KiB or 1MiB, not `{value}`"))
}

/// `10`, `10s`, `500ms` or `2m`.
fn duration(name: &str, value: &str) -> Result<Duration, String> {
    let split = value.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("{name} takes a time such as 10s or 500ms, not `{value}`"))?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" | "min" => number * 60.0,
        _ => return Err(format!("{name}: unknown unit in `{value}` (write e.g. 10s, 500ms, 2m)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{name}: `{value}` is not a usable time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Option<Options>, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn load_options_and_units() {
        let options =
            parse_args(&["--conns", "1_000", "--size=64KiB", "--binary", "--pipeline", "16", "--warmup", "500ms"])
                .unwrap()
                .unwrap();
        assert_eq!((options.conns, options.size, options.binary, options.pipeline), (1000, 65536, true, 16));
        assert_eq!(options.warmup, Duration::from_millis(500));
        assert_eq!(options.mode, Mode::Load);
        assert!(matches!(options.target, Target::Spawn(None)));
    }

    #[test]
    fn idle_mode_takes_the_count_and_a_shorter_hold() {
        let options = parse_args(&["--idle", "100000", "--sources", "4", "--idle-echo"]).unwrap().unwrap();
        assert_eq!(options.mode, Mode::Idle { echo_once: true });
        assert_eq!((options.conns, options.sources), (100_000, Some(4)));
        assert_eq!(options.duration, Duration::from_secs(2));
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(parse_args(&["--conns", "0"]).unwrap_err(), "--conns takes a whole number above 0, not `0`");
        assert!(parse_args(&["--size", "12 parsecs"]).unwrap_err().contains("unknown unit"));
        assert!(parse_args(&["--url", "ws://x", "--server", "y"]).unwrap_err().contains("exclude"));
        assert!(parse_args(&["--server-arg", "echo.js"]).unwrap_err().contains("goes with --server"));
        let options = parse_args(&["--server", "bun", "--server-arg", "echo.js"]).unwrap().unwrap();
        assert_eq!(options.server_args, ["echo.js"]);
        assert!(parse_args(&["--frobnicate"]).unwrap_err().contains("`--frobnicate`"));
        assert_eq!(parse_args(&["--pipeline"]).unwrap_err(), "--pipeline needs a value");
        assert!(parse_args(&["--help"]).unwrap().is_none());
    }
}
