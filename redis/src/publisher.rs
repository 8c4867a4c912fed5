//! The outbox: publishes wait in one bounded queue and a single task sends them
//! to Redis, as many as have gathered in one pipeline per round trip.
//!
//! A publish therefore costs the publisher an enqueue, not a round trip to Redis,
//! and a busy node sends its messages in batches. One queue and one sender keep
//! the node's publishes in the order they were made, whichever task made them.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use wsboot_core::{Error, ErrorKind};

use crate::broker::Inner;
use crate::stats::Counters;

/// The most messages sent in one pipeline.
const MAX_BATCH: usize = 512;

/// A message on its way to Redis.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) channel: String,
    pub(crate) payload: Vec<u8>,
}

/// The sending side of the queue.
#[derive(Debug)]
pub(crate) struct Outbox {
    sender: mpsc::Sender<Outgoing>,
}

impl Outbox {
    /// A queue of `capacity` messages, and the receiving side for [`run`].
    pub(crate) fn new(capacity: usize) -> (Outbox, mpsc::Receiver<Outgoing>) {
        let (sender, receiver) = mpsc::channel(capacity);
        (Outbox { sender }, receiver)
    }

    /// Queues a message; waits at most the command timeout for room.
    pub(crate) async fn push(&self, inner: &Inner, message: Outgoing) -> Result<(), Error> {
        let message = match self.sender.try_send(message) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Closed(_)) => return Err(stopped()),
            Err(TrySendError::Full(message)) => message,
        };
        let limit = inner.settings.command_timeout;
        match tokio::time::timeout(limit, self.sender.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(stopped()),
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "the Redis publish queue ({} messages) stayed full for {limit:?}: Redis at {} is too slow",
                    inner.settings.publish_queue,
                    inner.settings.shown_url()
                ),
            )),
        }
    }
}

fn stopped() -> Error {
    Error::new(ErrorKind::Closed, "the Redis broker is stopped")
}

/// Sends queued messages until the broker stops, then flushes what is left.
pub(crate) async fn run(inner: Arc<Inner>, manager: ConnectionManager, mut queue: mpsc::Receiver<Outgoing>) {
    let mut stop = inner.stop.subscribe();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        tokio::select! {
            biased;
            received = queue.recv_many(&mut batch, MAX_BATCH) => {
                if received == 0 {
                    return;
                }
                send(&inner, &manager, &mut batch).await;
            }
            () = crate::broker::stopped(&mut stop) => break,
        }
    }
    // Stopping: what was published before the server shut down still goes out.
    queue.close();
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        send(&inner, &manager, &mut batch).await;
    }
}

/// Sends `batch` as one pipeline and empties it.
async fn send(inner: &Inner, manager: &ConnectionManager, batch: &mut Vec<Outgoing>) {
    if !inner.connected.load(Ordering::Acquire) {
        // Queued before the loss was noticed: sending them after Redis returns
        // would deliver stale messages, so they are dropped like any publish
        // made during the outage.
        Counters::add_many(&inner.stats.publish_failures, batch.len() as u64);
        batch.clear();
        return;
    }
    let mut pipeline = redis::pipe();
    for message in batch.iter() {
        pipeline.cmd("PUBLISH").arg(&message.channel).arg(&message.payload).ignore();
    }
    let count = batch.len() as u64;
    batch.clear();
    let mut manager = manager.clone();
    match inner.timed("publishing", pipeline.query_async::<()>(&mut manager)).await {
        Ok(()) => Counters::add_many(&inner.stats.published, count),
        Err(error) => {
            Counters::add_many(&inner.stats.publish_failures, count);
            tracing::warn!("{error}; {count} message(s) reached this node's sessions only");
        }
    }
}
