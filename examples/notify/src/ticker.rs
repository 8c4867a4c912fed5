//! The [`ticker`] background task and its [`Heartbeat`] bean.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use wsboot::AppContext;

/// The topic every session is subscribed to, and the ticker publishes on.
pub const HEARTBEAT_TOPIC: &str = "heartbeat";

/// The ticker's period (a bean), and what it has done: how many heartbeats it
/// sent, and whether it is running.
#[derive(Debug)]
pub struct Heartbeat {
    every: Duration,
    beats: AtomicU64,
    running: AtomicBool,
}

impl Heartbeat {
    /// A heartbeat every `every`.
    pub fn every(every: Duration) -> Heartbeat {
        Heartbeat { every, beats: AtomicU64::new(0), running: AtomicBool::new(false) }
    }

    /// From the `--heartbeat-ms` option: milliseconds above 0, 1000 if absent.
    pub fn from_option(millis: Option<&str>) -> Result<Heartbeat, String> {
        let millis = match millis {
            None => 1000,
            Some(n) => n
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("--heartbeat-ms takes a whole number above 0, not `{n}`"))?,
        };
        Ok(Heartbeat::every(Duration::from_millis(millis)))
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.every
    }

    /// How many heartbeats were published.
    pub fn beats(&self) -> u64 {
        self.beats.load(Ordering::SeqCst)
    }

    /// Whether the ticker is running: from its start until the server
    /// stopped it.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }
}

/// Marks the ticker stopped however its future ends: returned, or dropped by
/// the server at shutdown.
struct Running<'a>(&'a Heartbeat);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::SeqCst);
    }
}

/// Publishes `heartbeat N` on [`HEARTBEAT_TOPIC`] every [`Heartbeat::period`],
/// until the server shuts down: `App::background("ticker", ticker)`.
pub async fn ticker(context: AppContext) {
    let heartbeat = match context.require::<Heartbeat>() {
        Ok(heartbeat) => heartbeat,
        Err(e) => {
            eprintln!("ticker not started: {e}");
            return;
        }
    };
    heartbeat.running.store(true, Ordering::SeqCst);
    let _running = Running(&heartbeat);
    let mut every = wsboot::time::interval(heartbeat.every);
    // The first tick of an interval completes at once: the first beat comes
    // one period after the start, as the later ones do.
    every.tick().await;
    loop {
        every.tick().await;
        let n = heartbeat.beats.fetch_add(1, Ordering::SeqCst) + 1;
        // Without history a publish cannot fail: a broker error only means the
        // other nodes miss this beat, and the hub logs it.
        let _ = context.hub().publish(HEARTBEAT_TOPIC, format!("heartbeat {n}")).await;
    }
}
