// Every option, in any order, with constants and expressions where a value is
// an expression.
#![deny(warnings)]

use wsboot::{HandshakeInterceptor, HandshakeRequest, Rejection, WebSocketHandler, ws_handler};

const LIMIT: usize = 64 * 1024;

struct TokenAuth {
    token: &'static str,
}

impl TokenAuth {
    fn new() -> Self {
        TokenAuth { token: "secret" }
    }
}

impl HandshakeInterceptor for TokenAuth {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        match request.query_param("token") {
            Some(token) if token == self.token => Ok(()),
            _ => Err(Rejection::unauthorized()),
        }
    }
}

struct Audit;

impl HandshakeInterceptor for Audit {
    async fn before_handshake(&self, _request: &mut HandshakeRequest) -> Result<(), Rejection> {
        Ok(())
    }
}

fn audit() -> Audit {
    Audit
}

#[derive(Default)]
#[ws_handler(
    "/chat/{room}",
    deflate,
    subprotocols = ["chat.v2", "chat.v1"],
    allowed_origins = ["https://a.example", "https://*.example.com"],
    interceptors = [TokenAuth::new(), audit()],
    max_message_size = 16_777_216,
    max_frame_size = LIMIT / 4,
    per_connection,
)]
struct Chat;
impl WebSocketHandler for Chat {}

#[derive(Default)]
#[ws_handler("/open", allowed_origins = ["*"], subprotocols = [], interceptors = [], max_frame_size = LIMIT)]
struct Open;
impl WebSocketHandler for Open {}

fn main() {}
