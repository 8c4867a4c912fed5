//! STOMP on two nodes sharing one Redis: the in-process broker is the hub, so
//! a SEND handled on node B reaches subscribers on node A, and a user
//! destination reaches every session of that user, on every node.

mod support;

use wsboot::HandlerRegistry;
use wsboot_stomp::{Command, Frame, Messaging, Reply, StompEndpoint};
use wsboot_tests::stomp::StompClient;

use support::{Node, RedisServer};

fn registry() -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    StompEndpoint::new("/stomp")
        .message_mapping("/chat.{room}", |message| async move {
            Ok(Some(Reply::new(format!("{}: {}", message.var("room").unwrap_or("?"), message.text()?))))
        })
        .register(&mut registry)
        .expect("a valid endpoint")
        .interceptor(support::UserFromQuery);
    registry
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_and_user_destinations_reach_every_node() {
    let Some(redis) = RedisServer::start_or_skip("stomp topics_and_user_destinations_reach_every_node").await else {
        return;
    };
    let a = Node::serving_on(registry(), &redis).await;
    let b = Node::serving_on(registry(), &redis).await;
    let mut ann_on_a = StompClient::connected(&a.server, "/stomp?user=ann").await;
    let mut ann_on_b = StompClient::connected(&b.server, "/stomp?user=ann").await;
    let mut bob_on_b = StompClient::connected(&b.server, "/stomp?user=bob").await;
    ann_on_a.subscribe("room", "/topic/chat.lobby").await;
    for client in [&mut ann_on_a, &mut ann_on_b, &mut bob_on_b] {
        client.subscribe("notices", "/user/queue/notices").await;
    }

    // Handled on node B, published on the hub: node A's subscriber gets it.
    bob_on_b.send(Frame::new(Command::Send).header("destination", "/app/chat.lobby").body("hi from B")).await;
    assert_eq!(ann_on_a.delivery().await, ("room".to_owned(), "lobby: hi from B".to_owned()));

    // To ann from node B: both of her sessions, one on each node; not bob.
    let messaging = Messaging::new(b.hub().clone());
    messaging.convert_and_send_to_user("ann", "/queue/notices", "for ann").await;
    for client in [&mut ann_on_a, &mut ann_on_b] {
        assert_eq!(client.delivery().await, ("notices".to_owned(), "for ann".to_owned()));
    }
    messaging.convert_and_send_to_user("bob", "/queue/notices", "for bob").await;
    assert_eq!(bob_on_b.delivery().await.1, "for bob", "nothing of ann's reached bob first");
    drop((ann_on_a, ann_on_b, bob_on_b));
    a.stop().await;
    b.stop().await;
}
