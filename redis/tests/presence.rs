//! Presence kept in Redis: every node lists the same members, a unique info is
//! decided once for the cluster, join and leave events reach every node's
//! observers, a restarted Redis gets the members back from the live sessions,
//! and messages to a user go only to the nodes that hold the user.
//!
//! A node killed with SIGKILL is the chat's test (`bench/tests/presence.rs`):
//! it needs node processes. Each test here starts its own `redis-server`;
//! where none is installed the tests say so and skip, except in CI.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use wsboot::test::TestClient;
use wsboot::{Hub, PresenceChange, PresenceEvent};

use support::{Node, RedisServer, eventually, redis_subscribers, test_broker};

const LIMIT: Duration = Duration::from_secs(10);

/// Every presence event a hub's observers saw, as `+info` (join) or `-info` (leave).
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn observe(hub: &Hub) -> Seen {
        let seen = Seen::default();
        let log = seen.0.clone();
        hub.on_presence(move |event: &PresenceEvent| {
            let sign = if event.change == PresenceChange::Join { '+' } else { '-' };
            log.lock().unwrap().push(format!("{sign}{}", event.member.info));
        });
        seen
    }

    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

async fn track(client: &mut TestClient, topic: &str, info: &str, owner: Option<&str>) -> String {
    let command = match owner {
        Some(owner) => format!("track {topic} {info} {owner}"),
        None => format!("track {topic} {info}"),
    };
    client.send_text(&command).await;
    client.recv_text().await
}

/// The infos of `topic`'s members; `None` while Redis cannot answer (the
/// first command after a restart fails, as the connection finds out).
async fn names(hub: &Hub, topic: &str) -> Option<Vec<String>> {
    Some(hub.presence(topic).await.ok()?.into_iter().map(|member| member.info).collect())
}

/// Waits until every hub lists exactly `expected` in `topic`, in that order.
async fn all_list(hubs: &[&Hub], topic: &str, expected: &[&str]) {
    for (index, hub) in hubs.iter().enumerate() {
        eventually(&format!("node {index} to list {expected:?}"), LIMIT, || async {
            names(hub, topic).await.is_some_and(|names| names == expected)
        })
        .await;
        assert_eq!(hub.presence_count(topic).await.unwrap(), expected.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_lists_the_same_members_and_a_name_is_unique_across_nodes() {
    let Some(redis) = RedisServer::start_or_skip("every_node_lists_the_same_members").await else { return };
    let nodes = [Node::start(&redis).await, Node::start(&redis).await, Node::start(&redis).await];
    let hubs: Vec<&Hub> = nodes.iter().map(Node::hub).collect();
    let seen: Vec<Seen> = hubs.iter().map(|hub| Seen::observe(hub)).collect();

    let mut ann = nodes[0].connect("u1").await;
    assert_eq!(track(&mut ann, "lobby", "ann", Some("tab-a")).await, "joined");
    let mut bob = nodes[1].connect("u2").await;
    assert_eq!(track(&mut bob, "lobby", "bob", None).await, "joined");
    let mut cy = nodes[2].connect("u3").await;
    assert_eq!(track(&mut cy, "lobby", "cy", None).await, "joined");
    all_list(&hubs, "lobby", &["ann", "bob", "cy"]).await;
    for (index, seen) in seen.iter().enumerate() {
        eventually(&format!("node {index} to see three joins"), LIMIT, || async { seen.events().len() == 3 }).await;
        assert_eq!(seen.events(), ["+ann", "+bob", "+cy"], "node {index}: in the order they joined");
    }
    assert_eq!(hubs[0].presence_here("lobby").len(), 1, "each node still knows its own");

    // `ann` is held on node 0: refused on node 1, without the owner's token or with another.
    let mut impostor = nodes[1].connect("u4").await;
    let holder = format!("{}/", nodes[0].broker.node_id());
    for owner in [None, Some("tab-z")] {
        let answer = track(&mut impostor, "lobby", "ann", owner).await;
        assert!(answer.starts_with(&format!("taken {holder}")), "{answer}");
    }
    // The same tab, back on node 2: it takes the name over, silently, and
    // keeps its place in the list.
    let mut ann_again = nodes[2].connect("u1").await;
    let answer = track(&mut ann_again, "lobby", "ann", Some("tab-a")).await;
    assert!(answer.starts_with(&format!("took {holder}")), "{answer}");
    eventually("node 0 to forget the member taken over", LIMIT, || async { hubs[0].presence_here("lobby").is_empty() })
        .await;
    all_list(&hubs, "lobby", &["ann", "bob", "cy"]).await;
    // Its old connection closing announces nothing: the member lives on elsewhere.
    drop(ann);

    // A session that closes leaves everywhere, and one can leave by itself.
    drop(bob);
    all_list(&hubs, "lobby", &["ann", "cy"]).await;
    cy.send_text("untrack lobby").await;
    assert_eq!(cy.recv_text().await, "untracked lobby");
    all_list(&hubs, "lobby", &["ann"]).await;
    for (index, seen) in seen.iter().enumerate() {
        eventually(&format!("node {index} to see two leaves"), LIMIT, || async { seen.events().len() == 5 }).await;
        assert_eq!(seen.events()[3..], ["-bob", "-cy"], "node {index}: no leave for the member taken over");
    }
    drop((cy, impostor, ann_again));
    for node in nodes {
        node.stop().await;
    }
}

/// A broker that beats every 250 ms.
async fn quick_presence(redis: &RedisServer) -> wsboot_redis::RedisBroker {
    test_broker(redis).presence_timeout(Duration::from_secs(1)).connect().await.expect("the broker connects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_redis_gets_the_members_back_from_the_live_sessions() {
    let Some(mut redis) = RedisServer::start_or_skip("a_restarted_redis_gets_the_members_back").await else { return };
    let a = Node::with_broker(quick_presence(&redis).await).await;
    let b = Node::with_broker(quick_presence(&redis).await).await;
    let seen = Seen::observe(a.hub());
    let mut ann = a.connect("u1").await;
    assert_eq!(track(&mut ann, "lobby", "ann", None).await, "joined");
    let mut bob = b.connect("u2").await;
    assert_eq!(track(&mut bob, "lobby", "bob", None).await, "joined");
    all_list(&[a.hub(), b.hub()], "lobby", &["ann", "bob"]).await;

    // Persistence is off: the restarted Redis is empty.
    redis.restart().await;
    all_list(&[a.hub(), b.hub()], "lobby", &["ann", "bob"]).await;
    assert!(a.broker.stats().presence_restores >= 1 && b.broker.stats().presence_restores >= 1);
    // The names are held again: nobody else can take them.
    let mut impostor = b.connect("u3").await;
    assert!(track(&mut impostor, "lobby", "ann", None).await.starts_with("taken "));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(seen.events(), ["+ann", "+bob"], "nobody left, nobody joined again");

    // A session that closed while Redis was away does not come back.
    drop(bob);
    all_list(&[a.hub(), b.hub()], "lobby", &["ann"]).await;
    drop((ann, impostor));
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_to_a_user_reach_only_the_nodes_that_hold_the_user() {
    let Some(redis) = RedisServer::start_or_skip("messages_to_a_user_reach_only_the_nodes").await else { return };
    let a = Node::start(&redis).await;
    let b = Node::start(&redis).await;
    let mut alice = [a.connect("alice").await, a.connect("alice").await];
    let mut sender_on_a = a.connect("sender").await;
    let channel = "wsboot:user:alice";
    eventually("node A to listen for alice", LIMIT, || async { redis_subscribers(&redis, channel).await == 1 }).await;

    const SENDS: usize = 1_000;
    let before = b.broker.stats();
    for i in 0..SENDS {
        sender_on_a.send_text(&format!("to alice m-{i}")).await;
    }
    for session in &mut alice {
        for i in 0..SENDS {
            assert_eq!(session.recv_text().await, format!("m-{i}"));
        }
    }
    let after = b.broker.stats();
    let reached_b = (after.received + after.own_skipped) - (before.received + before.own_skipped);
    println!("{SENDS} messages to a user whose sessions are all on node A: node B received {reached_b}");
    assert_eq!(reached_b, 0, "node B holds no session of alice");

    // From node B, they cross to node A.
    let mut sender_on_b = b.connect("other").await;
    sender_on_b.send_text("to alice from-b").await;
    for session in &mut alice {
        assert_eq!(session.recv_text().await, "from-b");
    }
    // Once alice's last session closed, node A stops listening.
    drop(alice);
    eventually("node A to stop listening for alice", LIMIT, || async { redis_subscribers(&redis, channel).await == 0 })
        .await;
    drop((sender_on_a, sender_on_b));
    a.stop().await;
    b.stop().await;
}
