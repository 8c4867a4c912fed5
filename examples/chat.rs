//! A chat with rooms, and its web page, on one listener.
//!
//! ```sh
//! cargo run --release --example chat -- --addr 127.0.0.1:9002
//! ```
//!
//! Open `http://127.0.0.1:9002/` in a browser or two, pick a nickname and a room,
//! and talk. The rooms are WebSocket routes at `/chat/{room}?name=NICK` speaking
//! the JSON protocol described in `src/chat/mod.rs`, where the handler lives so
//! that the tests run the same code: any WebSocket client can join. Rooms keep
//! a few minutes of history: a page that loses its connection reconnects by
//! itself and catches up on what it missed.
//!
//! Several chat processes share their rooms through Redis (see the README's
//! "Scaling out"):
//!
//! ```sh
//! cargo run --release --example chat -- --addr 127.0.0.1:9002 --redis redis://127.0.0.1:6379/
//! cargo run --release --example chat -- --addr 127.0.0.1:9003 --redis redis://127.0.0.1:6379/
//! ```

/// The process's allocator. mimalloc keeps an idle connection smaller than glibc's
/// malloc does: tokio's per-connection task and socket registration are 128-byte
/// aligned blocks, which glibc pads (about 400 bytes of RSS per connection), and
/// freed compressors go back to the system. See "Memory and the allocator" in the
/// README.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    wsboot_examples::chat_app::app().run();
}
