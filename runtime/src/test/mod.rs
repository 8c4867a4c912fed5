//! Test your handlers the way they run (feature `test-util`): a real server on
//! `127.0.0.1:0`, or the same server fed through an in-memory pipe with no TCP at
//! all, and a client that lets a test assert every frame a handler sent and the
//! close status it ended with.
//!
//! Both transports run wsboot's real code: the HTTP handshake, routing, origin
//! checks, interceptors, decorators, the session loop, limits and the closing
//! handshake. Every wait is bounded (10 s by default, see
//! [`TestClient::set_timeout`]), so a broken handler fails its test instead of
//! hanging it; [`within`] and [`eventually`] bound a test's own waits the same
//! way. A failure names the call and the line of the test that made it, and a
//! timeout what was awaited. Write the tests with `#[wsboot::test]`: no tokio
//! dependency needed.
//!
//! ```
//! use wsboot::test::TestServer;
//! use wsboot::{CloseStatus, HandlerResult, Session, Utf8Bytes, WebSocketHandler};
//!
//! struct Echo;
//!
//! impl WebSocketHandler for Echo {
//!     async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
//!         Ok(session.send(text).await?)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let server = TestServer::serve("/echo", Echo).await; // 127.0.0.1, a free port
//! let mut client = server.connect("/echo").await;
//!
//! client.send_text("hello").await;
//! assert_eq!(client.recv_text().await, "hello");
//! // A binary message to a text handler closes the session with 1003.
//! client.send(wsboot::Message::binary(vec![1, 2, 3])).await;
//! assert_eq!(client.closed().await.code(), CloseStatus::NOT_ACCEPTABLE.code());
//! # }
//! ```
//!
//! Without TCP, through the same routing and interceptors:
//!
//! ```
//! use wsboot::test::TestServer;
//! use wsboot::{HandlerRegistry, HandshakeInterceptor, HandshakeRequest, Rejection, WebSocketHandler};
//!
//! struct NeedsToken;
//!
//! impl HandshakeInterceptor for NeedsToken {
//!     async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
//!         match request.query_param("token").as_deref() {
//!             Some("s3cret") => Ok(()),
//!             _ => Err(Rejection::unauthorized()),
//!         }
//!     }
//! }
//!
//! struct Quiet;
//! impl WebSocketHandler for Quiet {}
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut registry = HandlerRegistry::new();
//! registry.add_handler("/secure", Quiet).interceptor(NeedsToken);
//! let server = TestServer::in_memory(registry).await;
//!
//! let refused = server.request("/secure").try_connect().await.unwrap_err();
//! assert_eq!(refused.status, 401);
//! let mut client = server.connect("/secure?token=s3cret").await;
//! client.close(wsboot::CloseStatus::NORMAL).await;
//! server.shutdown().await;
//! # }
//! ```

use std::time::Duration;

mod client;
mod request;
mod response;
mod server;
mod wait;

pub use client::{Received, TestClient};
pub use request::TestRequest;
pub use response::TestResponse;
pub use server::TestServer;
pub use wait::{eventually, within};

/// How long a test waits for any one thing unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
