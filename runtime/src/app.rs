//! [`run`]: the one-line `main` for applications built on `#[ws_handler]`.

use std::net::SocketAddr;

use tracing_subscriber::EnvFilter;

use crate::server::Server;

const DEFAULT_ADDR: &str = "127.0.0.1:8080";

const USAGE: &str = "\
usage: APP [--addr HOST:PORT]

Serves every #[ws_handler] of this program.

options:
  --addr HOST:PORT   address to listen on (env WSBOOT_ADDR; default 127.0.0.1:8080)
  -h, --help         print this help

Logging follows RUST_LOG (default: info).";

/// Command-line options understood by [`run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppOptions {
    /// Where to listen.
    pub addr: String,
}

impl AppOptions {
    /// Parses `--addr` from `args` (without the program name), falling back to
    /// `WSBOOT_ADDR` (passed as `env_addr`) and then `127.0.0.1:8080`.
    pub fn parse(args: impl IntoIterator<Item = String>, env_addr: Option<String>) -> Result<Self, String> {
        let mut addr = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--addr" => addr = Some(args.next().ok_or("--addr needs a value, e.g. --addr 127.0.0.1:9001")?),
                other if other.starts_with("--addr=") => addr = Some(other["--addr=".len()..].to_owned()),
                "-h" | "--help" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
            }
        }
        let addr = addr.or(env_addr).unwrap_or_else(|| DEFAULT_ADDR.to_owned());
        if addr.parse::<SocketAddr>().is_err() && !addr.contains(':') {
            return Err(format!("invalid address `{addr}`: expected HOST:PORT, e.g. 127.0.0.1:8080"));
        }
        Ok(AppOptions { addr })
    }
}

/// Serves every `#[ws_handler]` of the program: reads `--addr HOST:PORT` (or
/// `WSBOOT_ADDR`, default `127.0.0.1:8080`), logs through `tracing` as `RUST_LOG`
/// says (default `info`), prints `listening on ws://HOST:PORT` when ready, and
/// stops cleanly on Ctrl-C or SIGTERM. Exits the process with status 1 (and a
/// message naming the problem) if the server cannot start.
///
/// ```no_run
/// use wsboot::{ws_handler, HandlerResult, Session, Utf8Bytes, WebSocketHandler};
///
/// #[derive(Default)]
/// #[ws_handler("/echo")]
/// struct Echo;
///
/// impl WebSocketHandler for Echo {
///     async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
///         Ok(session.send(text).await?)
///     }
/// }
///
/// fn main() {
///     wsboot::run();
/// }
/// ```
pub fn run() {
    let options = match AppOptions::parse(std::env::args().skip(1), std::env::var("WSBOOT_ADDR").ok()) {
        Ok(options) => options,
        Err(message) => {
            let is_help = message.starts_with("usage:");
            eprintln!("{message}");
            std::process::exit(if is_help { 0 } else { 2 });
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(serve_app(options)) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn serve_app(options: AppOptions) -> Result<(), crate::Error> {
    let server = Server::bind(&options.addr).await?;
    for (path, handler) in server.routes() {
        tracing::info!(%path, handler, "route");
    }
    // The ready line goes to stdout, unbuffered, for scripts and people alike.
    println!("listening on ws://{}", server.local_addr());
    server.serve_with_shutdown(termination()).await
}

/// Resolves on Ctrl-C or SIGTERM.
async fn termination() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: Option<&str>) -> Result<AppOptions, String> {
        AppOptions::parse(args.iter().map(|s| s.to_string()), env.map(str::to_owned))
    }

    #[test]
    fn addr_from_flag_env_or_default() {
        assert_eq!(parse(&["--addr", "0.0.0.0:1"], Some("1.1.1.1:2")).unwrap().addr, "0.0.0.0:1");
        assert_eq!(parse(&["--addr=127.0.0.1:9"], None).unwrap().addr, "127.0.0.1:9");
        assert_eq!(parse(&[], Some("1.1.1.1:2")).unwrap().addr, "1.1.1.1:2");
        assert_eq!(parse(&[], None).unwrap().addr, "127.0.0.1:8080");
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        assert!(parse(&["--addr"], None).unwrap_err().contains("needs a value"));
        assert!(parse(&["--port", "1"], None).unwrap_err().contains("unknown argument `--port`"));
        assert!(parse(&["--addr", "nonsense"], None).unwrap_err().contains("expected HOST:PORT"));
        assert!(parse(&["--help"], None).unwrap_err().starts_with("usage:"));
    }
}
