//! Limits on the HTTP request in front of the upgrade, over raw sockets: an
//! oversized header block or too many headers answer `431`, connections over
//! `max_connections` answer `503` with `Retry-After`, requests that are not HTTP
//! or carry a body answer `400`, and a thousand connections dropped mid-handshake
//! leave nothing behind. After each scenario the server serves a normal client
//! and its open-file count returns to where it started.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use wsboot::test::{DEFAULT_TIMEOUT, TestServer, within};
use wsboot::{CloseStatus, HandlerRegistry, Server, ServerBuilder};
use wsboot_tests::open_files::{assert_recovered, max_open_files, open_files, serial_test};
use wsboot_tests::raw::{read_until_closed, tcp};
use wsboot_tests::{http_request, upgrade_request};

async fn server(builder: ServerBuilder) -> TestServer {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", wsboot_tests::Echo);
    TestServer::start_with(builder.registry(registry)).await
}

#[test]
fn a_header_block_over_the_limit_is_431_however_much_the_client_sends() {
    serial_test(async {
        let server = server(Server::builder().request_limits(32, 1024)).await;
        let baseline = open_files();

        // Just over the limit, then a flood of 4 MiB that the client keeps writing
        // while the server answers: the answer still arrives intact.
        for padding in [1024, 4 << 20] {
            let big = format!("X-Padding: {}\r\n", "a".repeat(padding));
            let response = http_request(server.tcp_addr(), upgrade_request("/echo", &big)).await;
            assert_eq!(response.status, 431, "{response:?}");
            assert!(response.body.contains("too large"), "{response:?}");
        }
        // A head of exactly the limit is fine.
        let base = upgrade_request("/echo", "X-Pad: \r\n").len();
        let exact = upgrade_request("/echo", &format!("X-Pad: {}\r\n", "a".repeat(1024 - base)));
        assert_eq!(exact.len(), 1024);
        assert_eq!(http_request(server.tcp_addr(), exact).await.status, 101);

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn more_headers_than_allowed_is_431() {
    serial_test(async {
        let server = server(Server::builder().request_limits(16, 16 << 10)).await;
        let baseline = open_files();

        // The upgrade request has 5 headers of its own.
        let at_limit: String = (0..11).map(|i| format!("X-{i}: v\r\n")).collect();
        assert_eq!(http_request(server.tcp_addr(), upgrade_request("/echo", &at_limit)).await.status, 101);
        let over: String = (0..12).map(|i| format!("X-{i}: v\r\n")).collect();
        let response = http_request(server.tcp_addr(), upgrade_request("/echo", &over)).await;
        assert_eq!(response.status, 431, "{response:?}");
        assert!(response.body.contains("too many request headers"), "{response:?}");
        // A flood of tiny headers is cut off at the count, long before the size limit.
        let flood: String = (0..5000).map(|i| format!("X{i}:\r\n")).collect();
        assert_eq!(http_request(server.tcp_addr(), upgrade_request("/echo", &flood)).await.status, 431);

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn connections_over_the_cap_get_503_with_retry_after() {
    serial_test(async {
        let builder = Server::builder().max_connections(Some(2)).handshake_timeout(Duration::from_secs(1));
        let server = server(builder).await;
        let baseline = open_files();

        let mut first = server.connect("/echo").await;
        let second = server.connect("/echo").await;
        let response = http_request(server.tcp_addr(), upgrade_request("/echo", "")).await;
        assert_eq!(response.status, 503, "{response:?}");
        let retry_after: u64 = response.header("retry-after").expect("a Retry-After header").parse().expect("seconds");
        assert!(retry_after > 0, "{response:?}");
        assert!(response.body.contains("too many connections"), "{response:?}");

        // A slot frees when a session ends.
        first.close(CloseStatus::NORMAL).await;
        drop(first);
        expect_served_again(&server).await;
        drop(second);

        // Connections still in their handshake count too, until it times out.
        let silent = [tcp(server.tcp_addr()).await, tcp(server.tcp_addr()).await];
        // (The server counts them once it has accepted them; until then a probe may
        // still get in.)
        let refused = within("two silent connections to fill the cap", async {
            loop {
                let response = http_request(server.tcp_addr(), upgrade_request("/echo", "")).await;
                if response.status == 503 {
                    return response;
                }
                assert_eq!(response.status, 101, "{response:?}");
            }
        })
        .await;
        assert!(refused.header("retry-after").is_some(), "{refused:?}");
        expect_served_again(&server).await;
        drop(silent);

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn a_burst_of_connections_cannot_overshoot_the_cap() {
    serial_test(async {
        let builder = Server::builder().max_connections(Some(5)).handshake_timeout(Duration::from_secs(2));
        let server = server(builder).await;
        let baseline = open_files();

        // 100 connections arrive before the server gets to any of them (blocking
        // connects hold this single-threaded runtime, server included, until all
        // are queued in the listen backlog); they send nothing. Only 5 may be
        // taken in: the rest are answered 503 at once.
        let mut burst = Vec::new();
        for _ in 0..100 {
            burst.push(std::net::TcpStream::connect(server.tcp_addr()).expect("connected"));
        }
        let mut refused = 0;
        for stream in burst {
            stream.set_nonblocking(true).expect("non-blocking");
            let mut stream = tokio::net::TcpStream::from_std(stream).expect("a tokio stream");
            let mut first = [0u8; 12];
            let answer =
                tokio::time::timeout(Duration::from_secs(1), tokio::io::AsyncReadExt::read(&mut stream, &mut first))
                    .await;
            if matches!(answer, Ok(Ok(12)) if first.starts_with(b"HTTP/1.1 503")) {
                refused += 1;
            }
        }
        assert_eq!(refused, 95, "all but the 5 admitted connections are refused");

        expect_served_again(&server).await;
        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

/// Waits until an upgrade is accepted again (the server counts a connection
/// until its task has ended).
async fn expect_served_again(server: &TestServer) {
    within("a free connection slot", async {
        loop {
            if http_request(server.tcp_addr(), upgrade_request("/echo", "")).await.status == 101 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[test]
fn a_thousand_connections_dropped_mid_handshake_leave_nothing_behind() {
    serial_test(async {
        let server = server(Server::builder()).await;
        let baseline = open_files();

        // Each connection costs two descriptors here (client and server side); open
        // them in waves that fit under this process's limit.
        let room = max_open_files().unwrap_or(1024).saturating_sub(baseline + 64) / 2;
        let wave = room.clamp(50, 1000);
        let partial = b"GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: webs";
        let mut opened = 0;
        while opened < 1000 {
            let n = wave.min(1000 - opened);
            let mut streams = Vec::with_capacity(n);
            for i in 0..n {
                let mut stream = tcp(server.tcp_addr()).await;
                match i % 4 {
                    // Connect and vanish.
                    0 => {}
                    // Half a request head, then a normal close.
                    1 | 2 => within("writing", stream.write_all(partial)).await.expect("written"),
                    // Half a request head, then a reset.
                    _ => {
                        within("writing", stream.write_all(partial)).await.expect("written");
                        stream.set_zero_linger().expect("SO_LINGER");
                    }
                }
                streams.push(stream);
            }
            drop(streams);
            opened += n;
        }
        assert_eq!(opened, 1000);

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn bytes_that_are_not_http_are_refused_at_once_with_400() {
    serial_test(async {
        // A handshake timeout far beyond the test's: only an immediate answer passes.
        let server = server(Server::builder().handshake_timeout(DEFAULT_TIMEOUT * 6)).await;
        let baseline = open_files();

        // The start of a TLS ClientHello, sent to a plain-text port.
        let mut stream = tcp(server.tcp_addr()).await;
        stream.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]).await.expect("written");
        let answer = String::from_utf8(read_until_closed(&mut stream).await).expect("a text answer");
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
        assert!(answer.contains("malformed HTTP request"), "{answer}");
        drop(stream);

        let response = http_request(server.tcp_addr(), "GET /echo HTTP/2.0\r\nHost: x\r\n\r\n").await;
        assert_eq!(response.status, 400, "{response:?}");

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}

#[test]
fn an_upgrade_with_a_body_or_two_hosts_is_400() {
    serial_test(async {
        let server = server(Server::builder()).await;
        let baseline = open_files();

        // A body would be read as WebSocket frames; a proxy might read it otherwise.
        let with_body = upgrade_request("/echo", "Content-Length: 5\r\n") + "hello";
        let response = http_request(server.tcp_addr(), with_body).await;
        assert_eq!(response.status, 400, "{response:?}");
        assert!(response.body.contains("no body"), "{response:?}");
        let chunked = upgrade_request("/echo", "Transfer-Encoding: chunked\r\n") + "0\r\n\r\n";
        assert_eq!(http_request(server.tcp_addr(), chunked).await.status, 400);
        let two_hosts = upgrade_request("/echo", "Host: evil.example\r\n");
        let response = http_request(server.tcp_addr(), two_hosts).await;
        assert_eq!((response.status, response.body.trim_end()), (400, "more than one Host header"));

        assert_recovered(&server, "/echo", baseline).await;
        server.shutdown().await;
    });
}
