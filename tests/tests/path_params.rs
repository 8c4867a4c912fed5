//! Route patterns: `{name}` segments reach the handler percent-decoded through
//! `Session::path_params`, and the query through `Session::query_param`.

use wsboot::test::TestServer;
use wsboot::{CloseStatus, HandlerRegistry, HandlerResult, Session, WebSocketHandler};
use wsboot_tests::{http_request, upgrade_request};

/// On connect, sends `room=<room>` and `user=<user>` (or `user=<none>`), then
/// the route pattern that matched.
struct Room;

impl WebSocketHandler for Room {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        let room = session.path_params().get("room").unwrap_or("<none>").to_owned();
        session.send(format!("room={room}")).await?;
        let user = session.query_param("user").unwrap_or_else(|| "<none>".to_owned());
        session.send(format!("user={user}")).await?;
        session.send(session.route().to_owned()).await?;
        Ok(())
    }
}

/// A static route next to the pattern.
struct Lobby;

impl WebSocketHandler for Lobby {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        session.send(format!("lobby, {} params", session.path_params().len())).await?;
        Ok(())
    }
}

async fn rooms_server() -> TestServer {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/rooms/{room}", Room);
    registry.add_handler("/rooms/lobby", Lobby);
    TestServer::start(registry).await
}

/// Connects to `path` and returns the three lines `Room` sends.
async fn greeting(server: &TestServer, path: &str) -> [String; 3] {
    let mut client = server.connect(path).await;
    let lines = [client.recv_text().await, client.recv_text().await, client.recv_text().await];
    client.close(CloseStatus::NORMAL).await;
    lines
}

#[tokio::test]
async fn path_parameter_reaches_the_handler() {
    let server = rooms_server().await;
    let [room, user, route] = greeting(&server, "/rooms/kitchen").await;
    assert_eq!(room, "room=kitchen");
    assert_eq!(user, "user=<none>");
    assert_eq!(route, "/rooms/{room}");
    server.shutdown().await;
}

#[tokio::test]
async fn path_parameter_is_percent_decoded() {
    let server = rooms_server().await;
    let [room, ..] = greeting(&server, "/rooms/caf%C3%A9").await;
    assert_eq!(room, "room=café");
    let [room, ..] = greeting(&server, "/rooms/a%20b%2Fc").await;
    assert_eq!(room, "room=a b/c");
    server.shutdown().await;
}

#[tokio::test]
async fn query_parameter_is_percent_decoded() {
    let server = rooms_server().await;
    let [room, user, _] = greeting(&server, "/rooms/caf%C3%A9?user=J%C3%BCrgen%20M&other=1").await;
    assert_eq!(room, "room=café");
    assert_eq!(user, "user=Jürgen M");
    server.shutdown().await;
}

#[tokio::test]
async fn static_route_wins_over_the_pattern() {
    let server = rooms_server().await;
    let mut client = server.connect("/rooms/lobby").await;
    assert_eq!(client.recv_text().await, "lobby, 0 params");
    client.close(CloseStatus::NORMAL).await;
    server.shutdown().await;
}

#[tokio::test]
async fn pattern_does_not_match_other_segment_counts() {
    let server = rooms_server().await;
    for path in ["/rooms", "/rooms/", "/rooms/a/b"] {
        let response = http_request(server.tcp_addr(), upgrade_request(path, "")).await;
        assert_eq!(response.status, 404, "{path}: {response:?}");
    }
    server.shutdown().await;
}
