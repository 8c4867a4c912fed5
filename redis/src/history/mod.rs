//! Topic history in Redis: what [`RedisBroker`](crate::RedisBroker) does for
//! the topics whose history is on. Publications are recorded, trimmed and
//! published by one Lua script each (see [`scripts`]), so positions mean the
//! same on every node and pub/sub order is position order; what a node missed
//! of the live publications is read back from the stream ([`live`]).

mod live;
mod recorder;
mod scripts;

use std::sync::atomic::Ordering;
use std::time::Duration;

use wsboot_core::{Error, ErrorKind, HistoryLimits, HistorySlice, Message, Position, Recorded};

pub(crate) use live::{Subscriptions, deliver, refill};
pub(crate) use recorder::{Recorder, run as run_recorder};

use crate::broker::Inner;
use crate::envelope;
use crate::stats::Counters;

/// How much longer than `max_age` a topic's hash (its epoch, its latest
/// offset) outlives its last publication or read, as in `MemoryHistory`: a
/// client back after a quiet spell still resumes, with nothing to replay,
/// instead of being told its position is lost.
const IDLE_TOPIC_KEPT: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest time to live given to Redis (about a century), however long `max_age`.
const LONGEST_TTL_MS: u128 = 100 * 365 * 24 * 60 * 60 * 1000;

/// How many topics one pipeline asks about.
const BATCH: usize = 256;

/// Kept publications as a script returns them: entries of the stream, each
/// the offset of its first publication and their envelopes (see [`scripts`]).
type Kept = Vec<(u64, Vec<u8>)>;

fn millis(duration: Duration) -> String {
    duration.as_millis().clamp(1, LONGEST_TTL_MS).to_string()
}

/// The script arguments for `limits`: max_messages, max_bytes, max_age and
/// the hash's time to live.
fn limit_args(limits: &HistoryLimits) -> [String; 4] {
    [
        limits.max_messages.to_string(),
        limits.max_bytes.to_string(),
        millis(limits.max_age),
        millis(limits.max_age.saturating_add(IDLE_TOPIC_KEPT)),
    ]
}

/// The epoch of a new history, should the script need one.
fn candidate_epoch() -> String {
    envelope::epoch_text(Position::random_epoch())
}

fn parse_epoch(topic: &str, text: &str) -> Result<u64, Error> {
    envelope::parse_epoch(text.as_bytes()).ok_or_else(|| {
        Error::new(ErrorKind::Io, format!("the history of topic `{topic}` in Redis has an invalid epoch {text:?}"))
    })
}

/// The publications in the entries `kept`, of the history with `epoch`, after
/// offset `since` (an entry may hold earlier ones too).
fn publications(topic: &str, epoch: u64, kept: Kept, since: u64) -> Result<Vec<(Position, Message)>, Error> {
    let mut out = Vec::new();
    for (first, envelopes) in kept {
        let run = envelope::decode_run(Position::new(epoch, first), &envelopes).map_err(|error| {
            Error::new(
                ErrorKind::Io,
                format!(
                    "publications from {first} kept in Redis for topic `{topic}` are not wsboot envelopes: {error}"
                ),
            )
        })?;
        out.extend(
            run.into_iter()
                .filter(|(position, _)| position.offset() > since)
                .map(|(position, envelope)| (position, envelope.message)),
        );
    }
    Ok(out)
}

/// Counts a failed history command.
fn failed<T>(inner: &Inner, result: Result<T, Error>) -> Result<T, Error> {
    if result.is_err() {
        Counters::add(&inner.stats.history_failures);
    }
    result
}

/// A publication as the `PUBLISH` script takes it.
#[derive(Debug)]
pub(crate) struct Publication {
    /// Its version-1 envelope after its length (as a stream entry holds it).
    envelope: Vec<u8>,
    /// What it counts against `max_bytes`: its payload and its key.
    bytes: String,
    key: Option<String>,
}

/// Records `message` on `topic` and publishes it, with its position, to every
/// node (this one included): the work of the `PUBLISH` script, through the
/// broker's [`Recorder`] once it is started. Waits for Redis' answer. Needs
/// the publishing connection only: while just the subscribing one is being
/// restored, publications are still recorded, and reach this node's sessions
/// from the history once it is.
pub(crate) async fn record(
    inner: &Inner,
    topic: &str,
    message: &Message,
    key: Option<&str>,
    limits: &HistoryLimits,
) -> Result<Recorded, Error> {
    let publication = Publication {
        envelope: envelope::encode_in_run(inner.node, message),
        bytes: (message.len() + key.map_or(0, str::len)).to_string(),
        key: key.map(str::to_owned),
    };
    match inner.recorder.get() {
        Some(recorder) => recorder.record(inner, topic, limits, publication).await,
        None => Ok(record_now(inner, topic, limits, &[&publication]).await?.remove(0)),
    }
}

/// Records `publications` of `topic`, in order, in one script call, and
/// counts them.
pub(crate) async fn record_now(
    inner: &Inner,
    topic: &str,
    limits: &HistoryLimits,
    publications: &[&Publication],
) -> Result<Vec<Recorded>, Error> {
    let result = async {
        let epoch = candidate_epoch();
        let [max_messages, max_bytes, max_age, ttl] = limit_args(limits);
        let channel = inner.channels.topic(topic);
        let mut args: Vec<&[u8]> = Vec::with_capacity(6 + 4 * publications.len());
        args.extend([
            epoch.as_bytes(),
            max_messages.as_bytes(),
            max_bytes.as_bytes(),
            max_age.as_bytes(),
            ttl.as_bytes(),
            channel.as_bytes(),
        ]);
        for publication in publications {
            let (keyed, key): (&[u8], &[u8]) = match &publication.key {
                Some(key) => (b"1", key.as_bytes()),
                None => (b"0", b""),
            };
            args.extend([publication.envelope.as_slice(), publication.bytes.as_bytes(), keyed, key]);
        }
        let mut connection = inner.publisher().await?.clone();
        let keys = inner.channels.history(topic);
        let doing = match publications.len() {
            1 => format!("recording a publication to topic `{topic}` (it was not sent)"),
            n => format!("recording {n} publications to topic `{topic}` (they were not sent)"),
        };
        let (epoch, records): (String, Vec<u64>) =
            inner.timed(&doing, scripts::PUBLISH.run(&mut connection, &keys, &args)).await?;
        let epoch = parse_epoch(topic, &epoch)?;
        if records.len() != 2 * publications.len() {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "Redis answered {} values for {} publications recorded to topic `{topic}`",
                    records.len(),
                    publications.len()
                ),
            ));
        }
        Ok(records
            .chunks_exact(2)
            .map(|pair| Recorded::new(Position::new(epoch, pair[0]), pair[1] == 1, 0))
            .collect::<Vec<_>>())
    }
    .await;
    let records = failed(inner, result)?;
    let duplicates = records.iter().filter(|recorded| recorded.duplicate).count() as u64;
    Counters::add_many(&inner.stats.duplicates, duplicates);
    Counters::add_many(&inner.stats.recorded, records.len() as u64 - duplicates);
    Ok(records)
}

/// The publications of `topic` after `since`, with the coverage rules of
/// `MemoryHistory`: the work of the `READ` script. Resolves once this node
/// has delivered the publications up to the latest position it read (see
/// [`live`]). Fails at once while the subscribing connection is down: a
/// session resuming then could not be sure to receive what follows.
pub(crate) async fn read(
    inner: &Inner,
    topic: &str,
    since: Option<Position>,
    limits: &HistoryLimits,
) -> Result<HistorySlice, Error> {
    Counters::add(&inner.stats.history_reads);
    let result = async {
        if !inner.connected.load(Ordering::Acquire) {
            return Err(inner.unavailable(&format!("cannot read the history of topic `{topic}`")));
        }
        let epoch = candidate_epoch();
        let (since_epoch, since_offset) = match since {
            Some(since) => (envelope::epoch_text(since.epoch()), since.offset().to_string()),
            None => (String::new(), "0".to_owned()),
        };
        let [max_messages, max_bytes, max_age, ttl] = limit_args(limits);
        let args: [&[u8]; 7] = [
            epoch.as_bytes(),
            since_epoch.as_bytes(),
            since_offset.as_bytes(),
            max_messages.as_bytes(),
            max_bytes.as_bytes(),
            max_age.as_bytes(),
            ttl.as_bytes(),
        ];
        let mut connection = inner.publisher().await?.clone();
        let keys = inner.channels.history(topic);
        let doing = format!("reading the history of topic `{topic}`");
        let (epoch, top, recovered, kept): (String, u64, u8, Kept) =
            inner.timed(&doing, scripts::READ.run(&mut connection, &keys, &args)).await?;
        let epoch = parse_epoch(topic, &epoch)?;
        let top = Position::new(epoch, top);
        // Whoever replays this slice and then goes live must not get one of
        // its publications again from pub/sub, later.
        if !inner.subscriptions.caught_up(topic, top, inner.settings.command_timeout).await {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "the publications of topic `{topic}` up to {top} did not reach this node within {:?} \
                     (Redis at {})",
                    inner.settings.command_timeout,
                    inner.settings.shown_url()
                ),
            ));
        }
        let since = since.map_or(0, |since| since.offset());
        Ok(HistorySlice::new(publications(topic, epoch, kept, since)?, recovered == 1, top))
    }
    .await;
    failed(inner, result)
}

/// What this node missed of `topic` after `since`: the history's epoch and
/// its kept publications after `since`, or all of them when the epoch is not
/// `since`'s (or there is no `since`); `None` when the topic has no history.
/// The work of the `AFTER` script.
pub(crate) async fn after(
    inner: &Inner,
    topic: &str,
    since: Option<Position>,
) -> Result<Option<(u64, Vec<(Position, Message)>)>, Error> {
    let result = async {
        let (since_epoch, since_offset) = match since {
            Some(since) => (envelope::epoch_text(since.epoch()), since.offset().to_string()),
            None => (String::new(), "0".to_owned()),
        };
        let args: [&[u8]; 2] = [since_epoch.as_bytes(), since_offset.as_bytes()];
        let mut connection = inner.publisher().await?.clone();
        let keys = inner.channels.history(topic);
        let doing = format!("reading what this node missed of topic `{topic}`");
        let (epoch, kept): (String, Kept) =
            inner.timed(&doing, scripts::AFTER.run(&mut connection, &keys, &args)).await?;
        if epoch.is_empty() {
            return Ok(None);
        }
        let epoch = parse_epoch(topic, &epoch)?;
        // All of them in another epoch: what this node delivered was of a lost history.
        let from = since.filter(|since| since.epoch() == epoch).map_or(0, |since| since.offset());
        Ok(Some((epoch, publications(topic, epoch, kept, from)?)))
    }
    .await;
    failed(inner, result)
}

/// The latest position of each of `topics` (`None` for a topic without
/// history), in one round trip per [`BATCH`] topics.
pub(crate) async fn latest(inner: &Inner, topics: &[String]) -> Result<Vec<Option<Position>>, Error> {
    let mut positions = Vec::with_capacity(topics.len());
    for batch in topics.chunks(BATCH) {
        let mut pipeline = redis::pipe();
        for topic in batch {
            let [hash, ..] = inner.channels.history(topic);
            pipeline.cmd("HMGET").arg(hash).arg("epoch").arg("top");
        }
        let mut connection = inner.publisher().await?.clone();
        let replies: Vec<(Option<String>, Option<u64>)> =
            inner.timed("reading the latest positions of topics", pipeline.query_async(&mut connection)).await?;
        for ((epoch, top), topic) in replies.into_iter().zip(batch) {
            let position = match (epoch, top) {
                (Some(epoch), Some(top)) => Some(Position::new(parse_epoch(topic, &epoch)?, top)),
                _ => None,
            };
            positions.push(position);
        }
    }
    Ok(positions)
}
