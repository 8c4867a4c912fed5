use wsboot::{WebSocketHandler, ws_handler};

#[derive(Default)]
#[ws_handler("/a", max_message_size = 1024, deflate, max_message_size = 2048)]
struct Twice;
impl WebSocketHandler for Twice {}

fn main() {}
