// The example of the crate docs: a struct handler and a factory fn.
#![deny(warnings)]

use wsboot::{HandlerResult, Message, Session, WebSocketHandler, ws_handler};

#[derive(Default)]
#[ws_handler("/echo", max_message_size = 1 << 20)]
struct Echo;

impl WebSocketHandler for Echo {
    async fn handle_text_message(&self, session: &Session, text: wsboot::Utf8Bytes) -> HandlerResult {
        session.send(Message::Text(text)).await?;
        Ok(())
    }
}

#[ws_handler("/made", per_connection)]
fn made() -> impl WebSocketHandler {
    Echo
}

fn main() {}
