//! A notifications service: users connect to `/notifications` with a bearer
//! token, send each other notes, and all get a heartbeat.
//!
//! - A client presents its token as `Authorization: Bearer TOKEN` (or
//!   `?token=TOKEN`, for browsers, which cannot set headers). An unknown or
//!   missing token is refused with `401` and `WWW-Authenticate: Bearer`
//!   ([`BearerAuth`]).
//! - Once in, the client gets `welcome NAME`. A text message `to bob: TEXT`
//!   is pushed as `from NAME: TEXT` to every session of `bob`, and the sender
//!   is told how many sessions took it ([`Notifications`]). Anything else gets
//!   an `error: ...` reply; a binary message closes the session with 1003.
//! - A background [`ticker`] publishes `heartbeat N` to every session each
//!   period ([`Heartbeat`]).
//!
//! ```sh
//! cargo run -p wsboot-example-notify -- --addr 127.0.0.1:9003 \
//!     --token alice:s3cret --token bob:hunter2 --heartbeat-ms 5000
//! websocat -H 'Authorization: Bearer hunter2' ws://127.0.0.1:9003/notifications
//! websocat 'ws://127.0.0.1:9003/notifications?token=s3cret'   # then type: to bob: hi
//! ```

mod auth;
mod notifications;
mod ticker;
mod tokens;

pub use auth::{BearerAuth, BearerAuthPlugin};
pub use notifications::{Notifications, ROUTE};
pub use ticker::{HEARTBEAT_TOPIC, Heartbeat, ticker};
pub use tokens::TokenStore;
