//! The client side's threads: each runs its share of the connections on its own
//! single-threaded event loop (no work stealing, no cross-thread wake-ups), so
//! the load generator spends its CPU on sockets. The main thread steers them
//! through the run's phases.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};

use crate::ws::Endpoint;
use crate::{idle, load};

/// Time allowed for one connection's TCP connect and upgrade.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Time allowed, once the run stops, for the closing handshakes.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// Where the run is; every connection acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Phase {
    /// Connections are being opened.
    Opening,
    /// Load runs, not yet counted.
    Warmup,
    /// Load runs and is counted.
    Measuring,
    /// No new messages: finish what is in flight, then close.
    Stopping,
}

/// What the connections share with the main thread.
#[derive(Debug)]
pub(crate) struct Control {
    phase: AtomicU8,
    phase_changed: watch::Sender<Phase>,
    opened: AtomicUsize,
    failed_to_open: AtomicUsize,
    failed_later: AtomicUsize,
    finished: AtomicUsize,
    /// Each distinct error, with how many connections had it.
    errors: Mutex<BTreeMap<String, usize>>,
}

impl Control {
    pub(crate) fn new() -> Arc<Control> {
        Arc::new(Control {
            phase: AtomicU8::new(Phase::Opening as u8),
            phase_changed: watch::Sender::new(Phase::Opening),
            opened: AtomicUsize::new(0),
            failed_to_open: AtomicUsize::new(0),
            failed_later: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            errors: Mutex::new(BTreeMap::new()),
        })
    }

    /// The current phase: one atomic load, cheap enough for every message.
    pub(crate) fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Relaxed) {
            0 => Phase::Opening,
            1 => Phase::Warmup,
            2 => Phase::Measuring,
            _ => Phase::Stopping,
        }
    }

    pub(crate) fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
        self.phase_changed.send_replace(phase);
    }

    /// Resolves once the run has reached `phase` (or a later one).
    pub(crate) async fn reached(&self, phase: Phase) {
        let mut changes = self.phase_changed.subscribe();
        // The sender lives as long as `self`: waiting cannot fail.
        let _ = changes.wait_for(|current| *current >= phase).await;
    }

    /// Connections open (and, in idle-echo mode, echoed once) so far.
    pub(crate) fn opened(&self) -> usize {
        self.opened.load(Ordering::Relaxed)
    }

    /// Connections that could not be opened.
    pub(crate) fn failed_to_open(&self) -> usize {
        self.failed_to_open.load(Ordering::Relaxed)
    }

    /// Connections that broke after they were open.
    pub(crate) fn failed_later(&self) -> usize {
        self.failed_later.load(Ordering::Relaxed)
    }

    /// Connections whose task ended (closed, failed or never opened).
    pub(crate) fn finished(&self) -> usize {
        self.finished.load(Ordering::Relaxed)
    }

    /// Every distinct error and how often it happened, most frequent first.
    pub(crate) fn errors(&self) -> Vec<(String, usize)> {
        let errors = self.errors.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut list: Vec<_> = errors.iter().map(|(e, n)| (e.clone(), *n)).collect();
        list.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
        list
    }

    fn record_error(&self, context: &str, error: &io::Error) {
        let mut errors = self.errors.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *errors.entry(format!("{context}: {error}")).or_default() += 1;
    }
}

/// Marks a connection open; the session calls it once it is ready to be counted.
#[derive(Debug)]
pub(crate) struct Opened<'a> {
    control: &'a Control,
    done: Cell<bool>,
}

impl Opened<'_> {
    pub(crate) fn mark(&self) {
        if !self.done.replace(true) {
            self.control.opened.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What every connection of the run does once connected.
#[derive(Debug, Clone)]
pub(crate) enum Work {
    Load(Rc<load::Job>),
    Idle { echo_once: bool },
}

/// The shape of the client side.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) endpoint: Endpoint,
    pub(crate) conns: usize,
    pub(crate) threads: usize,
    /// Source addresses to bind, used in turn; empty: let the kernel choose.
    pub(crate) sources: Vec<IpAddr>,
    pub(crate) connect_concurrency: usize,
}

/// Starts the client threads; each returns what its connections recorded.
/// `work` is called once per thread (what it makes may not be `Send`).
pub(crate) fn start(
    plan: &Plan,
    control: &Arc<Control>,
    work: impl Fn() -> Work + Send + Clone + 'static,
) -> io::Result<Vec<JoinHandle<load::Recorder>>> {
    let per_thread_concurrency = plan.connect_concurrency.div_ceil(plan.threads).max(1);
    (0..plan.threads)
        .map(|thread| {
            let plan = plan.clone();
            let control = control.clone();
            let work = work.clone();
            std::thread::Builder::new().name(format!("client-{thread}")).spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a single-threaded tokio runtime");
                let local = tokio::task::LocalSet::new();
                let recorder = Rc::new(RefCell::new(load::Recorder::default()));
                let connecting = Rc::new(Semaphore::new(per_thread_concurrency));
                let plan = Rc::new(plan);
                let work = work();
                local.block_on(&runtime, async {
                    let tasks: Vec<_> = (thread..plan.conns)
                        .step_by(plan.threads)
                        .map(|index| {
                            tokio::task::spawn_local(connection(
                                index,
                                plan.clone(),
                                control.clone(),
                                connecting.clone(),
                                work.clone(),
                                recorder.clone(),
                            ))
                        })
                        .collect();
                    let all_done = async {
                        for task in tasks {
                            let _ = task.await;
                        }
                    };
                    let grace_over = async {
                        control.reached(Phase::Stopping).await;
                        tokio::time::sleep(CLOSE_GRACE).await;
                    };
                    // Connections still closing after the grace period are dropped
                    // with the task set.
                    tokio::select! {
                        () = all_done => {}
                        () = grace_over => {}
                    }
                });
                drop(local);
                Rc::try_unwrap(recorder).map(RefCell::into_inner).unwrap_or_default()
            })
        })
        .collect()
}

/// One connection's whole life: connect (bounded by the semaphore, so the
/// server's accept queue is not flooded), then the work; failures are recorded.
async fn connection(
    index: usize,
    plan: Rc<Plan>,
    control: Arc<Control>,
    connecting: Rc<Semaphore>,
    work: Work,
    recorder: Rc<RefCell<load::Recorder>>,
) {
    let source = (!plan.sources.is_empty()).then(|| plan.sources[index % plan.sources.len()]);
    let permit = connecting.acquire().await.expect("the semaphore is never closed");
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, crate::ws::connect(&plan.endpoint, source))
        .await
        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "connect and upgrade timed out")));
    drop(permit);
    match connected {
        Err(error) => {
            control.failed_to_open.fetch_add(1, Ordering::Relaxed);
            control.record_error("opening", &error);
        }
        Ok((stream, leftover)) => {
            let opened = Opened { control: &control, done: Cell::new(false) };
            let result = match &work {
                Work::Load(job) => load::session(index, stream, leftover, job, &control, &opened, &recorder).await,
                Work::Idle { echo_once } => idle::session(index, stream, leftover, *echo_once, &control, &opened).await,
            };
            if let Err(error) = result {
                if opened.done.get() {
                    control.failed_later.fetch_add(1, Ordering::Relaxed);
                    control.record_error("after opening", &error);
                } else {
                    control.failed_to_open.fetch_add(1, Ordering::Relaxed);
                    control.record_error("opening", &error);
                }
            }
        }
    }
    control.finished.fetch_add(1, Ordering::Relaxed);
}
