//! The opening handshake over raw TCP: the 101 and its accept key, and every
//! refusal answered with the right status and a body naming the problem.

use wsboot::HandlerRegistry;
use wsboot::test::TestServer;
use wsboot_tests::{Echo, HttpResponse, http_request, upgrade_request};

async fn echo_server() -> TestServer {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/chat", Echo);
    TestServer::start(registry).await
}

/// Asserts the response's status and that its body contains every one of `words`
/// (case-insensitive).
fn assert_refused(response: &HttpResponse, status: u16, words: &[&str]) {
    assert_eq!(response.status, status, "{response:?}");
    let body = response.body.to_lowercase();
    for word in words {
        assert!(body.contains(&word.to_lowercase()), "the body names {word:?}: {response:?}");
    }
}

#[tokio::test]
async fn upgrade_answers_101_with_the_rfc_sample_accept_key() {
    let server = echo_server().await;
    let response = http_request(server.tcp_addr(), upgrade_request("/chat", "")).await;
    assert_eq!(response.status, 101, "{response:?}");
    // RFC 6455 §1.3: key "dGhlIHNhbXBsZSBub25jZQ==" gives this accept value.
    assert_eq!(response.header("Sec-WebSocket-Accept"), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{response:?}");
    assert!(response.header("Upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")), "{response:?}");
    assert!(response.header("Connection").is_some_and(|v| v.eq_ignore_ascii_case("upgrade")), "{response:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_path_is_404_naming_the_path() {
    let server = echo_server().await;
    let response = http_request(server.tcp_addr(), upgrade_request("/nowhere", "")).await;
    assert_refused(&response, 404, &["/nowhere"]);
    server.shutdown().await;
}

#[tokio::test]
async fn plain_get_on_a_handler_path_is_426_with_upgrade_header() {
    let server = echo_server().await;
    let response = http_request(server.tcp_addr(), "GET /chat HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert_refused(&response, 426, &["websocket"]);
    assert!(response.header("Upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")), "{response:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn missing_key_is_400_naming_the_header() {
    let server = echo_server().await;
    let request = "GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Version: 13\r\n\r\n";
    let response = http_request(server.tcp_addr(), request).await;
    assert_refused(&response, 400, &["missing", "Sec-WebSocket-Key"]);
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_key_is_400_naming_the_header() {
    let server = echo_server().await;
    // Base64 of 9 bytes, not 16.
    let request = "GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let response = http_request(server.tcp_addr(), request).await;
    assert_refused(&response, 400, &["invalid", "Sec-WebSocket-Key"]);
    server.shutdown().await;
}

#[tokio::test]
async fn version_8_is_426_advertising_version_13() {
    let server = echo_server().await;
    let request = "GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n";
    let response = http_request(server.tcp_addr(), request).await;
    assert_refused(&response, 426, &["Sec-WebSocket-Version", "8", "13"]);
    assert_eq!(response.header("Sec-WebSocket-Version"), Some("13"), "{response:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_header_block_is_431() {
    let server = echo_server().await;
    // One 32 KiB header: twice the default 16 KiB limit on the request head.
    let big = format!("X-Padding: {}\r\n", "a".repeat(32 << 10));
    let response = http_request(server.tcp_addr(), upgrade_request("/chat", &big)).await;
    assert_refused(&response, 431, &["too large"]);
    server.shutdown().await;
}

#[tokio::test]
async fn too_many_headers_is_431() {
    let server = echo_server().await;
    // The default limit is 64 headers.
    let many: String = (0..100).map(|i| format!("X-Header-{i}: v\r\n")).collect();
    let response = http_request(server.tcp_addr(), upgrade_request("/chat", &many)).await;
    assert_refused(&response, 431, &["headers"]);
    server.shutdown().await;
}

#[tokio::test]
async fn post_upgrade_is_405_allowing_get() {
    let server = echo_server().await;
    let request = "POST /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
                   Content-Length: 0\r\n\r\n";
    let response = http_request(server.tcp_addr(), request).await;
    assert_refused(&response, 405, &["GET", "POST"]);
    assert_eq!(response.header("Allow"), Some("GET"), "{response:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn missing_connection_upgrade_is_400_naming_the_header() {
    let server = echo_server().await;
    let request = "GET /chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let response = http_request(server.tcp_addr(), request).await;
    assert_refused(&response, 400, &["Connection"]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_real_client_completes_the_handshake() {
    let server = echo_server().await;
    let mut client = server.connect("/chat").await;
    client.send("hi").await;
    assert_eq!(client.recv_text().await, "hi");
    drop(client);
    server.shutdown().await;
}
