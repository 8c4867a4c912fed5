//! One chaos run: the nodes start, the members join (spread over the nodes),
//! the publisher publishes while the plan's node events happen, then it stops
//! publishing, waits for its acks, and the members get time to receive every
//! acked message before the counts are taken.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::client::{Client, Shared, lock};
use super::nodes::Cluster;
use super::protocol::{Identity, Rng};
use super::publisher::{Phase, Publisher};
use super::report::Report;

/// The publisher's nickname.
pub const PUBLISHER: &str = "publisher";

/// How long the members may take to join at the start.
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Something done to a node during the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// SIGKILL: a crash.
    Kill(usize),
    /// SIGTERM: a graceful stop.
    Terminate(usize),
    /// Start again on the same address.
    Restart(usize),
}

/// What a run does.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Chat nodes.
    pub nodes: usize,
    /// Members, spread over the nodes in turn.
    pub clients: usize,
    /// Messages the publisher makes per second.
    pub rate: f64,
    /// How long the publisher publishes.
    pub duration: Duration,
    /// The node the publisher starts on.
    pub publisher_node: usize,
    /// The node events, each at a time since publishing started.
    pub events: Vec<(Duration, Action)>,
    /// How long, after publishing, the publisher may take to get its acks and
    /// the members to receive every acked message.
    pub settle: Duration,
}

impl Plan {
    /// `rounds` rounds over `duration`; in round `r`, node `r` (modulo the
    /// count) is killed at 30 % of the round and node `r + 1` stopped at 60 %;
    /// with `restart` (forced when there are several rounds) each comes back
    /// 15 % of the round later. The publisher starts on the first node killed.
    /// With fewer than three nodes, only what leaves one running happens.
    pub fn rounds(nodes: usize, clients: usize, rate: f64, duration: Duration, rounds: u32, restart: bool) -> Plan {
        let rounds = rounds.max(1);
        let restart = restart || rounds > 1;
        let round = duration / rounds;
        let mut events = Vec::new();
        for r in 0..rounds {
            let start = round * r;
            let at = |fraction: f64| start + round.mul_f64(fraction);
            let (killed, stopped) = (r as usize % nodes.max(1), (r as usize + 1) % nodes.max(1));
            if nodes >= 2 {
                events.push((at(0.30), Action::Kill(killed)));
                if restart {
                    events.push((at(0.45), Action::Restart(killed)));
                }
            }
            if nodes >= 3 || (nodes == 2 && restart) {
                events.push((at(0.60), Action::Terminate(stopped)));
                if restart {
                    events.push((at(0.75), Action::Restart(stopped)));
                }
            }
        }
        Plan { nodes, clients, rate, duration, publisher_node: 0, events, settle: Duration::from_secs(20) }
    }
}

/// Runs `plan` with nodes of `node_binary` on the Redis at `redis_url`,
/// telling its progress through `progress`, and returns the counts.
///
/// # Errors
/// When the nodes cannot start or the members cannot join: no counts then.
pub async fn run(
    plan: &Plan,
    node_binary: &Path,
    redis_url: &str,
    mut progress: impl FnMut(&str),
) -> Result<Report, String> {
    let clock = Instant::now();
    let mut rng = Rng::new(u64::from(std::process::id()));
    let mut events: Vec<(Duration, String)> = Vec::new();
    let mut note = |events: &mut Vec<(Duration, String)>, text: String| {
        progress(&format!("[{:7.2}s] {text}", clock.elapsed().as_secs_f64()));
        events.push((clock.elapsed(), text));
    };

    let mut cluster = Cluster::start(node_binary, redis_url, plan.nodes).await?;
    let urls = Arc::new(cluster.urls());
    note(&mut events, format!("{} nodes up: {}", urls.len(), urls.join(" ")));

    let room = format!("chaos-{}", rng.token());
    let (stop, stop_signal) = watch::channel(false);
    let shared = Shared { urls: urls.clone(), clock, publisher: PUBLISHER.to_owned(), stop: stop_signal };
    let identity = |name: String, rng: &mut Rng| Identity { room: room.clone(), name, token: rng.token() };
    let clients: Vec<Client> = (0..plan.clients)
        .map(|i| {
            let who = identity(format!("c{i:02}"), &mut rng);
            Client::spawn(who, i % plan.nodes, shared.clone(), Rng::new(rng.next_u64()))
        })
        .collect();
    let deadline = Instant::now() + JOIN_TIMEOUT;
    while !clients.iter().all(Client::joined) {
        if Instant::now() >= deadline {
            let missing: Vec<String> =
                clients.iter().filter(|c| !c.joined()).map(|c| lock(c.log()).name.clone()).collect();
            cluster.keep_logs();
            return Err(format!("members not joined within {JOIN_TIMEOUT:?}: {}", missing.join(", ")));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    note(&mut events, format!("{} members joined room {room}", clients.len()));

    let (phase, phase_signal) = watch::channel(Phase::Publish);
    let who = identity(PUBLISHER.to_owned(), &mut rng);
    let publisher = Publisher::spawn(who, plan.publisher_node, shared.clone(), plan.rate, phase_signal, rng.clone());
    let started = Instant::now();
    let publishing_started = clock.elapsed();
    note(&mut events, format!("publishing {} messages/s from node {}", plan.rate, plan.publisher_node));

    let mut schedule = plan.events.clone();
    schedule.sort_by_key(|(at, _)| *at);
    for (at, action) in schedule {
        tokio::time::sleep_until((started + at).into()).await;
        let text = match action {
            Action::Kill(i) => match cluster.kill(i) {
                Ok(()) => format!("SIGKILL node {i}"),
                Err(e) => format!("SIGKILL node {i} FAILED: {e}"),
            },
            Action::Terminate(i) => {
                note(&mut events, format!("SIGTERM node {i}"));
                match cluster.terminate(i).await {
                    Ok(status) => format!("node {i} stopped: {status}"),
                    Err(e) => format!("node {i} stop FAILED: {e}"),
                }
            }
            Action::Restart(i) => match cluster.restart(i).await {
                Ok(()) => format!("node {i} restarted"),
                Err(e) => format!("node {i} restart FAILED: {e}"),
            },
        };
        note(&mut events, text);
    }
    tokio::time::sleep_until((started + plan.duration).into()).await;
    let _ = phase.send(Phase::Drain);
    note(&mut events, format!("publishing stopped after {} messages", lock(publisher.log()).made));

    let deadline = Instant::now() + plan.settle;
    while !lock(publisher.log()).unacked.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let acked: Vec<u64> = lock(publisher.log()).acked.keys().copied().collect();
    let complete = |client: &Client| {
        let log = lock(client.log());
        let seen: std::collections::HashSet<u64> = log.deliveries.iter().map(|d| d.number).collect();
        acked.iter().all(|n| seen.contains(n))
    };
    while !clients.iter().all(complete) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    note(&mut events, format!("settled: {} unacked", lock(publisher.log()).unacked.len()));

    let _ = phase.send(Phase::Stop);
    let _ = stop.send(true);
    let publisher = publisher.finish().await;
    let mut members = Vec::with_capacity(clients.len());
    for client in clients {
        members.push(client.finish().await);
    }
    let mut report = Report::new(&members, publisher, events, publishing_started);
    if !report.is_clean() {
        let dir = cluster.keep_logs().display().to_string();
        report.events.push((clock.elapsed(), format!("the nodes' logs are kept in {dir}")));
    }
    Ok(report)
}
