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
        .configure(|builder, args| {
            let builder = builder.registry(chat::registry());
            Ok(match redis_url(args)? {
                // Connected when the server starts: an unreachable Redis stops it with an error.
                Some(url) => builder.broker(RedisBroker::builder(url).build()?),
                None => builder,
            })
        })
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
