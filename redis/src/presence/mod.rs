//! Presence in Redis: what [`RedisBroker`](crate::RedisBroker) does for
//! `Hub::presence` and `Session::track_presence` across nodes.
//!
//! - A topic's members live in a hash, its unique infos in another, so every
//!   node lists the same members and a unique info (a nickname) is decided
//!   once for the cluster, by a script ([`scripts`]).
//! - Join and leave events go out on one channel that every node listens to;
//!   a node hands every event, its own members' included, to the hub's
//!   observers, in the order Redis made the changes.
//! - Every node beats every quarter of the presence timeout. A node silent for
//!   longer (killed, frozen, cut off) is reaped by the next node to beat: its
//!   members leave, with leave events, and it is marked reaped.
//! - A node that finds itself unknown when it beats re-records its members
//!   from the hub's own list: silently when Redis lost its data (a restart
//!   without persistence: nobody saw them leave), with join events when it had
//!   been reaped (everybody saw them leave). Sessions that closed meanwhile are
//!   no longer in the hub's list, so nothing stale comes back.

mod record;
mod scripts;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::ConnectionManager;
use wsboot_core::{Error, ErrorKind, Member, Presence, RemoteDelivery, Tracked};

use crate::broker::Inner;
use crate::script::Script;
use crate::stats::Counters;

/// Where this node's presence stands with Redis.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Whether this node has beaten at least once: a node unknown to Redis
    /// after that was forgotten (Redis lost its data) or reaped.
    beaten: AtomicBool,
}

/// How often a node beats: a quarter of the timeout.
fn beat_interval(inner: &Inner) -> Duration {
    inner.settings.presence_timeout / 4
}

/// The member's entry in its node's set: its session, then its topic.
fn entry(topic: &str, member: &Member) -> String {
    format!("{} {topic}", member.session)
}

fn failed<T>(inner: &Inner, result: Result<T, Error>) -> Result<T, Error> {
    if result.is_err() {
        Counters::add(&inner.stats.presence_failures);
    }
    result
}

async fn run<T: redis::FromRedisValue>(
    inner: &Inner,
    script: &Script,
    keys: &[String],
    args: &[&str],
    doing: &str,
) -> Result<T, Error> {
    let mut connection: ConnectionManager = inner.publisher().await?.clone();
    let args: Vec<&[u8]> = args.iter().map(|arg| arg.as_bytes()).collect();
    inner.timed(doing, script.run(&mut connection, keys, &args)).await
}

/// How a member is recorded.
#[derive(Debug, Clone, Copy)]
enum How {
    /// It joins now.
    New,
    /// It is recorded again (Redis forgot it, or counted its node gone):
    /// it keeps its joining time, and a join event goes out if `announce`.
    Again { announce: bool },
}

/// Records `member` in `topic` (see `Broker::track`).
pub(crate) async fn track(inner: &Inner, topic: &str, member: &Member, presence: &Presence) -> Result<Tracked, Error> {
    failed(inner, track_as(inner, topic, member, presence, How::New).await)
}

async fn track_as(
    inner: &Inner,
    topic: &str,
    member: &Member,
    presence: &Presence,
    how: How,
) -> Result<Tracked, Error> {
    let node = inner.node.to_string();
    let [members, names, clock] = inner.channels.presence(topic);
    let [node_members, nodes] = inner.channels.node(&node);
    let id = record::member_id(&node, member.session);
    let stored = record::encode(member);
    let entry = entry(topic, member);
    let (has_owner, owner) = match presence.owner_token() {
        Some(token) => ("1", token),
        None => ("0", ""),
    };
    let args = [
        inner.channels.prefix(),
        topic,
        &id,
        &stored,
        &entry,
        if presence.is_unique() { "1" } else { "0" },
        presence.info(),
        has_owner,
        owner,
        inner.channels.presence_events(),
        match how {
            How::New => "0",
            How::Again { announce: false } => "1",
            How::Again { announce: true } => "2",
        },
        &node,
    ];
    let doing = format!("recording a presence in topic `{topic}`");
    let (outcome, other): (String, String) =
        run(inner, &scripts::TRACK, &[members, names, node_members, nodes, clock], &args, &doing).await?;
    let other = || {
        record::decode(&other).ok_or_else(|| {
            Error::new(ErrorKind::Io, format!("a presence member of topic `{topic}` in Redis is not readable"))
        })
    };
    match outcome.as_str() {
        "joined" => Ok(Tracked::Joined),
        "took" => Ok(Tracked::TookOver(other()?)),
        "taken" => Ok(Tracked::Taken(other()?)),
        _ => Err(Error::new(ErrorKind::Io, format!("Redis answered `{outcome}` to a presence in topic `{topic}`"))),
    }
}

/// Removes `member` from `topic` and announces its leave (see `Broker::untrack`).
pub(crate) async fn untrack(inner: &Inner, topic: &str, member: &Member) -> Result<(), Error> {
    let node = inner.node.to_string();
    let [members, ..] = inner.channels.presence(topic);
    let [node_members, _] = inner.channels.node(&node);
    let id = record::member_id(&node, member.session);
    let entry = entry(topic, member);
    let args = [inner.channels.prefix(), topic, &id, &entry, inner.channels.presence_events()];
    let doing = format!("removing a presence from topic `{topic}`");
    failed(inner, run::<u8>(inner, &scripts::UNTRACK, &[members, node_members], &args, &doing).await.map(|_| ()))
}

/// The members of `topic` on every node.
pub(crate) async fn members(inner: &Inner, topic: &str) -> Result<Vec<Member>, Error> {
    let result = async {
        let [members, ..] = inner.channels.presence(topic);
        let mut connection = inner.publisher().await?.clone();
        let doing = format!("listing the presence of topic `{topic}`");
        let stored: Vec<String> =
            inner.timed(&doing, redis::cmd("HVALS").arg(members).query_async(&mut connection)).await?;
        Ok(stored.iter().filter_map(|text| record::decode(text)).collect())
    };
    failed(inner, result.await)
}

/// How many members `topic` has on every node.
pub(crate) async fn count(inner: &Inner, topic: &str) -> Result<usize, Error> {
    let result = async {
        let [members, ..] = inner.channels.presence(topic);
        let mut connection = inner.publisher().await?.clone();
        let doing = format!("counting the presence of topic `{topic}`");
        inner.timed(&doing, redis::cmd("HLEN").arg(members).query_async(&mut connection)).await
    };
    failed(inner, result.await)
}

/// Beats, reaps the silent nodes, and restores this node's members if Redis
/// forgot them or had reaped this node.
pub(crate) async fn beat(inner: &Inner) -> Result<(), Error> {
    let node = inner.node.to_string();
    let [_, nodes] = inner.channels.node(&node);
    let timeout = inner.settings.presence_timeout.as_millis().to_string();
    let args = [inner.channels.prefix(), node.as_str(), &timeout, inner.channels.presence_events()];
    let beaten = run(inner, &scripts::BEAT, &[nodes], &args, "beating (presence)").await;
    let (status, reaped, removed): (String, u64, u64) = failed(inner, beaten)?;
    if reaped > 0 {
        Counters::add_many(&inner.stats.nodes_reaped, reaped);
        tracing::info!(nodes = reaped, members = removed, "nodes silent past the presence timeout: their members left");
    }
    let restore = match status.as_str() {
        "reaped" => Some(false),
        "unknown" => Some(true).filter(|_| inner.presence.beaten.load(Ordering::Acquire)),
        _ => None,
    };
    inner.presence.beaten.store(true, Ordering::Release);
    if let (Some(silent), Some(delivery)) = (restore, inner.delivery.get()) {
        restore_members(inner, delivery, silent).await;
    }
    Ok(())
}

/// Records every member of this node again: `silent`ly after Redis lost them,
/// with join events after this node was reaped.
async fn restore_members(inner: &Inner, delivery: &RemoteDelivery, silent: bool) {
    let here = delivery.presence_of_this_node();
    Counters::add(&inner.stats.presence_restores);
    tracing::warn!(
        members = here.len(),
        "{}: recording this node's presence members again",
        if silent {
            "Redis lost the presence data (restarted without persistence?)"
        } else {
            "this node was counted gone (silent past the presence timeout)"
        }
    );
    for (topic, member, presence) in here {
        match track_as(inner, &topic, &member, &presence, How::Again { announce: !silent }).await {
            Ok(Tracked::Taken(holder)) => tracing::warn!(
                topic,
                info = member.info,
                holder = %holder.node,
                "a member's unique info was taken while this node was gone; it is no longer listed"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(topic, "{error}; a member of this node is not listed"),
        }
    }
}

/// Takes this node out of the heartbeats as it stops, with whatever members
/// it still has (none, once every session closed).
pub(crate) async fn leave(inner: &Inner) -> Result<(), Error> {
    let node = inner.node.to_string();
    let [_, nodes] = inner.channels.node(&node);
    let args = [inner.channels.prefix(), node.as_str(), inner.channels.presence_events()];
    let left: u64 = run(inner, &scripts::LEAVE, &[nodes], &args, "leaving the heartbeats").await?;
    if left > 0 {
        tracing::debug!(members = left, "members still listed as the node stopped left");
    }
    Ok(())
}

/// Beats every quarter of the presence timeout until the broker stops.
pub(crate) async fn run_heartbeat(inner: Arc<Inner>) {
    let mut stop = inner.stop.subscribe();
    let interval = beat_interval(&inner);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                if let Err(error) = beat(&inner).await {
                    tracing::warn!("{error}; this node's presence may be counted gone if this goes on");
                }
            }
            () = crate::broker::stopped(&mut stop) => return,
        }
    }
}

/// Hands an event from the presence channel to the hub.
pub(crate) fn dispatch(inner: &Inner, delivery: &RemoteDelivery, payload: &[u8]) {
    match record::decode_event(payload) {
        Some(record::Event::Change(event)) => {
            Counters::add(&inner.stats.presence_events);
            delivery.presence_event(&event);
        }
        Some(record::Event::TakenOver { topic, member }) => {
            if member.node == inner.node.to_string() {
                delivery.forget_presence(&topic, member.session);
            }
        }
        None => {
            Counters::add(&inner.stats.malformed);
            tracing::warn!("dropped a presence event that is not one");
        }
    }
}
