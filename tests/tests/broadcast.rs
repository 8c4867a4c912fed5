//! Topics and per-user addressing through the hub, with real clients: publish
//! order, who receives what, and subscriptions ending with their session.

use std::collections::HashMap;

use wsboot::test::{TestClient, TestServer, eventually};
use wsboot::{
    CloseStatus, HandlerRegistry, HandlerResult, HandshakeInterceptor, HandshakeRequest, Principal, Rejection, Server,
    Session, Utf8Bytes, WebSocketHandler,
};

/// Subscribes each session to the topic named by its path (`/topics/{topic}`);
/// a text message is published to that topic, except `leave`, which
/// unsubscribes and answers `left`.
#[derive(Debug, Default)]
struct TopicMember;

impl WebSocketHandler for TopicMember {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        let topic = session.path_params().get("topic").unwrap_or_default().to_owned();
        session.subscribe(&topic).await?;
        Ok(())
    }

    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        let topic = session.path_params().get("topic").unwrap_or_default().to_owned();
        if &*text == "leave" {
            session.unsubscribe(&topic).await;
            session.send("left").await?;
        } else {
            session.hub().publish(&topic, text).await.unwrap();
        }
        Ok(())
    }
}

async fn topic_server() -> TestServer {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/topics/{topic}", TopicMember);
    TestServer::start(registry).await
}

/// Connects `n` clients to `topic` and waits until the hub has them all subscribed.
async fn subscribers(server: &TestServer, topic: &str, n: usize) -> Vec<TestClient> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(server.connect(&format!("/topics/{topic}")).await);
    }
    eventually("every client to be subscribed", || server.hub().subscribers(topic).len() == n).await;
    clients
}

#[tokio::test]
async fn a_task_publishing_reaches_every_subscriber_in_publish_order() {
    let server = topic_server().await;
    let mut clients = subscribers(&server, "news", 10).await;
    const COUNT: usize = 500;
    for i in 0..COUNT {
        assert_eq!(
            server.hub().publish("news", format!("news {i}")).await.unwrap().delivered_here,
            10,
            "message {i} reached all 10"
        );
    }
    for (c, client) in clients.iter_mut().enumerate() {
        for i in 0..COUNT {
            assert_eq!(client.recv_text().await, format!("news {i}"), "client {c}, message {i}");
        }
    }
    let stats = server.hub().stats();
    assert_eq!((stats.published, stats.delivered), (COUNT as u64, 10 * COUNT as u64));
    assert_eq!((stats.dropped, stats.terminated), (0, 0));
    drop(clients); // the server need not wait for their close handshakes
    server.shutdown().await;
}

#[tokio::test]
async fn handlers_publishing_keep_each_publishers_order_for_every_subscriber() {
    let server = topic_server().await;
    let mut clients = subscribers(&server, "room", 4).await;
    const PER_PUBLISHER: usize = 200;
    // Clients 0 and 1 publish at the same time, through their handlers.
    let (first, rest) = clients.split_at_mut(1);
    let (a, b) = (&mut first[0], &mut rest[0]);
    let send_all = async |client: &mut TestClient, name: &str| {
        for i in 0..PER_PUBLISHER {
            client.send_text(&format!("{name} {i}")).await;
        }
    };
    tokio::join!(send_all(a, "a"), send_all(b, "b"));
    for (c, client) in clients.iter_mut().enumerate() {
        let mut next: HashMap<String, usize> = HashMap::new();
        for _ in 0..2 * PER_PUBLISHER {
            let text = client.recv_text().await;
            let (publisher, i) = text.split_once(' ').expect("`name i`");
            let expected = next.entry(publisher.to_owned()).or_default();
            assert_eq!(i.parse::<usize>().unwrap(), *expected, "client {c}: {publisher}'s messages out of order");
            *expected += 1;
        }
        assert_eq!(next.get("a").copied(), Some(PER_PUBLISHER), "client {c} got all of a's messages");
        assert_eq!(next.get("b").copied(), Some(PER_PUBLISHER), "client {c} got all of b's messages");
    }
    drop(clients);
    server.shutdown().await;
}

#[tokio::test]
async fn only_the_topics_subscribers_receive_its_messages() {
    let server = topic_server().await;
    let mut sports = subscribers(&server, "sports", 1).await.remove(0);
    let mut weather = subscribers(&server, "weather", 1).await.remove(0);
    assert_eq!(server.hub().publish("weather", "rain").await.unwrap().delivered_here, 1);
    assert_eq!(server.hub().publish("nobody", "void").await.unwrap().delivered_here, 0);
    assert_eq!(server.hub().publish("sports", "goal").await.unwrap().delivered_here, 1);
    // Sports' first message is its own: the weather never reached it.
    assert_eq!(sports.recv_text().await, "goal");
    assert_eq!(weather.recv_text().await, "rain");
    drop((sports, weather));
    server.shutdown().await;
}

#[tokio::test]
async fn subscriptions_vanish_when_the_session_closes_or_its_connection_drops() {
    let server = topic_server().await;
    let hub = server.hub().clone();
    let mut clients = subscribers(&server, "t", 2).await;
    assert_eq!(hub.count(), 2);
    let ids: Vec<_> = hub.subscribers("t").iter().map(Session::id).collect();
    assert!(ids.iter().all(|id| hub.session(*id).is_some()));
    assert_eq!(hub.topics_of(&hub.session(ids[0]).unwrap()), ["t"]);

    // One closes properly, the other's TCP connection just goes away.
    let mut closing = clients.remove(0);
    closing.close(CloseStatus::NORMAL).await;
    drop(clients);
    eventually("both sessions to leave the hub", || hub.count() == 0).await;
    assert!(hub.subscribers("t").is_empty(), "no subscription outlives its session");
    assert!(ids.iter().all(|id| hub.session(*id).is_none()));
    assert_eq!(hub.publish("t", "anyone?").await.unwrap().delivered_here, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn an_unsubscribed_session_receives_no_more_of_the_topic() {
    let server = topic_server().await;
    let mut client = subscribers(&server, "t", 1).await.remove(0);
    client.send_text("leave").await;
    assert_eq!(client.recv_text().await, "left");
    assert!(server.hub().subscribers("t").is_empty());
    assert_eq!(server.hub().publish("t", "missed").await.unwrap().delivered_here, 0);
    assert_eq!(server.hub().count(), 1, "the session itself stays open");
    client.close(CloseStatus::NORMAL).await;
    server.shutdown().await;
}

/// Authenticates `?user=NAME` (a stand-in for a real check of a token).
#[derive(Debug)]
struct UserFromQuery;

impl HandshakeInterceptor for UserFromQuery {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        let user = request.query_param("user").ok_or_else(Rejection::unauthorized)?;
        request.set_principal(Principal::new(user));
        Ok(())
    }
}

/// Does nothing by itself: the test sends to users through the hub.
#[derive(Debug, Default)]
struct Inbox;

impl WebSocketHandler for Inbox {}

#[tokio::test]
async fn every_session_of_a_user_receives_what_is_sent_to_that_user() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/inbox", Inbox);
    let server = TestServer::start_with(Server::builder().registry(registry).interceptor(UserFromQuery)).await;
    let hub = server.hub().clone();
    let mut alice_phone = server.connect("/inbox?user=alice").await;
    let mut alice_laptop = server.connect("/inbox?user=alice").await;
    let mut bob = server.connect("/inbox?user=bob").await;
    eventually("three sessions in the hub", || hub.count() == 3).await;
    assert_eq!(hub.user_sessions("alice").len(), 2);
    assert!(hub.user_sessions("alice").iter().all(|s| s.principal().map(Principal::name) == Some("alice")));

    assert_eq!(hub.send_to_user("alice", "for alice").await, 2);
    assert_eq!(hub.send_to_user("bob", "for bob").await, 1);
    assert_eq!(hub.send_to_user("carol", "for nobody").await, 0);
    assert_eq!(alice_phone.recv_text().await, "for alice");
    assert_eq!(alice_laptop.recv_text().await, "for alice");
    assert_eq!(bob.recv_text().await, "for bob", "bob never saw alice's message");

    // Alice closes one of her sessions: the other still gets her messages.
    alice_phone.close(CloseStatus::NORMAL).await;
    eventually("alice's phone to leave the hub", || hub.user_sessions("alice").len() == 1).await;
    assert_eq!(hub.send_to_user("alice", "still there?").await, 1);
    assert_eq!(alice_laptop.recv_text().await, "still there?");
    drop((alice_laptop, bob));
    server.shutdown().await;
}

#[tokio::test]
async fn the_hub_lists_sessions_by_route() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/topics/{topic}", TopicMember);
    registry.add_handler("/inbox", Inbox);
    let server = TestServer::start(registry).await;
    let hub = server.hub().clone();
    let a = server.connect("/topics/x").await;
    let b = server.connect("/topics/y").await;
    let c = server.connect("/inbox").await;
    eventually("three sessions in the hub", || hub.count() == 3).await;
    assert_eq!(hub.count_on("/topics/{topic}"), 2);
    assert_eq!(hub.sessions_on("/inbox").len(), 1);
    assert_eq!(hub.sessions().len(), 3);
    let mut paths: Vec<String> = hub.sessions_on("/topics/{topic}").iter().map(|s| s.uri().path().to_owned()).collect();
    paths.sort();
    assert_eq!(paths, ["/topics/x", "/topics/y"]);
    drop((a, b, c));
    server.shutdown().await;
}
