//! A WebSocket handshake a test prepares before connecting: headers,
//! subprotocols, the client's address.

use std::future::Future;
use std::net::SocketAddr;

use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, http::HeaderName, http::HeaderValue};

use super::wait::{Caller, bounded};
use super::{DEFAULT_TIMEOUT, TestClient, TestResponse, TestServer};

/// A WebSocket handshake being prepared: headers, subprotocols, the client's
/// address.
#[derive(Debug)]
pub struct TestRequest<'a> {
    server: &'a TestServer,
    path: String,
    headers: Vec<(String, String)>,
    remote_addr: Option<SocketAddr>,
}

impl<'a> TestRequest<'a> {
    pub(super) fn new(server: &'a TestServer, path: &str) -> Self {
        TestRequest { server, path: path.to_owned(), headers: Vec::new(), remote_addr: None }
    }

    /// Adds a request header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Offers these subprotocols (`Sec-WebSocket-Protocol`).
    pub fn subprotocols(self, protocols: &[&str]) -> Self {
        let value = protocols.join(", ");
        self.header("Sec-WebSocket-Protocol", &value)
    }

    /// Sends an `Origin` header.
    pub fn origin(self, origin: &str) -> Self {
        self.header("Origin", origin)
    }

    /// The client's address the server sees (in-memory servers only; over TCP
    /// it is the socket's).
    pub fn remote_addr(mut self, addr: SocketAddr) -> Self {
        self.remote_addr = Some(addr);
        self
    }

    /// Opens the session.
    ///
    /// # Panics
    /// If the server refuses (the message gives the status and body) or does not
    /// answer in time.
    #[track_caller]
    pub fn connect(self) -> impl Future<Output = TestClient> {
        let caller = Caller::here("TestRequest::connect");
        self.connect_for(caller)
    }

    pub(super) async fn connect_for(self, caller: Caller) -> TestClient {
        let path = self.path.clone();
        self.try_connect_for(caller)
            .await
            .unwrap_or_else(|refused| caller.fail(format_args!("the upgrade to {path} was refused: {refused}")))
    }

    /// Opens the session, or returns the server's refusal.
    ///
    /// # Panics
    /// If the server does not answer in time or the connection fails.
    #[track_caller]
    pub fn try_connect(self) -> impl Future<Output = Result<TestClient, TestResponse>> {
        let caller = Caller::here("TestRequest::try_connect");
        self.try_connect_for(caller)
    }

    async fn try_connect_for(self, caller: Caller) -> Result<TestClient, TestResponse> {
        let url = self.server.url(&self.path);
        let mut request =
            url.as_str().into_client_request().unwrap_or_else(|e| caller.fail(format_args!("invalid URL {url}: {e}")));
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .unwrap_or_else(|e| caller.fail(format_args!("invalid header name {name:?}: {e}")));
            let value = HeaderValue::from_str(value)
                .unwrap_or_else(|e| caller.fail(format_args!("invalid header value {value:?}: {e}")));
            request.headers_mut().append(name, value);
        }
        let (io, local_addr) = self.server.open(self.remote_addr, caller).await;
        let handshake = tokio_tungstenite::client_async(request, io);
        match bounded(DEFAULT_TIMEOUT, &format!("the handshake with {url}"), caller, handshake).await {
            Ok((ws, response)) => Ok(TestClient::new(ws, TestResponse::from_http(&response, None), local_addr)),
            Err(tungstenite::Error::Http(response)) => {
                let body = response.body().as_deref().map(|b| String::from_utf8_lossy(b).into_owned());
                Err(TestResponse::from_http(&response, body))
            }
            Err(e) => caller.fail(format_args!("the WebSocket handshake with {url} failed: {e}")),
        }
    }
}
