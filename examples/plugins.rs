//! A secured endpoint, with all its security and bookkeeping from plugins of
//! another crate (`wsboot-plugin-auth`): one `#[ws_plugin]` line and two
//! builder lines.
//!
//! - `/secure` admits a client with a known bearer token, greets it with
//!   `welcome NAME` and echoes its text messages. Without a token (or with an
//!   unknown one) the handshake is refused with `401`.
//! - Each client address may open at most `--handshakes-per-minute` sessions
//!   a minute (default 60); beyond that, `429` with `Retry-After`.
//! - Messages per route are counted, and logged when the server stops.
//!
//! ```sh
//! cargo run --example plugins -- --addr 127.0.0.1:9002 --token alice:s3cret --token bob:hunter2
//! cargo run --example plugins -- --token alice:s3cret --print-routes
//! ```
//!
//! A client presents its token in any of three ways:
//!
//! ```sh
//! websocat -H 'Authorization: Bearer s3cret' ws://127.0.0.1:9002/secure
//! websocat 'ws://127.0.0.1:9002/secure?access_token=s3cret'
//! websocat --protocol 'secure.v1, s3cret' ws://127.0.0.1:9002/secure
//! ```
//!
//! A browser can set only the last: `new WebSocket(url, ["secure.v1", token])`.
//! The server then selects `secure.v1`, never the token.

use wsboot::{App, AppOption, HandlerResult, Session, Utf8Bytes, WebSocketHandler, ws_handler, ws_plugin};
use wsboot_plugin_auth::{MetricsPlugin, RateLimitPlugin, TokenAuthPlugin, TokenTable};

/// Greets the authenticated user, then echoes.
#[derive(Default)]
#[ws_handler("/secure", subprotocols = ["secure.v1"])]
struct Secure;

impl WebSocketHandler for Secure {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        // TokenAuth admits only authenticated handshakes, so there is a principal.
        let user = session.principal().ok_or("no principal: is the token-auth plugin installed?")?;
        session.send(format!("welcome {}", user.name())).await?;
        Ok(())
    }

    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        Ok(session.send(text).await?)
    }
}

/// Counts messages per route, at link time like the handler.
#[ws_plugin]
fn metrics() -> MetricsPlugin {
    MetricsPlugin::new()
}

/// The process's allocator. mimalloc keeps an idle connection smaller than glibc's
/// malloc does: tokio's per-connection task and socket registration are 128-byte
/// aligned blocks, which glibc pads (about 400 bytes of RSS per connection), and
/// freed compressors go back to the system. See "Memory and the allocator" in the
/// README.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    App::new()
        .about("Serves /secure to clients with a bearer token given by --token.")
        .option(AppOption::repeated("token", "NAME:TOKEN", "admit TOKEN as user NAME"))
        .option(AppOption::value("handshakes-per-minute", "N", "handshakes allowed per client address (default 60)"))
        .configure(|builder, args| {
            let tokens = TokenTable::parse(args.values("token"))?;
            if tokens.is_empty() {
                return Err("no tokens: give at least one --token NAME:TOKEN (e.g. --token alice:s3cret)".into());
            }
            let per_minute = match args.value("handshakes-per-minute") {
                None => 60,
                Some(n) => n
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--handshakes-per-minute takes a whole number above 0, not `{n}`"))?,
            };
            // The rate limit goes first, so that guessing tokens is limited too.
            Ok(builder.plugin(RateLimitPlugin::per_minute(per_minute)).plugin(TokenAuthPlugin::new(tokens)))
        })
        .run();
}
