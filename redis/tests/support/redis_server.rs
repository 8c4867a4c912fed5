//! A real `redis-server` for one test (or benchmark): started on a free port in a
//! temporary directory, with persistence off, killed by its PID, restartable on
//! the same port.
//!
//! Where the binary is missing, [`RedisServer::start_or_skip`] says so and the
//! caller skips, except when the `CI` environment variable is set: there the
//! tests must run, so it fails.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a started `redis-server` may take to answer `PING`.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A `redis-server` process owned by the caller.
#[derive(Debug)]
pub struct RedisServer {
    binary: PathBuf,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// Whether this run is CI's (where skipping is not allowed).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// `redis-server` on the `PATH` (or where Debian installs it).
fn find_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

impl RedisServer {
    /// Starts a server for `test`; `None` (after printing why) when `redis-server`
    /// is not installed and this is not CI.
    ///
    /// # Panics
    /// When `redis-server` is missing in CI, or cannot start.
    pub async fn start_or_skip(test: &str) -> Option<RedisServer> {
        let Some(binary) = find_binary() else {
            assert!(
                !in_ci(),
                "`redis-server` is not installed, and CI is set: the Redis broker tests must run in CI \
                 (Debian: apt-get install redis-server; .ci/run installs it)"
            );
            eprintln!(
                "SKIPPED {test}: `redis-server` is not installed (Debian: apt-get install redis-server). \
                 This test runs in CI."
            );
            return None;
        };
        let port = free_port();
        let dir = temp_dir(port);
        let mut server = RedisServer { binary, port, dir, child: None };
        server.spawn().await;
        Some(server)
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server with SIGKILL (no goodbye to its clients, as in a crash)
    /// and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // `Child::kill` signals exactly this process id.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server with SIGSTOP: its sockets stay open but nothing answers,
    /// as when a host hangs or a network path silently drops packets.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Lets a frozen server run again (SIGCONT).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the server is running");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill {signal}: {e}"));
        assert!(status.success(), "kill {signal} {} failed: {status}", child.id());
    }

    /// Starts the server again on the same port (after [`kill`](Self::kill)).
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    async fn spawn(&mut self) {
        let log = self.dir.join("redis.log");
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.binary.display()));
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        while !answers_ping(self.port).await {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("redis-server exited with {status} at start; its log:\n{}", read_log(&log));
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING on port {} within {READY_TIMEOUT:?}; its log:\n{}",
                self.port,
                read_log(&log)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port on the loopback interface");
    listener.local_addr().expect("a bound address").port()
}

fn temp_dir(port: u16) -> PathBuf {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let name = format!("wsboot-redis-{}-{port}-{}", std::process::id(), COUNT.fetch_add(1, Ordering::Relaxed));
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| format!("(no log: {e})"))
}

/// Whether a Redis server on `port` answers `PING` with `+PONG`.
async fn answers_ping(port: u16) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        stream.write_all(b"PING\r\n").await.ok()?;
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply).await.ok()?;
        Some(&reply == b"+PONG\r\n")
    };
    tokio::time::timeout(Duration::from_secs(1), attempt).await.ok().flatten().unwrap_or(false)
}
