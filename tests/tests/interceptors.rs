//! Handshake interceptors (Spring's `HandshakeInterceptor`): async, they see the
//! request (method, path, query, headers, remote address, path parameters); they
//! refuse with any status and headers, or put typed attributes and a principal on
//! the session; server-wide ones run before the route's, in order, and
//! `after_handshake` runs for each one that ran.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use wsboot::http::StatusCode;
use wsboot::test::{TestServer, within};
use wsboot::{
    CloseStatus, HandlerRegistry, HandlerResult, HandshakeInterceptor, HandshakeRequest, Principal, Rejection, Server,
    Session, WebSocketHandler, ws_handler,
};
use wsboot_tests::open_files::{assert_recovered, open_files, serial_test};
use wsboot_tests::{http_request, upgrade_request};

/// What an interceptor saw.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    method: String,
    path: String,
    query: Option<String>,
    token: Option<String>,
    header: Option<String>,
    room: Option<String>,
    remote: std::net::SocketAddr,
}

/// Records the request, after an await (a real async interceptor would call an
/// auth service here).
struct Recorder(mpsc::UnboundedSender<Seen>);

impl HandshakeInterceptor for Recorder {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let _ = self.0.send(Seen {
            method: request.method().to_string(),
            path: request.path().to_owned(),
            query: request.query().map(str::to_owned),
            token: request.query_param("token"),
            header: request.header("x-client").map(str::to_owned),
            room: request.path_params().get("room").map(str::to_owned),
            remote: request.remote_addr(),
        });
        Ok(())
    }
}

/// Sends its session's principal and `UserId` attribute on connect.
struct Whoami;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UserId(u64);

impl WebSocketHandler for Whoami {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        let principal = session.principal().map_or("anonymous", Principal::name).to_owned();
        let id = session.attributes().get::<UserId>().map_or("none".to_owned(), |id| id.0.to_string());
        Ok(session.send(format!("{principal} {id}")).await?)
    }
}

#[test]
fn an_async_interceptor_sees_method_path_query_headers_params_and_remote_address() {
    serial_test(async {
        let (seen, mut saw) = mpsc::unbounded_channel();
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/rooms/{room}", Whoami).interceptor(Recorder(seen));
        let server = TestServer::start_with(Server::builder().registry(registry)).await;

        let mut client =
            server.request("/rooms/lobby%20one?token=s%C3%A9cret&x=1").header("X-Client", "tests/1.0").connect().await;
        let local = client.local_addr();
        let seen = within("the interceptor", saw.recv()).await.expect("it ran");
        assert_eq!(
            seen,
            Seen {
                method: "GET".into(),
                path: "/rooms/lobby%20one".into(),
                query: Some("token=s%C3%A9cret&x=1".into()),
                token: Some("sécret".into()),
                header: Some("tests/1.0".into()),
                room: Some("lobby one".into()),
                remote: local,
            }
        );
        assert_eq!(client.recv_text().await, "anonymous none");
        client.close(CloseStatus::NORMAL).await;
        server.shutdown().await;
    });
}

/// Refuses with whatever the `answer` query parameter says.
struct Refuser;

impl HandshakeInterceptor for Refuser {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        match request.query_param("answer").as_deref() {
            Some("401") => Err(Rejection::unauthorized().header("WWW-Authenticate", "Bearer realm=\"chat\"")),
            Some("302") => Err(Rejection::new(StatusCode::FOUND).header("Location", "/login").body("log in first")),
            Some("429") => Err(Rejection::new(StatusCode::TOO_MANY_REQUESTS).header("Retry-After", "7")),
            Some("418") => Err(Rejection::new(StatusCode::IM_A_TEAPOT)
                .header("Content-Type", "application/json")
                .body("{\"error\":\"teapot\"}")),
            _ => Ok(()),
        }
    }
}

/// Counts sessions opened.
struct Counting(Arc<Mutex<usize>>);

impl WebSocketHandler for Counting {
    async fn after_connection_established(&self, _session: &Session) -> HandlerResult {
        *self.0.lock().expect("not poisoned") += 1;
        Ok(())
    }
}

#[test]
fn a_rejection_answers_its_status_headers_and_body_and_opens_no_session() {
    serial_test(async {
        let opened = Arc::new(Mutex::new(0));
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/guarded", Counting(opened.clone())).interceptor(Refuser);
        registry.add_handler("/echo", wsboot_tests::Echo);
        let server = TestServer::start_with(Server::builder().registry(registry)).await;
        let baseline = open_files();

        let response = http_request(server.tcp_addr(), upgrade_request("/guarded?answer=401", "")).await;
        assert_eq!(response.status, 401, "{response:?}");
        assert_eq!(response.header("www-authenticate"), Some("Bearer realm=\"chat\""));
        let response = http_request(server.tcp_addr(), upgrade_request("/guarded?answer=302", "")).await;
        assert_eq!((response.status, response.header("location")), (302, Some("/login")), "{response:?}");
        assert_eq!(response.body.trim_end(), "log in first");
        let response = http_request(server.tcp_addr(), upgrade_request("/guarded?answer=429", "")).await;
        assert_eq!((response.status, response.header("retry-after")), (429, Some("7")), "{response:?}");
        let response = http_request(server.tcp_addr(), upgrade_request("/guarded?answer=418", "")).await;
        assert_eq!(response.status, 418, "{response:?}");
        assert_eq!(response.header("content-type"), Some("application/json"), "the interceptor's type replaces ours");
        assert_eq!(response.body.trim_end(), "{\"error\":\"teapot\"}");
        assert_eq!(*opened.lock().expect("not poisoned"), 0, "no rejected handshake opened a session");

        let response = http_request(server.tcp_addr(), upgrade_request("/guarded", "")).await;
        assert_eq!(response.status, 101, "{response:?}");
        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

/// Authenticates from a bearer token: principal and a typed attribute.
struct TokenAuth;

impl HandshakeInterceptor for TokenAuth {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        let token = request.header("authorization").and_then(|h| h.strip_prefix("Bearer ")).map(str::to_owned);
        // A pretend token store, consulted asynchronously.
        tokio::task::yield_now().await;
        match token.as_deref() {
            Some("alice-token") => {
                request.set_principal(Principal::new("alice"));
                request.attributes_mut().insert(UserId(42));
                Ok(())
            }
            _ => Err(Rejection::unauthorized().body("a valid bearer token is required")),
        }
    }
}

#[test]
fn attributes_and_principal_set_by_an_interceptor_reach_the_handler() {
    serial_test(async {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/me", Whoami).interceptor(TokenAuth);
        let server = TestServer::start_with(Server::builder().registry(registry)).await;

        let mut client = server.request("/me").header("Authorization", "Bearer alice-token").connect().await;
        assert_eq!(client.recv_text().await, "alice 42");
        client.close(CloseStatus::NORMAL).await;

        let response = http_request(server.tcp_addr(), upgrade_request("/me", "Authorization: Bearer wrong\r\n")).await;
        assert_eq!(response.status, 401, "{response:?}");
        assert_eq!(response.body.trim_end(), "a valid bearer token is required");
        server.shutdown().await;
    });
}

/// One entry of the shared log: which interceptor, which hook, on which path.
type Log = Arc<Mutex<Vec<String>>>;

/// Logs both hooks; refuses when the path ends with its name.
struct Named(&'static str, Log);

impl HandshakeInterceptor for Named {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        self.1.lock().expect("not poisoned").push(format!("before {}", self.0));
        if request.path().ends_with(&format!("/{}", self.0)) {
            return Err(Rejection::forbidden().body(format!("refused by {}", self.0)));
        }
        Ok(())
    }

    async fn after_handshake(&self, _request: &HandshakeRequest, rejection: Option<&Rejection>) {
        let outcome = rejection.map_or("accepted".to_owned(), |r| r.status().as_u16().to_string());
        self.1.lock().expect("not poisoned").push(format!("after {} {outcome}", self.0));
    }
}

/// Waits for `expected.len()` entries (the `after_handshake` hooks run after the
/// response is written), then checks and clears them.
async fn expect_log(log: &Log, expected: &[&str]) {
    within("the interceptor hooks", async {
        while log.lock().expect("not poisoned").len() < expected.len() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let entries = std::mem::take(&mut *log.lock().expect("not poisoned"));
    assert_eq!(entries, expected);
}

#[test]
fn global_interceptors_run_before_the_routes_in_order_and_after_handshake_follows() {
    serial_test(async {
        let log: Log = Arc::default();
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/plain", wsboot_tests::Echo);
        for path in ["/guarded", "/guarded/b", "/guarded/c"] {
            registry
                .add_handler(path, wsboot_tests::Echo)
                .interceptor(Named("c", log.clone()))
                .interceptor(Named("d", log.clone()));
        }
        let builder = Server::builder().interceptor(Named("a", log.clone())).interceptor(Named("b", log.clone()));
        let server = TestServer::start_with(builder.registry(registry)).await;

        let response = http_request(server.tcp_addr(), upgrade_request("/guarded", "")).await;
        assert_eq!(response.status, 101);
        // `after_handshake` unwinds the chain, like Spring's.
        let accepted = ["after d accepted", "after c accepted", "after b accepted", "after a accepted"];
        expect_log(&log, &[&["before a", "before b", "before c", "before d"][..], &accepted].concat()).await;

        let response = http_request(server.tcp_addr(), upgrade_request("/plain", "")).await;
        assert_eq!(response.status, 101);
        expect_log(&log, &["before a", "before b", "after b accepted", "after a accepted"]).await; // global ones only

        // A refusal stops the chain; those that ran hear about it.
        let response = http_request(server.tcp_addr(), upgrade_request("/guarded/b", "")).await;
        assert_eq!((response.status, response.body.trim_end()), (403, "refused by b"));
        expect_log(&log, &["before a", "before b", "after b 403", "after a 403"]).await;
        let response = http_request(server.tcp_addr(), upgrade_request("/guarded/c", "")).await;
        assert_eq!(response.status, 403);
        expect_log(&log, &["before a", "before b", "before c", "after c 403", "after b 403", "after a 403"]).await;

        // Requests refused before the interceptors (here: not an upgrade) do not run them.
        let response = http_request(server.tcp_addr(), "GET /guarded HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert_eq!(response.status, 426);
        // Nothing ran for it: the next request's entries come first.
        let response = http_request(server.tcp_addr(), upgrade_request("/plain", "")).await;
        assert_eq!(response.status, 101);
        expect_log(&log, &["before a", "before b", "after b accepted", "after a accepted"]).await;
        server.shutdown().await;
    });
}

/// Tags the session with a static string, for the attribute form.
struct Tag(&'static str);

#[derive(Debug)]
struct Tagged(&'static str);

impl HandshakeInterceptor for Tag {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        request.attributes_mut().insert(Tagged(self.0));
        if request.query_param("deny").is_some() {
            return Err(Rejection::forbidden());
        }
        Ok(())
    }
}

#[derive(Default)]
#[ws_handler("/annotated", interceptors = [Tag("from the attribute")])]
struct Annotated;

impl WebSocketHandler for Annotated {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        let tag = session.attributes().get::<Tagged>().map_or("untagged", |t| t.0);
        Ok(session.send(tag).await?)
    }
}

#[test]
fn interceptors_named_in_the_ws_handler_attribute_run() {
    serial_test(async {
        let server: TestServer =
            TestServer::start_with(Server::builder().registry(HandlerRegistry::from_annotations())).await;
        let mut client = server.connect("/annotated").await;
        assert_eq!(client.recv_text().await, "from the attribute");
        client.close(CloseStatus::NORMAL).await;
        let response = http_request(server.tcp_addr(), upgrade_request("/annotated?deny", "")).await;
        assert_eq!(response.status, 403);
        server.shutdown().await;
    });
}
