// STOMP controllers: destination variables by name, the rest by type, and the
// reply from the return value; every endpoint of the program has them.
use wsboot::stomp::{Json, Reply, StompEndpoint, message_mapping, subscribe_mapping};
use wsboot::{HandlerRegistry, Principal, Session};

#[derive(serde::Deserialize, serde::Serialize)]
struct Say {
    text: String,
}

#[message_mapping("/chat.{room}")]
async fn chat(room: String, say: Json<Say>) -> String {
    format!("{room}: {}", say.0.text)
}

#[message_mapping("/rooms/{id}/size", send_to = "/topic/sizes")]
async fn size(id: u32, body: String) -> Result<Json<Say>, wsboot::Error> {
    Ok(Json(Say { text: format!("{id}:{}", body.len()) }))
}

#[message_mapping("/whoami", send_to_user = "/queue/reply")]
async fn whoami(principal: Option<Principal>, _session: Session) -> Option<String> {
    principal.map(|p| p.name().to_owned())
}

#[message_mapping("/ping")]
async fn ping() {}

#[subscribe_mapping("/init")]
async fn init() -> Reply {
    Reply::new("hello")
}

fn main() {
    let mut registry = HandlerRegistry::new();
    StompEndpoint::new("/stomp").register(&mut registry).expect("the annotated mappings are valid");
    let _ = (chat, size, whoami, ping, init);
}
