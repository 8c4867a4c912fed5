use wsboot::{WebSocketHandler, ws_handler};

#[ws_handler("/configured")]
struct Configured {
    greeting: String,
}

impl WebSocketHandler for Configured {
    fn supports_partial_messages(&self) -> bool {
        self.greeting.is_empty()
    }
}

fn main() {}
