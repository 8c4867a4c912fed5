//! A wsboot plugin crate, written as a third party would: it depends on
//! `wsboot-core` alone (no runtime, no tokio) and extends any wsboot server
//! through the plugin API.
//!
//! - [`TokenAuthPlugin`] / [`TokenAuth`]: bearer-token authentication. The
//!   token comes from `Authorization: Bearer`, the `access_token` query
//!   parameter or an offered `Sec-WebSocket-Protocol` value; a handshake
//!   without a known token gets `401`, one with it gets its user as the
//!   session's principal.
//! - [`RateLimitPlugin`] / [`HandshakeRateLimit`]: a token bucket of
//!   handshakes per client address; beyond it, `429` with `Retry-After`.
//! - [`MetricsPlugin`] / [`CountMessages`]: a decorator counting sessions,
//!   messages and bytes per route.
//!
//! ```
//! use wsboot::{HandlerRegistry, Server, WebSocketHandler};
//! use wsboot_plugin_auth::{MetricsPlugin, RateLimitPlugin, TokenAuthPlugin, TokenTable};
//!
//! struct Secure;
//! impl WebSocketHandler for Secure {}
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut registry = HandlerRegistry::new();
//! registry.add_handler("/secure", Secure).subprotocols(["secure.v1"]);
//! let tokens = TokenTable::parse(["alice:s3cret"])?;
//! let server = Server::builder()
//!     .registry(registry)
//!     .plugin(RateLimitPlugin::per_minute(60)) // before auth: guessing is limited too
//!     .plugin(TokenAuthPlugin::new(tokens))
//!     .plugin(MetricsPlugin::new())
//!     .bind("127.0.0.1:0")
//!     .await?;
//! let listing = server.route_listing().to_string();
//! assert!(listing.contains("token-auth: added interceptor `TokenAuth`"), "{listing}");
//! assert!(listing.contains("metrics: decorated it"), "{listing}");
//! # Ok(())
//! # }
//! ```

mod auth;
mod metrics;
mod rate_limit;
mod tokens;

pub use auth::{TokenAuth, TokenAuthPlugin};
pub use metrics::{CountMessages, MessageMetrics, MetricsPlugin, RouteCounts};
pub use rate_limit::{HandshakeRateLimit, RateLimitPlugin};
pub use tokens::{TokenError, TokenSource, TokenTable};
