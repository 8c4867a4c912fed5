//! The application tested as its users would: with wsboot alone (no tokio),
//! from a test file that names nothing from the library.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use wsboot::test::TestServer;
use wsboot::{HandlerRegistry, Server};

#[wsboot::test]
async fn the_library_s_handlers_are_served() {
    let server = TestServer::start_with(Server::builder()).await;
    let mut client = server.connect("/echo").await;
    client.send_text("hi").await;
    assert_eq!(client.recv_text().await, "echo: hi");
    let missing = server.get("/nope").await;
    assert_eq!(missing.status, wsboot::http::StatusCode::NOT_FOUND.as_u16());
    client.close(wsboot::CloseStatus::NORMAL).await;
    server.shutdown().await;
}

#[wsboot::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attribute_takes_a_size_with_a_unit() {
    let registry = HandlerRegistry::from_annotations();
    let echo = registry.iter().find(|r| r.path() == "/echo").expect("linked in");
    assert_eq!(echo.options().max_message_size, Some(64 * 1024));
    assert_eq!(wsboot::spawn(async { 6 * 7 }).await.unwrap(), 42);
}

#[test]
fn print_routes_lists_the_library_s_route_with_its_crate() {
    let output = Command::new(env!("CARGO_BIN_EXE_wsboot-linked-app")).arg("--print-routes").output().unwrap();
    let listing = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{listing}{}", String::from_utf8_lossy(&output.stderr));
    assert!(listing.contains("1 route:\n/echo\n"), "{listing}");
    assert!(listing.contains("  crate         wsboot_linked_app\n"), "{listing}");
}

#[test]
fn print_routes_into_a_closed_pipe_is_no_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsboot-linked-app"))
        .arg("--print-routes")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // What `| head -0` does: the reader is gone before the listing is written.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && !stderr.contains("panicked"), "{:?}: {stderr}", output.status);
}

#[cfg(unix)]
#[test]
fn the_builder_form_stops_cleanly_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_builder-app"))
        .env("WSBOOT_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut ready).unwrap();
    assert!(ready.starts_with("listening on ws://127.0.0.1:"), "{ready:?}");
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "a graceful exit, not death by signal: {status:?}");
}
