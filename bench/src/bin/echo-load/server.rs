//! The server under test: the echo example started as a child process (so its
//! memory and CPU time are its own), or a server already running.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long the server may take to print its ready line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A server process this program started; stopped when dropped.
#[derive(Debug)]
pub(crate) struct ChildServer {
    child: Child,
    /// `ws://HOST:PORT`, from the ready line.
    pub(crate) base_url: String,
}

impl ChildServer {
    /// Starts `program ARGS --addr 127.0.0.1:0` and waits for `listening on
    /// ws://HOST:PORT`. Logs at `warn` unless `RUST_LOG` says otherwise.
    pub(crate) fn start(program: &Path, args: &[String]) -> Result<ChildServer, String> {
        let mut command = Command::new(program);
        command.args(args).args(["--addr", "127.0.0.1:0"]).stdin(Stdio::null()).stdout(Stdio::piped());
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "warn");
        }
        let mut child = command.spawn().map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (ready, ready_line) = mpsc::channel();
        // Reads the ready line, then passes on whatever else the server prints
        // (keeping the pipe open, so the server never writes to a closed one).
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = ready.send(url.trim().to_owned());
                    break;
                }
                eprintln!("server: {line}");
            }
            for line in lines.map_while(Result::ok) {
                eprintln!("server: {line}");
            }
        });
        let mut server = ChildServer { child, base_url: String::new() };
        match ready_line.recv_timeout(START_TIMEOUT) {
            Ok(url) => server.base_url = url,
            Err(_) => {
                let status = server.child.try_wait().ok().flatten();
                return Err(match status {
                    Some(status) => format!("{} exited ({status}) before it was ready", program.display()),
                    None => format!("{} printed no `listening on` line in {START_TIMEOUT:?}", program.display()),
                });
            }
        }
        Ok(server)
    }

    /// The process id, for `/proc`.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The echo example beside this program (`target/release/examples/echo`),
/// brought up to date first when this program runs under `cargo run`, so a
/// benchmark never measures a stale build.
pub(crate) fn echo_example() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate this program: {e}"))?;
    let dir = exe.parent().ok_or("this program has no directory")?;
    let echo = dir.join("examples").join(format!("echo{}", std::env::consts::EXE_SUFFIX));
    if let Some(cargo) = std::env::var_os("CARGO") {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("Cargo.toml");
        eprintln!("building the echo example (cargo build --release -p wsboot-examples --example echo)");
        let status = Command::new(cargo)
            .args(["build", "--release", "--quiet", "-p", "wsboot-examples", "--example", "echo", "--manifest-path"])
            .arg(&manifest)
            .status()
            .map_err(|e| format!("cannot run cargo to build the echo example: {e}"))?;
        if !status.success() {
            return Err("building the echo example failed (see above)".to_owned());
        }
    }
    if echo.is_file() {
        Ok(echo)
    } else {
        Err(format!(
            "no echo example at {}: build it with `cargo build --release --example echo`, or pass --server PATH or --url URL",
            echo.display()
        ))
    }
}
