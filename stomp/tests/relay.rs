//! The broker relay against a real RabbitMQ with its STOMP plugin: broker
//! destinations live in RabbitMQ (a client of RabbitMQ itself reaches the
//! WebSocket clients), the application's replies go through the system
//! connection, receipts and acks pass through (a NACKed message comes back
//! redelivered), and when RabbitMQ is killed the clients get an ERROR, new
//! ones are refused, and everything works again once it is back.
//!
//! Each test starts its own RabbitMQ node (see `support/rabbitmq.rs`); without
//! `rabbitmq-server` the tests say so and skip, except in CI.

mod support;

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use wsboot::HandlerRegistry;
use wsboot::test::TestServer;
use wsboot_stomp::{BrokerRelay, Command, Decoder, Frame, Limits, Messaging, Reply, StompEndpoint, Version};

use support::client::Client;
use support::rabbitmq::RabbitMq;

fn relay(rabbit: &RabbitMq) -> BrokerRelay {
    BrokerRelay::new(rabbit.stomp_addr())
        .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(500))
        .heartbeat(Duration::from_secs(1), Duration::from_secs(1))
}

async fn server(relay: &BrokerRelay) -> TestServer {
    let mut registry = HandlerRegistry::new();
    StompEndpoint::new("/stomp")
        .broker_relay(relay.clone())
        .message_mapping("/chat.{room}", |message| async move {
            Ok(Some(Reply::new(format!("{}: {}", message.var("room").unwrap_or("?"), message.text()?))))
        })
        .register(&mut registry)
        .expect("a valid endpoint");
    TestServer::start(registry).await
}

impl Client {
    async fn open(server: &TestServer) -> (Client, Frame) {
        let socket = server.request("/stomp").subprotocols(&["v12.stomp"]).connect().await;
        let mut client = Client::new(socket);
        client.send(Frame::new(Command::Connect).header("accept-version", "1.2")).await;
        let answer = client.frame().await;
        (client, answer)
    }

    async fn connected(server: &TestServer) -> Client {
        let (client, answer) = Client::open(server).await;
        assert_eq!(answer.command, Command::Connected, "{answer:?}");
        client
    }

    /// Subscribes and waits for RabbitMQ's receipt.
    async fn subscribe(&mut self, id: &str, destination: &str, ack: &str) {
        let frame =
            Frame::new(Command::Subscribe).header("id", id).header("destination", destination).header("ack", ack);
        self.send(frame.header("receipt", format!("sub-{id}"))).await;
        let receipt = self.frame().await;
        assert_eq!(receipt.get("receipt-id"), Some(format!("sub-{id}").as_str()), "{receipt:?}");
    }

    async fn message(&mut self) -> Frame {
        let frame = self.frame().await;
        assert_eq!(frame.command, Command::Message, "{frame:?}");
        frame
    }
}

fn body(frame: &Frame) -> &str {
    std::str::from_utf8(&frame.body).unwrap()
}

/// Publishes `text` to `destination` as a plain STOMP client of RabbitMQ.
async fn publish_directly(rabbit: &RabbitMq, destination: &str, text: &str) {
    let mut stream = tokio::net::TcpStream::connect(rabbit.stomp_addr()).await.expect("RabbitMQ answers");
    let connect = Frame::new(Command::Connect).header("accept-version", "1.2").header("host", "/");
    let send =
        Frame::new(Command::Send).header("destination", destination).header("receipt", "r").body(text.to_owned());
    stream.write_all(&[connect.encode(Version::V1_2), send.encode(Version::V1_2)].concat()).await.unwrap();
    // Wait for the receipt: the message is in RabbitMQ then.
    let mut decoder = Decoder::new(Limits::default());
    let mut buffer = [0u8; 4096];
    loop {
        use tokio::io::AsyncReadExt;
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(read > 0, "RabbitMQ closed the connection");
        decoder.push(&buffer[..read]);
        while let Some(frame) = decoder.next_frame().unwrap() {
            if frame.command == Command::Receipt {
                return;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_destinations_live_in_rabbitmq() {
    let Some(rabbit) = RabbitMq::start_or_skip("broker_destinations_live_in_rabbitmq").await else { return };
    let relay = relay(&rabbit);
    let server = server(&relay).await;
    let mut ann = Client::connected(&server).await;
    let mut bob = Client::connected(&server).await;
    ann.subscribe("a-1", "/topic/chat.lobby", "auto").await;
    bob.subscribe("b-9", "/topic/chat.lobby", "auto").await;

    // The application's reply goes through the system connection.
    ann.send(Frame::new(Command::Send).header("destination", "/app/chat.lobby").body("hi")).await;
    for (client, id) in [(&mut ann, "a-1"), (&mut bob, "b-9")] {
        let message = client.message().await;
        assert_eq!((message.get("subscription"), body(&message)), (Some(id), "lobby: hi"));
        assert_eq!(message.get("destination"), Some("/topic/chat.lobby"));
    }
    // A plain client of RabbitMQ reaches the WebSocket clients.
    publish_directly(&rabbit, "/topic/chat.lobby", "from rabbitmq").await;
    assert_eq!(body(&ann.message().await), "from rabbitmq");
    assert_eq!(body(&bob.message().await), "from rabbitmq");
    // So does the messaging template, with the relay.
    let messaging = Messaging::new(server.hub().clone()).relay(relay.clone());
    messaging.convert_and_send("/topic/chat.lobby", "from the app").await.unwrap();
    assert_eq!(body(&ann.message().await), "from the app");
    // Unsubscribed in RabbitMQ (its receipt says so), bob hears nothing more.
    bob.send(Frame::new(Command::Unsubscribe).header("id", "b-9").header("receipt", "u")).await;
    assert_eq!(body(&bob.message().await), "from the app");
    assert_eq!(bob.frame().await.get("receipt-id"), Some("u"));
    messaging.convert_and_send("/topic/chat.lobby", "after").await.unwrap();
    assert_eq!(body(&ann.message().await), "after");
    drop((ann, bob));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_pass_through_and_a_nacked_message_comes_back() {
    let Some(rabbit) = RabbitMq::start_or_skip("acks_pass_through").await else { return };
    let relay = relay(&rabbit);
    let server = server(&relay).await;
    let mut worker = Client::connected(&server).await;
    worker.subscribe("w", "/queue/jobs", "client-individual").await;
    let messaging = Messaging::new(server.hub().clone()).relay(relay.clone());
    messaging.convert_and_send("/queue/jobs", "job-1").await.unwrap();
    let first = worker.message().await;
    assert_eq!(body(&first), "job-1");
    let ack = first.get("ack").expect("an ack id from RabbitMQ").to_owned();
    worker.send(Frame::new(Command::Nack).header("id", ack)).await;
    let again = worker.message().await;
    assert_eq!((body(&again), again.get("redelivered")), ("job-1", Some("true")), "RabbitMQ redelivers a NACKed job");
    worker.send(Frame::new(Command::Ack).header("id", again.get("ack").unwrap()).header("receipt", "done")).await;
    assert_eq!(worker.frame().await.get("receipt-id"), Some("done"), "RabbitMQ's receipt for the ACK");
    messaging.convert_and_send("/queue/jobs", "job-2").await.unwrap();
    assert_eq!(body(&worker.message().await), "job-2", "job-1 is not redelivered once acked");
    drop(worker);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_learn_the_broker_went_away_and_all_works_once_it_is_back() {
    let Some(mut rabbit) = RabbitMq::start_or_skip("clients_learn_the_broker_went_away").await else { return };
    let relay = relay(&rabbit);
    let server = server(&relay).await;
    let mut ann = Client::connected(&server).await;
    ann.subscribe("a", "/topic/news", "auto").await;

    rabbit.kill();
    let error = ann.frame().await;
    assert_eq!((error.command, error.get("message")), (Command::Error, Some("message broker connection lost")));
    assert_eq!(ann.socket.closed().await.code(), 1002);
    let (mut refused, answer) = Client::open(&server).await;
    assert_eq!((answer.command, answer.get("message")), (Command::Error, Some("message broker unavailable")));
    assert_eq!(refused.socket.closed().await.code(), 1002);

    rabbit.restart().await;
    let mut back = Client::connected(&server).await;
    back.subscribe("b", "/topic/news", "auto").await;
    // The system connection reconnects by itself (a send waits a moment for it).
    let messaging = Messaging::new(server.hub().clone()).relay(relay.clone());
    let mut sent = messaging.convert_and_send("/topic/news", "back").await;
    for _ in 0..20 {
        if sent.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        sent = messaging.convert_and_send("/topic/news", "back").await;
    }
    sent.expect("the system connection is back");
    assert_eq!(body(&back.message().await), "back");
    drop(back);
    server.shutdown().await;
}
