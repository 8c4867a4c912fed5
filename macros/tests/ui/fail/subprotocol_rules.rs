// Every subprotocol the server would refuse at startup is refused here, by the same rule.
use wsboot::{WebSocketHandler, ws_handler};

#[derive(Default)]
#[ws_handler("/a", subprotocols = ["", "v1,v2", "chat/v1", "чат"])]
struct NotTokens;
impl WebSocketHandler for NotTokens {}

#[derive(Default)]
#[ws_handler("/b", subprotocols = ["chat.v1", "stomp.v12", "x-!#$%&'*+-.^_`|~"])]
struct Accepted;
impl WebSocketHandler for Accepted {}

fn main() {}
