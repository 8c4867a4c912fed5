//! STOMP controllers written with `#[message_mapping]` and
//! `#[subscribe_mapping]`, served over a real WebSocket: destination
//! variables, a JSON payload, the principal, replies to a broker destination,
//! to the sender's user and to one subscription; a payload that is not the
//! JSON expected gets an ERROR naming the problem.

use wsboot::stomp::{Command, Frame, Json, StompEndpoint, message_mapping, subscribe_mapping};
use wsboot::test::TestServer;
use wsboot::{HandlerRegistry, HandshakeInterceptor, HandshakeRequest, Principal, Rejection};
use wsboot_tests::stomp::StompClient;

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

fn send(destination: &str, body: &str) -> Frame {
    Frame::new(Command::Send).header("destination", destination).body(body.to_owned())
}

#[tokio::test]
async fn annotated_controllers_answer_over_a_real_websocket() {
    let mut registry = HandlerRegistry::new();
    StompEndpoint::new("/stomp").register(&mut registry).expect("a valid endpoint").interceptor(UserFromQuery);
    let server = TestServer::start(registry).await;
    let mut ann = StompClient::connected(&server, "/stomp?user=ann").await;
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
    let mut bob = StompClient::connected(&server, "/stomp?user=bob").await;
    bob.send(send("/app/chat.lobby", "not json")).await;
    let error = bob.frame().await;
    let detail = String::from_utf8(error.body.to_vec()).unwrap();
    assert!(detail.contains("is not the JSON expected"), "{detail}");
    drop((ann, bob));
    server.shutdown().await;
}
