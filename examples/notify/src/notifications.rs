//! [`Notifications`], the handler at [`ROUTE`].

use std::sync::Arc;

use wsboot::{CloseStatus, HandlerResult, Hub, Session, Utf8Bytes, WebSocketHandler, ws_handler};

use crate::ticker::HEARTBEAT_TOPIC;
use crate::tokens::TokenStore;

/// The path of the notifications endpoint.
pub const ROUTE: &str = "/notifications";

/// What a client writes to push a note to a user.
const USAGE: &str = "error: write `to USER: TEXT`";

/// Each session of a user receives the notes sent to that user and the
/// heartbeat; a session sends `to USER: TEXT` to push a note.
#[derive(Debug)]
pub struct Notifications {
    tokens: Arc<TokenStore>,
    hub: Hub,
}

/// The handler, built at startup with the token store and the hub.
#[ws_handler("/notifications")]
fn notifications(tokens: Arc<TokenStore>, hub: Hub) -> Notifications {
    Notifications { tokens, hub }
}

/// `to USER: TEXT` as `(USER, TEXT)`.
fn parse(line: &str) -> Option<(&str, &str)> {
    let (user, text) = line.strip_prefix("to ")?.split_once(':')?;
    let (user, text) = (user.trim(), text.trim());
    (!user.is_empty() && !user.contains(char::is_whitespace) && !text.is_empty()).then_some((user, text))
}

impl WebSocketHandler for Notifications {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        let Some(user) = session.principal() else {
            // Only if the auth plugin is not installed: refuse rather than serve anonymously.
            session.close(CloseStatus::POLICY_VIOLATION.with_reason("not authenticated"));
            return Ok(());
        };
        // Subscribed before the welcome: a client that has it gets every heartbeat after.
        self.hub.subscribe(session, HEARTBEAT_TOPIC).await?;
        session.send(format!("welcome {}", user.name())).await?;
        Ok(())
    }

    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        let sender = session.principal().map(|p| p.name().to_owned()).unwrap_or_default();
        let Some((to, note)) = parse(&text) else {
            return Ok(session.send(USAGE).await?);
        };
        if !self.tokens.has_user(to) {
            return Ok(session.send(format!("error: no user named `{to}`")).await?);
        }
        let delivered = self.hub.send_to_user(to, format!("from {sender}: {note}")).await;
        let sessions = if delivered == 1 { "session" } else { "sessions" };
        Ok(session.send(format!("sent to {to} ({delivered} {sessions})")).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_the_line_format() {
        assert_eq!(parse("to bob: lunch at 12: ok?"), Some(("bob", "lunch at 12: ok?")));
        assert_eq!(parse("to bob:hi"), Some(("bob", "hi")));
        for bad in ["hello", "to bob", "to : hi", "to bob:   ", "to bob smith: hi", "To bob: hi"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
