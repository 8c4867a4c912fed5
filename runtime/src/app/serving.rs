//! What [`run`](super::run) does around the server, for applications that
//! build their own with [`Server::builder`](crate::Server::builder): logging,
//! the ready line, serving until Ctrl-C or SIGTERM. [`serve`] is all of it in
//! one call.

use std::future::Future;
use std::io::Write;

use tracing_subscriber::EnvFilter;

use crate::routes::RouteListing;
use crate::server::ServerBuilder;

/// Logs through `tracing` to stderr as `RUST_LOG` says (default `info`), as
/// [`run`](crate::run) does; colours only at a terminal. Does nothing if the
/// program already installed a subscriber, so calling it twice is harmless.
pub fn init_logging() {
    // Logs go to stderr: stdout carries the ready line and `--print-routes`.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what `docker stop`, systemd and
/// Kubernetes send): the signals [`run`](crate::run) shuts down on. Pass it to
/// [`Server::serve_with_shutdown`](crate::Server::serve_with_shutdown).
///
/// Listening starts when this is called, not when the future is first
/// polled: a SIGTERM that arrives in between would otherwise still kill the
/// process. Call it inside the runtime (in `async fn main`).
///
/// # Panics
/// Outside a tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        // `None` when a handler cannot be installed: the other signal still works.
        let mut interrupt = signal(SignalKind::interrupt()).ok();
        let mut terminate = signal(SignalKind::terminate()).ok();
        async move {
            tokio::select! {
                () = next(&mut interrupt) => {}
                () = next(&mut terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The next delivery of `signal`; never, without one.
#[cfg(unix)]
async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
    let delivered = match signal {
        Some(signal) => signal.recv().await.is_some(),
        None => false,
    };
    if !delivered {
        std::future::pending::<()>().await;
    }
}

/// Serves what `builder` describes the way [`run`](crate::run) serves: logging
/// ([`init_logging`]), binding the configured address
/// ([`ServerBuilder::listen`]), application metrics at `/metrics`, the ready
/// line `listening on ws://HOST:PORT` on stdout, then serving until Ctrl-C or
/// SIGTERM ([`shutdown_signal`]) and shutting down gracefully. Returns once
/// the server stopped, or the error that kept it from starting.
///
/// ```no_run
/// #[wsboot::main]
/// async fn main() -> Result<(), wsboot::Error> {
///     let builder = wsboot::Server::builder().addr("0.0.0.0:8080").max_message_size(64 * 1024);
///     wsboot::serve(builder).await
/// }
/// ```
pub async fn serve(builder: ServerBuilder) -> Result<(), crate::Error> {
    init_logging();
    let server = builder.listen().await?;
    if server.config().metrics_enabled {
        // The app owns the process: its own `metrics::counter!`s join /metrics.
        if let Err(e) = server.install_metrics_recorder() {
            tracing::warn!("application metrics will not appear at /metrics: {e}");
        }
    }
    for route in server.route_listing().routes() {
        let plugins: Vec<String> = route.plugin_marks.iter().map(ToString::to_string).collect();
        tracing::info!(path = %route.path, handler = route.source.type_name(), plugins = ?plugins, "route");
    }
    // Listening for the signals before the ready line: whoever reads it may
    // send SIGTERM at once.
    let stop = shutdown_signal();
    // The ready line goes to stdout, unbuffered, for scripts and people alike.
    let scheme = if server.config().tls.is_some() { "wss" } else { "ws" };
    println!("listening on {scheme}://{}", server.local_addr());
    if let Some(addr) = server.management_addr() {
        tracing::info!("management endpoints (health, readiness, metrics) on http://{addr}");
    }
    server.serve_with_shutdown(stop).await
}

/// Writes the listing for `--print-routes`. A reader that stopped reading
/// (`--print-routes | head`) is not an error: the output was wanted only up
/// to there.
pub(super) fn print_listing(out: &mut impl Write, listing: &RouteListing) -> std::io::Result<()> {
    match write!(out, "{listing}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes `room` bytes, then fails as a closed pipe does.
    struct ClosedPipe {
        room: usize,
    }

    impl Write for ClosedPipe {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn listing() -> RouteListing {
        let mut registry = wsboot_core::HandlerRegistry::new();
        registry.add_handler("/a", Quiet);
        registry.add_handler("/b", Quiet);
        crate::Server::builder().registry(registry).routes().unwrap()
    }

    struct Quiet;
    impl wsboot_core::WebSocketHandler for Quiet {}

    #[test]
    fn a_reader_that_stops_early_ends_the_listing_quietly() {
        let listing = listing();
        assert!(print_listing(&mut ClosedPipe { room: 10 }, &listing).is_ok());
        let mut all = Vec::new();
        print_listing(&mut all, &listing).unwrap();
        assert_eq!(String::from_utf8(all).unwrap(), listing.to_string());
    }

    #[test]
    fn other_write_errors_are_reported() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        assert!(print_listing(&mut Full, &listing()).is_err());
    }
}
