//! A one-shot, broadcast shutdown signal and a count of live connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Tells every connection task that the server is stopping.
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    triggered: AtomicBool,
    notify: Notify,
    live: AtomicUsize,
    drained: Notify,
}

impl Shutdown {
    pub(crate) fn trigger(&self) {
        self.triggered.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub(crate) fn is_triggered(&self) -> bool {
        self.triggered.load(Ordering::SeqCst)
    }

    /// Resolves once [`trigger`](Self::trigger) was called (immediately if it was).
    pub(crate) async fn wait(&self) {
        // A `Notified` created before the check receives `notify_waiters` calls
        // made after its creation, so no trigger is missed between check and wait.
        let notified = self.notify.notified();
        if self.is_triggered() {
            return;
        }
        notified.await
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
