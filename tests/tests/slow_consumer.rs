//! Slow consumers: a subscriber that completes the handshake and then stops
//! reading is terminated or loses messages, per its handler's overflow policy,
//! while the other subscribers keep receiving everything, in order.

use std::time::Duration;

use wsboot::test::{TestClient, TestServer, eventually, within};
use wsboot::{
    CloseStatus, HandlerRegistry, HandlerResult, HubStats, OverflowPolicy, QueueLimits, Session, SessionId,
    WebSocketHandler,
};
use wsboot_tests::{RawClient, opcode};

const TOPIC: &str = "feed";
/// Big messages fill the socket buffers of a client that does not read quickly.
const PADDING: usize = 32 << 10;
/// The most messages a test publishes before giving up on seeing an overflow.
const MAX_MESSAGES: usize = 5_000;
/// Published after the overflow, to show the others are not slowed down.
const AFTER_OVERFLOW: usize = 50;

/// Subscribes every session to [`TOPIC`].
#[derive(Debug, Default)]
struct Subscriber;

impl WebSocketHandler for Subscriber {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        session.subscribe(TOPIC).await?;
        Ok(())
    }
}

/// A server whose `/feed` sessions have small queues (16 messages) and `policy`.
async fn feed_server(policy: OverflowPolicy, send_time_limit: Duration) -> TestServer {
    let mut registry = HandlerRegistry::new();
    registry
        .add_handler("/feed", Subscriber)
        .queue_limits(QueueLimits { max_messages: 16, max_bytes: 1 << 20 })
        .overflow_policy(policy)
        .send_time_limit(send_time_limit);
    TestServer::start(registry).await
}

fn numbered(i: usize) -> String {
    format!("{i:06} {}", "x".repeat(PADDING))
}

fn number_of(text: &[u8]) -> usize {
    std::str::from_utf8(&text[..6]).expect("ASCII digits").parse().expect("a numbered message")
}

/// A slow client (handshake done, then silence) and a fast one, both subscribed.
async fn slow_and_fast(server: &TestServer) -> (RawClient, SessionId, TestClient) {
    let slow = RawClient::connect(server, "/feed").await;
    eventually("the slow client to subscribe", || server.hub().subscribers(TOPIC).len() == 1).await;
    let slow_id = server.hub().subscribers(TOPIC)[0].id();
    let fast = server.connect("/feed").await;
    eventually("the fast client to subscribe", || server.hub().subscribers(TOPIC).len() == 2).await;
    (slow, slow_id, fast)
}

/// Publishes numbered messages, each after the fast client received the one
/// before (so only the slow client can fall behind), until `overflowed` holds
/// and then [`AFTER_OVERFLOW`] more. Returns how many were published.
async fn publish_past_overflow(
    server: &TestServer,
    fast: &mut TestClient,
    overflowed: impl Fn(HubStats) -> bool,
) -> usize {
    let mut stop_at = None;
    for i in 0..MAX_MESSAGES {
        server.hub().publish(TOPIC, numbered(i)).await.unwrap();
        let text = fast.recv_text().await;
        assert_eq!(number_of(text.as_bytes()), i, "the fast client receives every message, in order");
        if stop_at.is_none() && overflowed(server.hub().stats()) {
            stop_at = Some(i + 1 + AFTER_OVERFLOW);
        }
        if stop_at == Some(i + 1) {
            return i + 1;
        }
    }
    panic!("no overflow after {MAX_MESSAGES} messages of {PADDING} bytes to a client that does not read");
}

/// Reads data frames until the server's close frame; returns the message
/// numbers and the close status.
async fn read_until_close(client: &mut RawClient) -> (Vec<usize>, Option<(Option<u16>, String)>) {
    let mut numbers = Vec::new();
    while let Some(frame) = client.read_frame().await {
        match frame.opcode {
            opcode::TEXT => numbers.push(number_of(&frame.payload)),
            opcode::CLOSE => {
                let code = (frame.payload.len() >= 2).then(|| u16::from_be_bytes([frame.payload[0], frame.payload[1]]));
                let reason = String::from_utf8(frame.payload.get(2..).unwrap_or_default().to_vec()).unwrap();
                return (numbers, Some((code, reason)));
            }
            other => panic!("unexpected opcode {other}"),
        }
    }
    (numbers, None)
}

#[tokio::test]
async fn a_slow_consumer_is_closed_with_1013_while_the_others_get_everything() {
    let server = feed_server(OverflowPolicy::default(), Duration::from_secs(10)).await;
    let (mut slow, slow_id, mut fast) = slow_and_fast(&server).await;
    let published = publish_past_overflow(&server, &mut fast, |stats| stats.terminated == 1).await;
    let stats = server.hub().stats();
    assert_eq!((stats.terminated, stats.dropped), (1, 0));
    // No longer offered anything: every later publish reached the fast client only.
    assert!(!server.hub().session(slow_id).is_some_and(|s| s.is_open()), "the slow session is closing");

    // The slow client reads again: an unbroken prefix of the messages, then the close.
    let (numbers, close) = read_until_close(&mut slow).await;
    assert!(!numbers.is_empty() && numbers.len() < published, "got {} of {published}", numbers.len());
    assert_eq!(numbers, (0..numbers.len()).collect::<Vec<_>>(), "a prefix, in order, without gaps");
    assert_eq!(close, Some((Some(1013), "outbound queue overflow".to_owned())));
    slow.send_frame(true, opcode::CLOSE, &1013u16.to_be_bytes(), true).await;
    eventually("the slow session to leave the hub", || server.hub().session(slow_id).is_none()).await;
    assert_eq!(server.hub().subscribers(TOPIC).len(), 1);
    drop(fast);
    server.shutdown().await;
}

#[tokio::test]
async fn a_consumer_that_never_reads_is_dropped_after_the_send_time_limit() {
    let server = feed_server(OverflowPolicy::default(), Duration::from_millis(300)).await;
    let (slow, slow_id, mut fast) = slow_and_fast(&server).await;
    // Either its queue overflows or its blocked write times out first: both end it.
    let hub = server.hub().clone();
    publish_past_overflow(&server, &mut fast, |_| hub.session(slow_id).is_none_or(|s| !s.is_open())).await;
    eventually("the slow session to leave the hub", || server.hub().session(slow_id).is_none()).await;
    assert_eq!(server.hub().subscribers(TOPIC).len(), 1, "only the fast client is left");
    server.hub().publish(TOPIC, numbered(999_999)).await.unwrap();
    assert_eq!(number_of(fast.recv_text().await.as_bytes()), 999_999);
    drop((slow, fast));
    server.shutdown().await;
}

/// Runs the drop-policy scenario: overflow, then the slow client reads again and
/// a last message `end` is published once its queue is empty. Returns the
/// numbers the slow client received (before `end`) and how many were published.
async fn dropping_scenario(policy: OverflowPolicy) -> (Vec<usize>, usize, HubStats) {
    let server = feed_server(policy, Duration::from_secs(10)).await;
    let (mut slow, slow_id, mut fast) = slow_and_fast(&server).await;
    let published = publish_past_overflow(&server, &mut fast, |stats| stats.dropped > 0).await;
    let stats = server.hub().stats();
    assert_eq!(stats.terminated, 0, "nobody is terminated under a drop policy");
    assert_eq!(server.hub().subscribers(TOPIC).len(), 2, "the slow client stays subscribed");

    let reader = tokio::spawn(async move {
        let mut numbers = Vec::new();
        loop {
            let frame = slow.read_frame().await.expect("the slow connection stays open");
            assert_eq!(frame.opcode, opcode::TEXT, "only data frames: {frame:?}");
            if frame.payload == b"end" {
                return (numbers, slow);
            }
            numbers.push(number_of(&frame.payload));
        }
    });
    let session = server.hub().session(slow_id).expect("the slow session is open");
    eventually("the slow session's queue to drain", || session.queued() == (0, 0)).await;
    server.hub().publish(TOPIC, "end").await.unwrap();
    assert_eq!(fast.recv_text().await, "end");
    let (numbers, slow) = within("the slow client to read up to `end`", reader).await.unwrap();
    drop((slow, fast, session));
    server.shutdown().await;
    (numbers, published, stats)
}

fn assert_increasing_with_gaps(numbers: &[usize], published: usize) {
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "in publish order: {numbers:?}");
    assert!(numbers.len() < published, "some were dropped: got {} of {published}", numbers.len());
    assert!(numbers.iter().all(|n| *n < published));
}

#[tokio::test]
async fn drop_newest_keeps_the_slow_consumer_and_what_it_had_queued() {
    let (numbers, published, stats) = dropping_scenario(OverflowPolicy::DropNewest).await;
    assert!(stats.dropped > 0);
    assert_increasing_with_gaps(&numbers, published);
    assert_eq!(numbers[0], 0, "the oldest messages were kept");
}

#[tokio::test]
async fn drop_oldest_keeps_the_slow_consumer_and_the_newest_messages() {
    let (numbers, published, stats) = dropping_scenario(OverflowPolicy::DropOldest).await;
    assert!(stats.dropped > 0);
    assert_increasing_with_gaps(&numbers, published);
    assert_eq!(numbers.last(), Some(&(published - 1)), "the newest message was kept");
}

#[tokio::test]
async fn a_custom_terminate_status_is_what_the_slow_consumer_sees() {
    let status = CloseStatus::POLICY_VIOLATION.with_reason("too slow for this feed");
    let server = feed_server(OverflowPolicy::Terminate(status), Duration::from_secs(10)).await;
    let (mut slow, _, mut fast) = slow_and_fast(&server).await;
    publish_past_overflow(&server, &mut fast, |stats| stats.terminated == 1).await;
    let (_, close) = read_until_close(&mut slow).await;
    assert_eq!(close, Some((Some(1008), "too slow for this feed".to_owned())));
    drop((slow, fast));
    server.shutdown().await;
}
