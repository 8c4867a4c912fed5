//! `/metrics` and `/healthz` on the server's own listener: Prometheus text whose
//! counters move as a client connects, sends and closes.

use std::time::Duration;

use wsboot::test::{TestResponse, TestServer, within};
use wsboot::{CloseStatus, ConfigSources, HandlerRegistry, Server};
use wsboot_tests::Echo;

/// The value of the sample `series` (name and labels, exactly as rendered), or
/// `None` if the page has no such line.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Scrapes until `series` reads `expected`: a session's counters land when its
/// task gets to them, a moment after the client saw the effect.
async fn scraped(server: &TestServer, series: &str, expected: f64) -> String {
    within(&format!("{series} to read {expected}"), async {
        loop {
            let page = server.get("/metrics").await.body;
            if sample(&page, series) == Some(expected) {
                return page;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

fn echo_registry() -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Echo);
    registry
}

#[tokio::test]
async fn healthz_answers_200() {
    let server = TestServer::start(echo_registry()).await;
    let response = server.get("/healthz").await;
    assert_eq!(response.status, 200, "{response}");
    assert_eq!(response.body, "ok\n");
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let server = TestServer::start(echo_registry()).await;
    let response: TestResponse = server.get("/metrics").await;
    assert_eq!(response.status, 200, "{response}");
    assert_eq!(response.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    for line in [
        "# TYPE wsboot_sessions_open gauge",
        "# TYPE wsboot_sessions_total counter",
        "# TYPE wsboot_messages_in_total counter",
        "# TYPE wsboot_bytes_out_total counter",
        "# TYPE wsboot_handshake_rejections_total counter",
        "# TYPE wsboot_send_queue_dropped_total counter",
        "# TYPE wsboot_broker_errors_total counter",
    ] {
        assert!(response.body.lines().any(|l| l == line), "missing {line:?} in\n{}", response.body);
    }
    let names = response.body.lines().filter(|l| !l.starts_with('#') && !l.is_empty());
    for line in names {
        assert!(line.starts_with("wsboot_"), "a metric without the wsboot_ prefix: {line}");
    }
    assert_eq!(sample(&response.body, "wsboot_sessions_open{path=\"/echo\"}"), Some(0.0));
}

#[tokio::test]
async fn counters_move_as_a_client_connects_sends_and_closes() {
    let server = TestServer::start(echo_registry()).await;
    let mut client = server.connect("/echo").await;
    scraped(&server, "wsboot_sessions_open{path=\"/echo\"}", 1.0).await;
    let page = scraped(&server, "wsboot_sessions_total{path=\"/echo\"}", 1.0).await;
    assert_eq!(sample(&page, "wsboot_messages_in_total{path=\"/echo\"}"), Some(0.0));

    for text in ["one", "two", "three!"] {
        client.send_text(text).await;
        assert_eq!(client.recv_text().await, text);
    }
    let page = scraped(&server, "wsboot_messages_in_total{path=\"/echo\"}", 3.0).await;
    assert_eq!(sample(&page, "wsboot_bytes_in_total{path=\"/echo\"}"), Some(12.0));
    assert_eq!(sample(&page, "wsboot_messages_out_total{path=\"/echo\"}"), Some(3.0));
    assert!(sample(&page, "wsboot_bytes_out_total{path=\"/echo\"}").is_some_and(|b| b >= 12.0), "{page}");

    assert_eq!(client.close(CloseStatus::NORMAL).await.code(), 1000);
    let page = scraped(&server, "wsboot_sessions_open{path=\"/echo\"}", 0.0).await;
    assert_eq!(sample(&page, "wsboot_sessions_closed_total{path=\"/echo\",code=\"1000\"}"), Some(1.0));
    assert_eq!(sample(&page, "wsboot_sessions_total{path=\"/echo\"}"), Some(1.0));
}

#[tokio::test]
async fn refused_handshakes_are_counted_by_reason() {
    let server = TestServer::start(echo_registry()).await;
    let refused = server.request("/nowhere").try_connect().await.unwrap_err();
    assert_eq!(refused.status, 404);
    let refused = server.request("/echo").origin("https://evil.example").try_connect().await.unwrap_err();
    assert_eq!(refused.status, 403);
    let page = scraped(&server, "wsboot_handshake_rejections_total{reason=\"not_found\",status=\"404\"}", 1.0).await;
    assert_eq!(sample(&page, "wsboot_handshake_rejections_total{reason=\"forbidden\",status=\"403\"}"), Some(1.0));
}

#[tokio::test]
async fn the_metrics_path_is_configurable_and_metrics_can_be_off() {
    let sources = ConfigSources::new().toml("test.toml", "[metrics]\npath = \"/internal/metrics\"");
    let builder = Server::builder().registry(echo_registry()).config_sources(sources);
    let server = TestServer::in_memory_with(builder).await;
    let response = server.get("/internal/metrics").await;
    assert_eq!(response.status, 200, "{response}");
    assert!(response.body.contains("wsboot_sessions_open{path=\"/echo\"} 0"), "{}", response.body);
    assert_ne!(server.get("/metrics").await.status, 200);

    let off = Server::builder().registry(echo_registry()).metrics_path(None).health_path(None);
    let server = TestServer::in_memory_with(off).await;
    assert_ne!(server.get("/metrics").await.status, 200);
    assert_ne!(server.get("/healthz").await.status, 200);
    // The WebSocket routes do not care.
    let mut client = server.connect("/echo").await;
    client.send_text("still here").await;
    assert_eq!(client.recv_text().await, "still here");
}

#[tokio::test]
async fn a_page_of_the_application_at_the_metrics_path_is_a_startup_error() {
    let mut registry = echo_registry();
    registry.add_page("/metrics", "text/plain", "mine");
    let error = Server::builder().registry(registry).bind("127.0.0.1:0").await.unwrap_err().to_string();
    assert!(error.contains("`metrics.path` is /metrics, where the application serves a page"), "{error}");
}
