//! Bursts of concurrent publishes to a topic whose history is in Redis: a node
//! records what gathered in one script call, several publications per stream
//! entry and one pub/sub message for all, and trims by whole entries. What a
//! user sees must not change: one position each, counting up by one, every
//! publication delivered once and in order on every node, and a history that
//! keeps at most `max_messages` and nearly that many.
//!
//! The test starts its own `redis-server`; where none is installed it says so
//! and skips, except in CI, where it fails.

mod support;

use std::collections::HashMap;

use wsboot::{Message, Position, TopicHistory};

use support::{Node, RedisServer, redis_command, subscribe};

/// Reads a delivery stamped `POSITION TEXT`.
async fn delivery(client: &mut wsboot::test::TestClient) -> (Position, String) {
    let text = client.recv_text().await;
    let (position, body) = text.split_once(' ').unwrap_or_else(|| panic!("expected `POS TEXT`: {text:?}"));
    (position.parse().expect("a position"), body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_recorded_in_order_delivered_once_and_trimmed_by_whole_entries() {
    let Some(redis) = RedisServer::start_or_skip("a_burst_is_recorded_in_order").await else { return };
    const MAX: u64 = 40;
    const BURST: usize = 200;
    let histories = [TopicHistory::new("burst")
        .max_messages(MAX as usize)
        .stamp(|position, message| Message::text(format!("{position} {}", message.as_text().unwrap_or_default())))];
    let a = Node::start_with_history(&redis, &histories).await;
    let b = Node::start_with_history(&redis, &histories).await;
    let mut watchers = [a.connect("wa").await, b.connect("wb").await];
    for watcher in &mut watchers {
        subscribe(watcher, "burst").await;
    }

    // All at once from node A: each gets its own position, 1 to BURST.
    let publishes = (0..BURST).map(|i| a.hub().publish("burst", format!("b-{i}")));
    let mut texts = HashMap::new();
    for (i, published) in futures_util::future::join_all(publishes).await.into_iter().enumerate() {
        let position = published.expect("recorded").position.expect("a position");
        assert!(texts.insert(position, format!("b-{i}")).is_none(), "{position} given twice");
    }
    let mut positions: Vec<Position> = texts.keys().copied().collect();
    positions.sort_by_key(|p| p.offset());
    assert_eq!(positions.iter().map(|p| p.offset()).collect::<Vec<_>>(), (1..=BURST as u64).collect::<Vec<_>>());
    assert_eq!(a.broker.stats().recorded, BURST as u64);

    // Every watcher, on either node, gets each once, in position order.
    for (who, watcher) in ["node A", "node B"].into_iter().zip(&mut watchers) {
        for expected in &positions {
            let (position, text) = delivery(watcher).await;
            assert_eq!(position, *expected, "{who}");
            assert_eq!(text, texts[expected], "{who}: the text published at {position}");
        }
    }

    // At most MAX kept, and at most an entry's worth (MAX / 8) fewer.
    let top = positions[BURST - 1];
    let at = |offset: u64| Position::new(top.epoch(), offset);
    let mut too_old = b.connect("r1").await;
    too_old.send_text(&format!("resume burst {}", at(top.offset() - MAX - 1))).await;
    let answer = too_old.recv_text().await;
    assert_eq!(answer, format!("resumed burst recovered=false position={top}"), "more than MAX kept");
    let mut reader = b.connect("r2").await;
    let from = at(top.offset() - MAX + MAX / 8);
    reader.send_text(&format!("resume burst {from}")).await;
    for offset in from.offset() + 1..=top.offset() {
        assert_eq!(delivery(&mut reader).await, (at(offset), texts[&at(offset)].clone()));
    }
    assert_eq!(reader.recv_text().await, format!("resumed burst recovered=true position={top}"));

    // Several publications per entry: fewer entries than publications kept.
    let entries = redis_command(&redis, &["XLEN", "wsboot:stream:burst"]).await;
    assert!(entries >= 1 && (entries as u64) < MAX - MAX / 8, "{entries} entries");
    drop((watchers, too_old, reader));
    a.stop().await;
    b.stop().await;
}
