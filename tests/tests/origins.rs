//! The origin policy per handler (RFC 6455 §10.2): same-origin by default, like
//! Spring; `allowed_origins` with exact values, `*` patterns and `"*"`; a request
//! without `Origin` (not a browser) passes; a mismatch is `403` naming the origin,
//! decided before any interceptor runs. Invalid configured origins fail at startup.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wsboot::test::TestServer;
use wsboot::{HandlerRegistry, HandshakeInterceptor, HandshakeRequest, Rejection, Server, ws_handler};
use wsboot_tests::{Echo, http_request, upgrade_request};

/// Counts the handshakes that reached the interceptors.
#[derive(Clone, Default)]
struct Reached(Arc<AtomicUsize>);

impl HandshakeInterceptor for Reached {
    async fn before_handshake(&self, _request: &mut HandshakeRequest) -> Result<(), Rejection> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn server(reached: &Reached) -> TestServer {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/same", Echo);
    registry.add_handler("/listed", Echo).allowed_origins(["https://app.example", "https://*.example.com"]);
    registry.add_handler("/any", Echo).allowed_origins(["*"]);
    registry.add_handler("/browsers-none", Echo).allowed_origins(Vec::<String>::new());
    TestServer::start_with(Server::builder().interceptor(reached.clone()).registry(registry)).await
}

/// The status of an upgrade to `path` with `Host` and optionally `Origin`.
async fn status(server: &TestServer, path: &str, host: &str, origin: Option<&str>) -> (u16, String) {
    let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
    let request = upgrade_request(path, &origin).replacen("Host: localhost", &format!("Host: {host}"), 1);
    let response = http_request(server.tcp_addr(), request).await;
    (response.status, response.body)
}

#[tokio::test]
async fn same_origin_is_the_default() {
    let reached = Reached::default();
    let server = server(&reached).await;
    let host = server.tcp_addr().to_string();
    let own = format!("http://{host}");
    assert_eq!(status(&server, "/same", &host, Some(&own)).await.0, 101);
    assert_eq!(status(&server, "/same", &host, None).await.0, 101, "no Origin: not a browser");
    assert_eq!(status(&server, "/same", "chat.example:443", Some("https://chat.example")).await.0, 101, "default port");
    for foreign in ["https://evil.example", "http://127.0.0.1:1", "null", "http://localhost"] {
        let (code, body) = status(&server, "/same", &host, Some(foreign)).await;
        assert_eq!(code, 403, "{foreign} is another origin");
        assert!(body.contains(foreign) && body.contains("/same"), "the body names origin and path: {body}");
    }
    assert_eq!(reached.0.load(Ordering::SeqCst), 3, "refused origins never reach the interceptors");
    server.shutdown().await;
}

#[tokio::test]
async fn listed_origins_match_exactly_or_by_pattern() {
    let reached = Reached::default();
    let server = server(&reached).await;
    for allowed in ["https://app.example", "https://a.example.com", "https://a.b.example.com", "HTTPS://App.Example"] {
        assert_eq!(status(&server, "/listed", "localhost", Some(allowed)).await.0, 101, "{allowed}");
    }
    for refused in [
        "https://example.com",
        "http://a.example.com",
        "https://a.example.com.evil.net",
        "https://app.example:8443",
        "https://evil.app.example",
        "null",
    ] {
        assert_eq!(status(&server, "/listed", "localhost", Some(refused)).await.0, 403, "{refused}");
    }
    // Same-origin no longer applies once a list is given.
    assert_eq!(status(&server, "/listed", "localhost", Some("http://localhost")).await.0, 403);
    assert_eq!(status(&server, "/listed", "localhost", None).await.0, 101);
    server.shutdown().await;
}

#[tokio::test]
async fn a_star_allows_every_origin_and_an_empty_list_only_non_browsers() {
    let reached = Reached::default();
    let server = server(&reached).await;
    assert_eq!(status(&server, "/any", "localhost", Some("https://anyone.example")).await.0, 101);
    assert_eq!(status(&server, "/any", "localhost", Some("null")).await.0, 101);
    assert_eq!(status(&server, "/browsers-none", "localhost", Some("http://localhost")).await.0, 403);
    assert_eq!(status(&server, "/browsers-none", "localhost", None).await.0, 101);
    server.shutdown().await;
}

#[tokio::test]
async fn a_second_origin_header_cannot_smuggle_a_foreign_origin() {
    let reached = Reached::default();
    let server = server(&reached).await;
    let request = upgrade_request("/listed", "Origin: https://app.example\r\nOrigin: https://evil.example\r\n");
    let response = http_request(server.tcp_addr(), request).await;
    assert_eq!(response.status, 403, "{response:?}");
    assert!(response.body.contains("https://evil.example"), "{response:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn an_origin_that_can_never_match_fails_at_startup_naming_it() {
    for (origin, hint) in [
        ("https://app.example/", "https://app.example\""),
        ("app.example", "https://app.example\""),
        ("", "empty"),
        ("https://app example", "whitespace"),
    ] {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/chat", Echo).allowed_origins([origin]);
        let error = Server::builder().registry(registry).bind("127.0.0.1:0").await.expect_err("refused at startup");
        let message = error.to_string();
        assert!(message.contains(hint), "{origin:?}: {message}");
        assert!(message.contains("Echo"), "the error names the handler: {message}");
    }
}

/// The attribute form.
#[derive(Default)]
#[ws_handler("/annotated", allowed_origins = ["https://*.annotated.example"])]
struct Annotated;

impl wsboot::WebSocketHandler for Annotated {}

#[tokio::test]
async fn allowed_origins_in_the_ws_handler_attribute_apply() {
    let server = TestServer::start_with(Server::builder().registry(HandlerRegistry::from_annotations())).await;
    assert_eq!(status(&server, "/annotated", "localhost", Some("https://x.annotated.example")).await.0, 101);
    assert_eq!(status(&server, "/annotated", "localhost", Some("https://annotated.example")).await.0, 403);
    server.shutdown().await;
}
