//! STOMP controllers written with `#[message_mapping]` and
//! `#[subscribe_mapping]`, served over a real WebSocket: destination
//! variables, a JSON payload, the principal, replies to a broker destination,
//! to the sender's user and to one subscription; a payload that is not the
//! JSON expected gets an ERROR naming the problem.

use wsboot::stomp::{
    Command, Decoder, Frame, Json, Limits, StompEndpoint, Version, message_mapping, subscribe_mapping,
};
use wsboot::test::{TestClient, TestServer};
use wsboot::{HandlerRegistry, HandshakeInterceptor, HandshakeRequest, Principal, Rejection};

#[derive(serde::Deserialize)]
struct Say {
    text: String,
}

#[message_mapping("/chat.{room}")]
async fn chat(room: String, say: Json<Say>, principal: Option<Principal>) -> String {
    let who = principal.map_or("anonymous".to_owned(), |p| p.name().to_owned());
    format!("{room} {who}: {}", say.0.text)
}

#[message_mapping("/double/{n}", send_to = "/topic/numbers")]
async fn double(n: i64) -> Json<i64> {
    Json(n * 2)
}

#[message_mapping("/whoami", send_to_user = "/queue/reply")]
async fn whoami(principal: Principal) -> String {
    principal.name().to_owned()
}

#[subscribe_mapping("/rooms")]
async fn rooms() -> Json<Vec<&'static str>> {
    Json(vec!["lobby", "kitchen"])
}

struct UserFromQuery;

impl HandshakeInterceptor for UserFromQuery {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        if let Some(user) = request.query_param("user") {
            request.set_principal(Principal::new(user));
        }
        Ok(())
    }
}

struct Client {
    socket: TestClient,
    decoder: Decoder,
    pending: Vec<Frame>,
}

impl Client {
    async fn connected(server: &TestServer, user: &str) -> Client {
        let socket = server.request(&format!("/stomp?user={user}")).subprotocols(&["v12.stomp"]).connect().await;
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

    async fn body(&mut self) -> String {
        let frame = self.frame().await;
        assert_eq!(frame.command, Command::Message, "{frame:?}");
        String::from_utf8(frame.body.to_vec()).unwrap()
    }
}

fn send(destination: &str, body: &str) -> Frame {
    Frame::new(Command::Send).header("destination", destination).body(body.to_owned())
}

#[tokio::test]
async fn annotated_controllers_answer_over_a_real_websocket() {
    let mut registry = HandlerRegistry::new();
    StompEndpoint::new("/stomp").register(&mut registry).expect("a valid endpoint").interceptor(UserFromQuery);
    let server = TestServer::start(registry).await;
    let mut ann = Client::connected(&server, "ann").await;
    ann.subscribe("c", "/topic/chat.lobby").await;
    ann.subscribe("n", "/topic/numbers").await;
    ann.subscribe("r", "/user/queue/reply").await;

    ann.send(send("/app/chat.lobby", r#"{"text":"hi"}"#)).await;
    assert_eq!(ann.body().await, "lobby ann: hi");
    ann.send(send("/app/double/21", "")).await;
    assert_eq!(ann.body().await, "42");
    ann.send(send("/app/whoami", "")).await;
    assert_eq!(ann.body().await, "ann");
    ann.send(Frame::new(Command::Subscribe).header("id", "s").header("destination", "/app/rooms")).await;
    let rooms = ann.frame().await;
    assert_eq!((rooms.get("subscription"), rooms.body.as_ref()), (Some("s"), br#"["lobby","kitchen"]"#.as_slice()));

    // A variable that does not parse, and a body that is not the JSON expected.
    ann.send(send("/app/double/many", "")).await;
    let error = ann.frame().await;
    assert_eq!(error.command, Command::Error);
    let detail = String::from_utf8(error.body.to_vec()).unwrap();
    assert!(detail.contains("{n} of /app/double/many is \"many\""), "{detail}");
    let mut bob = Client::connected(&server, "bob").await;
    bob.send(send("/app/chat.lobby", "not json")).await;
    let error = bob.frame().await;
    let detail = String::from_utf8(error.body.to_vec()).unwrap();
    assert!(detail.contains("is not the JSON expected"), "{detail}");
    drop((ann, bob));
    server.shutdown().await;
}
