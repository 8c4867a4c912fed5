//! Bounded waits: a test that waits for something that never happens fails with
//! a message naming it, instead of hanging the test run.

use std::future::Future;
use std::time::Duration;

use super::DEFAULT_TIMEOUT;

/// Runs `future`, failing the test if it takes longer than [`DEFAULT_TIMEOUT`]:
/// for a test's own waits (a handler's report on a channel, a task joining).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = tokio::sync::oneshot::channel();
/// tx.send(7).unwrap();
/// assert_eq!(wsboot::test::within("the handler's report", rx).await, Ok(7));
/// # }
/// ```
///
/// # Panics
/// When the time is up; the message says what was awaited.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    bounded(DEFAULT_TIMEOUT, what, future).await
}

/// Polls `condition` until it holds, failing the test after
/// [`DEFAULT_TIMEOUT`]: for state that changes in the server's own time, such
/// as a closed session leaving the hub.
///
/// # Panics
/// When the condition does not hold in time; the message says what was awaited.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    within(what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

/// Runs `future` for at most `limit`.
pub(super) async fn bounded<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}
