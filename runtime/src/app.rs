//! [`run`] and [`App`]: the `main` of an application built on `#[ws_handler]`
//! and `#[ws_plugin]`: command line, logging, runtime, serving until Ctrl-C.
//!
//! The command line is one table of [`AppOption`]s: wsboot's own (`--addr`,
//! `--print-routes`, `--help`) followed by those the application declares with
//! [`App::option`] for its plugins, so every app rejects unknown arguments and
//! documents all of its options in `--help` alike.

mod command_line;
mod command_line_error;
mod serving;
mod wiring;

use wsboot_core::BoxError;

use self::command_line::builtin_options;
pub use self::command_line::{AppArgs, AppOption, AppOptions};
pub use self::command_line_error::{CommandLineError, CommandLineErrorKind};
pub use self::serving::{init_logging, serve, shutdown_signal};
use crate::server::{Server, ServerBuilder};
use crate::settings::ConfigSources;

type Configure = Box<dyn FnOnce(ServerBuilder, &AppArgs) -> Result<ServerBuilder, BoxError>>;

/// An application's `main`: [`run`] plus options and plugins of its own.
///
/// Declare the options the application's plugins need, then build the server
/// from them in [`configure`](Self::configure); wsboot parses the command
/// line (rejecting what nobody declared), and `--help` lists every option.
///
/// ```no_run
/// use wsboot::{AdHocPlugin, App, AppOption};
///
/// fn main() {
///     App::new()
///         .about("A chat server.")
///         .option(AppOption::repeated("motd", "TEXT", "a line of the message of the day"))
///         .configure(|builder, args| {
///             let motd = args.values("motd").join("\n");
///             Ok(builder.plugin(AdHocPlugin::on_start("motd", move |_| {
///                 let motd = motd.clone();
///                 async move {
///                     println!("{motd}");
///                     Ok(())
///                 }
///             })))
///         })
///         .run();
/// }
/// ```
pub struct App {
    about: Option<&'static str>,
    options: Vec<AppOption>,
    configure: Option<Configure>,
    /// Beans and background tasks (`app/wiring.rs`), handed to the builder.
    wiring: ServerBuilder,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("about", &self.about)
            .field("options", &self.options)
            .field("configure", &self.configure.is_some())
            .finish()
    }
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}

impl App {
    /// An application with wsboot's options only.
    pub fn new() -> Self {
        App { about: None, options: Vec::new(), configure: None, wiring: ServerBuilder::default() }
    }

    /// The description `--help` prints under the usage line.
    pub fn about(mut self, about: &'static str) -> Self {
        self.about = Some(about);
        self
    }

    /// Declares an option of the application.
    ///
    /// # Panics
    /// If the name is wsboot's own (`addr`, `print-routes`, `help`) or declared
    /// twice: a mistake in the program, reported on its first run.
    pub fn option(mut self, option: AppOption) -> Self {
        let taken = builtin_options().iter().chain(&self.options).any(|o| o.name() == option.name());
        assert!(
            !taken && option.name() != "help",
            "App::option: `--{}` is already an option of this app; pick another name",
            option.name()
        );
        self.options.push(option);
        self
    }

    /// Builds the server from the parsed command line: add plugins, settings or
    /// a registry to `builder` and return it. An `Err` (a malformed option
    /// value, say) is printed and the process exits with status 2.
    pub fn configure<F>(mut self, configure: F) -> Self
    where
        F: FnOnce(ServerBuilder, &AppArgs) -> Result<ServerBuilder, BoxError> + 'static,
    {
        self.configure = Some(Box::new(configure));
        self
    }

    /// Parses the command line, then serves (or prints the routes and exits):
    /// see [`run`]. Never returns on error: the process exits with status 2 for
    /// a bad command line and 1 if the server cannot start.
    pub fn run(self) {
        let args = std::env::args().skip(1);
        let options = match AppOptions::parse_with(&self.options, self.about, args, std::env::var("WSBOOT_ADDR").ok()) {
            Ok(options) => options,
            Err(error) => {
                eprintln!("{error}");
                std::process::exit(error.exit_code());
            }
        };
        init_logging();
        let runtime = match build_runtime() {
            Ok(runtime) => runtime,
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                std::process::exit(1);
            }
        };
        // Plugins built in `configure` may spawn tasks: give them the runtime.
        let _entered = runtime.enter();
        let mut builder = wiring::apply(self.wiring, Server::builder());
        if let Some(configure) = self.configure {
            builder = match configure(builder, &options.args) {
                Ok(builder) => builder,
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(2);
                }
            };
        }
        if options.print_routes {
            match builder.routes() {
                Ok(listing) => {
                    if let Err(e) = serving::print_listing(&mut std::io::stdout().lock(), &listing) {
                        eprintln!("error: cannot print the routes: {e}");
                        std::process::exit(1);
                    }
                    std::process::exit(0);
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    std::process::exit(1);
                }
            }
        }
        // `{:#}`: a configuration error lists one problem per line.
        if let Err(e) = runtime.block_on(serve_app(builder, options)) {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}

/// The async runtime [`App::run`] serves on: one worker per CPU the process may
/// use, and with a single CPU (a pinned process, a container limited to one
/// CPU) a current-thread runtime. A multi-thread runtime brings no parallelism
/// there, and under load its work-stealing queues starve some connections:
/// with 1,000 busy connections on one CPU, p99 latency 150 ms against 10 ms for
/// the same throughput, because tasks that overflow a worker's local queue wait
/// in the shared queue while the local ones keep running.
fn build_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut builder = if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build()
}

/// Serves every `#[ws_handler]` (and runs every `#[ws_plugin]`) of the
/// program: reads `--addr HOST:PORT` (or `WSBOOT_ADDR`, default
/// `127.0.0.1:8080`), logs through `tracing` as `RUST_LOG` says (default
/// `info`), prints `listening on ws://HOST:PORT` when ready, and stops cleanly
/// on Ctrl-C or SIGTERM. `--print-routes` prints the route listing and exits.
/// Exits the process with status 1 (and a message naming the problem) if the
/// server cannot start. [`App`] adds options and plugins of the application's
/// own. It serves on a tokio runtime with one worker per CPU the process may
/// use (a current-thread runtime when that is one).
///
/// Handlers declared in a library crate are served only if the program names
/// that crate (they register at link time): put [`#[wsboot::main]`](macro@crate::main)
/// on `fn main` for the package's own library, `use other_crate as _;` for
/// another. Finding no handler at all, `run` refuses to start and says so.
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
    App::new().run()
}

/// The settings an app reads: the `--config` (or `WSBOOT_CONFIG`) file, then
/// `WSBOOT_*` variables, then the flags, each overriding the ones before.
fn config_sources(options: &AppOptions) -> ConfigSources {
    let file = options.config.clone().or_else(|| std::env::var_os("WSBOOT_CONFIG").map(Into::into));
    let mut sources = ConfigSources::standard(file);
    if let Some(addr) = options.args.value("addr") {
        sources = sources.set("addr", addr);
    }
    if options.args.flag("deflate") {
        sources = sources.set("deflate.enabled", "true");
    }
    sources
}

async fn serve_app(builder: ServerBuilder, options: AppOptions) -> Result<(), crate::Error> {
    serve(builder.config_sources(config_sources(&options))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: Option<&str>) -> Result<AppOptions, String> {
        AppOptions::parse(args.iter().map(|s| s.to_string()), env.map(str::to_owned)).map_err(|e| e.to_string())
    }

    #[test]
    fn the_config_file_then_the_addr_flag() {
        let dir = std::env::temp_dir().join(format!("wsboot-app-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("app.toml");
        std::fs::write(&file, "addr = \"127.0.0.1:7001\"\n[limits]\nmax_message_size = \"2KiB\"\n").unwrap();
        let path = file.to_str().unwrap();

        let options = parse(&["--config", path], None).unwrap();
        assert_eq!(options.config.as_deref(), Some(file.as_path()));
        let mut config = crate::ServerConfig::default();
        config_sources(&options).apply(&mut config).unwrap();
        assert_eq!((config.addr.as_str(), config.max_message_size), ("127.0.0.1:7001", 2048));

        let options = parse(&["--config", path, "--addr", "127.0.0.1:7002"], None).unwrap();
        let mut config = crate::ServerConfig::default();
        config_sources(&options).apply(&mut config).unwrap();
        assert_eq!(config.addr, "127.0.0.1:7002", "the flag wins over the file");
        std::fs::remove_dir_all(&dir).unwrap();

        assert!(parse(&["--help"], None).unwrap_err().contains("--config FILE"));
    }

    #[test]
    fn deflate_turns_compression_on_for_every_handler() {
        let mut config = crate::ServerConfig::default();
        config_sources(&parse(&[], None).unwrap()).apply(&mut config).unwrap();
        assert!(!config.deflate.enabled, "off unless asked for");
        config_sources(&parse(&["--deflate"], None).unwrap()).apply(&mut config).unwrap();
        assert!(config.deflate.enabled);
        assert!(parse(&["--deflate=yes"], None).unwrap_err().contains("takes no value"));
        assert!(parse(&["--help"], None).unwrap_err().contains("--deflate"));
    }

    #[test]
    #[should_panic(expected = "`--addr` is already an option")]
    fn application_options_cannot_shadow_wsboot_ones() {
        let _ = App::new().option(AppOption::value("addr", "X", "mine"));
    }
}
