//! The server side of the test kit: a real server on a free port of
//! 127.0.0.1, or the same server reached through in-memory pipes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use wsboot_core::{HandlerRegistry, Hub, WebSocketHandler};

use super::wait::{Caller, bounded};
use super::{DEFAULT_TIMEOUT, TestClient, TestRequest, TestResponse};
use crate::io::Stream;
use crate::server::{Server, ServerBuilder, Shared};

/// Bytes of the in-memory pipe in each direction (like a socket buffer).
const PIPE_CAPACITY: usize = 64 * 1024;

/// A server for one test: on a free TCP port of 127.0.0.1, or in memory.
/// Dropping it stops it; [`shutdown`](Self::shutdown) stops it gracefully and
/// waits.
#[derive(Debug)]
pub struct TestServer {
    /// `None` in memory.
    addr: Option<SocketAddr>,
    /// The management listener's address, if the server has one.
    management: Option<SocketAddr>,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<JoinHandle<Result<(), crate::Error>>>,
}

/// The byte stream under a test client.
pub(super) trait ClientIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> ClientIo for T {}

impl TestServer {
    /// Serves `handler` at `path` on a free port of 127.0.0.1.
    ///
    /// # Panics
    /// If the path is invalid.
    #[track_caller]
    pub fn serve<H: WebSocketHandler>(path: &str, handler: H) -> impl Future<Output = TestServer> {
        let caller = Caller::here("TestServer::serve");
        let mut registry = HandlerRegistry::new();
        registry.add_handler(path, handler);
        TestServer::start_for(Server::builder().registry(registry), caller)
    }

    /// Serves exactly `registry` (no `#[ws_handler]` collection) on a free port
    /// of 127.0.0.1, with default settings.
    ///
    /// # Panics
    /// If the registry is invalid.
    #[track_caller]
    pub fn start(registry: HandlerRegistry) -> impl Future<Output = TestServer> {
        TestServer::start_for(Server::builder().registry(registry), Caller::here("TestServer::start"))
    }

    /// Serves what `builder` describes (its registry, settings, interceptors,
    /// plugins) on a free port of 127.0.0.1.
    ///
    /// # Panics
    /// If the server cannot start; the message says why.
    #[track_caller]
    pub fn start_with(builder: ServerBuilder) -> impl Future<Output = TestServer> {
        TestServer::start_for(builder, Caller::here("TestServer::start_with"))
    }

    async fn start_for(builder: ServerBuilder, caller: Caller) -> TestServer {
        let server = builder
            .bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| caller.fail(format_args!("the test server cannot start: {e}")));
        TestServer::run(Some(server.local_addr()), server)
    }

    /// Serves exactly `registry` with no TCP: each [`connect`](Self::connect)
    /// opens an in-memory pipe to the server's real connection code.
    ///
    /// # Panics
    /// If the registry is invalid.
    #[track_caller]
    pub fn in_memory(registry: HandlerRegistry) -> impl Future<Output = TestServer> {
        TestServer::in_memory_for(Server::builder().registry(registry), Caller::here("TestServer::in_memory"))
    }

    /// What `builder` describes, with no TCP.
    ///
    /// # Panics
    /// If the server cannot start; the message says why.
    #[track_caller]
    pub fn in_memory_with(builder: ServerBuilder) -> impl Future<Output = TestServer> {
        TestServer::in_memory_for(builder, Caller::here("TestServer::in_memory_with"))
    }

    async fn in_memory_for(builder: ServerBuilder, caller: Caller) -> TestServer {
        let server = builder
            .without_listener()
            .await
            .unwrap_or_else(|e| caller.fail(format_args!("the test server cannot start: {e}")));
        TestServer::run(None, server)
    }

    fn run(addr: Option<SocketAddr>, server: Server) -> TestServer {
        let shared = server.shared().clone();
        let management = server.management_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve_with_shutdown(async {
            let _ = stopped.await;
        }));
        TestServer { addr, management, shared, stop: Some(stop), serving: Some(serving) }
    }

    /// The TCP address, or `None` for an in-memory server.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The TCP address, for a test that talks to the server with a client of
    /// its own (raw bytes, TLS, a browser).
    ///
    /// # Panics
    /// If the server is in memory.
    #[track_caller]
    pub fn tcp_addr(&self) -> SocketAddr {
        self.addr.expect("an in-memory test server has no TCP address")
    }

    /// The address of the management listener (health, readiness and metrics
    /// only), if the server was built with one.
    pub fn management_addr(&self) -> Option<SocketAddr> {
        self.management
    }

    /// A handle that starts the server's graceful shutdown without waiting
    /// for it: readiness turns `503` and the sessions drain in batches while
    /// the test goes on ([`shutdown`](Self::shutdown) then waits for the end).
    pub fn shutdown_handle(&self) -> crate::ShutdownHandle {
        crate::ShutdownHandle::new(self.shared.shutdown.clone())
    }

    /// The `ws://` URL of `path` (which may carry a query).
    pub fn url(&self, path: &str) -> String {
        match self.addr {
            Some(addr) => format!("ws://{addr}{path}"),
            None => format!("ws://localhost{path}"),
        }
    }

    /// The hub of the server: its sessions, topics, publishing.
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    /// A handshake to `path` to add headers to before connecting.
    pub fn request(&self, path: &str) -> TestRequest<'_> {
        TestRequest::new(self, path)
    }

    /// Opens a WebSocket session at `path` (with its query, if any).
    ///
    /// # Panics
    /// If the server refuses the upgrade (the message gives the status and body)
    /// or does not answer in time.
    #[track_caller]
    pub fn connect(&self, path: &str) -> impl Future<Output = TestClient> {
        let caller = Caller::here("TestServer::connect");
        self.request(path).connect_for(caller)
    }

    /// Sends a plain `GET` for `path` (a page, `/metrics`, `/healthz`) and reads
    /// the whole answer.
    ///
    /// # Panics
    /// If the server does not answer with a well-formed response in time.
    #[track_caller]
    pub fn get(&self, path: &str) -> impl Future<Output = TestResponse> {
        let caller = Caller::here("TestServer::get");
        let path = path.to_owned();
        async move {
            let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            let (mut io, _) = self.open(None, caller).await;
            bounded(DEFAULT_TIMEOUT, "the request to be written", caller, io.write_all(request.as_bytes()))
                .await
                .unwrap_or_else(|e| caller.fail(format_args!("writing GET {path} failed: {e}")));
            let mut raw = Vec::new();
            bounded(DEFAULT_TIMEOUT, &format!("the answer to GET {path}"), caller, io.read_to_end(&mut raw))
                .await
                .unwrap_or_else(|e| caller.fail(format_args!("reading the answer to GET {path} failed: {e}")));
            TestResponse::parse(&raw)
                .unwrap_or_else(|| caller.fail(format_args!("malformed answer to GET {path}: {raw:?}")))
        }
    }

    /// Stops gracefully: no new sessions, every open session gets the
    /// shutdown close frame after what it already queued (in batches over the
    /// drain period), and the server waits for the sessions to end (at most
    /// the drain period and the shutdown timeout).
    ///
    /// # Panics
    /// If the server failed or does not stop in time.
    #[track_caller]
    pub fn shutdown(mut self) -> impl Future<Output = ()> {
        let caller = Caller::here("TestServer::shutdown");
        async move {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
            if let Some(serving) = self.serving.take() {
                let config = &self.shared.config;
                let limit = config.drain_period + config.shutdown_timeout + Duration::from_secs(5);
                match bounded(limit, "the server to shut down", caller, serving).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => caller.fail(format_args!("the server failed: {e}")),
                    Err(e) => caller.fail(format_args!("the server panicked: {e}")),
                }
            }
        }
    }

    /// A byte stream to the server (TCP, or a pipe served by the real
    /// connection code) and the client's address on it.
    pub(super) async fn open(
        &self,
        remote_addr: Option<SocketAddr>,
        caller: Caller,
    ) -> (Box<dyn ClientIo>, SocketAddr) {
        match self.addr {
            Some(addr) => {
                let tcp =
                    bounded(DEFAULT_TIMEOUT, &format!("the TCP connect to {addr}"), caller, TcpStream::connect(addr))
                        .await
                        .unwrap_or_else(|e| {
                            caller.fail(format_args!("cannot connect to the test server at {addr}: {e}"))
                        });
                let local = tcp
                    .local_addr()
                    .unwrap_or_else(|e| caller.fail(format_args!("the test client's socket has no address: {e}")));
                (Box::new(tcp), local)
            }
            None => {
                let (client, server) = tokio::io::duplex(PIPE_CAPACITY);
                let shared = self.shared.clone();
                let remote = remote_addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
                let stream = Stream::Memory(Box::new(tokio::io::BufReader::with_capacity(8 * 1024, server)));
                let deadline = Instant::now() + shared.config.handshake_timeout;
                let live = shared.shutdown.track();
                tokio::spawn(crate::connection::serve_stream(stream, remote, shared, deadline, live));
                (Box::new(client), remote)
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
