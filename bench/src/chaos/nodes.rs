//! The chat nodes: `chaos-node` processes sharing one Redis, each started on
//! a loopback port and awaited until it prints `listening on ws://ADDR`;
//! killed with SIGKILL (a crash), stopped with SIGTERM (a deploy), restarted on
//! the same address. Each node's output goes to a log file in a temporary
//! directory, removed at the end unless the run keeps it for a post-mortem.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a node may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a node may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times a restart tries to bind its old address again.
const REBIND_ATTEMPTS: u32 = 20;

/// A fresh, empty directory under the system's temporary directory.
///
/// # Errors
/// When it cannot be created.
pub fn temp_dir(name: &str) -> Result<PathBuf, String> {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let unique = format!("wsboot-chaos-{}-{name}-{}", std::process::id(), COUNT.fetch_add(1, Ordering::Relaxed));
    let dir = std::env::temp_dir().join(unique);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// What a node is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// Serving.
    Up,
    /// Killed with SIGKILL.
    Killed,
    /// Stopped with SIGTERM.
    Stopped,
}

#[derive(Debug)]
struct Node {
    /// `127.0.0.1:PORT`, fixed by the first start.
    addr: String,
    child: Option<Child>,
    state: NodeState,
    log: PathBuf,
}

/// The chat nodes of a run. Dropping it kills every node still running.
#[derive(Debug)]
pub struct Cluster {
    binary: PathBuf,
    redis_url: String,
    /// Arguments every node gets after `--addr` and `--redis`.
    args: Vec<String>,
    dir: PathBuf,
    keep_dir: bool,
    nodes: Vec<Node>,
}

impl Cluster {
    /// Starts `count` nodes of `binary` (the `chaos-node` program) on
    /// `redis_url`, one after the other, each on a free loopback port.
    ///
    /// # Errors
    /// When a node cannot start or does not get ready in time.
    pub async fn start(binary: &Path, redis_url: &str, count: usize) -> Result<Cluster, String> {
        Cluster::start_with(binary, redis_url, count, &[]).await
    }

    /// As [`start`](Self::start), every node with the arguments `args` too.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub async fn start_with(binary: &Path, redis_url: &str, count: usize, args: &[&str]) -> Result<Cluster, String> {
        if !binary.is_file() {
            return Err(format!("the node program {} does not exist; build it first", binary.display()));
        }
        let mut cluster = Cluster {
            binary: binary.to_owned(),
            redis_url: redis_url.to_owned(),
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            dir: temp_dir("nodes")?,
            keep_dir: false,
            nodes: Vec::with_capacity(count),
        };
        for index in 0..count {
            let log = cluster.dir.join(format!("node-{index}.log"));
            let (child, addr) = cluster.spawn("127.0.0.1:0", &log).await?;
            cluster.nodes.push(Node { addr, child: Some(child), state: NodeState::Up, log });
        }
        Ok(cluster)
    }

    /// How many nodes there are (running or not).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The WebSocket base URL of every node, `ws://127.0.0.1:PORT`, by index.
    /// A restarted node keeps its URL.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|node| format!("ws://{}", node.addr)).collect()
    }

    /// What node `index` is doing.
    pub fn state(&self, index: usize) -> NodeState {
        self.nodes[index].state
    }

    /// Kills node `index` with SIGKILL, as a crash does: its clients see their
    /// connections drop without a close frame.
    ///
    /// # Errors
    /// When the node is not running.
    pub fn kill(&mut self, index: usize) -> Result<(), String> {
        let node = &mut self.nodes[index];
        let mut child = node.child.take().ok_or_else(|| format!("node {index} is not running"))?;
        // `Child::kill` sends SIGKILL to exactly this process id.
        child.kill().map_err(|e| format!("cannot kill node {index}: {e}"))?;
        let _ = child.wait();
        node.state = NodeState::Killed;
        Ok(())
    }

    /// Stops node `index` with SIGTERM, as a deploy does, and waits until it
    /// exits (killing it if it takes longer than a graceful stop should).
    /// Returns its exit status.
    ///
    /// # Errors
    /// When the node is not running, the signal cannot be sent, or it did not
    /// stop in time.
    pub async fn terminate(&mut self, index: usize) -> Result<ExitStatus, String> {
        let node = &mut self.nodes[index];
        let mut child = node.child.take().ok_or_else(|| format!("node {index} is not running"))?;
        node.state = NodeState::Stopped;
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .map_err(|e| format!("cannot run kill -TERM: {e}"))?;
        if !status.success() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("kill -TERM {} failed: {status}", child.id()));
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("node {index} did not stop within {STOP_TIMEOUT:?} of SIGTERM; killed it"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts node `index` again on its address, after a kill or a stop.
    ///
    /// # Errors
    /// When it is running, or does not get ready in time.
    pub async fn restart(&mut self, index: usize) -> Result<(), String> {
        if self.nodes[index].child.is_some() {
            return Err(format!("node {index} is running"));
        }
        let addr = self.nodes[index].addr.clone();
        let log = self.nodes[index].log.clone();
        let mut attempt = 0;
        let child = loop {
            attempt += 1;
            match self.spawn(&addr, &log).await {
                Ok((child, _)) => break child,
                // The port may still be held for a moment after the old process died.
                Err(_) if attempt < REBIND_ATTEMPTS => tokio::time::sleep(Duration::from_millis(250)).await,
                Err(problem) => return Err(problem),
            }
        };
        let node = &mut self.nodes[index];
        node.child = Some(child);
        node.state = NodeState::Up;
        Ok(())
    }

    /// The last `lines` lines of node `index`'s output.
    pub fn log_tail(&self, index: usize, lines: usize) -> String {
        tail(&self.nodes[index].log, lines)
    }

    /// Keeps the nodes' logs after the cluster is dropped; returns their
    /// directory.
    pub fn keep_logs(&mut self) -> &Path {
        self.keep_dir = true;
        &self.dir
    }

    /// Runs the node program on `addr`, its output appended to `log`, and
    /// waits for its ready line; returns the process and its address.
    async fn spawn(&self, addr: &str, log: &Path) -> Result<(Child, String), String> {
        let open = || {
            File::options()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|e| format!("cannot open {}: {e}", log.display()))
        };
        let mut out = open()?;
        let _ = writeln!(out, "--- starting on {addr}");
        let mut child = Command::new(&self.binary)
            .args(["--addr", addr, "--redis", &self.redis_url])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(open()?)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (ready, on_ready) = mpsc::channel();
        // Copies the node's output to its log for as long as it runs, so that it
        // never blocks on a full pipe, and reports the ready line's address.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("listening on ws://") {
                    let _ = ready.send(addr.trim().to_owned());
                }
                let _ = writeln!(out, "{line}");
            }
        });
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(addr) = on_ready.try_recv() {
                return Ok((child, addr));
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "the node on {addr} exited with {status} at start; its log ends:\n{}",
                    tail(log, 20)
                ));
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the node on {addr} was not ready within {READY_TIMEOUT:?}; its log ends:\n{}",
                    tail(log, 20)
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The last `lines` lines of the file at `path`.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| format!("(no log: {e})"));
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
