//! A chat with rooms, and its web page, on one listener.
//!
//! ```sh
//! cargo run --release --example chat -- --addr 127.0.0.1:9002
//! ```
//!
//! Open `http://127.0.0.1:9002/` in a browser or two, pick a nickname and a room,
//! and talk. The rooms are WebSocket routes at `/chat/{room}?name=NICK` speaking
//! the JSON protocol described in `src/chat/mod.rs`, where the handler lives so
//! that the tests run the same code: any WebSocket client can join. Rooms keep
//! a few minutes of history: a page that loses its connection reconnects by
//! itself and catches up on what it missed.
//!
//! Several chat processes share their rooms through Redis (see the README's
//! "Scaling out"):
//!
//! ```sh
//! cargo run --release --example chat -- --addr 127.0.0.1:9002 --redis redis://127.0.0.1:6379/
//! cargo run --release --example chat -- --addr 127.0.0.1:9003 --redis redis://127.0.0.1:6379/
//! ```

use wsboot::{App, AppArgs, AppOption, ConfigSources, ServerConfig};
use wsboot_examples::chat;
use wsboot_redis::RedisBroker;

fn main() {
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
        .run();
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
