//! The server's stopping state: whether a shutdown was asked for (by the
//! signal or a [`ShutdownHandle`]), whether it started draining, the live
//! connections it waits for, and its deadline. The shutdown itself is
//! [`drain`]; when each batch of sessions closes is [`batches`]. Sessions are
//! told to close through the hub, so no connection task waits on a shared
//! signal.

mod batches;
mod drain;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;
use tokio::time::Instant;

pub(crate) use drain::drain;

/// Starts the graceful shutdown of a [`Server`](crate::Server) from anywhere
/// in the program, as the signal given to
/// [`serve_with_shutdown`](crate::Server::serve_with_shutdown) does: an admin
/// endpoint, a test, a supervisor task. Cheap to clone.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), wsboot::Error> {
/// let server = wsboot::Server::builder().registry(wsboot::HandlerRegistry::new()).bind("127.0.0.1:0").await?;
/// let handle = server.shutdown_handle();
/// let serving = tokio::spawn(server.serve());
/// handle.drain(); // readiness answers 503, sessions close in batches, then `serve` returns
/// serving.await.unwrap()?;
/// assert!(handle.is_draining());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ShutdownHandle(Arc<Shutdown>);

impl ShutdownHandle {
    pub(crate) fn new(shutdown: Arc<Shutdown>) -> Self {
        ShutdownHandle(shutdown)
    }

    /// Starts the graceful shutdown: the readiness endpoint answers `503` and
    /// new WebSocket upgrades are refused with `503` at once, open sessions are
    /// closed in batches over the [drain period](crate::ServerConfig::drain_period),
    /// and the server's `serve` returns once they are closed and the plugins
    /// stopped. Returns at once; calling it again does nothing. Asked before
    /// the server serves, the shutdown starts as soon as it does.
    pub fn drain(&self) {
        self.0.request();
    }

    /// Whether the server started shutting down (its readiness endpoint answers
    /// `503` from then on).
    pub fn is_draining(&self) -> bool {
        self.0.is_triggered()
    }
}

/// Whether the server is stopping, and which connections are still live.
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    /// A [`ShutdownHandle`] asked for the shutdown.
    requested: AtomicBool,
    request: Notify,
    triggered: AtomicBool,
    /// Every connection open, handshaking or in a session.
    live: AtomicUsize,
    /// The connections accepted before the shutdown started: those may be, or
    /// become, sessions, so the shutdown waits for them. A connection accepted
    /// later can only be answered (an upgrade gets `503`): the listener keeps
    /// answering probes and scrapes during the drain without holding it up.
    held: AtomicUsize,
    drained: Notify,
    /// When a shutdown stops waiting for sessions (set with its last batch):
    /// no write or close handshake may outlast it.
    deadline: OnceLock<Instant>,
    /// The deadline passed: blocked writes give up.
    expired: AtomicBool,
    expiry: Notify,
}

impl Shutdown {
    /// Asks the serving loop to shut down.
    fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        self.request.notify_waiters();
    }

    /// Resolves once a [`ShutdownHandle`] asked for the shutdown.
    pub(crate) async fn requested(&self) {
        // Created before the check, so a `request` in between still wakes it.
        let notified = self.request.notified();
        if self.requested.load(Ordering::SeqCst) {
            return;
        }
        notified.await
    }

    /// Starts stopping: readiness turns `503`, upgrades are refused.
    pub(crate) fn trigger(&self) {
        self.triggered.store(true, Ordering::SeqCst);
    }

    /// Sessions have until `deadline` to close: no write or closing handshake
    /// may outlast it.
    pub(crate) fn set_deadline(&self, deadline: Instant) {
        let _ = self.deadline.set(deadline);
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

    /// Whether the shutdown started: readiness is `503`, upgrades are refused.
    pub(crate) fn is_triggered(&self) -> bool {
        self.triggered.load(Ordering::SeqCst)
    }

    /// Counts a connection as live until the guard drops; one accepted before
    /// the shutdown started is also waited for by it.
    pub(crate) fn track(self: &Arc<Self>) -> LiveGuard {
        self.live.fetch_add(1, Ordering::SeqCst);
        // SeqCst with `trigger`: a connection not held here sees the trigger when
        // it reads its request, so it cannot become a session.
        let held = !self.is_triggered();
        if held {
            self.held.fetch_add(1, Ordering::SeqCst);
        }
        LiveGuard { shutdown: self.clone(), held }
    }

    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// The connections the shutdown still waits for.
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::SeqCst)
    }

    /// Resolves when no connection accepted before the shutdown is live.
    pub(crate) async fn all_closed(&self) {
        loop {
            let drained = self.drained.notified();
            if self.held() == 0 {
                return;
            }
            drained.await;
        }
    }
}

/// Keeps a connection counted as live.
#[derive(Debug)]
pub(crate) struct LiveGuard {
    shutdown: Arc<Shutdown>,
    held: bool,
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.shutdown.live.fetch_sub(1, Ordering::SeqCst);
        if self.held && self.shutdown.held.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shutdown.drained.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_accepted_while_draining_are_not_waited_for() {
        let shutdown = Arc::new(Shutdown::default());
        let before = shutdown.track();
        shutdown.trigger();
        let during = shutdown.track();
        assert_eq!((shutdown.live(), shutdown.held()), (2, 1));
        drop(before);
        // Resolves with the probe's connection still open.
        shutdown.all_closed().await;
        assert_eq!(shutdown.live(), 1);
        drop(during);
        assert_eq!(shutdown.live(), 0);
    }

    #[tokio::test]
    async fn a_request_made_before_anyone_waits_is_kept() {
        let shutdown = Arc::new(Shutdown::default());
        let handle = ShutdownHandle::new(shutdown.clone());
        handle.drain();
        handle.drain();
        shutdown.requested().await;
        assert!(!handle.is_draining(), "asked, not yet started");
        shutdown.trigger();
        assert!(handle.is_draining());
    }
}
