//! The client side of the test kit: a real WebSocket client that reports every
//! frame the server sent and the status it closed with.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use wsboot_core::{CloseStatus, Message};

use super::server::ClientIo;
use super::wait::bounded;
use super::{DEFAULT_TIMEOUT, TestResponse};

/// What a [`TestClient`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A message: text, binary, ping or pong.
    Message(Message),
    /// The server's close frame: its status (`None` if it carried no code).
    Close(Option<CloseStatus>),
    /// The connection ended without a close frame.
    Dropped,
}

/// A WebSocket client connected to a [`TestServer`](super::TestServer). It
/// answers pings on its own; every method waits at most its timeout and panics
/// with a message naming what it waited for.
pub struct TestClient {
    ws: WebSocketStream<Box<dyn ClientIo>>,
    response: TestResponse,
    local_addr: SocketAddr,
    timeout: Duration,
}

impl fmt::Debug for TestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestClient")
            .field("response", &self.response)
            .field("local_addr", &self.local_addr)
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn from_tungstenite(message: tungstenite::Message) -> Received {
    match message {
        tungstenite::Message::Text(text) => Received::Message(Message::text(text.as_str().to_owned())),
        tungstenite::Message::Binary(data) => Received::Message(Message::binary(data)),
        tungstenite::Message::Ping(data) => Received::Message(Message::Ping(data)),
        tungstenite::Message::Pong(data) => Received::Message(Message::Pong(data)),
        tungstenite::Message::Close(frame) => Received::Close(
            frame.map(|f| CloseStatus::new(u16::from(f.code)).with_reason(f.reason.as_str().to_owned())),
        ),
        tungstenite::Message::Frame(_) => unreachable!("tungstenite yields raw frames only when asked to"),
    }
}

fn to_tungstenite(message: Message) -> tungstenite::Message {
    match message {
        Message::Text(text) => tungstenite::Message::text(text.as_str()),
        Message::Binary(data) => tungstenite::Message::Binary(data),
        Message::Ping(data) => tungstenite::Message::Ping(data),
        Message::Pong(data) => tungstenite::Message::Pong(data),
    }
}

impl TestClient {
    pub(super) fn new(
        ws: WebSocketStream<Box<dyn ClientIo>>,
        response: TestResponse,
        local_addr: SocketAddr,
    ) -> TestClient {
        TestClient { ws, response, local_addr, timeout: DEFAULT_TIMEOUT }
    }

    /// Changes how long each method waits before failing the test.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The server's `101 Switching Protocols`: its headers (an accepted
    /// extension, a header an interceptor added).
    pub fn response(&self) -> &TestResponse {
        &self.response
    }

    /// The subprotocol the server accepted.
    pub fn accepted_protocol(&self) -> Option<&str> {
        self.response.header("sec-websocket-protocol")
    }

    /// The client's address as the server sees it: the socket's over TCP, the
    /// one the request gave (or 127.0.0.1:0) in memory.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Sends a message.
    ///
    /// # Panics
    /// If the connection failed or the write does not finish in time.
    pub async fn send(&mut self, message: impl Into<Message>) {
        let message = to_tungstenite(message.into());
        bounded(self.timeout, "a message to be sent", self.ws.send(message))
            .await
            .unwrap_or_else(|e| panic!("sending failed: {e}"));
    }

    /// Sends a text message.
    ///
    /// # Panics
    /// See [`send`](Self::send).
    pub async fn send_text(&mut self, text: &str) {
        self.send(Message::text(text.to_owned())).await;
    }

    /// Sends several messages back to back without waiting in between (as a
    /// client that pipelines its requests), then flushes them.
    ///
    /// # Panics
    /// See [`send`](Self::send).
    pub async fn send_all(&mut self, messages: impl IntoIterator<Item = Message>) {
        for message in messages {
            bounded(self.timeout, "a message to be queued", self.ws.feed(to_tungstenite(message)))
                .await
                .unwrap_or_else(|e| panic!("sending failed: {e}"));
        }
        bounded(self.timeout, "the messages to be sent", self.ws.flush())
            .await
            .unwrap_or_else(|e| panic!("sending failed: {e}"));
    }

    /// The next thing received: a message (pings and pongs included), the
    /// server's close frame, or the end of the connection.
    ///
    /// # Panics
    /// If nothing arrives in time.
    pub async fn next(&mut self) -> Received {
        match bounded(self.timeout, "something from the server", self.ws.next()).await {
            Some(Ok(message)) => from_tungstenite(message),
            Some(Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed)) | None => {
                Received::Dropped
            }
            Some(Err(tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            ))) => Received::Dropped,
            Some(Err(tungstenite::Error::Io(_))) => Received::Dropped,
            Some(Err(e)) => panic!("the client failed: {e}"),
        }
    }

    /// The next data message (text or binary); pings and pongs are skipped.
    ///
    /// # Panics
    /// If the server closes or drops the session first (the message gives the
    /// status), or nothing arrives in time.
    pub async fn recv(&mut self) -> Message {
        loop {
            match self.next().await {
                Received::Message(Message::Ping(_) | Message::Pong(_)) => continue,
                Received::Message(message) => return message,
                Received::Close(status) => panic!("expected a message, but the server closed the session: {status:?}"),
                Received::Dropped => panic!("expected a message, but the connection ended"),
            }
        }
    }

    /// The next data message, which must be text.
    ///
    /// # Panics
    /// If it is binary, or see [`recv`](Self::recv).
    pub async fn recv_text(&mut self) -> String {
        match self.recv().await {
            Message::Text(text) => text.as_str().to_owned(),
            other => panic!("expected a text message, got {other:?}"),
        }
    }

    /// Waits for the server to close the session and returns the status of its
    /// close frame: 1005 if it carried no code, 1006 if the connection ended
    /// without one. Answers the close and waits for the connection to end.
    ///
    /// # Panics
    /// If a data message arrives first (a test should read it), or nothing
    /// arrives in time.
    pub async fn closed(&mut self) -> CloseStatus {
        loop {
            match self.next().await {
                Received::Message(Message::Ping(_) | Message::Pong(_)) => continue,
                Received::Message(message) => panic!("expected the server's close frame, got {message:?}"),
                Received::Close(status) => {
                    self.drain().await;
                    return status.unwrap_or(CloseStatus::NO_STATUS_CODE);
                }
                Received::Dropped => return CloseStatus::NO_CLOSE_FRAME,
            }
        }
    }

    /// Closes the session with `status` and returns the status the server
    /// answered with (1006 if the connection ended without an answer). Messages
    /// that arrive before the answer are discarded.
    ///
    /// # Panics
    /// If the close frame cannot be sent or no answer arrives in time.
    pub async fn close(&mut self, status: CloseStatus) -> CloseStatus {
        let frame = CloseFrame { code: CloseCode::from(status.code()), reason: status.reason().to_owned().into() };
        self.close_with(Some(frame)).await
    }

    /// Closes the session with a close frame that carries no status code, as
    /// some clients do, and returns the status the server answered with (see
    /// [`close`](Self::close)).
    ///
    /// # Panics
    /// See [`close`](Self::close).
    pub async fn close_without_status(&mut self) -> CloseStatus {
        self.close_with(None).await
    }

    async fn close_with(&mut self, frame: Option<CloseFrame>) -> CloseStatus {
        bounded(self.timeout, "the close frame to be sent", self.ws.close(frame))
            .await
            .unwrap_or_else(|e| panic!("sending the close frame failed: {e}"));
        loop {
            match self.next().await {
                Received::Message(_) => continue,
                Received::Close(status) => {
                    self.drain().await;
                    return status.unwrap_or(CloseStatus::NO_STATUS_CODE);
                }
                Received::Dropped => return CloseStatus::NO_CLOSE_FRAME,
            }
        }
    }

    /// Reads until the connection ends (after a close).
    async fn drain(&mut self) {
        bounded(self.timeout, "the connection to end", async { while let Some(Ok(_)) = self.ws.next().await {} }).await;
    }
}
