//! Handlers several test files serve.

use tokio::sync::mpsc;
use wsboot::test::within;
use wsboot::{Bytes, CloseStatus, HandlerResult, Session, Utf8Bytes, WebSocketHandler};

/// Echoes every text and binary message back unchanged.
#[derive(Debug, Default, Clone, Copy)]
pub struct Echo;

impl WebSocketHandler for Echo {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        Ok(session.send(text).await?)
    }

    async fn handle_binary_message(&self, session: &Session, data: Bytes) -> HandlerResult {
        Ok(session.send(data).await?)
    }
}

/// Echoes text and binary messages and reports each session's close status.
#[derive(Debug, Clone)]
pub struct ReportingEcho {
    closed: mpsc::UnboundedSender<CloseStatus>,
}

/// Where a [`ReportingEcho`] reports close statuses.
#[derive(Debug)]
pub struct Closures(mpsc::UnboundedReceiver<CloseStatus>);

impl ReportingEcho {
    /// The handler and the receiving end of its reports.
    pub fn new() -> (ReportingEcho, Closures) {
        let (closed, received) = mpsc::unbounded_channel();
        (ReportingEcho { closed }, Closures(received))
    }
}

impl Closures {
    /// The status of the next session that closed.
    ///
    /// # Panics
    /// If no session reports a close in time.
    pub async fn next(&mut self) -> CloseStatus {
        within("after_connection_closed", self.0.recv()).await.expect("the handler is alive")
    }
}

impl WebSocketHandler for ReportingEcho {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        Ok(session.send(text).await?)
    }

    async fn handle_binary_message(&self, session: &Session, data: Bytes) -> HandlerResult {
        Ok(session.send(data).await?)
    }

    async fn after_connection_closed(&self, _session: &Session, status: &CloseStatus) {
        let _ = self.closed.send(status.clone());
    }
}
