//! Several wsboot nodes sharing one real `redis-server`, with real WebSocket
//! clients on each: topics and per-user messages cross nodes exactly once and in
//! order, unsubscribing stops them, and a Redis restart is survived.
//!
//! Each test starts its own `redis-server` (see `support/redis_server.rs`); where
//! none is installed the tests say so and skip, except in CI, where they fail.

mod support;

use std::time::Duration;

use wsboot::test::{TestClient, within};
use wsboot::{CloseStatus, ErrorKind, Message, Server};
use wsboot_redis::RedisBroker;

use support::{Node, RedisServer, eventually, redis_command, redis_subscribers, subscribe, unsubscribe};

/// How long a node may take to notice Redis is gone, or back.
const RECONNECT_LIMIT: Duration = Duration::from_secs(20);

/// Reads `count` texts from `client`.
async fn texts(client: &mut TestClient, count: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(client.recv_text().await);
    }
    out
}

/// Checks that `received` holds each of `publishers`' messages `P-0..P-{n-1}`
/// exactly once and in order per publisher.
fn assert_once_in_order(who: &str, received: &[String], publishers: &[&str], per_publisher: usize) {
    for publisher in publishers {
        let own: Vec<&String> = received.iter().filter(|m| m.starts_with(&format!("{publisher}-"))).collect();
        let expected: Vec<String> = (0..per_publisher).map(|i| format!("{publisher}-{i}")).collect();
        assert_eq!(own.len(), per_publisher, "{who}: every message of {publisher} exactly once");
        assert!(own.iter().zip(&expected).all(|(a, b)| *a == b), "{who}: {publisher}'s messages in order: {own:?}");
    }
    assert_eq!(received.len(), publishers.len() * per_publisher, "{who}: nothing else: {received:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_reaches_every_subscriber_on_every_node_once_and_in_order() {
    let Some(redis) = RedisServer::start_or_skip("a_publish_reaches_every_subscriber_on_every_node").await else {
        return;
    };
    let (a, b, c) = (Node::start(&redis).await, Node::start(&redis).await, Node::start(&redis).await);
    assert_ne!(a.broker.node_id(), b.broker.node_id(), "every node draws its own id");

    let mut a1 = a.connect("a1").await;
    let mut a2 = a.connect("a2").await;
    let mut b1 = b.connect("b1").await;
    let mut c1 = c.connect("c1").await;
    let mut publisher = b.connect("p").await;
    for client in [&mut a1, &mut a2, &mut b1, &mut c1] {
        subscribe(client, "lobby").await;
    }
    assert_eq!(
        redis_subscribers(&redis, "wsboot:topic:lobby").await,
        3,
        "one Redis subscription per node, however many local subscribers"
    );

    // Two publishers on two nodes at once: `p` on B (not subscribed) and `c1` on C
    // (a subscriber itself, so it gets its own messages locally, once).
    const N: usize = 100;
    for i in 0..N {
        publisher.send_text(&format!("pub lobby p-{i}")).await;
        c1.send_text(&format!("pub lobby c-{i}")).await;
    }
    let subscribers = [("a1", &mut a1), ("a2", &mut a2), ("b1", &mut b1), ("c1", &mut c1)];
    for (who, client) in subscribers {
        let received = texts(client, 2 * N).await;
        assert_once_in_order(who, &received, &["p", "c"], N);
    }

    // Duplicates would trail the originals through Redis. A marker from another
    // node comes after everything Redis sent before it, so each node's next
    // message must be the marker: one from A (for B and C), then one from B (for A).
    a1.send_text("pub lobby end-a").await;
    for client in [&mut a1, &mut a2, &mut b1, &mut c1] {
        assert_eq!(client.recv_text().await, "end-a", "no duplicate before the marker from A");
    }
    publisher.send_text("pub lobby end-b").await;
    for client in [&mut a1, &mut a2, &mut b1, &mut c1] {
        assert_eq!(client.recv_text().await, "end-b", "no duplicate before the marker from B");
    }

    // Binary payloads stay binary and intact, every byte value included.
    for client in [&mut a1, &mut b1, &mut c1] {
        subscribe(client, "binary").await;
    }
    let payload: Vec<u8> = (0..=255u8).rev().collect();
    publisher.send(Message::binary(payload.clone())).await;
    for client in [&mut a1, &mut b1, &mut c1] {
        assert_eq!(client.recv().await, Message::binary(payload.clone()));
    }

    let stats = b.broker.stats();
    assert!(stats.connected && stats.published >= N as u64, "{stats:?}");
    assert!(stats.own_skipped >= N as u64, "node B saw its own publishes come back and skipped them: {stats:?}");
    assert_eq!(stats.errors(), 0, "{stats:?}");
    assert_eq!(a.hub().stats().broker_errors, 0);
    drop((a1, a2, b1, c1, publisher));
    for node in [a, b, c] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribing_and_closing_stop_cross_node_delivery() {
    let Some(redis) = RedisServer::start_or_skip("unsubscribing_and_closing_stop_cross_node_delivery").await else {
        return;
    };
    let (a, b) = (Node::start(&redis).await, Node::start(&redis).await);
    let mut a1 = a.connect("a1").await;
    let mut a2 = a.connect("a2").await;
    let mut b1 = b.connect("b1").await;
    let mut b2 = b.connect("b2").await;
    subscribe(&mut a1, "lobby").await;
    subscribe(&mut a1, "control").await;
    subscribe(&mut a2, "lobby").await;
    subscribe(&mut b2, "lobby").await;

    b1.send_text("pub lobby one").await;
    for client in [&mut a1, &mut a2, &mut b2] {
        assert_eq!(client.recv_text().await, "one");
    }

    // a1 leaves the topic; a2 keeps node A subscribed.
    unsubscribe(&mut a1, "lobby").await;
    assert_eq!(redis_subscribers(&redis, "wsboot:topic:lobby").await, 2, "node A still has a subscriber");
    b1.send_text("pub lobby two").await;
    b1.send_text("pub control check-1").await;
    assert_eq!(a1.recv_text().await, "check-1", "a1 no longer gets the topic, and gets the later message");
    assert_eq!(a2.recv_text().await, "two");
    assert_eq!(b2.recv_text().await, "two");

    // a2, node A's last subscriber, closes: node A unsubscribes from Redis.
    a2.close(CloseStatus::NORMAL).await;
    eventually("node A to unsubscribe from Redis", Duration::from_secs(10), || async {
        redis_subscribers(&redis, "wsboot:topic:lobby").await == 1
    })
    .await;
    assert!(a.hub().subscribers("lobby").is_empty());
    b1.send_text("pub lobby three").await;
    b1.send_text("pub control check-2").await;
    assert_eq!(a1.recv_text().await, "check-2", "nothing of the topic reaches node A any more");
    assert_eq!(b2.recv_text().await, "three");

    // Subscribing again brings the topic back.
    subscribe(&mut a1, "lobby").await;
    b1.send_text("pub lobby four").await;
    assert_eq!(a1.recv_text().await, "four");
    assert_eq!(b2.recv_text().await, "four");
    drop((a1, b1, b2));
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_to_user_reaches_the_users_sessions_on_every_node() {
    let Some(redis) = RedisServer::start_or_skip("send_to_user_reaches_the_users_sessions_on_every_node").await else {
        return;
    };
    let (a, b, c) = (Node::start(&redis).await, Node::start(&redis).await, Node::start(&redis).await);
    let mut alice_a = a.connect("alice").await;
    let mut alice_b = b.connect("alice").await;
    let mut carol_a = a.connect("carol").await;
    let mut bob_c = c.connect("bob").await;
    eventually("the sessions to register", Duration::from_secs(10), || async {
        a.hub().user_sessions("alice").len() == 1 && b.hub().user_sessions("alice").len() == 1
    })
    .await;

    bob_c.send_text("to alice hello from C").await;
    assert_eq!(alice_a.recv_text().await, "hello from C");
    assert_eq!(alice_b.recv_text().await, "hello from C");

    // From one of alice's own nodes: the local session gets it from the hub, the
    // remote one through Redis; neither twice.
    alice_a.send_text("to alice note to self").await;
    assert_eq!(alice_a.recv_text().await, "note to self");
    assert_eq!(alice_b.recv_text().await, "note to self");

    // Markers from a third node: if anything had been duplicated, or had reached
    // carol, it would come before them.
    bob_c.send_text("to alice marker").await;
    bob_c.send_text("to carol marker").await;
    assert_eq!(alice_a.recv_text().await, "marker");
    assert_eq!(alice_b.recv_text().await, "marker");
    assert_eq!(carol_a.recv_text().await, "marker", "carol got nothing meant for alice");

    // A user with no session on any node: nothing to deliver, and no error.
    bob_c.send_text("to nobody hello?").await;
    assert_eq!(c.broker.stats().errors(), 0);
    drop((alice_a, alice_b, carol_a, bob_c));
    for node in [a, b, c] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_resumes_after_redis_restarts() {
    let Some(mut redis) = RedisServer::start_or_skip("delivery_resumes_after_redis_restarts").await else {
        return;
    };
    let (a, b) = (Node::start(&redis).await, Node::start(&redis).await);
    let mut alice = a.connect("alice").await;
    let mut bob = b.connect("bob").await;
    subscribe(&mut alice, "lobby").await;
    subscribe(&mut bob, "lobby").await;
    bob.send_text("pub lobby before").await;
    assert_eq!(alice.recv_text().await, "before");
    assert_eq!(bob.recv_text().await, "before");

    // Redis crashes.
    redis.kill();
    eventually("both nodes to notice Redis is gone", RECONNECT_LIMIT, || async {
        !a.broker.is_connected() && !b.broker.is_connected()
    })
    .await;

    // Local delivery goes on; the other node misses the message (documented).
    let errors_before = b.hub().stats().broker_errors;
    bob.send_text("pub lobby during").await;
    assert_eq!(bob.recv_text().await, "during", "local subscribers still get publishes");
    eventually("the failed publish to be counted", Duration::from_secs(10), || async {
        b.hub().stats().broker_errors > errors_before
    })
    .await;
    assert!(b.broker.stats().publish_failures >= 1);

    // A topic first subscribed during the outage is subscribed once Redis is back.
    let mut alice_news = a.connect("alice").await;
    subscribe(&mut alice_news, "news").await;

    // Redis comes back on the same port; the nodes are not restarted.
    redis.restart().await;
    eventually("both nodes to reconnect", RECONNECT_LIMIT, || async {
        a.broker.is_connected() && b.broker.is_connected()
    })
    .await;
    assert_eq!(redis_subscribers(&redis, "wsboot:topic:lobby").await, 2, "lobby resubscribed on both nodes");
    assert_eq!(redis_subscribers(&redis, "wsboot:topic:news").await, 1, "news subscribed on node A");

    bob.send_text("pub lobby after").await;
    assert_eq!(alice.recv_text().await, "after", "delivery resumed; the outage's message is lost");
    assert_eq!(bob.recv_text().await, "after");
    bob.send_text("pub news extra").await;
    assert_eq!(alice_news.recv_text().await, "extra");
    bob.send_text("to alice welcome back").await;
    assert_eq!(alice.recv_text().await, "welcome back", "the user channels are back too");
    assert_eq!(alice_news.recv_text().await, "welcome back");

    let stats = a.broker.stats();
    assert!(stats.disconnects >= 1 && stats.reconnects >= 1 && stats.connected, "{stats:?}");
    drop((alice, alice_news, bob));
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_subscriber_connection_is_restored() {
    let Some(redis) = RedisServer::start_or_skip("a_killed_subscriber_connection_is_restored").await else {
        return;
    };
    let (a, b) = (Node::start(&redis).await, Node::start(&redis).await);
    let mut alice = a.connect("alice").await;
    let mut bob = b.connect("bob").await;
    subscribe(&mut alice, "lobby").await;

    // Redis stays up but drops every subscribing connection (as a proxy or
    // `CLIENT KILL` by an operator would).
    let killed = redis_command(&redis, &["CLIENT", "KILL", "TYPE", "pubsub"]).await;
    assert_eq!(killed, 2, "one subscribing connection per node");
    eventually("both nodes to resubscribe", RECONNECT_LIMIT, || async {
        a.broker.stats().reconnects >= 1
            && b.broker.stats().reconnects >= 1
            && redis_subscribers(&redis, "wsboot:topic:lobby").await == 1
    })
    .await;

    bob.send_text("pub lobby still here").await;
    assert_eq!(alice.recv_text().await, "still here");
    bob.send_text("to alice and you").await;
    assert_eq!(alice.recv_text().await, "and you");
    drop((alice, bob));
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_is_detected_and_survived() {
    let Some(redis) = RedisServer::start_or_skip("a_frozen_redis_is_detected_and_survived").await else {
        return;
    };
    let (a, b) = (Node::start(&redis).await, Node::start(&redis).await);
    let mut alice = a.connect("alice").await;
    let mut bob = b.connect("bob").await;
    subscribe(&mut alice, "lobby").await;
    subscribe(&mut bob, "lobby").await;

    // No socket closes: only the health check's unanswered PING tells.
    redis.freeze();
    eventually("the health check to notice the silence", RECONNECT_LIMIT, || async {
        !a.broker.is_connected() && !b.broker.is_connected()
    })
    .await;
    bob.send_text("pub lobby local only").await;
    assert_eq!(bob.recv_text().await, "local only", "local delivery goes on");

    redis.thaw();
    eventually("both nodes to reconnect", RECONNECT_LIMIT, || async {
        a.broker.is_connected() && b.broker.is_connected()
    })
    .await;
    bob.send_text("pub lobby thawed").await;
    assert_eq!(alice.recv_text().await, "thawed", "the outage's message was lost, the next one arrives");
    assert_eq!(bob.recv_text().await, "thawed");
    drop((alice, bob));
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn redis_down_at_start_is_a_clear_error() {
    // Needs no redis-server: nothing listens on this port.
    let port = support::redis_server::free_port();
    let url = format!("redis://127.0.0.1:{port}/");

    let err = within("connecting to nothing", RedisBroker::connect(url.as_str())).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Io | ErrorKind::Timeout), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("cannot connect to Redis") && message.contains(&url), "{message}");

    // A broker built without connecting fails the server's start instead.
    let broker = RedisBroker::builder(url.as_str()).build().expect("the settings are valid");
    let binding = Server::builder().registry(wsboot::HandlerRegistry::new()).broker(broker).bind("127.0.0.1:0");
    let err = within("binding with an unreachable Redis", binding).await.unwrap_err();
    assert!(err.to_string().contains(&url), "{err}");

    // A wrong URL says what a right one looks like; a password never shows.
    let err = RedisBroker::builder("http://user:hunter2@127.0.0.1/").build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("expected redis://"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}
