//! The client side of the test kit: a real WebSocket client that reports every
//! frame the server sent and the status it closed with.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use wsboot_core::{CloseStatus, Message};

use super::server::ClientIo;
use super::wait::{Caller, bounded};
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
/// with a message naming the method, the test line that called it and what it
/// waited for.
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
    #[track_caller]
    pub fn send(&mut self, message: impl Into<Message>) -> impl Future<Output = ()> {
        let caller = Caller::here("TestClient::send");
        let message = to_tungstenite(message.into());
        async move {
            bounded(self.timeout, "a message to be sent", caller, self.ws.send(message))
                .await
                .unwrap_or_else(|e| caller.fail(format_args!("sending failed: {e}")));
        }
    }

    /// Sends a text message.
    ///
    /// # Panics
    /// See [`send`](Self::send).
    #[track_caller]
    pub fn send_text(&mut self, text: &str) -> impl Future<Output = ()> {
        let caller = Caller::here("TestClient::send_text");
        let message = to_tungstenite(Message::from(text));
        async move {
            bounded(self.timeout, "a message to be sent", caller, self.ws.send(message))
                .await
                .unwrap_or_else(|e| caller.fail(format_args!("sending failed: {e}")));
        }
    }

    /// Sends several messages back to back without waiting in between (as a
    /// client that pipelines its requests), then flushes them.
    ///
    /// # Panics
    /// See [`send`](Self::send).
    #[track_caller]
    pub fn send_all(&mut self, messages: impl IntoIterator<Item = Message>) -> impl Future<Output = ()> {
        let caller = Caller::here("TestClient::send_all");
        let messages: Vec<tungstenite::Message> = messages.into_iter().map(to_tungstenite).collect();
        async move {
            for message in messages {
                bounded(self.timeout, "a message to be queued", caller, self.ws.feed(message))
                    .await
                    .unwrap_or_else(|e| caller.fail(format_args!("sending failed: {e}")));
            }
            bounded(self.timeout, "the messages to be sent", caller, self.ws.flush())
                .await
                .unwrap_or_else(|e| caller.fail(format_args!("sending failed: {e}")));
        }
    }

    /// The next thing received: a message (pings and pongs included), the
    /// server's close frame, or the end of the connection. A close frame is
    /// answered before it is returned, as [`closed`](Self::closed) does, so the
    /// closing handshake completes and the server need not wait for it.
    ///
    /// # Panics
    /// If nothing arrives in time.
    #[track_caller]
    // An async read, as `StreamExt::next` is, not an iterator's `next`: the
    // name it had as an `async fn`, which clippy did not look at.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> impl Future<Output = Received> {
        let caller = Caller::here("TestClient::next");
        self.next_for(caller)
    }

    async fn next_for(&mut self, caller: Caller) -> Received {
        let received = match bounded(self.timeout, "something from the server", caller, self.ws.next()).await {
            Some(Ok(message)) => from_tungstenite(message),
            Some(Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed)) | None => {
                Received::Dropped
            }
            Some(Err(tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            ))) => Received::Dropped,
            Some(Err(tungstenite::Error::Io(_))) => Received::Dropped,
            Some(Err(e)) => caller.fail(format_args!("the client failed: {e}")),
        };
        if let Received::Close(_) = received {
            // tungstenite queued the answer when it read the close frame, but sends
            // it only on the next write or read: send it now. A connection already
            // gone has nothing to answer, so a failure here is no failure.
            let _ = bounded(self.timeout, "the answer to the close frame to be sent", caller, self.ws.flush()).await;
        }
        received
    }

    /// The next data message (text or binary); pings and pongs are skipped.
    ///
    /// # Panics
    /// If the server closes or drops the session first (the message gives the
    /// status), or nothing arrives in time.
    #[track_caller]
    pub fn recv(&mut self) -> impl Future<Output = Message> {
        let caller = Caller::here("TestClient::recv");
        self.recv_for(caller)
    }

    async fn recv_for(&mut self, caller: Caller) -> Message {
        loop {
            match self.next_for(caller).await {
                Received::Message(Message::Ping(_) | Message::Pong(_)) => continue,
                Received::Message(message) => return message,
                Received::Close(status) => {
                    caller.fail(format_args!("expected a message, but the server closed the session: {status:?}"))
                }
                Received::Dropped => caller.fail("expected a message, but the connection ended"),
            }
        }
    }

    /// The next data message, which must be text.
    ///
    /// # Panics
    /// If it is binary, or see [`recv`](Self::recv).
    #[track_caller]
    pub fn recv_text(&mut self) -> impl Future<Output = String> {
        let caller = Caller::here("TestClient::recv_text");
        async move {
            match self.recv_for(caller).await {
                Message::Text(text) => text.as_str().to_owned(),
                other => caller.fail(format_args!("expected a text message, got {other:?}")),
            }
        }
    }

    /// Waits for the server to close the session and returns the status of its
    /// close frame: 1005 if it carried no code, 1006 if the connection ended
    /// without one. Answers the close and waits for the connection to end.
    ///
    /// # Panics
    /// If a data message arrives first (a test should read it), or nothing
    /// arrives in time.
    #[track_caller]
    pub fn closed(&mut self) -> impl Future<Output = CloseStatus> {
        let caller = Caller::here("TestClient::closed");
        async move {
            loop {
                match self.next_for(caller).await {
                    Received::Message(Message::Ping(_) | Message::Pong(_)) => continue,
                    Received::Message(message) => {
                        caller.fail(format_args!("expected the server's close frame, got {message:?}"))
                    }
                    Received::Close(status) => {
                        self.drain(caller).await;
                        return status.unwrap_or(CloseStatus::NO_STATUS_CODE);
                    }
                    Received::Dropped => return CloseStatus::NO_CLOSE_FRAME,
                }
            }
        }
    }

    /// Closes the session with `status` and returns the status the server
    /// answered with (1006 if the connection ended without an answer). Messages
    /// that arrive before the answer are discarded.
    ///
    /// # Panics
    /// If the close frame cannot be sent or no answer arrives in time.
    #[track_caller]
    pub fn close(&mut self, status: CloseStatus) -> impl Future<Output = CloseStatus> {
        let caller = Caller::here("TestClient::close");
        let frame = CloseFrame { code: CloseCode::from(status.code()), reason: status.reason().to_owned().into() };
        self.close_with(Some(frame), caller)
    }

    /// Closes the session with a close frame that carries no status code, as
    /// some clients do, and returns the status the server answered with (see
    /// [`close`](Self::close)).
    ///
    /// # Panics
    /// See [`close`](Self::close).
    #[track_caller]
    pub fn close_without_status(&mut self) -> impl Future<Output = CloseStatus> {
        let caller = Caller::here("TestClient::close_without_status");
        self.close_with(None, caller)
    }

    async fn close_with(&mut self, frame: Option<CloseFrame>, caller: Caller) -> CloseStatus {
        bounded(self.timeout, "the close frame to be sent", caller, self.ws.close(frame))
            .await
            .unwrap_or_else(|e| caller.fail(format_args!("sending the close frame failed: {e}")));
        loop {
            match self.next_for(caller).await {
                Received::Message(_) => continue,
                Received::Close(status) => {
                    self.drain(caller).await;
                    return status.unwrap_or(CloseStatus::NO_STATUS_CODE);
                }
                Received::Dropped => return CloseStatus::NO_CLOSE_FRAME,
            }
        }
    }

    /// Reads until the connection ends (after a close).
    async fn drain(&mut self, caller: Caller) {
        let reading = async { while let Some(Ok(_)) = self.ws.next().await {} };
        bounded(self.timeout, "the connection to end", caller, reading).await;
    }
}
