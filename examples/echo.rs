//! The seed's example: Spring's `MyHandler`, in wsboot.
//!
//! - `/myHandler`: a text handler that logs the connection, each payload and the
//!   close status, and echoes each text message back. Binary messages are refused
//!   with close code 1003.
//! - `/echo`: echoes every text and binary message unchanged (used by the
//!   conformance suite and the benchmarks), with limits large enough for them.
//!
//! ```sh
//! cargo run --release --example echo -- --addr 127.0.0.1:9001
//! ```
//!
//! With `--deflate` both handlers compress with permessage-deflate (RFC 7692)
//! whenever the client offers it, as the conformance suite's 12.* and 13.*
//! cases do:
//!
//! ```sh
//! cargo run --release --example echo -- --addr 127.0.0.1:9001 --deflate
//! ```

use wsboot::{Bytes, CloseStatus, HandlerResult, Session, Utf8Bytes, WebSocketHandler, ws_handler};

/// Spring's `MyHandler extends TextWebSocketHandler`.
#[derive(Default)]
#[ws_handler("/myHandler")]
struct MyHandler;

impl WebSocketHandler for MyHandler {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        tracing::info!(session = %session.id(), "connection established");
        Ok(())
    }

    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        tracing::info!(session = %session.id(), "payload: {text}");
        session.send(text).await?;
        Ok(())
    }

    async fn after_connection_closed(&self, session: &Session, status: &CloseStatus) {
        tracing::info!(session = %session.id(), "closed: {status}");
    }
}

/// Echoes text and binary messages unchanged. Messages up to 16 MiB, the largest
/// the conformance suite sends.
#[derive(Default)]
#[ws_handler("/echo", max_message_size = 16 << 20, max_frame_size = 16 << 20)]
struct Echo;

impl WebSocketHandler for Echo {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        Ok(session.send(text).await?)
    }

    async fn handle_binary_message(&self, session: &Session, data: Bytes) -> HandlerResult {
        Ok(session.send(data).await?)
    }
}

/// The process's allocator. mimalloc keeps an idle connection smaller than glibc's
/// malloc does: tokio's per-connection task and socket registration are 128-byte
/// aligned blocks, which glibc pads (about 400 bytes of RSS per connection), and
/// freed compressors go back to the system. See "Memory and the allocator" in the
/// README.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    wsboot::run();
}
