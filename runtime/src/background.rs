//! A server's background tasks: those plugins spawn through
//! [`ServerInfo::background`](wsboot_core::ServerInfo) and those an application
//! declares with `ServerBuilder::background` / `App::background`. They start
//! once every plugin has started and are cancelled and awaited when the server
//! shuts down (or dropped with it).

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::task::JoinHandle;
use wsboot_core::{AppContext, Background, BoxFuture};

type Hook = Box<dyn FnOnce(AppContext) -> BoxFuture<'static, ()> + Send + Sync>;

/// The tasks an application declared on the builder, started with the server.
#[derive(Default)]
pub(crate) struct Hooks {
    hooks: Vec<(String, Hook)>,
}

impl Hooks {
    pub(crate) fn add<F, Fut>(&mut self, name: String, task: F)
    where
        F: FnOnce(AppContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hooks.push((name, Box::new(move |context| Box::pin(task(context)))));
    }

    pub(crate) fn merge(&mut self, other: Hooks) {
        self.hooks.extend(other.hooks);
    }

    /// Spawns every task with `context`.
    pub(crate) fn start(self, context: &AppContext, background: &Background) {
        for (name, hook) in self.hooks {
            background.spawn(name, hook(context.clone()));
        }
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.hooks.iter().map(|(name, _)| name)).finish()
    }
}

/// A running task and its name, for logs.
type Running = (String, JoinHandle<()>);

/// The running tasks of one server.
#[derive(Debug)]
pub(crate) struct Tasks {
    /// `None` once the server stopped them: later spawns are refused.
    running: Mutex<Option<Vec<Running>>>,
}

impl Tasks {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Tasks { running: Mutex::new(Some(Vec::new())) })
    }

    /// The spawner plugins get. It holds the tasks weakly: a plugin may keep
    /// it after its server is gone, and then spawns nothing.
    pub(crate) fn spawner(self: &Arc<Self>) -> Background {
        let tasks: Weak<Tasks> = Arc::downgrade(self);
        Background::new(move |name, task| match tasks.upgrade() {
            Some(tasks) => tasks.spawn(name, task),
            None => tracing::warn!(task = %name, "the server is gone; background task not started"),
        })
    }

    fn spawn(&self, name: String, task: BoxFuture<'static, ()>) {
        let mut running = self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match running.as_mut() {
            Some(running) => {
                tracing::debug!(task = %name, "background task started");
                running.retain(|(_, handle)| !handle.is_finished());
                running.push((name, tokio::spawn(task)));
            }
            None => tracing::warn!(task = %name, "the server is shutting down; background task not started"),
        }
    }

    /// Cancels every task and waits for each to end, at most `limit` in all.
    /// A task that panicked is logged by name.
    pub(crate) async fn stop(&self, limit: Duration) {
        let running = self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        let running = running.unwrap_or_default();
        for (_, handle) in &running {
            handle.abort();
        }
        let deadline = tokio::time::Instant::now() + limit;
        for (name, handle) in running {
            match tokio::time::timeout_at(deadline, handle).await {
                Ok(Err(error)) if error.is_panic() => {
                    tracing::error!(task = %name, "background task panicked: {}", crate::session::panic_message(&error.into_panic()));
                }
                Ok(_) => tracing::debug!(task = %name, "background task stopped"),
                Err(_) => tracing::warn!(task = %name, "background task did not stop within {limit:?}; going on"),
            }
        }
    }
}

impl Drop for Tasks {
    /// A server dropped without a shutdown takes its tasks with it.
    fn drop(&mut self) {
        let running = self.running.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (_, handle) in running.iter().flatten() {
            handle.abort();
        }
    }
}
