//! The graceful shutdown, step by step. Closing every session of a node in
//! one instant makes all their clients reconnect to the other nodes in that
//! instant (a reconnect storm); a drain stops taking sessions at once and
//! closes the open ones in batches spread over the drain period instead,
//! serving the others normally until their turn.

use std::time::Duration;

use tokio::time::Instant;
use wsboot_core::__runtime::shutdown_hub;
use wsboot_core::Session;

use super::batches::Batches;
use crate::background::Tasks;
use crate::plugins::Plugins;
use crate::server::Shared;

/// Stops a server, in order: readiness and upgrades answer `503`; the open
/// sessions close in batches over the drain period (each gets the shutdown
/// close frame after what it queued), background tasks being cancelled and
/// awaited before the last batch; the server waits for the closing handshakes
/// up to the shutdown timeout after the last batch; then the hub's broker
/// stops, and the plugins. The listeners keep answering plain requests
/// throughout.
pub(crate) async fn drain(shared: &Shared, tasks: &Tasks, plugins: &Plugins) {
    let shutdown = &shared.shutdown;
    let config = &shared.config;
    let started = Instant::now();
    shutdown.trigger();
    // Taken after the trigger: a session that registers later closes itself
    // (trigger and registration are both SeqCst, one side sees the other).
    let mut open = shared.hub.sessions().into_iter();
    let batches = Batches::new(open.len(), config.drain_batch, config.drain_period);
    tracing::info!(
        sessions = open.len(),
        batches = batches.count(),
        period = ?config.drain_period,
        "shutting down: draining sessions"
    );
    let last = batches.count() - 1;
    for batch in 0..last {
        tokio::time::sleep_until(after(started, batches.offset(batch))).await;
        close_batch(shared, open.by_ref().take(batches.size(batch)));
    }
    tokio::time::sleep_until(after(started, batches.offset(last))).await;
    // The shutdown timeout runs from the last batch, which comes within the
    // drain period: an orchestrator's grace period of `drain_period +
    // shutdown_timeout` always suffices. Earlier batches' closing handshakes
    // are bounded by the close timeout, and end at this deadline too.
    let deadline = Instant::now() + config.shutdown_timeout;
    shutdown.set_deadline(deadline);
    // Background tasks serve the sessions still open, so they run until now;
    // stopped before the last batch, nothing publishes to sessions that are
    // closing.
    tasks.stop(config.shutdown_timeout).await;
    close_batch(shared, open);
    // Sessions end by the deadline (their writes and close handshakes are
    // cut short there); the extra second lets their `after_connection_closed`
    // run. One whose handler callback never returns is left behind.
    if tokio::time::timeout_at(deadline, shutdown.all_closed()).await.is_err() {
        tracing::info!(open = shutdown.held(), "shutdown deadline passed; dropping the sessions still open");
        shutdown.expire();
        if tokio::time::timeout(Duration::from_secs(1), shutdown.all_closed()).await.is_err() {
            tracing::warn!(open = shutdown.held(), "sessions still open after the shutdown deadline");
        }
    }
    shutdown_hub(&shared.hub).await;
    // Plugins go last: what they provide stays up while sessions close.
    plugins.shutdown(config.close_timeout).await;
}

/// Tells each session of a batch to close: it writes what it already queued,
/// then the shutdown close frame.
fn close_batch(shared: &Shared, batch: impl Iterator<Item = Session>) {
    let mut closed = 0;
    for session in batch {
        // One that closed by itself meanwhile is not the drain's doing.
        closed += u64::from(session.is_open());
        session.close(shared.config.shutdown_status.clone());
    }
    if let Some(metrics) = &shared.metrics {
        metrics.drained(closed);
    }
    tracing::debug!(closed, "drain batch closed");
}

/// `offset` after `start`; for a period too long for the clock (a typo of
/// thousands of hours), 30 years, as good as never.
fn after(start: Instant, offset: Duration) -> Instant {
    start.checked_add(offset).unwrap_or_else(|| start + Duration::from_secs(30 * 365 * 86_400))
}
