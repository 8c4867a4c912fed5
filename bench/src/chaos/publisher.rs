//! The publisher: a chat member of its own name that sends numbered messages
//! (text `N`, id `mN`) at a steady rate, keeps every one it has no ack for
//! and sends those again, in order, whenever it has (re)joined, as the page
//! does with what the user typed. It records which numbers were acked, at
//! which offset, and whether a number was ever acked at two offsets.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::client::{Connection, SharedLog, lock, open_connection, record_end};
use super::link::{Attempt, Dialer, Ended, Link, Next};
use super::protocol::{Event, Identity, Rng, message};

/// What the publisher is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Send a new number at each tick.
    Publish,
    /// Send no new number; keep resending until every sent one is acked.
    Drain,
    /// Close and end.
    Stop,
}

/// Everything the publisher did and was told.
#[derive(Debug, Clone, Default)]
pub struct PublisherLog {
    /// The nickname.
    pub name: String,
    /// Numbers made so far: 1 to `made`.
    pub made: u64,
    /// The acked numbers and the offset of their first ack.
    pub acked: BTreeMap<u64, String>,
    /// Numbers acked again at another offset: (number, first, later).
    pub ack_conflicts: Vec<(u64, String, String)>,
    /// Numbers made and not acked yet.
    pub unacked: BTreeSet<u64>,
    /// Messages sent, resends included.
    pub sends: u64,
    /// Messages sent again (after a reconnect or a `retry` error).
    pub resends: u64,
    /// Errors asking to send a message again.
    pub retry_errors: u64,
    /// Every connection, in order.
    pub connections: Vec<Connection>,
    /// Attempts to connect that failed.
    pub failed_attempts: Vec<(Duration, Attempt)>,
    /// Anything unexpected.
    pub problems: Vec<String>,
    /// Why it stopped reconnecting, if it did.
    pub gave_up: Option<String>,
}

/// The running publisher.
#[derive(Debug)]
pub struct Publisher {
    log: SharedLog<PublisherLog>,
    task: JoinHandle<()>,
}

/// The message id of number `n`.
fn id_of(n: u64) -> String {
    format!("m{n}")
}

fn number_of(id: &str) -> Option<u64> {
    id.strip_prefix('m')?.parse().ok()
}

impl Publisher {
    /// Starts publishing `rate` messages a second as `identity.name`, first on
    /// node `first`, as `phase` says.
    pub fn spawn(
        identity: Identity,
        first: usize,
        shared: super::client::Shared,
        rate: f64,
        phase: watch::Receiver<Phase>,
        rng: Rng,
    ) -> Publisher {
        let log = Arc::new(Mutex::new(PublisherLog { name: identity.name.clone(), ..PublisherLog::default() }));
        let dialer = Dialer::new(identity, shared.urls.clone(), first, rng);
        let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
        let task = tokio::spawn(run(dialer, shared.clock, period, phase, log.clone()));
        Publisher { log, task }
    }

    /// Its log so far.
    pub fn log(&self) -> &SharedLog<PublisherLog> {
        &self.log
    }

    /// Waits for it to end (after [`Phase::Stop`]) and returns its log.
    pub async fn finish(self) -> PublisherLog {
        let _ = self.task.await;
        lock(&self.log).clone()
    }
}

/// The publisher's state within one connection.
struct Session<'a> {
    log: &'a SharedLog<PublisherLog>,
    link: Link,
    greeted: bool,
    /// Numbers the server asked to send again, sent at the next tick.
    retry: BTreeSet<u64>,
    /// Numbers sent at least once, on any connection.
    sent: &'a mut BTreeSet<u64>,
}

impl Session<'_> {
    async fn send(&mut self, n: u64) -> Result<(), String> {
        {
            let mut log = lock(self.log);
            log.sends += 1;
            if !self.sent.insert(n) {
                log.resends += 1;
            }
        }
        self.link.send(message(&n.to_string(), &id_of(n))).await
    }

    /// Sends every unacked number, in order.
    async fn send_unacked(&mut self) -> Result<(), String> {
        let unacked: Vec<u64> = lock(self.log).unacked.iter().copied().collect();
        self.retry.clear();
        for n in unacked {
            self.send(n).await?;
        }
        Ok(())
    }

    async fn event(&mut self, event: Event) -> Result<(), String> {
        match event {
            event if event.is_greeting() => {
                self.greeted = true;
                self.send_unacked().await?;
            }
            Event::Ack { id, offset } => {
                let mut log = lock(self.log);
                let Some(n) = number_of(&id) else {
                    log.problems.push(format!("an ack for an id it never sent: {id:?}"));
                    return Ok(());
                };
                log.unacked.remove(&n);
                match log.acked.get(&n).cloned() {
                    None => {
                        log.acked.insert(n, offset);
                    }
                    Some(first) if first != offset => log.ack_conflicts.push((n, first, offset)),
                    Some(_) => {}
                }
            }
            Event::Error { retry: true, id: Some(id), reason } => {
                let mut log = lock(self.log);
                log.retry_errors += 1;
                match number_of(&id) {
                    Some(n) if log.unacked.contains(&n) => {
                        self.retry.insert(n);
                    }
                    Some(_) => {}
                    None => log.problems.push(format!("a retry error for an id it never sent: {id:?} ({reason})")),
                }
            }
            Event::Error { reason, .. } => lock(self.log).problems.push(format!("error from the server: {reason}")),
            _ => {}
        }
        Ok(())
    }

    /// A tick: the retries, then a new number when publishing.
    async fn tick(&mut self, publishing: bool) -> Result<(), String> {
        if self.greeted {
            for n in std::mem::take(&mut self.retry) {
                self.send(n).await?;
            }
        }
        if publishing {
            let n = make(self.log);
            if self.greeted {
                self.send(n).await?;
            }
        }
        Ok(())
    }
}

/// Makes a new number, unacked until its ack comes.
fn make(log: &SharedLog<PublisherLog>) -> u64 {
    let mut log = lock(log);
    log.made += 1;
    let n = log.made;
    log.unacked.insert(n);
    n
}

fn publishing(phase: &watch::Receiver<Phase>) -> bool {
    *phase.borrow() == Phase::Publish
}

/// Resolves once the phase is [`Phase::Stop`] (or nobody can change it).
async fn stop_asked(phase: &mut watch::Receiver<Phase>) {
    let _ = phase.wait_for(|p| *p == Phase::Stop).await;
}

async fn run(
    mut dialer: Dialer,
    clock: std::time::Instant,
    period: Duration,
    phase: watch::Receiver<Phase>,
    log: SharedLog<PublisherLog>,
) {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut since: Option<String> = None;
    let mut sent = BTreeSet::new();
    let mut stopping = phase.clone();
    loop {
        // Numbers keep coming while no node is reachable, as a user keeps typing.
        let link = {
            let dial =
                dialer.dial(since.as_deref(), |attempt| lock(&log).failed_attempts.push((clock.elapsed(), attempt)));
            tokio::pin!(dial);
            loop {
                tokio::select! {
                    link = &mut dial => break link,
                    _ = ticker.tick() => if publishing(&phase) { make(&log); },
                    () = stop_asked(&mut stopping) => return,
                }
            }
        };
        let connection = open_connection(&mut lock(&log).connections, &link, clock, since.clone());
        let mut session = Session { log: &log, link, greeted: false, retry: BTreeSet::new(), sent: &mut sent };
        let ended = loop {
            let step = tokio::select! {
                next = session.link.next() => match next {
                    Next::Event(event) => {
                        if event.is_greeting() {
                            dialer.connected();
                        }
                        if let Some(offset) = event.offset() {
                            since = Some(offset.to_owned());
                        }
                        session.event(event).await
                    }
                    Next::Garbled(problem) => {
                        lock(&log).problems.push(problem);
                        Ok(())
                    }
                    Next::Ended(ended) => break ended,
                },
                _ = ticker.tick() => {
                    session.tick(publishing(&phase)).await
                }
                () = stop_asked(&mut stopping) => {
                    session.link.close().await;
                    return;
                }
            };
            if let Err(problem) = step {
                // A failed write: the read side tells how the connection ended.
                break match session.link.next().await {
                    Next::Ended(ended) => ended,
                    _ => Ended { code: 1006, detail: format!("sending failed: {problem}") },
                };
            }
        };
        let log = &mut *lock(&log);
        if !record_end(&mut log.connections, &mut log.gave_up, connection, clock.elapsed(), ended) {
            return;
        }
    }
}
