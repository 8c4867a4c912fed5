//! Topic history in Redis: what [`RedisBroker`](crate::RedisBroker) does for
//! the topics whose history is on. Publications are recorded, trimmed and
//! published by one Lua script each (see [`scripts`]), so positions mean the
//! same on every node and pub/sub order is position order; what a node missed
//! of the live publications is read back from the stream ([`live`]).

mod live;
mod scripts;

use std::sync::atomic::Ordering;
use std::time::Duration;

use wsboot_core::{Error, ErrorKind, HistoryLimits, HistorySlice, Message, Position, Recorded};

pub(crate) use live::{Subscriptions, deliver, refill};

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

/// A kept publication as a script returns it: its offset and its envelope.
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

/// The publications `kept`, of the history with `epoch`.
fn publications(topic: &str, epoch: u64, kept: Kept) -> Result<Vec<(Position, Message)>, Error> {
    kept.into_iter()
        .map(|(offset, bytes)| match envelope::decode(&bytes) {
            Ok(envelope) => Ok((Position::new(epoch, offset), envelope.message)),
            Err(error) => Err(Error::new(
                ErrorKind::Io,
                format!("publication {offset} kept in Redis for topic `{topic}` is not a wsboot envelope: {error}"),
            )),
        })
        .collect()
}

/// Counts a failed history command.
fn failed<T>(inner: &Inner, result: Result<T, Error>) -> Result<T, Error> {
    if result.is_err() {
        Counters::add(&inner.stats.history_failures);
    }
    result
}

/// Records `message` on `topic` and publishes it, with its position, to every
/// node (this one included): the work of the `PUBLISH` script. Waits for
/// Redis' answer, at most the command timeout. Needs the publishing connection
/// only: while just the subscribing one is being restored, publications are
/// still recorded, and reach this node's sessions from the history once it is.
pub(crate) async fn record(
    inner: &Inner,
    topic: &str,
    message: &Message,
    key: Option<&str>,
    limits: &HistoryLimits,
) -> Result<Recorded, Error> {
    let result = async {
        let envelope = envelope::encode(inner.node, message);
        let bytes = (message.len() + key.map_or(0, str::len)).to_string();
        let epoch = candidate_epoch();
        let [max_messages, max_bytes, max_age, ttl] = limit_args(limits);
        let channel = inner.channels.topic(topic);
        let keyed: &[u8] = if key.is_some() { b"1" } else { b"0" };
        let args: [&[u8]; 10] = [
            epoch.as_bytes(),
            &envelope,
            bytes.as_bytes(),
            keyed,
            key.unwrap_or_default().as_bytes(),
            max_messages.as_bytes(),
            max_bytes.as_bytes(),
            max_age.as_bytes(),
            ttl.as_bytes(),
            channel.as_bytes(),
        ];
        let mut connection = inner.publisher().await?.clone();
        let keys = inner.channels.history(topic);
        let doing = format!("recording a publication to topic `{topic}` (it was not sent)");
        let (epoch, offset, duplicate): (String, u64, u8) =
            inner.timed(&doing, scripts::PUBLISH.run(&mut connection, &keys, &args)).await?;
        Ok(Recorded::new(Position::new(parse_epoch(topic, &epoch)?, offset), duplicate == 1, 0))
    }
    .await;
    let recorded = failed(inner, result)?;
    Counters::add(if recorded.duplicate { &inner.stats.duplicates } else { &inner.stats.recorded });
    Ok(recorded)
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
        Ok(HistorySlice::new(publications(topic, epoch, kept)?, recovered == 1, top))
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
        Ok(Some((epoch, publications(topic, epoch, kept)?)))
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
            let [hash, _] = inner.channels.history(topic);
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
