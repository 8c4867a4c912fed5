//! # wsboot-redis
//!
//! Scale a [wsboot](https://docs.rs/wsboot) application out across several
//! nodes: a [`Broker`](wsboot_core::Broker) that carries topics and per-user
//! messages between the nodes over Redis pub/sub, the mechanism Socket.IO's Redis
//! adapter, Centrifugo and Action Cable use.
//!
//! ```no_run
//! use wsboot::{HandlerRegistry, Server};
//! use wsboot_redis::RedisBroker;
//!
//! # async fn run(registry: HandlerRegistry) -> Result<(), wsboot::Error> {
//! // Every node: the same Redis, its own port (or host).
//! let broker = RedisBroker::connect("redis://127.0.0.1:6379").await?;
//! let server = Server::builder().registry(registry).broker(broker).bind("0.0.0.0:8080").await?;
//! // `session.hub().publish("room", text)` now reaches the room on every node, and
//! // `hub.send_to_user("alice", text)` every session of alice, wherever she is.
//! server.serve().await
//! # }
//! ```
//!
//! Topics whose history is on ([`TopicHistory`](wsboot_core::TopicHistory)) are
//! kept in Redis Streams, shared by every node: positions mean the same on
//! every node, a session resumes from its position on any node
//! ([`Session::subscribe_from`](wsboot_core::Session::subscribe_from)), an
//! idempotent publish is never doubled, whichever nodes it was sent to, and a
//! node that restarts loses nothing Redis kept.
//!
//! Without a broker a server is a single node (the in-process
//! [`LocalBroker`](wsboot_core::LocalBroker)) and needs no Redis at all.
//!
//! ## Configuration
//! - The URL: `redis://[user:password@]host[:port][/db]`, given in code, or read
//!   from the `WSBOOT_REDIS_URL` environment variable with
//!   [`RedisBrokerBuilder::from_env`] (the same variable the runtime reads into
//!   its `broker.url` setting).
//! - [`RedisBrokerBuilder`]: the channel prefix (default `wsboot:`; nodes talk to
//!   nodes of the same prefix only), the reconnection back-off, the health check
//!   interval and the command timeout.
//!
//! ## Channels
//! Topic `T` travels on `{prefix}topic:T`; a node subscribes to it while it has
//! local subscribers, one subscription per node however many sessions. User `U`
//! is addressed on `{prefix}user:U`, which every node receives through the pattern
//! `{prefix}user:*`.
//!
//! Topic `T`'s history is the hash `{prefix}history:T` and the stream
//! `{prefix}stream:T` (Redis 6.2 or later).
//!
//! ## Guarantees and failures
//! See [`RedisBroker`]: exactly once and in order per publisher while Redis is
//! up; Redis down at start is an error; Redis lost while running leaves local
//! delivery untouched, the broker reconnects with back-off and resubscribes, and
//! messages published during the outage do not reach the other nodes. For
//! topics whose history is on, a publish Redis cannot record fails instead of
//! being lost; live delivery and resuming are exactly once and in order across
//! a lost connection; a Redis restarted without persistence starts each history
//! over under a new epoch, so old positions are not recovered rather than
//! wrongly replayed.

mod backoff;
mod broker;
mod builder;
mod channels;
mod envelope;
mod history;
mod node_id;
mod presence;
mod publisher;
mod script;
mod stats;
mod subscriber;

pub use broker::RedisBroker;
pub use builder::{DEFAULT_PREFIX, RedisBrokerBuilder, URL_ENV};
pub use node_id::NodeId;
pub use stats::RedisBrokerStats;
