//! wsboot inside an axum app: its routes merged (and nested) beside the app's
//! own, under the app's tower middleware and state, served by `axum::serve` on
//! a real socket. The handshake rules answer as on wsboot's own listener, an
//! authentication layer's principal reaches the session, HTTP/2 clients open
//! several WebSockets on one connection, metrics count the sessions, and the
//! app's graceful shutdown drains them: every queued message, then 1012;
//! `max_connections` limits its sessions (`503` beyond), not the app's
//! requests; the management port answers probes beside the app's port.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use wsboot::axum::WsRoutes;
use wsboot::test::within;
use wsboot::{
    HandlerRegistry, HandlerResult, HandshakeInterceptor, HandshakeRequest, Principal, Rejection, Server, Session,
    Utf8Bytes, WebSocketHandler,
};
use wsboot_tests::Echo;
use wsboot_tests::h2::H2Connection;
use wsboot_tests::raw::{http_request, upgrade_request};

/// Greets the session's principal, then echoes.
struct Greeter;

impl WebSocketHandler for Greeter {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        let name = session.principal().map_or("nobody".to_owned(), |p| p.name().to_owned());
        Ok(session.send(format!("hello {name}")).await?)
    }

    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        Ok(session.send(text).await?)
    }
}

/// On `burst N`, queues N numbered messages at once.
struct Burst;

impl WebSocketHandler for Burst {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        let count: usize = text.strip_prefix("burst ").and_then(|n| n.parse().ok()).ok_or("expected `burst N`")?;
        for i in 0..count {
            session.send(i.to_string()).await?;
        }
        Ok(())
    }
}

/// Refuses requests whose middleware-set request id is missing: proves
/// interceptors see the request's extensions.
struct RequireRequestId;

#[derive(Clone)]
struct RequestId(u64);

impl HandshakeInterceptor for RequireRequestId {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        let id = request.extensions().get::<RequestId>().cloned();
        let id = id.filter(|id| id.0 == 7).ok_or_else(|| Rejection::forbidden().body("no request id"))?;
        request.attributes_mut().insert(id);
        Ok(())
    }
}

/// The app's state, used by its own route.
#[derive(Clone)]
struct AppState {
    greeting: &'static str,
}

/// The app's authentication layer: `?token=NAME` makes NAME the principal;
/// every request gets an id.
async fn authenticate(mut request: Request, next: Next) -> Response {
    let name =
        request.uri().query().and_then(|q| q.split('&').find_map(|p| p.strip_prefix("token="))).map(str::to_owned);
    if let Some(name) = name {
        request.extensions_mut().insert(Principal::new(name));
    }
    request.extensions_mut().insert(RequestId(7));
    next.run(request).await
}

async fn hello(State(state): State<AppState>) -> &'static str {
    state.greeting
}

struct App {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<()>,
}

async fn app() -> App {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/greet", Greeter).interceptor(RequireRequestId);
    registry.add_handler("/echo", Echo).allowed_origins(["https://app.example"]);
    registry.add_handler("/burst", Burst);
    let builder = Server::builder().registry(registry).drain_period(Duration::from_millis(100));
    let ws = WsRoutes::start(builder).await.expect("wsboot starts");
    let mut nested = HandlerRegistry::new();
    nested.add_handler("/echo", Echo);
    let nested =
        WsRoutes::start(Server::builder().registry(nested).metrics_path(None).health_path(None).ready_path(None))
            .await
            .unwrap();
    let router = Router::new()
        .route("/api/hello", get(hello))
        .merge(ws.router())
        .nest("/v2", nested.router())
        .layer(middleware::from_fn(authenticate))
        .with_state(AppState { greeting: "hello from axum" });
    serve(router, ws, Some(nested)).await
}

/// Serves `router` with `axum::serve` on a free port, `ws` draining its sessions
/// when `App::stop` fires; `also` (another wsboot) lives as long as the app.
async fn serve(router: Router, ws: WsRoutes, also: Option<WsRoutes>) -> App {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        let signal = async {
            let _ = stopped.await;
        };
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(ws.graceful_shutdown(signal))
            .await
            .unwrap();
        drop(also);
    });
    App { addr, stop: Some(stop), served }
}

type Client = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: SocketAddr, path: &str) -> Client {
    let (client, response) = tokio_tungstenite::connect_async(format!("ws://{addr}{path}")).await.expect("upgrade");
    assert_eq!(response.status(), 101);
    client
}

async fn text(client: &mut Client) -> String {
    within("a message", client.next()).await.unwrap().unwrap().into_text().unwrap().to_string()
}

#[tokio::test]
async fn routes_middleware_and_state_share_one_app() {
    let app = app().await;
    let response = http_request(app.addr, "GET /api/hello HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!((response.status, response.body.trim()), (200, "hello from axum"));

    let mut client = connect(app.addr, "/greet?token=ada").await;
    assert_eq!(text(&mut client).await, "hello ada", "the middleware's principal is the session's");
    client.send(Message::text("ping")).await.unwrap();
    assert_eq!(text(&mut client).await, "ping");
    let mut anonymous = connect(app.addr, "/greet").await;
    assert_eq!(text(&mut anonymous).await, "hello nobody");

    let mut nested = connect(app.addr, "/v2/echo").await;
    nested.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    let echoed = within("nested echo", nested.next()).await.unwrap().unwrap();
    assert_eq!(echoed.into_data().as_ref(), [1, 2, 3]);

    let metrics = http_request(app.addr, "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.contains("wsboot_sessions_total{path=\"/greet\"} 2"), "{}", metrics.body);
    let health = http_request(app.addr, "GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn handshake_rules_answer_as_on_wsboots_own_listener() {
    let app = app().await;
    let missing_key = http_request(
        app.addr,
        "GET /burst HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await;
    assert_eq!(missing_key.status, 400);
    assert!(missing_key.body.contains("Sec-WebSocket-Key"), "{}", missing_key.body);
    let plain = http_request(app.addr, "GET /burst HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(plain.status, 426);
    let old = http_request(
        app.addr,
        upgrade_request("/burst", "Sec-WebSocket-Version: 8\r\n").replace("Sec-WebSocket-Version: 13\r\n", ""),
    )
    .await;
    assert_eq!(old.status, 426);
    assert_eq!(old.header("sec-websocket-version"), Some("13"));
    let foreign = http_request(app.addr, upgrade_request("/echo", "Origin: https://evil.example\r\n")).await;
    assert_eq!(foreign.status, 403);
    let allowed = http_request(app.addr, upgrade_request("/echo", "Origin: https://app.example\r\n")).await;
    assert_eq!(allowed.status, 101);
    let nowhere = http_request(app.addr, "GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(nowhere.status, 404, "axum's own 404 for paths no one routes");
}

#[tokio::test]
async fn http2_clients_share_one_connection_through_axum() {
    let app = app().await;
    let connection = H2Connection::connect(app.addr).await;
    assert!(connection.extended_connect_enabled());
    let mut first = connection.websocket("/greet?token=grace").await;
    let mut second = connection.websocket("/v2/echo").await;
    let greeting = within("greeting", first.next()).await.unwrap().unwrap().into_text().unwrap();
    assert_eq!(greeting.as_str(), "hello grace");
    second.send(Message::text("over h2")).await.unwrap();
    let echoed = within("echo", second.next()).await.unwrap().unwrap().into_text().unwrap();
    assert_eq!(echoed.as_str(), "over h2");
    let (response, _) = connection.open("/nowhere", &[]).await;
    assert_eq!(response.status(), 404);
    let (status, body) = connection.get("/api/hello").await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "hello from axum"));
}

#[tokio::test]
async fn the_apps_graceful_shutdown_drains_every_session() {
    let mut app = app().await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(connect(app.addr, "/burst").await);
    }
    // Each session has queued 2,000 messages the client has not read when the
    // shutdown starts: every one arrives, in order, then the 1012.
    for client in &mut clients {
        client.send(Message::text("burst 2000")).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    app.stop.take().unwrap().send(()).unwrap();
    for client in &mut clients {
        let mut expected = 0;
        let close = loop {
            match within("the drain", client.next()).await {
                Some(Ok(Message::Text(text))) => {
                    assert_eq!(text.as_str(), expected.to_string());
                    expected += 1;
                }
                Some(Ok(Message::Close(frame))) => break frame,
                other => panic!("unexpected {other:?}"),
            }
        };
        assert_eq!(expected, 2000, "every queued message before the close");
        assert_eq!(u16::from(close.expect("a close frame").code), 1012);
    }
    within("axum::serve returns", &mut app.served).await.unwrap();
}

#[tokio::test]
async fn max_connections_limits_the_sessions_of_an_axum_app() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Echo);
    let ws = WsRoutes::start(Server::builder().registry(registry).max_connections(Some(2))).await.unwrap();
    let router = Router::new().route("/api/hello", get(|| async { "hello" })).merge(ws.router());
    let app = serve(router, ws, None).await;
    let addr = app.addr;

    let first = connect(addr, "/echo").await;
    let mut second = connect(addr, "/echo").await;
    let refused = http_request(addr, upgrade_request("/echo", "")).await;
    assert_eq!(refused.status, 503, "a third session is over the limit: {}", refused.body);
    assert_eq!(refused.header("retry-after"), Some("5"));
    assert!(refused.body.contains("too many connections"), "{}", refused.body);
    let page = http_request(addr, "GET /api/hello HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!((page.status, page.body.trim()), (200, "hello"), "the app's own routes are not counted");

    // A session that ends makes room for the next.
    drop(first);
    let mut third = within("room after a close", async {
        loop {
            match tokio_tungstenite::connect_async(format!("ws://{addr}/echo")).await {
                Ok((client, _)) => break client,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await;
    third.send(Message::text("in")).await.unwrap();
    assert_eq!(text(&mut third).await, "in");
    second.send(Message::text("still here")).await.unwrap();
    assert_eq!(text(&mut second).await, "still here");
}

#[tokio::test]
async fn the_management_port_answers_probes_beside_the_app() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Echo);
    let builder = Server::builder().registry(registry).management_addr(Some("127.0.0.1:0"));
    let ws = WsRoutes::start(builder).await.unwrap();
    let management = ws.management_addr().expect("the management listener is bound");
    let router = Router::new().merge(ws.router());
    let mut app = serve(router, ws, None).await;

    let health = http_request(management, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(health.status, 200);
    let metrics = http_request(management, "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.contains("wsboot_"), "{}", metrics.body);
    let upgrade = http_request(management, upgrade_request("/echo", "")).await;
    assert_eq!(upgrade.status, 404, "no WebSocket on the management port: {}", upgrade.body);
    let mut client = connect(app.addr, "/echo").await;
    client.send(Message::text("on the app's port")).await.unwrap();
    assert_eq!(text(&mut client).await, "on the app's port");

    // While the sessions drain, the management port tells probes the node is not ready.
    app.stop.take().unwrap().send(()).unwrap();
    let ready = within("not ready while draining", async {
        loop {
            let ready = http_request(management, "GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n").await;
            if ready.status == 503 {
                break ready;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(ready.status, 503);
    drop(client);
    within("axum::serve returns", &mut app.served).await.unwrap();
}
