//! Bounded waits: a test that waits for something that never happens fails with
//! a message naming it, instead of hanging the test run.

use std::fmt::Display;
use std::future::Future;
use std::panic::Location;
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
/// When the time is up; the message says what was awaited and where the test
/// called `within`.
#[track_caller]
pub fn within<T>(what: &str, future: impl Future<Output = T>) -> impl Future<Output = T> {
    bounded(DEFAULT_TIMEOUT, what, Caller::here("within"), future)
}

/// Polls `condition` until it holds, failing the test after
/// [`DEFAULT_TIMEOUT`]: for state that changes in the server's own time, such
/// as a closed session leaving the hub.
///
/// # Panics
/// When the condition does not hold in time; the message says what was awaited
/// and where the test called `eventually`.
#[track_caller]
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) -> impl Future<Output = ()> {
    let polling = async move {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    bounded(DEFAULT_TIMEOUT, what, Caller::here("eventually"), polling)
}

/// A call of the test kit: which method, and where the test called it. The
/// methods are not `async fn`s, whose `#[track_caller]` has no effect on
/// stable Rust: each takes its caller's location, then returns the future.
#[derive(Debug, Clone, Copy)]
pub(super) struct Caller {
    method: &'static str,
    location: &'static Location<'static>,
}

impl Caller {
    /// The call of `method` that the calling function was called from.
    #[track_caller]
    pub(super) fn here(method: &'static str) -> Caller {
        Caller { method, location: Location::caller() }
    }

    /// Fails the test, naming the call first: the panic itself is raised in
    /// wsboot's code, but the line to look at is the test's.
    pub(super) fn fail(&self, message: impl Display) -> ! {
        panic!("{} at {}: {message}", self.method, self.location)
    }
}

/// Runs `future` for at most `limit`; past it, fails naming `what` and the call.
pub(super) async fn bounded<T>(limit: Duration, what: &str, caller: Caller, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => caller.fail(format_args!("timed out after {limit:?} waiting for {what}")),
    }
}
