//! Criterion benches of the paths every connection or message goes through:
//! route lookup at the upgrade, encoding a frame once for a broadcast, the
//! session's outbound queue between handlers and the connection's writer, and
//! publishing with topic history on against off (with the heap a history holds
//! per 1,000 retained messages).
//!
//! ```sh
//! cargo bench -p wsboot-bench --bench hot_paths              # all of them
//! cargo bench -p wsboot-bench --bench hot_paths -- routing   # one group
//! ```
//!
//! They time the code in isolation, on one thread; `echo-load` measures the
//! server as a whole over real sockets.

#![allow(missing_docs, reason = "criterion_group! defines an undocumented public function")]

use criterion::{criterion_group, criterion_main};

mod encode;
mod history;
mod queue;
mod routing;

criterion_group!(hot_paths, routing::lookups, encode::frames, encode::fan_out, queue::send_and_drain, history::publish);
criterion_main!(hot_paths);
