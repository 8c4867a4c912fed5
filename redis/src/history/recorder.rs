//! The recording queue: publishes to topics with history wait in one bounded
//! queue, and a single task records what has gathered, one `PUBLISH` script
//! call per topic, while the previous batch is with Redis.
//!
//! A recorded publish has to wait for Redis (its caller gets the position),
//! and a script call per publication made Redis, not the network, the limit:
//! each call reads the history's state, and writes and expires it again.
//! Batches share that work, and share stream entries and pub/sub messages
//! (see [`scripts`](super::scripts)), so the more publishers wait, the cheaper
//! each publication gets. Publishes that a task makes one after the other are
//! recorded in that order; publishes made at the same time by different tasks
//! get positions in the order Redis runs their calls.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use wsboot_core::{Error, ErrorKind, HistoryLimits, Recorded};

use super::Publication;
use crate::broker::Inner;

/// The most publications taken from the queue at once.
const MAX_BATCH: usize = 512;

/// The most bytes of envelopes in one script call: a call blocks Redis for
/// its length, so a flood of large messages is recorded in several.
const MAX_CALL_BYTES: usize = 1 << 20;

/// A publication waiting to be recorded, and who waits for its position.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) topic: String,
    pub(crate) limits: HistoryLimits,
    pub(crate) publication: Publication,
    /// Past this, it is not recorded: its caller has an error instead.
    deadline: Instant,
    reply: oneshot::Sender<Result<Recorded, Error>>,
}

/// The sending side of the queue.
#[derive(Debug)]
pub(crate) struct Recorder {
    sender: mpsc::Sender<Pending>,
}

impl Recorder {
    /// A queue of `capacity` publications, and the receiving side for [`run`].
    pub(crate) fn new(capacity: usize) -> (Recorder, mpsc::Receiver<Pending>) {
        let (sender, receiver) = mpsc::channel(capacity);
        (Recorder { sender }, receiver)
    }

    /// Queues `publication` and waits for its record. Waits at most the
    /// command timeout for room in the queue; a publication still queued
    /// twice that long after it was made is not recorded, and fails (no timer
    /// per publication: the recorder checks the deadline, and every call it
    /// makes is timed).
    pub(crate) async fn record(
        &self,
        inner: &Inner,
        topic: &str,
        limits: &HistoryLimits,
        publication: Publication,
    ) -> Result<Recorded, Error> {
        let (reply, recorded) = oneshot::channel();
        let limit = inner.settings.command_timeout;
        let deadline = Instant::now() + limit * 2;
        let pending = Pending { topic: topic.to_owned(), limits: *limits, publication, deadline, reply };
        match self.sender.try_send(pending) {
            Ok(()) => {}
            Err(TrySendError::Closed(_)) => return Err(stopped()),
            Err(TrySendError::Full(pending)) => match tokio::time::timeout(limit, self.sender.send(pending)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(stopped()),
                Err(_) => return Err(too_slow(inner, topic, "the recording queue stayed full", limit)),
            },
        }
        match recorded.await {
            Ok(result) => result,
            Err(_) => Err(stopped()),
        }
    }
}

fn stopped() -> Error {
    Error::new(ErrorKind::Closed, "the Redis broker is stopped")
}

fn too_slow(inner: &Inner, topic: &str, what: &str, limit: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!(
            "recording a publication to topic `{topic}`: {what} for {limit:?}; it was not recorded: \
             Redis at {} is too slow",
            inner.settings.shown_url()
        ),
    )
}

/// Records queued publications until the broker stops, then what is left.
/// One batch at a time: what gathers while a batch is with Redis makes the
/// next, so batches grow with the load (two at a time made them smaller, and
/// Redis' cost per call larger).
pub(crate) async fn run(inner: Arc<Inner>, mut queue: mpsc::Receiver<Pending>) {
    let mut stop = inner.stop.subscribe();
    loop {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        tokio::select! {
            biased;
            received = queue.recv_many(&mut batch, MAX_BATCH) => {
                if received == 0 {
                    return;
                }
                record_batch(&inner, batch).await;
            }
            () = crate::broker::stopped(&mut stop) => break,
        }
    }
    // Stopping: what was published before the server shut down is still recorded.
    queue.close();
    loop {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if queue.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        record_batch(&inner, batch).await;
    }
}

/// Records `batch`: one group per topic, in queue order, the groups side by
/// side.
async fn record_batch(inner: &Inner, batch: Vec<Pending>) {
    let now = Instant::now();
    let mut groups: Vec<Vec<Pending>> = Vec::new();
    for pending in batch {
        if pending.deadline < now {
            let limit = inner.settings.command_timeout * 2;
            let error = too_slow(inner, &pending.topic, "it waited in the recording queue", limit);
            let _ = pending.reply.send(Err(error));
            continue;
        }
        match groups.iter_mut().find(|group| group[0].topic == pending.topic) {
            Some(group) => group.push(pending),
            None => groups.push(vec![pending]),
        }
    }
    futures_util::future::join_all(groups.into_iter().map(|group| record_group(inner, group))).await;
}

/// Records the publications of one topic, in order: one script call per
/// [`MAX_CALL_BYTES`] of envelopes, each once the one before has answered.
async fn record_group(inner: &Inner, group: Vec<Pending>) {
    let mut group = group.into_iter().peekable();
    while group.peek().is_some() {
        let mut call = Vec::new();
        let mut bytes = 0;
        while let Some(pending) =
            group.next_if(|p| call.is_empty() || bytes + p.publication.envelope.len() <= MAX_CALL_BYTES)
        {
            bytes += pending.publication.envelope.len();
            call.push(pending);
        }
        record_call(inner, call).await;
    }
}

async fn record_call(inner: &Inner, call: Vec<Pending>) {
    let publications: Vec<&Publication> = call.iter().map(|pending| &pending.publication).collect();
    let result = super::record_now(inner, &call[0].topic, &call[0].limits, &publications).await;
    match result {
        Ok(records) => {
            for (pending, recorded) in call.into_iter().zip(records) {
                // A caller that stopped waiting has its publication recorded all the same.
                let _ = pending.reply.send(Ok(recorded));
            }
        }
        Err(error) => {
            for pending in call {
                let _ = pending.reply.send(Err(Error::new(error.kind(), error.to_string())));
            }
        }
    }
}
