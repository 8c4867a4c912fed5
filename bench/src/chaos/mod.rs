//! The chaos test of the chat's continuity: chat nodes on one Redis, members
//! spread over them that reconnect to a surviving node as the page does and
//! resume from the last offset they saw, and a publisher sending numbered
//! messages with ids at a steady rate; mid-run nodes are killed (SIGKILL) and
//! stopped (SIGTERM). At the end every member must have every message the
//! publisher got an ack for, exactly once, in order.
//!
//! - [`redis`]: a private `redis-server`.
//! - [`nodes`]: the chat node processes.
//! - [`protocol`]: the chat protocol as the clients speak it.
//! - [`link`]: one connection, and finding a node to connect to.
//! - [`client`]: a member that records exactly what it receives.
//! - [`publisher`]: the member that publishes and resends.
//! - [`report`]: lost, duplicated and reordered counts, the longest gap.
//! - [`run`](mod@run): one run, from the nodes' start to the report.

pub mod client;
pub mod link;
pub mod nodes;
pub mod protocol;
pub mod publisher;
pub mod redis;
pub mod report;
pub mod run;

pub use redis::RedisServer;
pub use report::Report;
pub use run::{Action, Plan, run};
