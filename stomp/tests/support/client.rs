//! A STOMP client over the test kit's WebSocket client: writes frames,
//! reads them back one at a time (several may come in one WebSocket message;
//! heart-beats are skipped). Each test file adds the steps it needs.

use wsboot::Message;
use wsboot::test::TestClient;
use wsboot_stomp::{Decoder, Frame, Limits, Version};

pub struct Client {
    pub socket: TestClient,
    decoder: Decoder,
    pending: Vec<Frame>,
}

impl Client {
    pub fn new(socket: TestClient) -> Client {
        Client { socket, decoder: Decoder::new(Limits::default()), pending: Vec::new() }
    }

    /// Sends `frame`, written as STOMP 1.2.
    pub async fn send(&mut self, frame: Frame) {
        self.send_raw(&frame.encode(Version::V1_2)).await;
    }

    /// Sends `bytes` as they are: a text message if they are UTF-8.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.socket.send_text(text).await,
            Err(_) => self.socket.send(Message::binary(bytes.to_vec())).await,
        }
    }

    /// The next frame.
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
}
