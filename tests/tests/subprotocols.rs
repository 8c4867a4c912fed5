//! Subprotocol negotiation (RFC 6455 §4.2.2): the server picks the first protocol
//! the client offered that the handler speaks and echoes it in
//! `Sec-WebSocket-Protocol`; with none in common it sends no such header and the
//! client decides. `Session::accepted_protocol()` reports the choice.

use wsboot::test::TestServer;
use wsboot::{CloseStatus, HandlerRegistry, HandlerResult, Server, Session, WebSocketHandler, ws_handler};
use wsboot_tests::{http_request, upgrade_request};

/// Sends the accepted protocol (or `none`) when the session opens.
#[derive(Default)]
struct ReportProtocol;

impl WebSocketHandler for ReportProtocol {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        Ok(session.send(session.accepted_protocol().unwrap_or("none").to_owned()).await?)
    }
}

async fn server() -> TestServer {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/chat", ReportProtocol).subprotocols(["chat.v2", "chat.v1"]);
    registry.add_handler("/plain", ReportProtocol);
    TestServer::start_with(Server::builder().registry(registry)).await
}

/// The upgrade response's `Sec-WebSocket-Protocol` for the given offer lines.
async fn echoed(server: &TestServer, path: &str, offers: &[&str]) -> Option<String> {
    let lines: String = offers.iter().map(|o| format!("Sec-WebSocket-Protocol: {o}\r\n")).collect();
    let response = http_request(server.tcp_addr(), upgrade_request(path, &lines)).await;
    assert_eq!(response.status, 101, "{response:?}");
    response.header("sec-websocket-protocol").map(str::to_owned)
}

#[tokio::test]
async fn the_first_offered_protocol_the_handler_speaks_is_chosen() {
    let server = server().await;
    // The client's order wins over the handler's.
    assert_eq!(echoed(&server, "/chat", &["chat.v1, chat.v2"]).await.as_deref(), Some("chat.v1"));
    assert_eq!(echoed(&server, "/chat", &["chat.v3, chat.v2, chat.v1"]).await.as_deref(), Some("chat.v2"));
    // Offers over several header lines count in order too.
    assert_eq!(echoed(&server, "/chat", &["mqtt", "chat.v2"]).await.as_deref(), Some("chat.v2"));
    // Exact names only.
    assert_eq!(echoed(&server, "/chat", &["CHAT.V1, chat"]).await, None);
    server.shutdown().await;
}

#[tokio::test]
async fn no_protocol_in_common_means_no_header() {
    let server = server().await;
    assert_eq!(echoed(&server, "/chat", &["mqtt, stomp"]).await, None);
    assert_eq!(echoed(&server, "/chat", &[]).await, None);
    assert_eq!(echoed(&server, "/plain", &["chat.v1"]).await, None, "a handler without protocols picks none");
    server.shutdown().await;
}

#[tokio::test]
async fn the_session_reports_the_accepted_protocol() {
    let server = server().await;
    let mut client = server.request("/chat").subprotocols(&["chat.v1", "chat.v2"]).connect().await;
    assert_eq!(client.response().header("sec-websocket-protocol"), Some("chat.v1"));
    assert_eq!(client.recv_text().await, "chat.v1");
    client.close(CloseStatus::NORMAL).await;

    let mut client = server.connect("/chat").await;
    assert_eq!(client.recv_text().await, "none");
    client.close(CloseStatus::NORMAL).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_declared_protocol_that_is_not_a_token_fails_at_startup() {
    for bad in ["", "chat v1", "v1,v2", "v1\r\nX-Injected: yes"] {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/chat", ReportProtocol).subprotocols([bad]);
        let error = Server::builder().registry(registry).bind("127.0.0.1:0").await.expect_err("refused at startup");
        let message = error.to_string();
        assert!(message.contains("subprotocol") && message.contains("ReportProtocol"), "{bad:?}: {message}");
    }
}

/// The attribute form.
#[derive(Default)]
#[ws_handler("/annotated", subprotocols = ["stomp.v12", "stomp.v11"])]
struct Annotated;

impl WebSocketHandler for Annotated {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        ReportProtocol.after_connection_established(session).await
    }
}

#[tokio::test]
async fn subprotocols_in_the_ws_handler_attribute_are_negotiated() {
    let server = TestServer::start_with(Server::builder().registry(HandlerRegistry::from_annotations())).await;
    assert_eq!(echoed(&server, "/annotated", &["stomp.v11"]).await.as_deref(), Some("stomp.v11"));
    server.shutdown().await;
}
