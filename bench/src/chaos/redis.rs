//! A private `redis-server` for a chaos run: started on a free port in a
//! temporary directory with persistence off, killed (and its directory
//! removed) when dropped.
//!
//! Where the binary is missing, [`RedisServer::start_or_skip`] says so and the
//! caller skips, except when the `CI` environment variable is set: there the
//! run must happen, so it is an error.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a started `redis-server` may take to answer `PING`.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A `redis-server` process owned by the caller.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Child,
}

/// Whether this run is CI's, where a missing `redis-server` is an error rather
/// than a reason to skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// `redis-server` on the `PATH`, or where Debian installs it.
pub fn find_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

impl RedisServer {
    /// Starts a server; `Ok(None)`, after printing that `what` is skipped, when
    /// `redis-server` is not installed and this is not CI.
    ///
    /// # Errors
    /// When `redis-server` is missing in CI, or cannot start.
    pub async fn start_or_skip(what: &str) -> Result<Option<RedisServer>, String> {
        let Some(binary) = find_binary() else {
            if in_ci() {
                return Err(format!(
                    "{what}: `redis-server` is not installed, and CI is set: this must run in CI \
                     (Debian: apt-get install redis-server)"
                ));
            }
            eprintln!(
                "SKIPPED {what}: `redis-server` is not installed (Debian: apt-get install redis-server). \
                 It runs in CI."
            );
            return Ok(None);
        };
        RedisServer::start(&binary).await.map(Some)
    }

    /// Starts `binary` on a free port and waits until it answers `PING`.
    ///
    /// # Errors
    /// When it cannot be started or does not answer in time; the message
    /// includes its log.
    pub async fn start(binary: &Path) -> Result<RedisServer, String> {
        let port = free_port()?;
        let dir = super::nodes::temp_dir(&format!("redis-{port}"))?;
        let log = dir.join("redis.log");
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        let mut server = RedisServer { port, dir, child };
        let deadline = Instant::now() + READY_TIMEOUT;
        while !answers_ping(port).await {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("redis-server exited with {status} at start; its log:\n{}", read_log(&log)));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "redis-server did not answer PING on port {port} within {READY_TIMEOUT:?}; its log:\n{}",
                    read_log(&log)
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(server)
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // `Child::kill` signals exactly this process id (SIGKILL).
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port nothing listens on right now.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port on the loopback: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
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
