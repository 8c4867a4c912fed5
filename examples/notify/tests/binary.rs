//! The `wsboot-example-notify` program as its operator runs it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const PROGRAM: &str = env!("CARGO_BIN_EXE_wsboot-example-notify");

#[test]
fn without_a_token_it_refuses_to_start_and_says_what_to_give() {
    let output = Command::new(PROGRAM).args(["--addr", "127.0.0.1:0"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("give at least one --token NAME:SECRET"), "{stderr}");
}

#[test]
fn print_routes_shows_the_auth_plugin_on_the_route() {
    let output = Command::new(PROGRAM).args(["--token", "alice:s3cret", "--print-routes"]).output().unwrap();
    let listing = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{listing}{}", String::from_utf8_lossy(&output.stderr));
    assert!(listing.contains("1 route:\n/notifications\n"), "{listing}");
    assert!(listing.contains("  interceptors  BearerAuth\n"), "{listing}");
}

#[cfg(unix)]
#[test]
fn it_listens_and_stops_cleanly_on_sigterm() {
    let mut child = Command::new(PROGRAM)
        .args(["--addr", "127.0.0.1:0", "--token", "alice:s3cret", "--heartbeat-ms", "10"])
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
    assert_eq!(status.code(), Some(0), "a graceful exit, the ticker stopped: {status:?}");
}
