//! Presence across chat nodes, the hard way: three `chaos-node` processes (the
//! chat's server) on one Redis, with a 2 s presence timeout. A member on each
//! node sees the others in its member list; a name is unique across nodes;
//! node 1 is killed with SIGKILL, and its member leaves everywhere within
//! the bound (2.5 s after its last heartbeat, measured here from the kill);
//! started again, the node brings nobody back.
//!
//! Needs `redis-server`; skipped without it, except in CI (`CI` set).

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wsboot_bench::chaos::RedisServer;
use wsboot_bench::chaos::nodes::Cluster;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The presence timeout the nodes run with, in seconds.
const TIMEOUT: &str = "2";
/// The longest a killed node's members may stay listed: the timeout, a
/// quarter of it until the next beat, and room for a busy machine.
const LEAVE_BOUND: Duration = Duration::from_millis(2_500 + 2_000);

async fn join(url: &str, room: &str, name: &str, client: &str) -> Socket {
    let url = format!("{url}/chat/{room}?name={name}&client={client}");
    let (socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.expect("the chat node accepts");
    socket
}

/// The next chat event, as JSON, without its offset.
async fn event(socket: &mut Socket) -> serde_json::Value {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("an event within 10 s");
        match next {
            Some(Ok(Message::Text(text))) => {
                let mut value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                value.as_object_mut().expect("an object").remove("offset");
                return value;
            }
            Some(Ok(_)) => {}
            other => panic!("the connection ended: {other:?}"),
        }
    }
}

fn members(users: &[&str]) -> serde_json::Value {
    serde_json::json!({"type": "members", "users": users})
}

fn notice(kind: &str, user: &str) -> serde_json::Value {
    serde_json::json!({"type": kind, "user": user})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_members_leave_every_node_within_the_bound() {
    let redis = match RedisServer::start_or_skip("the presence test").await {
        Ok(Some(redis)) => redis,
        Ok(None) => return,
        Err(problem) => panic!("{problem}"),
    };
    let node = Path::new(env!("CARGO_BIN_EXE_chaos-node"));
    let mut cluster =
        Cluster::start_with(node, &redis.url(), 3, &["--presence-timeout", TIMEOUT]).await.expect("three nodes start");
    let urls = cluster.urls();

    // A member on each node: each one's list holds those before it, whatever node.
    let mut ann = join(&urls[0], "lobby", "ann", "tab-a").await;
    assert_eq!(event(&mut ann).await, members(&["ann"]));
    let mut bob = join(&urls[1], "lobby", "bob", "tab-b").await;
    assert_eq!(event(&mut bob).await, members(&["ann", "bob"]));
    assert_eq!(event(&mut ann).await, notice("join", "bob"));
    let mut cy = join(&urls[2], "lobby", "cy", "tab-c").await;
    assert_eq!(event(&mut cy).await, members(&["ann", "bob", "cy"]));
    for socket in [&mut ann, &mut bob] {
        assert_eq!(event(socket).await, notice("join", "cy"));
    }

    // `bob` is taken on node 1: node 2 refuses it to another client.
    let mut other_bob = join(&urls[2], "lobby", "bob", "tab-x").await;
    let refused = event(&mut other_bob).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert!(refused["reason"].as_str().unwrap().contains("already taken"), "{refused}");

    // Node 1 crashes: no goodbye, no close frame.
    let killed = Instant::now();
    cluster.kill(1).expect("node 1 is running");
    for (who, socket) in [("ann", &mut ann), ("cy", &mut cy)] {
        assert_eq!(event(socket).await, notice("leave", "bob"), "{who}");
        let after = killed.elapsed();
        println!("{who} saw bob leave {after:?} after the kill");
        assert!(after <= LEAVE_BOUND, "{who} saw the leave only after {after:?}");
    }
    // Once, whichever nodes noticed: the next event is a new member's join.
    let mut dan = join(&urls[0], "lobby", "dan", "tab-d").await;
    assert_eq!(event(&mut dan).await, members(&["ann", "cy", "dan"]));
    for socket in [&mut ann, &mut cy] {
        assert_eq!(event(socket).await, notice("join", "dan"));
    }

    // Node 1 back: nobody comes back with it, and bob's name is free.
    cluster.restart(1).await.expect("node 1 restarts");
    let mut new_bob = join(&urls[1], "lobby", "bob", "tab-y").await;
    assert_eq!(event(&mut new_bob).await, members(&["ann", "cy", "dan", "bob"]));
    for socket in [&mut ann, &mut cy, &mut dan] {
        assert_eq!(event(socket).await, notice("join", "bob"));
    }
    for socket in [ann, cy, dan, new_bob, other_bob] {
        drop(socket);
    }
    drop(cluster);
}
