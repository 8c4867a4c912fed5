//! Topic history on one node (the in-process broker), with real clients:
//! positions, resuming after a disconnect, resuming while publishes keep
//! coming, positions the history no longer covers, idempotent publishes.
//!
//! Route `/t/{topic}?since=POSITION`: the session resumes `topic` from the
//! position (or just subscribes, without one) and, after the replay, is sent
//! `resumed recovered=BOOL position=POS`. Deliveries are stamped
//! `POSITION|TEXT`.

use std::time::Duration;

use wsboot::test::{TestClient, TestServer, within};
use wsboot::{
    BoxFuture, Broker, ErrorKind, HandlerRegistry, HandlerResult, Message, Position, RemoteDelivery, Server, Session,
    TopicHistory, WebSocketHandler,
};

struct Resume;

impl WebSocketHandler for Resume {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        let topic = session.path_params().get("topic").unwrap_or_default().to_owned();
        let since = match session.query_param("since").map(|s| s.parse::<Position>()) {
            Some(Ok(position)) => Some(position),
            Some(Err(error)) => {
                session.send(format!("error {error}")).await?;
                None
            }
            None => None,
        };
        let resuming = session.subscribe_from(&topic, since).await?;
        session.send(format!("resumed recovered={} position={}", resuming.recovered(), resuming.position())).await?;
        Ok(())
    }
}

fn stamp(position: &Position, message: &Message) -> Message {
    Message::text(format!("{position}|{}", message.as_text().unwrap_or_default()))
}

async fn server_with(history: TopicHistory) -> TestServer {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/t/{topic}", Resume);
    registry.add_topic_history(history.stamp(stamp));
    TestServer::start(registry).await
}

/// The `resumed` line: whether recovered, and the position.
async fn resumed(client: &mut TestClient) -> (bool, Position) {
    let line = client.recv_text().await;
    let rest = line.strip_prefix("resumed recovered=").unwrap_or_else(|| panic!("expected `resumed`, got {line:?}"));
    let (recovered, position) = rest.split_once(" position=").unwrap();
    (recovered == "true", position.parse().unwrap())
}

/// The next delivery: its position and text.
async fn delivery(client: &mut TestClient) -> (Position, String) {
    let line = client.recv_text().await;
    let (position, text) = line.split_once('|').unwrap_or_else(|| panic!("expected a delivery, got {line:?}"));
    (position.parse().unwrap(), text.to_owned())
}

async fn publish(server: &TestServer, topic: &str, text: &str) -> Position {
    server.hub().publish(topic, text.to_owned()).await.unwrap().position.expect("history is on")
}

#[tokio::test]
async fn a_client_that_reconnects_gets_what_it_missed_then_live_ones() {
    let server = server_with(TopicHistory::new("room*")).await;
    let mut ann = server.connect("/t/room").await;
    let (recovered, start) = resumed(&mut ann).await;
    assert!(!recovered, "no position given: nothing to recover");
    assert_eq!(start.offset(), 0);

    let mut positions = Vec::new();
    for text in ["one", "two", "three"] {
        positions.push(publish(&server, "room", text).await);
    }
    assert_eq!(positions.iter().map(Position::offset).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(positions.iter().all(|p| p.epoch() == start.epoch()));
    for (position, text) in positions.iter().zip(["one", "two", "three"]) {
        assert_eq!(delivery(&mut ann).await, (*position, text.to_owned()), "the subscriber sees each position");
    }
    let last_seen = positions[2];
    drop(ann);

    let four = publish(&server, "room", "four").await;
    publish(&server, "room", "five").await;
    let mut ann = server.connect(&format!("/t/room?since={last_seen}")).await;
    assert_eq!(delivery(&mut ann).await, (four, "four".to_owned()));
    assert_eq!(delivery(&mut ann).await.1, "five");
    let (recovered, position) = resumed(&mut ann).await;
    assert!(recovered);
    assert_eq!(position.offset(), 5);
    let six = publish(&server, "room", "six").await;
    assert_eq!(delivery(&mut ann).await, (six, "six".to_owned()), "then live");
    drop(ann);
    server.shutdown().await;
}

#[tokio::test]
async fn resuming_while_publishes_keep_coming_has_no_gap_and_no_duplicate() {
    const TOTAL: u64 = 3_000;
    let server = server_with(TopicHistory::new("busy").max_messages(10_000)).await;
    let hub = server.hub().clone();
    // A publisher at a steady pace (about 3,000 a second), waiting for nobody.
    let publisher = tokio::spawn(async move {
        for n in 1..=TOTAL {
            hub.publish("busy", n.to_string()).await.unwrap();
            if n % 30 == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });
    let mut during_publishing = 0;
    let mut readers = Vec::new();
    for round in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        // Join from 100 publications back, while the publisher goes on.
        let since = {
            let mut probe = server.connect("/t/busy").await;
            let (_, latest) = resumed(&mut probe).await;
            Position::new(latest.epoch(), latest.offset().saturating_sub(100))
        };
        if !publisher.is_finished() {
            during_publishing += 1;
        }
        let mut client = server.connect(&format!("/t/busy?since={since}")).await;
        client.set_timeout(Duration::from_secs(20));
        readers.push(tokio::spawn(async move {
            let mut expected = since.offset() + 1;
            let mut resumed_at = None;
            while expected <= TOTAL || resumed_at.is_none() {
                let line = client.recv_text().await;
                if let Some(rest) = line.strip_prefix("resumed recovered=true position=") {
                    assert!(resumed_at.is_none(), "round {round}: one `resumed`");
                    resumed_at = Some(rest.parse::<Position>().unwrap().offset());
                    assert_eq!(resumed_at, Some(expected - 1), "round {round}: `resumed` right after the replay");
                    continue;
                }
                let (position, text) = line.split_once('|').unwrap_or_else(|| panic!("round {round}: {line:?}"));
                let position: Position = position.parse().unwrap();
                assert_eq!(position.offset(), expected, "round {round}: no gap, no duplicate, in order");
                assert_eq!(text, expected.to_string());
                expected += 1;
            }
        }));
    }
    for reader in readers {
        within("a reader", reader).await.unwrap();
    }
    within("the publisher", publisher).await.unwrap();
    assert!(during_publishing >= 2, "most rounds resumed while publishing ({during_publishing})");
    server.shutdown().await;
}

#[tokio::test]
async fn a_position_the_history_no_longer_covers_is_not_recovered() {
    let server = server_with(TopicHistory::new("*").max_messages(3).max_age(Duration::from_millis(300))).await;
    let first = publish(&server, "short", "1").await;
    for n in 2..=5 {
        publish(&server, "short", &n.to_string()).await;
    }
    // Offsets 3..=5 are kept; resuming after 1 would need 2.
    let mut client = server.connect(&format!("/t/short?since={first}")).await;
    let (recovered, position) = resumed(&mut client).await;
    assert!(!recovered, "2 was trimmed: nothing replayed, and `resumed` comes first");
    assert_eq!(position.offset(), 5);
    let six = publish(&server, "short", "6").await;
    assert_eq!(delivery(&mut client).await, (six, "6".to_owned()), "live from the latest position");

    // Expired by age.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut late = server.connect(&format!("/t/short?since={}", Position::new(six.epoch(), 5))).await;
    assert!(!resumed(&mut late).await.0, "6 expired");
    // Another epoch (a lost history), a position from the future, and garbage.
    for since in [Position::new(six.epoch() ^ 1, 6).to_string(), Position::new(six.epoch(), 99).to_string()] {
        let mut client = server.connect(&format!("/t/short?since={since}")).await;
        assert!(!resumed(&mut client).await.0, "{since}");
    }
    let mut garbage = server.connect("/t/short?since=nonsense").await;
    assert!(garbage.recv_text().await.contains("is not a position"));
    assert!(!resumed(&mut garbage).await.0);
    // Caught up exactly at the latest position: recovered, nothing to replay.
    let mut current = server.connect(&format!("/t/short?since={six}")).await;
    assert_eq!(resumed(&mut current).await, (true, six));
    drop((client, late, garbage, current));
    server.shutdown().await;
}

#[tokio::test]
async fn an_idempotent_resend_is_published_once_with_the_first_position() {
    let server = server_with(TopicHistory::new("orders")).await;
    let mut watcher = server.connect("/t/orders").await;
    resumed(&mut watcher).await;
    let hub = server.hub();
    let first = hub.publish_idempotent("orders", "client-7/msg-1", "buy").await.unwrap();
    assert!(!first.duplicate);
    let again = hub.publish_idempotent("orders", "client-7/msg-1", "buy").await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.position, first.position);
    let other = hub.publish_idempotent("orders", "client-7/msg-2", "sell").await.unwrap();
    assert_eq!(other.position.unwrap().offset(), 2);
    assert_eq!(delivery(&mut watcher).await, (first.position.unwrap(), "buy".to_owned()));
    assert_eq!(delivery(&mut watcher).await.1, "sell", "the resend was not delivered");

    // Keys need history, and a sensible length.
    let error = hub.publish_idempotent("no-history", "k", "x").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains("history is off"), "{error}");
    let error = hub.publish_idempotent("orders", "", "x").await.unwrap_err();
    assert!(error.to_string().contains("1 to 256 bytes"), "{error}");
    drop(watcher);
    server.shutdown().await;
}

#[tokio::test]
async fn a_restarted_server_starts_a_new_epoch_and_old_positions_are_not_recovered() {
    let server = server_with(TopicHistory::new("*")).await;
    let old = publish(&server, "room", "before the restart").await;
    server.shutdown().await;
    let server = server_with(TopicHistory::new("*")).await;
    let mut client = server.connect(&format!("/t/room?since={old}")).await;
    let (recovered, position) = resumed(&mut client).await;
    assert!(!recovered, "the history it came from is gone");
    assert_ne!(position.epoch(), old.epoch());
    drop(client);
    server.shutdown().await;
}

#[tokio::test]
async fn resuming_a_topic_without_history_is_refused_with_the_reason() {
    let server = server_with(TopicHistory::new("kept:*")).await;
    let mut client = server.connect("/t/other").await;
    // The handler's error closes the session (1011); the log names the reason.
    let status = client.closed().await;
    assert_eq!(status.code(), 1011);
    let error = server.hub().publish("other", "plain").await.unwrap();
    assert_eq!(error.position, None, "topics without history publish as before");
    server.shutdown().await;
}

/// A cluster broker that keeps no history.
struct Forgetful;

impl Broker for Forgetful {
    fn name(&self) -> &'static str {
        "forgetful"
    }
    fn start(&self, _delivery: RemoteDelivery) -> BoxFuture<'_, Result<(), wsboot::Error>> {
        Box::pin(async { Ok(()) })
    }
    fn subscribe(&self, _topic: &str) -> BoxFuture<'_, Result<(), wsboot::Error>> {
        Box::pin(async { Ok(()) })
    }
    fn unsubscribe(&self, _topic: &str) -> BoxFuture<'_, Result<(), wsboot::Error>> {
        Box::pin(async { Ok(()) })
    }
    fn publish(&self, _topic: &str, _message: &Message) -> BoxFuture<'_, Result<(), wsboot::Error>> {
        Box::pin(async { Ok(()) })
    }
    fn publish_to_user(&self, _user: &str, _message: &Message) -> BoxFuture<'_, Result<(), wsboot::Error>> {
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn history_with_a_broker_that_keeps_none_stops_the_server_at_startup() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/t/{topic}", Resume);
    let bound = Server::builder()
        .registry(registry)
        .broker(Forgetful)
        .topic_history(TopicHistory::new("*"))
        .bind("127.0.0.1:0")
        .await;
    let Err(error) = bound else { panic!("a server with history and a broker that keeps none started") };
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains("forgetful broker keeps no history"), "{error}");
}
