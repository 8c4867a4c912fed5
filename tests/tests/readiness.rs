//! Readiness apart from liveness: `/readyz` answers `503` from the moment a
//! shutdown starts, so that the load balancer sends new connections elsewhere,
//! while `/healthz`, `/metrics` and pages keep answering through the whole
//! drain; the management port answers those endpoints and nothing else.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use wsboot::test::{TestServer, eventually, within};
use wsboot::{ConfigSources, HandlerRegistry, HandlerResult, Server, ServerConfig, Session, WebSocketHandler};
use wsboot_tests::{HttpResponse, http_request, upgrade_request};

/// Keeps every session, to count those still open.
#[derive(Clone, Default)]
struct Sessions(Arc<Mutex<Vec<Session>>>);

impl WebSocketHandler for Sessions {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        self.0.lock().unwrap().push(session.clone());
        Ok(())
    }
}

impl Sessions {
    fn open(&self) -> usize {
        self.0.lock().unwrap().iter().filter(|s| s.is_open()).count()
    }
}

async fn get(addr: std::net::SocketAddr, path: &str) -> HttpResponse {
    http_request(addr, format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")).await
}

/// A server whose drain lasts about `sessions - 1` seconds: one session per
/// batch, batches a second apart.
async fn draining_server(sessions: &Sessions, count: usize, builder: wsboot::ServerBuilder) -> TestServer {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/updates", sessions.clone());
    registry.add_page("/", "text/html; charset=utf-8", "<h1>home</h1>");
    let builder = builder.registry(registry).drain_period(Duration::from_secs(count as u64)).drain_batch(1);
    let server = TestServer::start_with(builder).await;
    for _ in 0..count {
        // The clients are left to the server: it closes them, they answer.
        let client = server.connect("/updates").await;
        tokio::spawn(async move {
            let mut client = client;
            client.set_timeout(Duration::from_secs(30));
            client.closed().await
        });
    }
    eventually("the sessions to open", || sessions.open() == count).await;
    server
}

#[tokio::test]
async fn readiness_turns_503_at_once_while_health_metrics_and_pages_keep_answering() {
    let sessions = Sessions::default();
    let server = draining_server(&sessions, 3, Server::builder()).await;
    let addr = server.tcp_addr();
    let ready = get(addr, "/readyz").await;
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready\n"));
    assert_eq!(get(addr, "/healthz").await.status, 200);

    let handle = server.shutdown_handle();
    let asked = Instant::now();
    handle.drain();
    eventually("readiness to turn 503", || handle.is_draining()).await;
    let ready = get(addr, "/readyz").await;
    let flipped = asked.elapsed();
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(ready.body.starts_with("draining"), "{}", ready.body);
    assert_eq!(ready.header("Cache-Control"), Some("no-store"));
    assert!(flipped < Duration::from_millis(500), "readiness turned 503 at once: {flipped:?}");

    // Liveness, metrics and pages answer while sessions are still draining.
    assert!(sessions.open() > 0, "the drain is still going on");
    let health = get(addr, "/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    let metrics = get(addr, "/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.contains("wsboot_draining 1\n"), "{}", metrics.body);
    assert_eq!(get(addr, "/").await.status, 200, "pages are still served");
    assert!(sessions.open() > 0, "all of it during the drain");

    // Two batches later, the last session still open: the drain closed two.
    within("the second batch", eventually("one session open", || sessions.open() == 1)).await;
    assert_eq!(get(addr, "/healthz").await.status, 200);
    let metrics = get(addr, "/metrics").await.body;
    assert!(metrics.contains("wsboot_drain_closed_total 2\n"), "{metrics}");
    within("the server to finish shutting down", server.shutdown()).await;
}

#[tokio::test]
async fn the_management_port_answers_probes_and_scrapes_and_nothing_else() {
    let sessions = Sessions::default();
    let builder = Server::builder().management_addr(Some("127.0.0.1:0"));
    let server = draining_server(&sessions, 2, builder).await;
    let management = server.management_addr().expect("a management listener");
    assert_ne!(management, server.tcp_addr());

    assert_eq!(get(management, "/healthz").await.status, 200);
    assert_eq!(get(management, "/readyz").await.status, 200);
    let metrics = get(management, "/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.contains("wsboot_sessions_open{path=\"/updates\"} 2\n"), "{}", metrics.body);
    // No WebSocket route, no page.
    let upgrade = http_request(management, upgrade_request("/updates", "")).await;
    assert_eq!(upgrade.status, 404, "{}", upgrade.body);
    let page = get(management, "/").await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("/healthz, /readyz, /metrics"), "the 404 names what is served: {}", page.body);

    server.shutdown_handle().drain();
    eventually("the drain to start", || server.shutdown_handle().is_draining()).await;
    assert_eq!(get(management, "/readyz").await.status, 503);
    assert_eq!(get(management, "/healthz").await.status, 200);
    assert!(get(management, "/metrics").await.body.contains("wsboot_draining 1\n"));
    assert!(sessions.open() > 0, "answered during the drain");
    within("the server to finish shutting down", server.shutdown()).await;
}

#[test]
fn drain_readiness_and_management_settings_come_from_files_and_variables() {
    let sources = ConfigSources::new()
        .toml(
            "wsboot.toml",
            "[shutdown]\ndrain_period = \"30s\"\ndrain_batch = 250\n\
             [health]\nready_path = \"/ready\"\n[management]\naddr = \"127.0.0.1:9090\"",
        )
        .vars([("WSBOOT_SHUTDOWN_DRAIN_BATCH", "50"), ("WSBOOT_HEALTH_READY_ENABLED", "false")]);
    let config = ServerConfig::load(&sources).unwrap();
    assert_eq!(config.drain_period, Duration::from_secs(30));
    assert_eq!(config.drain_batch, 50);
    assert_eq!((config.ready_enabled, config.ready_path.as_str()), (false, "/ready"));
    assert_eq!(config.management_addr.as_deref(), Some("127.0.0.1:9090"));
    assert_eq!(config.shutdown_status.code(), 1012, "Service Restart by default");

    let off = ServerConfig::load(&ConfigSources::new().vars([("WSBOOT_MANAGEMENT_ADDR", "off")])).unwrap();
    assert_eq!(off.management_addr, None);
    let error = ServerConfig::load(&ConfigSources::new().toml("wsboot.toml", "shutdown.drain_batch = 0"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("`shutdown.drain_batch` must be at least 1"), "{error}");
    let error = ServerConfig::load(&ConfigSources::new().vars([("WSBOOT_SHUTDOWN_DRAIN_PERIOD", "10")]))
        .unwrap_err()
        .to_string();
    assert!(error.contains("WSBOOT_SHUTDOWN_DRAIN_PERIOD: `shutdown.drain_period` must be a duration"), "{error}");
}
