//! A chat member that reconnects as the page does and records exactly what it
//! receives: the publisher's numbered messages with their offsets and arrival
//! times, every connection (node, greeting, how it ended) and every failed
//! attempt. It drops no repeat, so duplicates are counted, not hidden.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::link::{Attempt, Dialer, Ended, Link, Next};
use super::protocol::{Event, Identity, Rng};

/// One of the publisher's messages as a member received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The message's number (its text).
    pub number: u64,
    /// Its offset in the room, as delivered.
    pub offset: Option<String>,
    /// When it arrived, since the run's start.
    pub at: Duration,
    /// The connection it arrived on (index into the member's connections).
    pub connection: usize,
}

/// How a connection was greeted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Greeting {
    /// `members`: a fresh join.
    Fresh,
    /// `resumed`, and whether everything since the offset was replayed.
    Resumed {
        /// Whether the history covered the offset.
        recovered: bool,
    },
}

/// One connection of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The node.
    pub node: usize,
    /// When it opened, since the run's start.
    pub opened: Duration,
    /// The offset it resumed from, if any.
    pub since: Option<String>,
    /// How it was greeted, once it was.
    pub greeting: Option<Greeting>,
    /// Messages of the publisher received on it (replayed ones included).
    pub received: usize,
    /// When and how it ended, once it did (`None` for the end of the run).
    pub ended: Option<(Duration, Ended)>,
}

/// Everything a member saw.
#[derive(Debug, Clone, Default)]
pub struct MemberLog {
    /// The nickname.
    pub name: String,
    /// The offset of the first `members`: where the member's view starts.
    pub start: Option<String>,
    /// The publisher's messages, in the order they arrived, repeats included.
    pub deliveries: Vec<Delivery>,
    /// Every connection, in order.
    pub connections: Vec<Connection>,
    /// Attempts to connect that failed.
    pub failed_attempts: Vec<(Duration, Attempt)>,
    /// Anything unexpected: errors from the server, unknown messages.
    pub problems: Vec<String>,
    /// Why it stopped reconnecting, if it did before the end of the run.
    pub gave_up: Option<String>,
}

/// A member's log, shared between its task and the run.
pub type SharedLog<T> = Arc<Mutex<T>>;

/// Records how `connection` ended, at `at`; unless the page would reconnect
/// after such a close, also why its owner gives up. Whether to reconnect.
pub fn record_end(
    connections: &mut [Connection],
    gave_up: &mut Option<String>,
    connection: usize,
    at: Duration,
    ended: Ended,
) -> bool {
    let reconnects = ended.reconnects();
    if !reconnects {
        let node = connections[connection].node;
        *gave_up = Some(format!("closed with {} ({}) by node {node}", ended.code, ended.detail));
    }
    connections[connection].ended = Some((at, ended));
    reconnects
}

/// Locks a shared log (a panicked holder left it readable).
pub fn lock<T>(log: &SharedLog<T>) -> MutexGuard<'_, T> {
    log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What every member of a run shares: the nodes, the run's clock, the
/// publisher's name and the signal to stop.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The nodes' base URLs.
    pub urls: Arc<Vec<String>>,
    /// The run's start.
    pub clock: Instant,
    /// Whose messages are counted.
    pub publisher: String,
    /// Turns true when the run ends.
    pub stop: watch::Receiver<bool>,
}

/// A running member.
#[derive(Debug)]
pub struct Client {
    log: SharedLog<MemberLog>,
    task: JoinHandle<()>,
}

impl Client {
    /// Starts a member called `identity.name`, first on node `first`.
    pub fn spawn(identity: Identity, first: usize, shared: Shared, rng: Rng) -> Client {
        let log = Arc::new(Mutex::new(MemberLog { name: identity.name.clone(), ..MemberLog::default() }));
        let dialer = Dialer::new(identity, shared.urls.clone(), first, rng);
        let task = tokio::spawn(run(dialer, shared, log.clone()));
        Client { log, task }
    }

    /// Its log so far.
    pub fn log(&self) -> &SharedLog<MemberLog> {
        &self.log
    }

    /// Whether it has joined its room (received its first `members`).
    pub fn joined(&self) -> bool {
        lock(&self.log).start.is_some()
    }

    /// Waits for the member to end (after the stop signal) and returns its log.
    pub async fn finish(self) -> MemberLog {
        let _ = self.task.await;
        lock(&self.log).clone()
    }
}

/// Resolves when the run's stop signal turns true (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

async fn run(mut dialer: Dialer, mut shared: Shared, log: SharedLog<MemberLog>) {
    let clock = shared.clock;
    let mut since: Option<String> = None;
    loop {
        let dial = dialer.dial(since.as_deref(), |attempt| lock(&log).failed_attempts.push((clock.elapsed(), attempt)));
        let mut link = tokio::select! {
            link = dial => link,
            () = stopped(&mut shared.stop) => return,
        };
        let connection = open_connection(&mut lock(&log).connections, &link, clock, since.clone());
        let ended = loop {
            let next = tokio::select! {
                next = link.next() => next,
                () = stopped(&mut shared.stop) => {
                    link.close().await;
                    return;
                }
            };
            match next {
                Next::Event(event) => {
                    if event.is_greeting() {
                        dialer.connected();
                    }
                    if let Some(offset) = event.offset() {
                        since = Some(offset.to_owned());
                    }
                    record(&mut lock(&log), &shared.publisher, connection, clock.elapsed(), event);
                }
                Next::Garbled(problem) => lock(&log).problems.push(problem),
                Next::Ended(ended) => break ended,
            }
        };
        let log = &mut *lock(&log);
        if !record_end(&mut log.connections, &mut log.gave_up, connection, clock.elapsed(), ended) {
            return;
        }
    }
}

/// Records one event of connection `connection` in `log`.
fn record(log: &mut MemberLog, publisher: &str, connection: usize, at: Duration, event: Event) {
    match event {
        Event::Members { offset } => {
            log.connections[connection].greeting = Some(Greeting::Fresh);
            if offset.is_none() {
                log.problems.push(format!("`members` without an offset on connection {connection}"));
            }
            let offset = offset.unwrap_or_default();
            if log.start.is_none() {
                log.start = Some(offset);
            } else {
                log.problems.push(format!("a fresh join again on connection {connection} (at {offset:?})"));
            }
        }
        Event::Resumed { recovered, offset } => {
            log.connections[connection].greeting = Some(Greeting::Resumed { recovered });
            if !recovered {
                let from = log.connections[connection].since.clone().unwrap_or_default();
                log.problems.push(format!("resuming from {from} was not recovered (now at {offset:?})"));
            }
        }
        Event::Message { user, text, offset } if user == publisher => match text.parse::<u64>() {
            Ok(number) => {
                log.connections[connection].received += 1;
                log.deliveries.push(Delivery { number, offset, at, connection });
            }
            Err(_) => log.problems.push(format!("a message of the publisher that is not a number: {text:?}")),
        },
        Event::Message { .. } | Event::Presence { .. } => {}
        Event::Ack { id, .. } => log.problems.push(format!("an ack for {id:?}, which it never sent")),
        Event::Error { reason, .. } => log.problems.push(format!("error from the server: {reason}")),
    }
}

/// Records that `link` opened (resuming from `since`); returns the
/// connection's index.
pub(crate) fn open_connection(log: &mut Vec<Connection>, link: &Link, clock: Instant, since: Option<String>) -> usize {
    log.push(Connection {
        node: link.node(),
        opened: clock.elapsed(),
        since,
        greeting: None,
        received: 0,
        ended: None,
    });
    log.len() - 1
}
