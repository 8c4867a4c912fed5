//! A chat with rooms, and its web page, on one listener.
//!
//! ```sh
//! cargo run --release --example chat -- --addr 127.0.0.1:9002
//! ```
//!
//! Open `http://127.0.0.1:9002/` in a browser or two, pick a nickname and a room,
//! and talk. The rooms are WebSocket routes at `/chat/{room}?name=NICK` speaking
//! the JSON protocol described in `src/chat.rs`, where the handler lives so that
//! the tests run the same code: any WebSocket client can join.

use wsboot::App;
use wsboot_examples::chat;

fn main() {
    App::new()
        .about("A chat with rooms: the page at http://HOST:PORT/, rooms at ws://HOST:PORT/chat/{room}?name=NICK.")
        .configure(|builder, _args| Ok(builder.registry(chat::registry())))
        .run();
}
