//! The `chat` example's command line: the chat's registry served by an
//! [`App`], with `--redis URL` to share the rooms between processes. In the
//! library so that the example and the chaos program run the same server.

use wsboot::{App, AppArgs, AppOption, ConfigSources, ServerConfig};
use wsboot_redis::RedisBroker;

use crate::chat;

/// The chat server's command line app; `.run()` serves until SIGTERM/SIGINT.
pub fn app() -> App {
    App::new()
        .about("A chat with rooms: the page at http://HOST:PORT/, rooms at ws://HOST:PORT/chat/{room}?name=NICK.")
        .option(AppOption::value(
            "redis",
            "URL",
            "share the rooms with every chat process on this Redis (setting broker.url, env WSBOOT_REDIS_URL)",
        ))
        .option(AppOption::value(
            "presence-timeout",
            "SECONDS",
            "with --redis: how long a silent node's members stay listed (default 20)",
        ))
        .configure(|builder, args| {
            let builder = builder.registry(chat::registry());
            Ok(match redis_url(args)? {
                // Connected when the server starts: an unreachable Redis stops it with an error.
                Some(url) => builder.broker(broker(url, args)?),
                None => builder,
            })
        })
}

/// The Redis broker, with `--presence-timeout` if given.
fn broker(url: String, args: &AppArgs) -> Result<RedisBroker, wsboot::Error> {
    let mut broker = RedisBroker::builder(url);
    if let Some(seconds) = args.value("presence-timeout") {
        let seconds: f64 = seconds.parse().ok().filter(|s: &f64| *s > 0.0 && s.is_finite()).ok_or_else(|| {
            wsboot::Error::new(
                wsboot::ErrorKind::Config,
                format!("--presence-timeout: expected a positive number of seconds, got {seconds:?}"),
            )
        })?;
        broker = broker.presence_timeout(std::time::Duration::from_secs_f64(seconds));
    }
    broker.build()
}

/// `--redis`, else the `broker.url` setting (from the `--config` file or
/// `WSBOOT_REDIS_URL`); `None` keeps the rooms in this process.
fn redis_url(args: &AppArgs) -> Result<Option<String>, wsboot::Error> {
    if let Some(url) = args.value("redis") {
        return Ok(Some(url.to_owned()));
    }
    let file = args.value("config").map(Into::into).or_else(|| std::env::var_os("WSBOOT_CONFIG").map(Into::into));
    let mut config = ServerConfig::default();
    ConfigSources::standard(file).apply(&mut config)?;
    Ok(config.broker_url)
}
