//! The handlers of the application, in its library. `src/main.rs`,
//! `src/bin/builder-app.rs` and `tests/app.rs` name nothing from here: the
//! layout whose routes used to vanish at link time.

use wsboot::{HandlerResult, Session, Utf8Bytes, WebSocketHandler, ws_handler};

/// Answers each text message with `echo: TEXT`, a reply built at run time.
#[derive(Debug, Default)]
#[ws_handler("/echo", max_message_size = "64KiB")]
pub struct Echo;

impl WebSocketHandler for Echo {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        let reply = format!("echo: {text}");
        // A borrowed `&str` of any lifetime is a message.
        Ok(session.send(reply.as_str()).await?)
    }
}
