//! The servers the bench measures, each in a child process so that its RSS and
//! CPU time are its own: wsboot (this program again, with `--serve MODE`) and,
//! with `--bun PATH`, Bun's WebSocket server (uWebSockets) running
//! `bun-deflate.js` next to this file.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use wsboot::{Bytes, DeflateConfig, HandlerRegistry, HandlerResult, Server, Session, Utf8Bytes, WebSocketHandler};

/// What the bench's server does: `plain`, or `deflate:LEVEL:takeover|fresh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mode {
    /// `None`: compression off.
    pub(crate) level: Option<u32>,
    pub(crate) context_takeover: bool,
}

impl Mode {
    pub(crate) const PLAIN: Mode = Mode { level: None, context_takeover: true };

    pub(crate) fn deflate(level: u32, context_takeover: bool) -> Mode {
        Mode { level: Some(level), context_takeover }
    }

    pub(crate) fn arg(self) -> String {
        match self.level {
            None => "plain".to_owned(),
            Some(level) => format!("deflate:{level}:{}", if self.context_takeover { "takeover" } else { "fresh" }),
        }
    }

    pub(crate) fn parse(arg: &str) -> Mode {
        match arg.split(':').collect::<Vec<_>>()[..] {
            ["plain"] => Mode::PLAIN,
            ["deflate", level, takeover] => Mode::deflate(level.parse().expect("a level"), takeover == "takeover"),
            _ => panic!("unknown mode {arg}"),
        }
    }

    pub(crate) fn label(self) -> String {
        match self.level {
            None => "no compression".to_owned(),
            Some(level) => format!(
                "deflate level {level}, {}",
                if self.context_takeover { "context takeover" } else { "no context takeover" }
            ),
        }
    }
}

/// The compression settings of `bun-deflate.js` the bench measures, with how
/// the tables name them.
pub(crate) const BUN_COMPRESSIONS: [(&str, &str); 4] = [
    ("off", "no compression"),
    ("default", "perMessageDeflate: true"),
    ("dedicated", "dedicated compressor and decompressor"),
    ("3KB", "3KB dedicated compressor, dedicated decompressor"),
];

/// A server under measurement.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// wsboot's echo in `mode`, served by this program as a child.
    Wsboot(Mode),
    /// Bun's echo (`bun-deflate.js`) run by the Bun binary at `bun`, with one of
    /// [`BUN_COMPRESSIONS`].
    Bun { bun: PathBuf, compression: (&'static str, &'static str) },
}

impl Target {
    pub(crate) fn label(&self) -> String {
        match self {
            Target::Wsboot(mode) => format!("wsboot, {}", mode.label()),
            Target::Bun { compression: (_, label), .. } => format!("Bun, {label}"),
        }
    }
}

struct Echo;

impl WebSocketHandler for Echo {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        Ok(session.send(text).await?)
    }

    async fn handle_binary_message(&self, session: &Session, data: Bytes) -> HandlerResult {
        Ok(session.send(data).await?)
    }
}

/// The child: serves `/echo` in `mode` until its standard input closes.
pub(crate) fn serve(mode: Mode) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/echo", Echo);
        let mut builder = Server::builder().registry(registry);
        if let Some(level) = mode.level {
            let mut deflate = DeflateConfig::enabled();
            deflate.level = level;
            deflate.context_takeover = mode.context_takeover;
            builder = builder.deflate(deflate);
        }
        let server = builder.bind("127.0.0.1:0").await.expect("binds");
        println!("{}", server.local_addr());
        std::io::stdout().flush().expect("stdout");
        let stdin_closed = async {
            let _ = tokio::task::spawn_blocking(|| std::io::stdin().lines().count()).await;
        };
        server.serve_with_shutdown(stdin_closed).await.expect("serves");
    });
}

/// A server child process.
pub(crate) struct ServerProcess {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `target` and waits for the address it prints.
    pub(crate) fn start(target: &Target) -> ServerProcess {
        let mut command = match target {
            Target::Wsboot(mode) => {
                let mut command = Command::new(std::env::current_exe().expect("own path"));
                command.args(["--serve", &mode.arg()]).env("RUST_LOG", "off");
                command
            }
            Target::Bun { bun, compression } => {
                let mut command = Command::new(bun);
                let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/deflate/bun-deflate.js");
                command.args([script, "--compression", compression.0]);
                command
            }
        };
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("the server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("the address");
        // wsboot prints the address alone, Bun `listening on ws://ADDRESS`.
        let addr = line.trim().trim_start_matches("listening on ws://");
        let addr = addr.parse().unwrap_or_else(|_| panic!("the server printed {line:?}"));
        ServerProcess { child, addr }
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("/proc status");
        let line = status.lines().find(|l| l.starts_with(field)).expect("the field");
        line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("a number")
    }

    pub(crate) fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// User plus system CPU time so far.
    pub(crate) fn cpu(&self) -> Duration {
        cpu_time(&format!("/proc/{}/stat", self.child.id()))
    }
}

/// User plus system CPU time of the process whose `stat` file is `path`.
pub(crate) fn cpu_time(path: &str) -> Duration {
    let stat = std::fs::read_to_string(path).expect("/proc stat");
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<u64> = after.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    Duration::from_millis((fields[11] + fields[12]) * 10)
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
