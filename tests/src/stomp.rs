//! A STOMP 1.2 client over the test kit's WebSocket client, for tests of STOMP
//! endpoints: it writes frames, and reads them back one at a time (several
//! may come in one WebSocket message).

use wsboot::stomp::{Command, Decoder, Frame, Limits, Version};
use wsboot::test::{TestClient, TestServer};

/// A STOMP session on a [`TestClient`].
#[derive(Debug)]
pub struct StompClient {
    /// The WebSocket underneath.
    pub socket: TestClient,
    decoder: Decoder,
    pending: Vec<Frame>,
}

impl StompClient {
    /// Opens `path` (with its query, e.g. `/stomp?user=ann`) offering the
    /// `v12.stomp` subprotocol, and completes the CONNECT.
    pub async fn connected(server: &TestServer, path: &str) -> StompClient {
        let socket = server.request(path).subprotocols(&["v12.stomp"]).connect().await;
        let mut client = StompClient { socket, decoder: Decoder::new(Limits::default()), pending: Vec::new() };
        client.send(Frame::new(Command::Connect).header("accept-version", "1.2")).await;
        assert_eq!(client.frame().await.command, Command::Connected);
        client
    }

    /// Sends `frame`, written as STOMP 1.2.
    pub async fn send(&mut self, frame: Frame) {
        let encoded = frame.encode(Version::V1_2);
        self.socket.send_text(std::str::from_utf8(&encoded).expect("a text frame")).await;
    }

    /// The next frame from the server.
    pub async fn frame(&mut self) -> Frame {
        loop {
            if !self.pending.is_empty() {
                return self.pending.remove(0);
            }
            let message = self.socket.recv().await;
            self.decoder.push(message.payload());
            while let Some(frame) = self.decoder.next_frame().expect("the server sends valid frames") {
                self.pending.push(frame);
            }
        }
    }

    /// Subscribes to `destination` as subscription `id`, and waits for the
    /// receipt, so that what is sent afterwards reaches the subscription.
    pub async fn subscribe(&mut self, id: &str, destination: &str) {
        let frame = Frame::new(Command::Subscribe).header("id", id).header("destination", destination);
        self.send(frame.header("receipt", id)).await;
        assert_eq!(self.frame().await.get("receipt-id"), Some(id));
    }

    /// The next frame, which must be a MESSAGE: its subscription id and body.
    pub async fn delivery(&mut self) -> (String, String) {
        let frame = self.frame().await;
        assert_eq!(frame.command, Command::Message, "{frame:?}");
        let subscription = frame.get("subscription").unwrap_or_default().to_owned();
        (subscription, String::from_utf8(frame.body.to_vec()).expect("a UTF-8 body"))
    }

    /// The body of the next frame, which must be a MESSAGE.
    pub async fn body(&mut self) -> String {
        self.delivery().await.1
    }
}
