//! The process's open files (the test process hosts the server, so its sockets
//! show up there): to check that hostile clients leave nothing behind.
//!
//! Tests that compare open-file counts run under [`serial_test`]: the tests of
//! one binary share a process, so another test's sockets would skew the count.

use std::future::Future;
use std::time::Duration;

use wsboot::CloseStatus;
use wsboot::test::{DEFAULT_TIMEOUT, TestServer};

/// Runs an async test alone in its process: under a lock that every test of the
/// binary using it takes, on a runtime of its own built under that lock, so that
/// no other test's sockets or runtime show up in [`open_files`].
///
/// ```ignore
/// #[test]
/// fn drops_slow_clients() {
///     serial_test(async {
///         // ...
///     });
/// }
/// ```
///
/// # Panics
/// If the test panics (the lock is released for the next test).
pub fn serial_test(test: impl Future<Output = ()>) {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _alone = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a test runtime");
    runtime.block_on(test);
}

/// The number of files (sockets included) this process has open.
///
/// # Panics
/// If `/proc/self/fd` cannot be read (these tests need Linux's procfs).
pub fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd lists the open files").count()
}

/// What each open file is (`socket:[…]`, `anon_inode:[eventpoll]`, …), for
/// failure messages.
pub fn open_file_targets() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else { return Vec::new() };
    entries.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok()).map(|target| target.display().to_string()).collect()
}

/// The soft limit on open files of this process, from `/proc/self/limits`.
pub fn max_open_files() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

/// Waits until the open-file count is back to `baseline` (sockets the server
/// closes take a moment: its tasks end asynchronously, and error answers linger
/// up to a second for the client to read them).
///
/// # Panics
/// If the count is still above `baseline` after [`DEFAULT_TIMEOUT`].
pub async fn settle_open_files(baseline: usize) {
    let deadline = tokio::time::Instant::now() + DEFAULT_TIMEOUT;
    loop {
        let now = open_files();
        if now <= baseline {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{now} files open, {} more than the {baseline} before the scenario, after {DEFAULT_TIMEOUT:?}: {:?}",
            now - baseline,
            open_file_targets()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// After a hostile scenario: the server still serves a normal client at
/// `echo_path` (a handler that echoes text), and the open-file count returns to
/// `baseline`.
///
/// # Panics
/// If either is not the case.
pub async fn assert_recovered(server: &TestServer, echo_path: &str, baseline: usize) {
    let mut client = server.connect(echo_path).await;
    client.send_text("still there?").await;
    assert_eq!(client.recv_text().await, "still there?", "the server echoes after the scenario");
    client.close(CloseStatus::NORMAL).await;
    drop(client);
    settle_open_files(baseline).await;
}
