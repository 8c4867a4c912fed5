//! The plugins of `wsboot-plugin-auth`, a crate that depends on `wsboot-core`
//! alone, from the outside: token auth by header, query parameter or
//! subprotocol, the rate limit's 429, per-path message metrics, and what the
//! route listing shows of each.

use wsboot::test::TestServer;
use wsboot::{HandlerRegistry, HandlerResult, Server, ServerBuilder, Session, WebSocketHandler};
use wsboot_plugin_auth::{MetricsPlugin, RateLimitPlugin, TokenAuthPlugin, TokenSource, TokenTable};
use wsboot_tests::{Echo, connect_with_headers as connect, http_request, upgrade_request};

async fn serve(builder: ServerBuilder) -> TestServer {
    TestServer::start_with(builder).await
}

/// Greets the principal (the example app's `/secure`).
struct Greeter;

impl WebSocketHandler for Greeter {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        let user = session.principal().ok_or("no principal")?;
        let source = session.attributes().get::<TokenSource>().ok_or("no token source")?;
        session.send(format!("welcome {} ({source:?})", user.name())).await?;
        Ok(())
    }
}

fn secure_builder(per_minute: u32) -> (ServerBuilder, wsboot_plugin_auth::MessageMetrics) {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/secure", Greeter).subprotocols(["secure.v1"]);
    registry.add_handler("/open", Echo);
    let tokens = TokenTable::parse(["alice:s3cret", "bob:hunter2"]).unwrap();
    let metrics = MetricsPlugin::new();
    let counts = metrics.metrics().clone();
    let builder = Server::builder()
        .registry(registry)
        .plugin(RateLimitPlugin::per_minute(per_minute))
        .plugin(TokenAuthPlugin::new(tokens).protect("/secure"))
        .plugin(metrics);
    (builder, counts)
}

#[tokio::test]
async fn token_auth_admits_a_header_a_query_parameter_or_a_subprotocol_and_refuses_the_rest() {
    let (builder, _) = secure_builder(1_000);
    let server = serve(builder).await;

    let (mut client, protocol) = connect(&server, "/secure", &[("authorization", "Bearer s3cret")]).await;
    assert_eq!(client.recv_text().await, "welcome alice (Header)");
    assert_eq!(protocol, None);
    drop(client);
    let (mut client, _) = connect(&server, "/secure?access_token=hunter2", &[]).await;
    assert_eq!(client.recv_text().await, "welcome bob (Query)");
    drop(client);
    // A browser's `new WebSocket(url, ["secure.v1", token])`: the server selects
    // the application's protocol, never the token.
    let (mut client, protocol) = connect(&server, "/secure", &[("sec-websocket-protocol", "secure.v1, s3cret")]).await;
    assert_eq!(client.recv_text().await, "welcome alice (Subprotocol)");
    assert_eq!(protocol.as_deref(), Some("secure.v1"));
    drop(client);
    // The token alone as a subprotocol authenticates too; no protocol is selected.
    let response =
        http_request(server.tcp_addr(), upgrade_request("/secure", "Sec-WebSocket-Protocol: s3cret\r\n")).await;
    assert_eq!(response.status, 101, "{response:?}");
    assert_eq!(response.header("Sec-WebSocket-Protocol"), None);

    let missing = http_request(server.tcp_addr(), upgrade_request("/secure", "")).await;
    assert_eq!(missing.status, 401, "{missing:?}");
    assert_eq!(missing.header("WWW-Authenticate"), Some("Bearer realm=\"wsboot\""));
    assert!(missing.body.contains("missing bearer token"), "{missing:?}");
    let wrong = http_request(server.tcp_addr(), upgrade_request("/secure", "Authorization: Bearer guess\r\n")).await;
    assert_eq!(wrong.status, 401, "{wrong:?}");
    assert_eq!(wrong.header("WWW-Authenticate"), Some("Bearer realm=\"wsboot\", error=\"invalid_token\""));
    let wrong_query = http_request(server.tcp_addr(), upgrade_request("/secure?access_token=guess", "")).await;
    assert_eq!(wrong_query.status, 401, "{wrong_query:?}");
    let offered_other =
        http_request(server.tcp_addr(), upgrade_request("/secure", "Sec-WebSocket-Protocol: secure.v1\r\n")).await;
    assert_eq!(offered_other.status, 401, "{offered_other:?}");

    // Only the protected path needs a token.
    let open = http_request(server.tcp_addr(), upgrade_request("/open", "")).await;
    assert_eq!(open.status, 101, "{open:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after_once_the_burst_is_spent() {
    let (builder, _) = secure_builder(3);
    let server = serve(builder).await;
    for _ in 0..3 {
        let response = http_request(server.tcp_addr(), upgrade_request("/open", "")).await;
        assert_eq!(response.status, 101, "{response:?}");
    }
    // The budget is per client across routes, and checked before the token.
    let limited = http_request(server.tcp_addr(), upgrade_request("/secure", "Authorization: Bearer s3cret\r\n")).await;
    assert_eq!(limited.status, 429, "{limited:?}");
    let retry: u64 = limited.header("Retry-After").expect("Retry-After").parse().expect("whole seconds");
    assert!((1..=20).contains(&retry), "one handshake every 20 s: {retry}");
    assert!(limited.body.contains("too many handshakes"), "{limited:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_metrics_plugin_counts_messages_per_path() {
    let (builder, counts) = secure_builder(1_000);
    let server = serve(builder).await;
    let (mut open, _) = connect(&server, "/open", &[]).await;
    for text in ["one", "two", "three"] {
        open.send_text(text).await;
        assert_eq!(open.recv_text().await, text);
    }
    let (mut secure, _) = connect(&server, "/secure", &[("authorization", "Bearer s3cret")]).await;
    secure.recv_text().await;
    let open_counts = counts.counts("/open");
    assert_eq!((open_counts.sessions, open_counts.messages, open_counts.bytes), (1, 3, 11));
    let secure_counts = counts.counts("/secure");
    assert_eq!((secure_counts.sessions, secure_counts.messages), (1, 0));
    drop((open, secure));
    server.shutdown().await;
}

#[tokio::test]
async fn the_route_listing_shows_what_each_plugin_did() {
    let (builder, _) = secure_builder(60);
    let listing = builder.routes().expect("valid");
    let secure = listing.routes().iter().find(|r| r.path == "/secure").unwrap();
    assert_eq!(secure.source.type_name(), std::any::type_name::<Greeter>());
    assert!(secure.source.location().file.ends_with("plugin_auth.rs"), "{:?}", secure.source);
    assert_eq!(secure.subprotocols, ["secure.v1"]);
    assert_eq!(secure.allowed_origins, None);
    assert_eq!(secure.interceptors, ["HandshakeRateLimit", "TokenAuth"]);
    assert_eq!(secure.decorators, ["LoggingHandlerDecorator", "plugin metrics"], "outermost first");
    let marks: Vec<String> = secure.plugin_marks.iter().map(ToString::to_string).collect();
    assert_eq!(
        marks,
        [
            "rate-limit: added interceptor `HandshakeRateLimit`",
            "token-auth: added interceptor `TokenAuth`",
            "metrics: decorated it"
        ]
    );
    let open = listing.routes().iter().find(|r| r.path == "/open").unwrap();
    assert_eq!(open.interceptors, ["HandshakeRateLimit"]);
    let text = listing.to_string();
    for expected in [
        "plugins, in the order they run:",
        "1. rate-limit",
        "2. token-auth",
        "3. metrics",
        "2 routes:",
        "/secure\n  handler       `",
        "  origins       same-origin",
        "  subprotocols  secure.v1",
        "  interceptors  HandshakeRateLimit, TokenAuth",
        "  plugins       rate-limit: added interceptor `HandshakeRateLimit`; token-auth: added interceptor `TokenAuth`; metrics: decorated it",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
}
