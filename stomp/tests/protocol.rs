//! STOMP over a real WebSocket on 127.0.0.1: version negotiation, frames
//! whole, split and batched, the in-process broker, application handlers,
//! user destinations, transactions, receipts, heart-beats, and an ERROR frame
//! naming the problem (then the close) for each kind of bad input.

mod support;

use std::time::Duration;

use wsboot::test::TestServer;
use wsboot::{HandlerRegistry, HandshakeInterceptor, HandshakeRequest, HistoryLimits, Principal, Rejection};
use wsboot_stomp::{Command, Frame, Limits, Messaging, Payload, Reply, StompEndpoint, Version};

use support::client::Client;

/// Makes `?user=NAME` the session's principal.
struct UserFromQuery;

impl HandshakeInterceptor for UserFromQuery {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        if let Some(user) = request.query_param("user") {
            request.set_principal(Principal::new(user));
        }
        Ok(())
    }
}

/// The endpoint of these tests: a chat mapping, an initial-state mapping, a
/// reply to the sender's user, and `/topic/raw` open to clients.
fn endpoint() -> StompEndpoint {
    StompEndpoint::new("/stomp")
        .message_mapping("/chat.{room}", |message| async move {
            Ok(Some(Reply::new(format!("{}: {}", message.var("room").unwrap_or("?"), message.text()?))))
        })
        .message_mapping("/whoami", |message| async move {
            let name = message.principal().map_or("nobody".to_owned(), |p| p.name().to_owned());
            Ok(Some(Reply::new(name).to_user("/queue/reply")))
        })
        .subscribe_mapping("/init", |_| async { Ok(Some(Reply::new(Payload::json(&[1, 2, 3])?))) })
        .allow_client_sends("/topic/raw")
}

async fn server_with(endpoint: StompEndpoint) -> TestServer {
    let mut registry = HandlerRegistry::new();
    endpoint.register(&mut registry).expect("a valid endpoint").interceptor(UserFromQuery);
    TestServer::start(registry).await
}

impl Client {
    async fn open(server: &TestServer, query: &str, protocols: &[&str]) -> Client {
        let path = format!("/stomp{query}");
        let socket = match protocols {
            [] => server.connect(&path).await,
            protocols => server.request(&path).subprotocols(protocols).connect().await,
        };
        Client::new(socket)
    }

    /// Opens with `v12.stomp` and connects.
    async fn connected(server: &TestServer, query: &str) -> Client {
        let mut client = Client::open(server, query, &["v12.stomp"]).await;
        client.send(Frame::new(Command::Connect).header("accept-version", "1.2").header("host", "localhost")).await;
        assert_eq!(client.frame().await.command, Command::Connected);
        client
    }

    /// The ERROR frame that ends the connection, and the close code.
    async fn error(&mut self) -> (Frame, u16) {
        let frame = self.frame().await;
        assert_eq!(frame.command, Command::Error, "{frame:?}");
        (frame, self.socket.closed().await.code())
    }

    async fn subscribe(&mut self, id: &str, destination: &str) {
        let frame = Frame::new(Command::Subscribe).header("id", id).header("destination", destination);
        self.send(frame.header("receipt", format!("sub-{id}"))).await;
        let receipt = self.frame().await;
        assert_eq!(
            (receipt.command, receipt.get("receipt-id")),
            (Command::Receipt, Some(format!("sub-{id}").as_str()))
        );
    }
}

fn send(destination: &str, body: &str) -> Frame {
    Frame::new(Command::Send).header("destination", destination).body(body.to_owned())
}

fn body(frame: &Frame) -> &str {
    std::str::from_utf8(&frame.body).expect("a text body")
}

#[tokio::test]
async fn versions_are_negotiated_by_subprotocol_and_accept_version() {
    let server = server_with(endpoint()).await;
    let cases: [(&[&str], Option<&str>, &str); 4] = [
        (&["v12.stomp", "v11.stomp"], Some("1.1,1.2"), "1.2"),
        (&[], Some("1.1"), "1.1"),
        (&[], None, "1.0"),
        (&["v10.stomp"], Some("1.0,1.1,1.2"), "1.0"),
    ];
    for (protocols, accept, expected) in cases {
        let mut client = Client::open(&server, "", protocols).await;
        let mut connect = Frame::new(Command::Connect);
        if let Some(accept) = accept {
            connect.push_header("accept-version", accept);
        }
        client.send(connect).await;
        let connected = client.frame().await;
        assert_eq!(connected.command, Command::Connected);
        assert_eq!(connected.get("version"), Some(expected), "{protocols:?} {accept:?}");
        assert_eq!(connected.get("heart-beat"), Some("0,0"), "no heart-beats unless the client offers them");
        assert!(connected.get("server").unwrap().starts_with("wsboot-stomp/"));
    }
    // The subprotocol says 1.1, the frame only 1.2: nothing in common.
    let mut client = Client::open(&server, "", &["v11.stomp"]).await;
    assert_eq!(client.socket.accepted_protocol(), Some("v11.stomp"));
    client.send(Frame::new(Command::Connect).header("accept-version", "1.2")).await;
    let (error, code) = client.error().await;
    assert_eq!(error.get("message"), Some("unsupported STOMP version"));
    assert_eq!(error.get("version"), Some("1.2,1.1,1.0"));
    assert!(body(&error).contains("v11.stomp"), "{}", body(&error));
    assert_eq!(code, 1002);
    server.shutdown().await;
}

#[tokio::test]
async fn a_send_to_the_application_reaches_every_subscriber_with_its_own_subscription() {
    let server = server_with(endpoint()).await;
    let mut ann = Client::connected(&server, "").await;
    let mut bob = Client::connected(&server, "").await;
    ann.subscribe("a-1", "/topic/chat.lobby").await;
    bob.subscribe("b-7", "/topic/chat.lobby").await;
    bob.subscribe("b-8", "/topic/chat.lobby").await;
    ann.send(send("/app/chat.lobby", "hi").header("receipt", "r-1")).await;
    // The receipt comes once the SEND was processed: after its publication.
    let on_a = ann.frame().await;
    let receipt = ann.frame().await;
    assert_eq!(receipt.get("receipt-id"), Some("r-1"));
    assert_eq!(
        (on_a.command, on_a.get("destination"), body(&on_a)),
        (Command::Message, Some("/topic/chat.lobby"), "lobby: hi")
    );
    assert_eq!(on_a.get("subscription"), Some("a-1"));
    assert_eq!(on_a.get("content-type"), Some("text/plain;charset=UTF-8"));
    let (first, second) = (bob.frame().await, bob.frame().await);
    let mut subscriptions = [first.get("subscription").unwrap(), second.get("subscription").unwrap()];
    subscriptions.sort_unstable();
    assert_eq!(subscriptions, ["b-7", "b-8"], "one MESSAGE per subscription");
    assert_ne!(first.get("message-id"), second.get("message-id"));

    // Several frames in one WebSocket message, and one frame over two.
    ann.subscribe("a-2", "/topic/chat.kitchen").await;
    let two =
        [send("/app/chat.lobby", "one").encode(Version::V1_2), send("/app/chat.lobby", "two").encode(Version::V1_2)];
    ann.send_raw(&two.concat()).await;
    let split = send("/app/chat.kitchen", "three").encode(Version::V1_2);
    ann.send_raw(&split[..7]).await;
    ann.send_raw(&split[7..]).await;
    let texts: Vec<String> =
        [ann.frame().await, ann.frame().await, ann.frame().await].iter().map(|f| body(f).to_owned()).collect();
    assert_eq!(texts, ["lobby: one", "lobby: two", "kitchen: three"]);

    // Unsubscribed, bob hears nothing more on b-7; b-8 goes on.
    bob.send(Frame::new(Command::Unsubscribe).header("id", "b-7").header("receipt", "u")).await;
    for _ in 0..4 {
        assert_eq!(bob.frame().await.command, Command::Message, "\"one\" and \"two\", on both subscriptions");
    }
    assert_eq!(bob.frame().await.get("receipt-id"), Some("u"));
    ann.send(send("/app/chat.lobby", "after")).await;
    let after = bob.frame().await;
    assert_eq!((after.get("subscription"), body(&after)), (Some("b-8"), "lobby: after"));

    assert_eq!(body(&ann.frame().await), "lobby: after");

    // Bodies with NULs travel with content-length, where clients may send.
    ann.subscribe("a-3", "/topic/raw").await;
    ann.send(Frame::new(Command::Send).header("destination", "/topic/raw").body(b"a\0b".to_vec())).await;
    let raw = ann.frame().await;
    assert_eq!(raw.body.as_ref(), b"a\0b");
    drop((ann, bob));
    server.shutdown().await;
}

#[tokio::test]
async fn user_destinations_reach_every_session_of_one_user() {
    let server = server_with(endpoint()).await;
    let mut ann = [Client::connected(&server, "?user=ann").await, Client::connected(&server, "?user=ann").await];
    let mut bob = Client::connected(&server, "?user=bob").await;
    for (i, client) in ann.iter_mut().enumerate() {
        client.subscribe(&format!("n-{i}"), "/user/queue/notices").await;
        client.subscribe(&format!("r-{i}"), "/user/queue/reply").await;
    }
    bob.subscribe("n", "/user/queue/notices").await;
    bob.subscribe("r", "/user/queue/reply").await;

    let messaging = Messaging::new(server.hub().clone());
    messaging.convert_and_send_to_user("ann", "/queue/notices", "export ready").await;
    for client in &mut ann {
        let notice = client.frame().await;
        assert_eq!((notice.get("destination"), body(&notice)), (Some("/user/queue/notices"), "export ready"));
    }
    // A handler's reply to the sender's user: both of ann's sessions, not bob.
    ann[0].send(send("/app/whoami", "")).await;
    for client in &mut ann {
        assert_eq!(body(&client.frame().await), "ann");
    }
    bob.send(send("/app/whoami", "")).await;
    let reply = bob.frame().await;
    assert_eq!((reply.get("subscription"), body(&reply)), (Some("r"), "bob"), "nothing of ann's came first");

    // The template reaches broker destinations, and refuses others.
    bob.subscribe("t", "/topic/prices").await;
    messaging.convert_and_send("/topic/prices", Payload::json(&[("ACME", 12.5)]).unwrap()).await.unwrap();
    let price = bob.frame().await;
    assert_eq!((price.get("content-type"), body(&price)), (Some("application/json"), r#"[["ACME",12.5]]"#));
    assert!(messaging.convert_and_send("/app/x", "no").await.is_err());

    // A subscription to an application destination gets its initial state once.
    bob.send(Frame::new(Command::Subscribe).header("id", "i").header("destination", "/app/init")).await;
    let init = bob.frame().await;
    assert_eq!((init.get("subscription"), body(&init)), (Some("i"), "[1,2,3]"));
    drop((ann, bob));
    server.shutdown().await;
}

#[tokio::test]
async fn sends_in_a_transaction_take_effect_on_commit_only() {
    let server = server_with(endpoint()).await;
    let mut ann = Client::connected(&server, "").await;
    ann.subscribe("s", "/topic/chat.tx").await;
    ann.send(Frame::new(Command::Begin).header("transaction", "t1")).await;
    ann.send(send("/app/chat.tx", "held").header("transaction", "t1")).await;
    ann.send(Frame::new(Command::Begin).header("transaction", "t2")).await;
    ann.send(send("/app/chat.tx", "dropped").header("transaction", "t2")).await;
    ann.send(Frame::new(Command::Abort).header("transaction", "t2")).await;
    ann.send(send("/app/chat.tx", "now").header("receipt", "r")).await;
    assert_eq!(body(&ann.frame().await), "tx: now", "nothing from the open or aborted transaction");
    assert_eq!(ann.frame().await.get("receipt-id"), Some("r"));
    ann.send(Frame::new(Command::Commit).header("transaction", "t1")).await;
    assert_eq!(body(&ann.frame().await), "tx: held");
    ann.send(Frame::new(Command::Commit).header("transaction", "t1")).await;
    let (error, code) = ann.error().await;
    assert_eq!((error.get("message"), code), (Some("unknown transaction"), 1002));
    server.shutdown().await;
}

#[tokio::test]
async fn acks_follow_the_subscription_mode() {
    let server = server_with(endpoint()).await;
    let mut ann = Client::connected(&server, "").await;
    ann.send(
        Frame::new(Command::Subscribe)
            .header("id", "c")
            .header("destination", "/topic/chat.acks")
            .header("ack", "client-individual"),
    )
    .await;
    ann.send(send("/app/chat.acks", "x")).await;
    let message = ann.frame().await;
    let ack = message.get("ack").expect("an ack id in client modes").to_owned();
    ann.send(Frame::new(Command::Ack).header("id", ack).header("receipt", "acked")).await;
    assert_eq!(ann.frame().await.get("receipt-id"), Some("acked"));
    ann.send(Frame::new(Command::Nack)).await;
    let (error, _) = ann.error().await;
    assert_eq!(error.get("message"), Some("missing id header"));
    server.shutdown().await;
}

#[tokio::test]
async fn bad_input_gets_an_error_frame_naming_the_problem_then_the_close() {
    let limits = Limits { max_frame_bytes: 1024, ..Limits::default() };
    let server = server_with(endpoint().limits(limits)).await;
    let connect = Frame::new(Command::Connect).header("accept-version", "1.2").encode(Version::V1_2);
    let cases: [(&str, Vec<u8>, &str, u16); 11] = [
        ("SEND before CONNECT", send("/app/chat.a", "x").encode(Version::V1_2), "not connected", 1002),
        ("an unknown command", b"HELLO\n\n\0".to_vec(), "unknown command", 1002),
        ("a malformed header", b"SEND\nno-colon\n\n\0".to_vec(), "malformed header", 1002),
        ("SEND without destination", b"SEND\n\nx\0".to_vec(), "missing destination header", 1002),
        ("SEND straight to the broker", send("/topic/chat.a", "x").encode(Version::V1_2), "not allowed", 1008),
        ("an unknown destination", send("/elsewhere", "x").encode(Version::V1_2), "unknown destination", 1002),
        ("no handler", send("/app/nothing", "x").encode(Version::V1_2), "no handler", 1002),
        ("UNSUBSCRIBE of an unknown id", b"UNSUBSCRIBE\nid:9\n\n\0".to_vec(), "unknown subscription", 1002),
        (
            "a frame too large",
            [b"SEND\ndestination:/app/chat.a\n\n".as_slice(), &[b'x'; 2000], b"\0"].concat(),
            "frame too large",
            1002,
        ),
        ("a server frame", b"MESSAGE\n\n\0".to_vec(), "unexpected frame", 1002),
        ("a second CONNECT", connect.clone(), "already connected", 1002),
    ];
    for (what, wire, message, close) in cases {
        let mut client = Client::open(&server, "", &["v12.stomp"]).await;
        if what != "SEND before CONNECT" {
            client.send_raw(&connect).await;
            assert_eq!(client.frame().await.command, Command::Connected);
        }
        client.send_raw(&wire).await;
        let (error, code) = client.error().await;
        assert_eq!(error.get("message"), Some(message), "{what}: {}", body(&error));
        assert!(!body(&error).is_empty(), "{what}: the body says more");
        assert_eq!(code, close, "{what}");
    }
    // A receipt asked for by a bad frame comes back in the ERROR.
    let mut client = Client::connected(&server, "").await;
    client.send(Frame::new(Command::Subscribe).header("destination", "/topic/x").header("receipt", "77")).await;
    let (error, _) = client.error().await;
    assert_eq!((error.get("message"), error.get("receipt-id")), (Some("missing id header"), Some("77")));
    // A duplicate subscription id.
    let mut client = Client::connected(&server, "").await;
    client.subscribe("1", "/topic/a").await;
    client.send(Frame::new(Command::Subscribe).header("id", "1").header("destination", "/topic/b")).await;
    assert_eq!(client.error().await.0.get("message"), Some("duplicate subscription"));
    server.shutdown().await;
}

#[tokio::test]
async fn heart_beats_are_sent_and_a_silent_client_is_dropped() {
    let quick = Duration::from_millis(100);
    let server = server_with(endpoint().heartbeat(quick, quick)).await;
    let mut client = Client::open(&server, "", &["v12.stomp"]).await;
    client.send(Frame::new(Command::Connect).header("accept-version", "1.2").header("heart-beat", "50,80")).await;
    let connected = client.frame().await;
    assert_eq!(connected.get("heart-beat"), Some("100,100"), "the longer of each pair");
    // Beats arrive as bare EOLs; the client says nothing back.
    let beat = client.socket.recv().await;
    assert_eq!(beat.payload(), b"\n");
    let started = std::time::Instant::now();
    let (error, code) = client.error().await;
    assert_eq!((error.get("message"), code), (Some("heart-beat timeout"), 1002));
    assert!(started.elapsed() < Duration::from_secs(2), "dropped after {:?}", started.elapsed());

    // A client that beats stays.
    let mut client = Client::open(&server, "", &["v12.stomp"]).await;
    client.send(Frame::new(Command::Connect).header("accept-version", "1.2").header("heart-beat", "100,0")).await;
    assert_eq!(client.frame().await.get("heart-beat"), Some("0,100"));
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        client.send_raw(b"\n").await;
    }
    client.send(Frame::new(Command::Disconnect).header("receipt", "bye")).await;
    assert_eq!(client.frame().await.get("receipt-id"), Some("bye"));
    assert_eq!(client.socket.closed().await.code(), 1000);
    server.shutdown().await;
}

#[tokio::test]
async fn a_subscription_resumes_from_an_offset_of_a_destination_with_history() {
    let server = server_with(endpoint().history("/topic/news.*", HistoryLimits::default())).await;
    let messaging = Messaging::new(server.hub().clone());
    let mut first = Client::connected(&server, "").await;
    first.subscribe("s", "/topic/news.sport").await;
    for text in ["one", "two", "three"] {
        messaging.convert_and_send("/topic/news.sport", text).await.unwrap();
    }
    let seen = [first.frame().await, first.frame().await, first.frame().await];
    let offsets: Vec<&str> = seen.iter().map(|f| f.get("x-offset").expect("a position")).collect();
    assert_eq!(seen.iter().map(body).collect::<Vec<_>>(), ["one", "two", "three"]);

    // A client back after "one": "two" and "three", then the receipt, then live.
    let mut back = Client::connected(&server, "").await;
    let since = Frame::new(Command::Subscribe).header("id", "r").header("destination", "/topic/news.sport");
    back.send(since.header("x-since", offsets[0]).header("receipt", "resumed")).await;
    let replay = [back.frame().await, back.frame().await];
    assert_eq!(replay.iter().map(body).collect::<Vec<_>>(), ["two", "three"]);
    assert_eq!(replay[0].get("x-offset"), Some(offsets[1]));
    let receipt = back.frame().await;
    assert_eq!(receipt.get("x-recovered"), Some("true"));
    assert_eq!(receipt.get("x-offset"), Some(offsets[2]));
    messaging.convert_and_send("/topic/news.sport", "four").await.unwrap();
    assert_eq!(body(&back.frame().await), "four");

    // A position from another history: nothing replayed, said in the receipt.
    let mut lost = Client::connected(&server, "").await;
    let stale = Frame::new(Command::Subscribe).header("id", "x").header("destination", "/topic/news.sport");
    lost.send(stale.header("x-since", "00000000000000ff:3").header("receipt", "r")).await;
    let receipt = lost.frame().await;
    assert_eq!((receipt.command, receipt.get("x-recovered")), (Command::Receipt, Some("false")));
    // On a destination without history, x-since is an error that says so.
    let mut wrong = Client::connected(&server, "").await;
    let plain = Frame::new(Command::Subscribe).header("id", "p").header("destination", "/topic/plain");
    wrong.send(plain.header("x-since", offsets[0])).await;
    assert_eq!(wrong.error().await.0.get("message"), Some("cannot resume"));
    drop((first, back, lost));
    server.shutdown().await;
}
