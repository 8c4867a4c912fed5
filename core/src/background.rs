//! [`Background`]: starts a server's background tasks (a ticker, the consumer
//! of an outside queue) on the runtime's executor, which stops and awaits them
//! at shutdown. This crate has no executor: the runtime hands plugins a
//! `Background` that spawns on its own.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::future::BoxFuture;

type SpawnFn = dyn Fn(String, BoxFuture<'static, ()>) + Send + Sync;

/// Spawns tasks that live as long as the server (Spring's `@Scheduled` methods
/// and `ApplicationRunner`s). A server cancels them when it shuts down, after
/// it stops accepting connections and before plugins' `on_shutdown`, and waits
/// for each to end; a task that returns early just ends.
///
/// A plugin gets one in [`ServerInfo::background`](crate::ServerInfo); an
/// application without a plugin uses `ServerBuilder::background` or
/// `App::background`.
#[derive(Clone)]
pub struct Background {
    spawn: Arc<SpawnFn>,
}

impl Background {
    /// A spawner that calls `spawn` with each task's name and future: what the
    /// runtime provides.
    pub fn new(spawn: impl Fn(String, BoxFuture<'static, ()>) + Send + Sync + 'static) -> Self {
        Background { spawn: Arc::new(spawn) }
    }

    /// Runs `task` until it ends or the server shuts down; `name` appears in
    /// logs (a panic in the task is logged with it).
    pub fn spawn(&self, name: impl Into<String>, task: impl Future<Output = ()> + Send + 'static) {
        (self.spawn)(name.into(), Box::pin(task))
    }
}

impl Default for Background {
    /// Outside a server (a plugin's unit test): tasks are dropped, not run,
    /// with a warning.
    fn default() -> Self {
        Background::new(|name, _task| {
            tracing::warn!(task = %name, "no server to run this background task on; it is dropped");
        })
    }
}

impl fmt::Debug for Background {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Background")
    }
}
