//! STOMP on two nodes sharing one Redis: the in-process broker is the hub, so
//! a SEND handled on node B reaches subscribers on node A, and a user
//! destination reaches every session of that user, on every node.

mod support;

use wsboot::HandlerRegistry;
use wsboot::test::TestClient;
use wsboot_stomp::{Command, Decoder, Frame, Limits, Messaging, Reply, StompEndpoint, Version};

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

struct Client {
    socket: TestClient,
    decoder: Decoder,
    pending: Vec<Frame>,
}

impl Client {
    async fn connected(node: &Node, user: &str) -> Client {
        let socket = node.server.request(&format!("/stomp?user={user}")).subprotocols(&["v12.stomp"]).connect().await;
        let mut client = Client { socket, decoder: Decoder::new(Limits::default()), pending: Vec::new() };
        client.send(Frame::new(Command::Connect).header("accept-version", "1.2")).await;
        assert_eq!(client.frame().await.command, Command::Connected);
        client
    }

    async fn send(&mut self, frame: Frame) {
        self.socket.send_text(std::str::from_utf8(&frame.encode(Version::V1_2)).unwrap()).await;
    }

    async fn frame(&mut self) -> Frame {
        loop {
            if !self.pending.is_empty() {
                return self.pending.remove(0);
            }
            let message = self.socket.recv().await;
            self.decoder.push(message.payload());
            while let Some(frame) = self.decoder.next_frame().expect("valid frames") {
                self.pending.push(frame);
            }
        }
    }

    async fn subscribe(&mut self, id: &str, destination: &str) {
        let frame = Frame::new(Command::Subscribe).header("id", id).header("destination", destination);
        self.send(frame.header("receipt", id)).await;
        assert_eq!(self.frame().await.get("receipt-id"), Some(id));
    }

    async fn body(&mut self) -> (String, String) {
        let frame = self.frame().await;
        assert_eq!(frame.command, Command::Message, "{frame:?}");
        (frame.get("subscription").unwrap_or_default().to_owned(), String::from_utf8(frame.body.to_vec()).unwrap())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_and_user_destinations_reach_every_node() {
    let Some(redis) = RedisServer::start_or_skip("stomp topics_and_user_destinations_reach_every_node").await else {
        return;
    };
    let a = Node::serving_on(registry(), &redis).await;
    let b = Node::serving_on(registry(), &redis).await;
    let mut ann_on_a = Client::connected(&a, "ann").await;
    let mut ann_on_b = Client::connected(&b, "ann").await;
    let mut bob_on_b = Client::connected(&b, "bob").await;
    ann_on_a.subscribe("room", "/topic/chat.lobby").await;
    for client in [&mut ann_on_a, &mut ann_on_b, &mut bob_on_b] {
        client.subscribe("notices", "/user/queue/notices").await;
    }

    // Handled on node B, published on the hub: node A's subscriber gets it.
    bob_on_b.send(Frame::new(Command::Send).header("destination", "/app/chat.lobby").body("hi from B")).await;
    assert_eq!(ann_on_a.body().await, ("room".to_owned(), "lobby: hi from B".to_owned()));

    // To ann from node B: both of her sessions, one on each node; not bob.
    let messaging = Messaging::new(b.hub().clone());
    messaging.convert_and_send_to_user("ann", "/queue/notices", "for ann").await;
    for client in [&mut ann_on_a, &mut ann_on_b] {
        assert_eq!(client.body().await, ("notices".to_owned(), "for ann".to_owned()));
    }
    messaging.convert_and_send_to_user("bob", "/queue/notices", "for bob").await;
    assert_eq!(bob_on_b.body().await.1, "for bob", "nothing of ann's reached bob first");
    drop((ann_on_a, ann_on_b, bob_on_b));
    a.stop().await;
    b.stop().await;
}
