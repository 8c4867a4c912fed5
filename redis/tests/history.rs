//! Topic history kept in Redis and shared by every node: positions, resuming
//! from a position (on any node, while publishes go on), the history's bounds,
//! idempotent publishes, and what survives a node restart, a Redis restart and
//! a dropped subscribing connection.
//!
//! Each test starts its own `redis-server` (see `support/redis_server.rs`);
//! where none is installed the tests say so and skip, except in CI, where they
//! fail.

mod support;

use std::time::Duration;

use wsboot::test::TestClient;
use wsboot::{Message, Position, TopicHistory};

use support::{Node, RedisServer, eventually, redis_command, subscribe};

/// How long a node may take to notice Redis is gone, or back.
const RECONNECT_LIMIT: Duration = Duration::from_secs(20);

/// History for the topics matching `pattern`, each delivery stamped
/// `POSITION TEXT` so that the tests see positions.
fn stamped(pattern: &str) -> TopicHistory {
    TopicHistory::new(pattern).stamp(|position, message| match message.as_text() {
        Some(text) => Message::text(format!("{position} {text}")),
        None => message.clone(),
    })
}

/// Reads a `published POS` answer.
async fn published(client: &mut TestClient) -> Position {
    let answer = client.recv_text().await;
    let position = answer.strip_prefix("published ").unwrap_or_else(|| panic!("expected `published POS`: {answer:?}"));
    position.parse().expect("a position")
}

/// Publishes `text` on `topic` and returns its position.
async fn publish(client: &mut TestClient, topic: &str, text: &str) -> Position {
    client.send_text(&format!("pub {topic} {text}")).await;
    published(client).await
}

fn parse_delivery(text: &str) -> (Position, String) {
    let (position, body) = text.split_once(' ').unwrap_or_else(|| panic!("expected `POS TEXT`: {text:?}"));
    (position.parse().unwrap_or_else(|_| panic!("expected `POS TEXT`: {text:?}")), body.to_owned())
}

/// The next publication delivered: its position and text.
async fn delivery(client: &mut TestClient) -> (Position, String) {
    parse_delivery(&client.recv_text().await)
}

/// The next `count` publications delivered.
async fn deliveries(client: &mut TestClient, count: usize) -> Vec<(Position, String)> {
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(delivery(client).await);
    }
    out
}

/// What a `resume` answered.
#[derive(Debug)]
struct Resumed {
    replayed: Vec<(Position, String)>,
    recovered: bool,
    position: Position,
}

/// Resumes `topic` from `since` (`None`: no position) and reads the replay.
async fn resume(client: &mut TestClient, topic: &str, since: Option<Position>) -> Resumed {
    let since = since.map_or_else(|| "-".to_owned(), |position| position.to_string());
    client.send_text(&format!("resume {topic} {since}")).await;
    let mut replayed = Vec::new();
    loop {
        let text = client.recv_text().await;
        let Some(rest) = text.strip_prefix(&format!("resumed {topic} ")) else {
            replayed.push(parse_delivery(&text));
            continue;
        };
        let (recovered, position) = rest.split_once(' ').expect("recovered=BOOL position=POS");
        let position = position.strip_prefix("position=").expect("position=POS").parse().expect("a position");
        return Resumed { replayed, recovered: recovered == "recovered=true", position };
    }
}

/// Checks that `got` holds `texts`, in order, at consecutive positions after `after`.
fn assert_follows(who: &str, got: &[(Position, String)], after: Position, texts: &[String]) {
    let received: Vec<&str> = got.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(received, texts, "{who}: every publication once, in order");
    let mut expected = after;
    for (position, text) in got {
        expected = expected.next();
        assert_eq!(*position, expected, "{who}: {text} at the next position");
    }
}

fn numbered(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_are_the_same_on_every_node_and_count_up_by_one() {
    let Some(redis) = RedisServer::start_or_skip("positions_are_the_same_on_every_node").await else { return };
    let histories = [stamped("room*")];
    let a = Node::start_with_history(&redis, &histories).await;
    let b = Node::start_with_history(&redis, &histories).await;
    let c = Node::start_with_history(&redis, &histories).await;
    let mut on_a = a.connect("sa").await;
    let mut on_c = c.connect("sc").await;
    for client in [&mut on_a, &mut on_c] {
        subscribe(client, "room").await;
        subscribe(client, "lobby").await;
    }
    let mut publisher_a = a.connect("pa").await;
    let mut publisher_b = b.connect("pb").await;

    // Publishers on two nodes, taking turns: one sequence of positions.
    let mut positions = Vec::new();
    for i in 0..20 {
        let publisher = if i % 2 == 0 { &mut publisher_a } else { &mut publisher_b };
        positions.push(publish(publisher, "room", &format!("m-{i}")).await);
    }
    assert_eq!(positions[0].offset(), 1, "the topic's first publication");
    let before_first = Position::new(positions[0].epoch(), 0);
    for (who, client) in [("a", &mut on_a), ("c", &mut on_c)] {
        // Node A's subscriber gets node A's publications from Redis too, once.
        let got = deliveries(client, 20).await;
        assert_follows(who, &got, before_first, &numbered("m", 0..20));
        assert_eq!(got.iter().map(|(p, _)| *p).collect::<Vec<_>>(), positions, "{who}: the publishers' positions");
    }

    // A topic without history is as before: no position, no answer.
    publisher_a.send_text("pub lobby plain").await;
    for client in [&mut on_a, &mut on_c] {
        assert_eq!(client.recv_text().await, "plain");
    }

    let stats = a.broker.stats();
    assert_eq!((stats.recorded, stats.duplicates), (10, 0), "{stats:?}");
    assert!(stats.received >= 20, "node A delivered every publication, its own included: {stats:?}");
    assert_eq!(stats.errors(), 0, "{stats:?}");
    drop((on_a, on_c, publisher_a, publisher_b));
    for node in [a, b, c] {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_resumes_on_the_same_node_and_on_another() {
    let Some(redis) = RedisServer::start_or_skip("a_session_resumes_on_the_same_node_and_on_another").await else {
        return;
    };
    let histories = [stamped("room*")];
    let a = Node::start_with_history(&redis, &histories).await;
    let b = Node::start_with_history(&redis, &histories).await;
    let mut publisher = b.connect("p").await;

    // A first visit: no position to resume from.
    let mut first = a.connect("x").await;
    let start = resume(&mut first, "room", None).await;
    assert!(!start.recovered && start.replayed.is_empty());
    assert_eq!(start.position.offset(), 0, "the history exists, empty");
    for text in ["one", "two", "three"] {
        publish(&mut publisher, "room", text).await;
    }
    let seen = deliveries(&mut first, 3).await;
    assert_follows("first visit", &seen, start.position, &["one".into(), "two".into(), "three".into()]);
    let kept = seen[2].0;
    drop(first);

    // Away for a while; then back on the same node.
    for text in ["four", "five", "six"] {
        publish(&mut publisher, "room", text).await;
    }
    let mut again = a.connect("x").await;
    let resumed = resume(&mut again, "room", Some(kept)).await;
    assert!(resumed.recovered);
    assert_follows("same node", &resumed.replayed, kept, &["four".into(), "five".into(), "six".into()]);
    assert_eq!(resumed.position, resumed.replayed[2].0);
    let seven = publish(&mut publisher, "room", "seven").await;
    assert_eq!(delivery(&mut again).await, (seven, "seven".to_owned()), "live after the replay");

    // Back on another node (the publisher's), from the same position.
    let mut elsewhere = b.connect("x").await;
    let resumed = resume(&mut elsewhere, "room", Some(kept)).await;
    assert!(resumed.recovered);
    assert_follows("other node", &resumed.replayed, kept, &numbered_words(&["four", "five", "six", "seven"]));

    // At the latest position: recovered, nothing to replay.
    let mut current = a.connect("y").await;
    let resumed = resume(&mut current, "room", Some(seven)).await;
    assert!(resumed.recovered && resumed.replayed.is_empty());
    assert_eq!(resumed.position, seven);
    assert!(a.broker.stats().history_reads >= 3);
    drop((again, elsewhere, current, publisher));
    a.stop().await;
    b.stop().await;
}

fn numbered_words(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_while_publishes_go_on_leaves_no_gap_and_no_duplicate() {
    let Some(redis) = RedisServer::start_or_skip("resuming_while_publishes_go_on").await else { return };
    let histories = [stamped("room*")];
    let a = Node::start_with_history(&redis, &histories).await;
    let b = Node::start_with_history(&redis, &histories).await;
    let mut watcher = a.connect("w").await;
    subscribe(&mut watcher, "room").await;

    const N: usize = 300;
    let mut publisher = b.connect("p").await;
    let publishing = tokio::spawn(async move {
        for i in 0..N {
            publish(&mut publisher, "room", &format!("n-{i}")).await;
        }
        publisher
    });
    // The first 50 seen, two sessions resume from the 50th, on either node,
    // while the publisher goes on.
    let seen = deliveries(&mut watcher, 50).await;
    let from = seen[49].0;
    let mut on_a = a.connect("ra").await;
    let mut on_b = b.connect("rb").await;
    let (resumed_a, resumed_b) =
        tokio::join!(resume(&mut on_a, "room", Some(from)), resume(&mut on_b, "room", Some(from)));
    for (who, client, resumed) in [("node A", &mut on_a, resumed_a), ("node B", &mut on_b, resumed_b)] {
        assert!(resumed.recovered, "{who}");
        let mut got = resumed.replayed;
        let rest = N - 50 - got.len();
        got.extend(deliveries(client, rest).await);
        assert_follows(who, &got, from, &numbered("n", 50..N));
    }
    let mut publisher = publishing.await.expect("the publisher finished");
    // Nothing trails: the next delivery is a marker published after.
    let end = publish(&mut publisher, "room", "end").await;
    for client in [&mut on_a, &mut on_b] {
        assert_eq!(delivery(client).await, (end, "end".to_owned()));
    }
    let rest = deliveries(&mut watcher, N - 50 + 1).await;
    assert_follows("watcher", &rest, from, &[numbered("n", 50..N), vec!["end".to_owned()]].concat());
    drop((watcher, on_a, on_b, publisher));
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_the_history_no_longer_covers_are_not_recovered() {
    let Some(redis) = RedisServer::start_or_skip("positions_the_history_no_longer_covers").await else { return };
    let histories = [
        stamped("small").max_messages(3),
        stamped("tiny").max_bytes(5),
        stamped("short").max_age(Duration::from_millis(300)),
    ];
    let a = Node::start_with_history(&redis, &histories).await;
    let mut publisher = a.connect("p").await;
    let reader = |name: &'static str| a.connect(name);

    // Count: five published, the last three kept.
    let mut positions = Vec::new();
    for i in 1..=5 {
        positions.push(publish(&mut publisher, "small", &format!("s-{i}")).await);
    }
    assert_eq!(redis_command(&redis, &["XLEN", "wsboot:stream:small"]).await, 3);
    let trimmed = resume(&mut reader("r1").await, "small", Some(positions[0])).await;
    assert!(!trimmed.recovered && trimmed.replayed.is_empty(), "s-2 was trimmed: {trimmed:?}");
    assert_eq!(trimmed.position, positions[4], "live from the latest position");
    let kept = resume(&mut reader("r2").await, "small", Some(positions[1])).await;
    assert!(kept.recovered);
    assert_follows("count", &kept.replayed, positions[1], &numbered("s", 3..6));
    let epoch = positions[0].epoch();
    let other_epoch = resume(&mut reader("r3").await, "small", Some(Position::new(epoch ^ 1, 4))).await;
    assert!(!other_epoch.recovered && other_epoch.replayed.is_empty());
    let future = resume(&mut reader("r4").await, "small", Some(Position::new(epoch, 99))).await;
    assert!(!future.recovered && future.replayed.is_empty());

    // Bytes: "abc" and "de" fill 5; "f" pushes "abc" out.
    let abc = publish(&mut publisher, "tiny", "abc").await;
    publish(&mut publisher, "tiny", "de").await;
    publish(&mut publisher, "tiny", "f").await;
    assert_eq!(redis_command(&redis, &["HGET", "wsboot:history:tiny", "bytes"]).await, 3);
    let before_abc = Position::new(abc.epoch(), 0);
    assert!(!resume(&mut reader("r5").await, "tiny", Some(before_abc)).await.recovered);
    let after_abc = resume(&mut reader("r6").await, "tiny", Some(abc)).await;
    assert!(after_abc.recovered);
    assert_follows("bytes", &after_abc.replayed, abc, &numbered_words(&["de", "f"]));

    // Age: the only publication expires; its position, the latest, still resumes.
    let start = resume(&mut reader("r7").await, "short", None).await.position;
    publisher.send_text("pubkey short k-old old").await;
    let old = published(&mut publisher).await;
    let stream_ttl = redis_command(&redis, &["PTTL", "wsboot:stream:short"]).await;
    assert!(stream_ttl > 0 && stream_ttl <= 300, "the stream lives max_age: {stream_ttl}");
    let hash_ttl = redis_command(&redis, &["PTTL", "wsboot:history:short"]).await;
    assert!(hash_ttl > 24 * 3600 * 1000, "the hash lives a day longer: {hash_ttl}");
    tokio::time::sleep(Duration::from_millis(450)).await;
    let expired = resume(&mut reader("r8").await, "short", Some(start)).await;
    assert!(!expired.recovered && expired.replayed.is_empty(), "{expired:?}");
    assert_eq!(expired.position, old, "the offset outlives the publication");
    let latest = resume(&mut reader("r9").await, "short", Some(old)).await;
    assert!(latest.recovered && latest.replayed.is_empty(), "{latest:?}");
    // The expired publication took its key and its bytes along.
    publisher.send_text("pubkey short k-old new").await;
    assert_eq!(published(&mut publisher).await, old.next(), "not a duplicate of a publication gone");
    assert_eq!(redis_command(&redis, &["HGET", "wsboot:history:short", "bytes"]).await, 8, "`new` and its key");
    drop(publisher);
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_resend_from_another_node_is_delivered_once() {
    let Some(redis) = RedisServer::start_or_skip("an_idempotent_resend_from_another_node").await else { return };
    let histories = [stamped("room*").max_messages(2)];
    let a = Node::start_with_history(&redis, &histories).await;
    let b = Node::start_with_history(&redis, &histories).await;
    let mut on_a = a.connect("sa").await;
    let mut on_b = b.connect("sb").await;
    subscribe(&mut on_a, "room").await;
    subscribe(&mut on_b, "room").await;
    let mut sender_a = a.connect("pa").await;
    let mut sender_b = b.connect("pb").await;

    sender_a.send_text("pubkey room k1 hello").await;
    let first = published(&mut sender_a).await;
    // The client lost the answer, reconnected elsewhere and sent again.
    sender_b.send_text("pubkey room k1 hello again").await;
    assert_eq!(sender_b.recv_text().await, format!("duplicate {first}"));
    let marker = publish(&mut sender_b, "room", "marker").await;
    for client in [&mut on_a, &mut on_b] {
        assert_eq!(delivery(client).await, (first, "hello".to_owned()));
        assert_eq!(delivery(client).await, (marker, "marker".to_owned()), "the resend was not delivered");
    }
    assert_eq!(b.broker.stats().duplicates, 1);
    assert_eq!(a.broker.stats().recorded, 1);

    // Once trimmed from the history, the key is forgotten.
    publish(&mut sender_a, "room", "third").await;
    sender_b.send_text("pubkey room k1 hello late").await;
    let late = published(&mut sender_b).await;
    assert_eq!(late.offset(), 4);
    drop((on_a, on_b, sender_a, sender_b));
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_still_serves_the_history() {
    let Some(redis) = RedisServer::start_or_skip("a_restarted_node_still_serves_the_history").await else { return };
    let histories = [stamped("room*")];
    let node = Node::start_with_history(&redis, &histories).await;
    let mut publisher = node.connect("p").await;
    let mut positions = Vec::new();
    for text in ["one", "two", "three"] {
        positions.push(publish(&mut publisher, "room", text).await);
    }
    drop(publisher);
    node.stop().await;

    let node = Node::start_with_history(&redis, &histories).await;
    let mut back = node.connect("x").await;
    let resumed = resume(&mut back, "room", Some(positions[0])).await;
    assert!(resumed.recovered);
    assert_follows("after the restart", &resumed.replayed, positions[0], &numbered_words(&["two", "three"]));
    let mut publisher = node.connect("p").await;
    let four = publish(&mut publisher, "room", "four").await;
    assert_eq!(four, positions[2].next(), "the same history goes on");
    assert_eq!(delivery(&mut back).await, (four, "four".to_owned()));
    drop((back, publisher));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_lost_with_redis_is_not_recovered_and_publishes_fail_meanwhile() {
    let Some(mut redis) = RedisServer::start_or_skip("a_history_lost_with_redis").await else { return };
    let histories = [stamped("room*")];
    let a = Node::start_with_history(&redis, &histories).await;
    let b = Node::start_with_history(&redis, &histories).await;
    let mut listener = a.connect("l").await;
    subscribe(&mut listener, "room").await;
    let mut publisher = b.connect("p").await;
    let before = publish(&mut publisher, "room", "before").await;
    assert_eq!(delivery(&mut listener).await, (before, "before".to_owned()));

    // Redis (persistence off) crashes: a publish fails, naming Redis and the topic.
    redis.kill();
    eventually("both nodes to notice Redis is gone", RECONNECT_LIMIT, || async {
        !a.broker.is_connected() && !b.broker.is_connected()
    })
    .await;
    publisher.send_text("pub room during").await;
    let failure = publisher.recv_text().await;
    assert!(failure.starts_with("failed ") && failure.contains("Redis") && failure.contains("`room`"), "{failure}");

    redis.restart().await;
    eventually("both nodes to reconnect", RECONNECT_LIMIT, || async {
        a.broker.is_connected() && b.broker.is_connected()
    })
    .await;
    // The old position belongs to a history that is gone: no replay, never a wrong one.
    let mut back = a.connect("x").await;
    let resumed = resume(&mut back, "room", Some(before)).await;
    assert!(!resumed.recovered && resumed.replayed.is_empty(), "{resumed:?}");
    assert_ne!(resumed.position.epoch(), before.epoch(), "a new epoch");
    assert_eq!(resumed.position.offset(), 0);

    let after = publish(&mut publisher, "room", "after").await;
    assert_eq!(after, resumed.position.next());
    assert_eq!(delivery(&mut back).await, (after, "after".to_owned()));
    assert_eq!(delivery(&mut listener).await, (after, "after".to_owned()), "the live subscriber goes on, once");
    let end = publish(&mut publisher, "room", "end").await;
    assert_eq!(delivery(&mut listener).await, (end, "end".to_owned()));
    assert!(b.broker.stats().history_failures >= 1);
    drop((listener, back, publisher));
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_subscribing_connection_loses_no_publication() {
    let Some(redis) = RedisServer::start_or_skip("a_dropped_subscribing_connection_loses_no_publication").await else {
        return;
    };
    let histories = [stamped("room*")];
    let a = Node::start_with_history(&redis, &histories).await;
    let b = Node::start_with_history(&redis, &histories).await;
    let mut on_a = a.connect("sa").await;
    let mut on_b = b.connect("sb").await;
    subscribe(&mut on_a, "room").await;
    subscribe(&mut on_b, "room").await;

    const N: usize = 200;
    let mut publisher = b.connect("p").await;
    let publishing = tokio::spawn(async move {
        let mut positions = Vec::with_capacity(N);
        for i in 0..N {
            positions.push(publish(&mut publisher, "room", &format!("n-{i}")).await);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        (publisher, positions)
    });
    let mut got_a = deliveries(&mut on_a, 40).await;
    // Every node's subscribing connection drops while the publisher goes on.
    let killed = redis_command(&redis, &["CLIENT", "KILL", "TYPE", "pubsub"]).await;
    assert_eq!(killed, 2, "one subscribing connection per node");
    got_a.extend(deliveries(&mut on_a, N - 40).await);
    let got_b = deliveries(&mut on_b, N).await;
    let (mut publisher, positions) = publishing.await.expect("the publisher finished");
    let start = Position::new(positions[0].epoch(), 0);
    assert_follows("node A", &got_a, start, &numbered("n", 0..N));
    assert_follows("node B", &got_b, start, &numbered("n", 0..N));

    // No copy trails: the next delivery is a marker published after.
    let end = publish(&mut publisher, "room", "end").await;
    for client in [&mut on_a, &mut on_b] {
        assert_eq!(delivery(client).await, (end, "end".to_owned()));
    }
    let (stats_a, stats_b) = (a.broker.stats(), b.broker.stats());
    assert!(stats_a.reconnects >= 1 && stats_b.reconnects >= 1, "{stats_a:?} {stats_b:?}");
    assert!(
        stats_a.gap_filled + stats_b.gap_filled > 0,
        "the gap was filled from the history: {stats_a:?} {stats_b:?}"
    );
    drop((on_a, on_b, publisher));
    a.stop().await;
    b.stop().await;
}
