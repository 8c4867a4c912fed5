//! The server's stopping flag and a count of live connections, and [`drain`],
//! the graceful shutdown once the listener is closed. Sessions are told to
//! close through the hub, so no connection task waits on a shared signal.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use wsboot_core::__runtime::shutdown_hub;

use crate::background::Tasks;
use crate::plugins::Plugins;
use crate::server::Shared;

/// Stops a server whose listener is closed, in order: background tasks
/// (cancelled and awaited), sessions (the shutdown close frame after what each
/// queued, up to the shutdown timeout), the hub's broker, then the plugins.
pub(crate) async fn drain(shared: &Shared, tasks: &Tasks, plugins: &Plugins) {
    let shutdown = &shared.shutdown;
    tracing::info!(open = shutdown.live(), "shutting down");
    let config = &shared.config;
    let deadline = Instant::now() + config.shutdown_timeout;
    shutdown.trigger(deadline);
    // Background tasks first: nothing publishes to sessions that are closing.
    tasks.stop(config.shutdown_timeout).await;
    // Each session writes what it already queued, then the close frame.
    for session in shared.hub.sessions() {
        session.close(config.shutdown_status.clone());
    }
    // Sessions end by the deadline (their writes and close handshakes are
    // cut short there); the extra second lets their `after_connection_closed`
    // run. One whose handler callback never returns is left behind.
    if tokio::time::timeout_at(deadline, shutdown.all_closed()).await.is_err() {
        tracing::info!(open = shutdown.live(), "shutdown deadline passed; dropping the sessions still open");
        shutdown.expire();
        if tokio::time::timeout(Duration::from_secs(1), shutdown.all_closed()).await.is_err() {
            tracing::warn!(open = shutdown.live(), "sessions still open after the shutdown deadline");
        }
    }
    shutdown_hub(&shared.hub).await;
    // Plugins go last: what they provide stays up while sessions close.
    plugins.shutdown(config.close_timeout).await;
}

/// Whether the server is stopping, and how many connections are still live.
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    triggered: AtomicBool,
    live: AtomicUsize,
    drained: Notify,
    /// When a shutdown stops waiting for sessions: no write or close handshake
    /// may outlast it.
    deadline: OnceLock<Instant>,
    /// The deadline passed: blocked writes give up.
    expired: AtomicBool,
    expiry: Notify,
}

impl Shutdown {
    /// Starts stopping; sessions have until `deadline` to close.
    pub(crate) fn trigger(&self, deadline: Instant) {
        let _ = self.deadline.set(deadline);
        self.triggered.store(true, Ordering::SeqCst);
    }

    /// The deadline passed: every session still writing gives up.
    pub(crate) fn expire(&self) {
        self.expired.store(true, Ordering::SeqCst);
        self.expiry.notify_waiters();
    }

    /// Resolves once [`expire`](Self::expire) was called.
    pub(crate) async fn expired(&self) {
        // Created before the check, so an `expire` in between still wakes it.
        let notified = self.expiry.notified();
        if self.expired.load(Ordering::SeqCst) {
            return;
        }
        notified.await
    }

    /// `at`, or the shutdown deadline if one is set and earlier.
    pub(crate) fn cap(&self, at: Instant) -> Instant {
        self.deadline.get().map_or(at, |deadline| at.min(*deadline))
    }

    pub(crate) fn is_triggered(&self) -> bool {
        self.triggered.load(Ordering::SeqCst)
    }

    /// Counts a connection as live until the guard drops.
    pub(crate) fn track(self: &Arc<Self>) -> LiveGuard {
        self.live.fetch_add(1, Ordering::SeqCst);
        LiveGuard(self.clone())
    }

    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Resolves when no connection is live.
    pub(crate) async fn all_closed(&self) {
        loop {
            let drained = self.drained.notified();
            if self.live() == 0 {
                return;
            }
            drained.await;
        }
    }
}

/// Keeps a connection counted as live.
#[derive(Debug)]
pub(crate) struct LiveGuard(Arc<Shutdown>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        if self.0.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.drained.notify_waiters();
        }
    }
}
