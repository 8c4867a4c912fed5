// Factory fns: `impl WebSocketHandler` or a concrete type, any visibility.
#![deny(warnings)]

use wsboot::{WebSocketHandler, ws_handler};

pub struct Greeter {
    greeting: &'static str,
}

impl WebSocketHandler for Greeter {
    fn supports_partial_messages(&self) -> bool {
        self.greeting.is_empty()
    }
}

#[ws_handler("/hello")]
fn hello() -> impl WebSocketHandler {
    Greeter { greeting: "hello" }
}

#[ws_handler("/rooms/{room}", per_connection, deflate)]
pub fn room() -> Greeter {
    Greeter { greeting: "welcome" }
}

#[ws_handler("/const")]
pub(crate) const fn constant() -> Greeter {
    Greeter { greeting: "const" }
}

fn main() {}
