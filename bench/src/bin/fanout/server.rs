//! The server side, in a child process of its own so that its memory is measured
//! alone: wsboot (subscribers at `/sub`, publishes through `/pub`), or the
//! baseline, a minimal server that writes each published frame to every
//! subscriber socket from one thread: the cost of the sockets themselves.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wsboot::{Bytes, HandlerRegistry, HandlerResult, Server, Session, WebSocketHandler};

use wsboot_bench::procfs;

/// The topic every subscriber joins.
pub(crate) const TOPIC: &str = "fanout";

/// Which server the child runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// wsboot, with its defaults (keep-alive pings off: the clients only read).
    Wsboot,
    /// One thread, one `write` per subscriber per message, nothing else.
    Baseline,
    /// Bun's pub/sub (uWebSockets), `peers/bun-fanout.js` run by this Bun binary.
    Bun(PathBuf),
}

impl Kind {
    /// How the kind is named in the table.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Kind::Wsboot => "wsboot",
            Kind::Baseline => "baseline",
            Kind::Bun(_) => "bun",
        }
    }

    /// The command that runs this kind's server.
    fn command(&self) -> Result<Command, String> {
        let exe = || std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"));
        let (program, arg) = match self {
            Kind::Wsboot => (exe()?, "--serve"),
            Kind::Baseline => (exe()?, "--serve-baseline"),
            Kind::Bun(bun) => (bun.clone(), concat!(env!("CARGO_MANIFEST_DIR"), "/peers/bun-fanout.js")),
        };
        let mut command = Command::new(program);
        command.arg(arg);
        Ok(command)
    }
}

/// Runs the child's server until its standard input closes (the parent is done
/// or gone), after printing `listening on ws://ADDR`.
pub(crate) fn run_child(kind: Kind) -> ExitCode {
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("warning: cannot raise the open-files limit: {e}");
    }
    let result = match kind {
        Kind::Wsboot => serve_wsboot(),
        Kind::Baseline => serve_baseline(),
        Kind::Bun(_) => Err("Bun's server is not this program".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves when standard input reaches its end.
fn stdin_closed() -> tokio::sync::oneshot::Receiver<()> {
    let (closed, on_close) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        let _ = closed.send(());
    });
    on_close
}

/// Subscribes every session to [`TOPIC`].
#[derive(Debug)]
struct Subscriber;

impl WebSocketHandler for Subscriber {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        session.subscribe(TOPIC).await?;
        Ok(())
    }
}

/// Publishes every binary message it receives to [`TOPIC`].
#[derive(Debug)]
struct Publisher;

impl WebSocketHandler for Publisher {
    async fn handle_binary_message(&self, session: &Session, data: Bytes) -> HandlerResult {
        session.hub().publish(TOPIC, data).await?;
        Ok(())
    }
}

fn serve_wsboot() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/sub", Subscriber);
        registry.add_handler("/pub", Publisher);
        let server = Server::builder()
            .registry(registry)
            .ping(None, Duration::from_secs(10))
            // The parent is done measuring: stop at once, not in drain batches.
            .drain_period(Duration::ZERO)
            .bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        println!("listening on ws://{}", server.local_addr());
        let stop = stdin_closed();
        server
            .serve_with_shutdown(async {
                let _ = stop.await;
            })
            .await
            .map_err(|e| e.to_string())
    })
}

/// The baseline: blocking sockets, a thread per handshake and one for the publisher.
fn serve_baseline() -> Result<(), String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    println!("listening on ws://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let subscribers: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let subscribers = subscribers.clone();
            std::thread::spawn(move || {
                let _ = baseline_connection(stream, &subscribers);
            });
        }
    });
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    Ok(())
}

fn baseline_connection(mut stream: TcpStream, subscribers: &Mutex<Vec<TcpStream>>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let key = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-key")))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    write!(
        stream,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    )?;
    if !head.starts_with("GET /pub ") {
        subscribers.lock().unwrap_or_else(|p| p.into_inner()).push(stream);
        return Ok(());
    }
    // The publisher: unmask each frame and write it to every subscriber.
    let mut reader = BufReader::new(stream);
    loop {
        let mut header = [0u8; 2];
        reader.read_exact(&mut header)?;
        let len = match header[1] & 0x7f {
            126 => {
                let mut n = [0u8; 2];
                reader.read_exact(&mut n)?;
                usize::from(u16::from_be_bytes(n))
            }
            127 => return Err(std::io::Error::other("the baseline takes messages under 64 KiB")),
            n => usize::from(n),
        };
        let mut mask = [0u8; 4];
        reader.read_exact(&mut mask)?;
        let mut payload = vec![0u8; len];
        reader.read_exact(&mut payload)?;
        payload.iter_mut().enumerate().for_each(|(i, b)| *b ^= mask[i % 4]);
        let mut frame = vec![0x80 | (header[0] & 0x0f)];
        if len < 126 {
            frame.push(len as u8);
        } else {
            frame.push(126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        frame.extend_from_slice(&payload);
        for subscriber in subscribers.lock().unwrap_or_else(|p| p.into_inner()).iter_mut() {
            let _ = subscriber.write_all(&frame);
        }
    }
}

/// A server child process; it ends when this is dropped.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    pub(crate) addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `kind`'s server and waits for its ready line.
    pub(crate) fn start(kind: &Kind) -> Result<ServerProcess, String> {
        let mut child = kind
            .command()?
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the server process: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map_err(|e| format!("reading the server's ready line: {e}"))?;
        let addr = line
            .trim()
            .strip_prefix("listening on ws://")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("the server printed {line:?} instead of its ready line"))?;
        Ok(ServerProcess { child, stdin, addr })
    }

    /// The CPU time the server has used so far.
    pub(crate) fn cpu_time(&self) -> Result<Duration, String> {
        procfs::cpu_time(&self.child.id().to_string()).map_err(|e| format!("reading the server's CPU time: {e}"))
    }

    /// The server's resident memory, in bytes.
    pub(crate) fn rss(&self) -> Result<u64, String> {
        procfs::resident_kib(&self.child.id().to_string())
            .map(|kib| kib * 1024)
            .map_err(|e| format!("reading the server's memory: {e}"))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.stdin.take()); // the server stops when its stdin closes
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
