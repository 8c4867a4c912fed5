//! stomp.js (the STOMP client of browsers, `@stomp/stompjs`) against a wsboot
//! STOMP endpoint: it connects over `v12.stomp` with heart-beats, subscribes,
//! sends to the application, and receives the broadcast and its user's reply
//! on both of a user's connections. The client runs in Node (see
//! `tests/stompjs/client.mjs`).
//!
//! Needs `node` and `npm` (it installs the client's packages once); skipped
//! without them, except in CI (`CI` set), where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use wsboot::test::TestServer;
use wsboot::{HandlerRegistry, HandshakeInterceptor, HandshakeRequest, Principal, Rejection};
use wsboot_stomp::{Reply, StompEndpoint};

struct UserFromQuery;

impl HandshakeInterceptor for UserFromQuery {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        if let Some(user) = request.query_param("user") {
            request.set_principal(Principal::new(user));
        }
        Ok(())
    }
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn has(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok_and(|out| out.status.success())
}

/// The client's directory, its packages installed.
fn client_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/stompjs");
    if !has("node") || !has("npm") {
        assert!(!in_ci(), "node and npm are needed for the stomp.js test in CI (Debian: apt-get install nodejs npm)");
        eprintln!("SKIPPED the stomp.js test: node and npm are not installed. This test runs in CI.");
        return None;
    }
    if !dir.join("node_modules/@stomp/stompjs").is_dir() {
        let status =
            Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir).status().expect("npm runs");
        assert!(status.success(), "npm ci in {} failed", dir.display());
    }
    Some(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stomp_js_connects_subscribes_sends_and_receives() {
    let Some(dir) = client_dir() else { return };
    let mut registry = HandlerRegistry::new();
    StompEndpoint::new("/stomp")
        .message_mapping("/chat.{room}", |message| async move {
            Ok(Some(Reply::new(format!("{}: {}", message.var("room").unwrap_or("?"), message.text()?))))
        })
        .message_mapping("/whoami", |message| async move {
            let name = message.principal().map_or("nobody".to_owned(), |p| p.name().to_owned());
            Ok(Some(Reply::new(format!("you are {name}")).to_user("/queue/reply")))
        })
        .register(&mut registry)
        .expect("a valid endpoint")
        .interceptor(UserFromQuery);
    let server = TestServer::start(registry).await;
    let url = server.url("/stomp");

    let run = tokio::task::spawn_blocking(move || {
        Command::new("node").arg("client.mjs").arg(url).current_dir(dir).output().expect("node runs")
    });
    let output = run.await.expect("the client ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).expect("JSON lines")).collect();
    assert!(output.status.success(), "stomp.js failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));

    for client in ["a", "b"] {
        let connected =
            lines.iter().find(|l| l["client"] == client && l.get("connected").is_some()).expect("connected");
        assert_eq!(connected["connected"], "1.2");
        assert_eq!(connected["heartbeat"], "10000,10000", "the longer of each pair: the server's 10 s");
        for (destination, body) in
            [("/topic/chat.lobby", "lobby: hello from stomp.js"), ("/user/queue/reply", "you are ann")]
        {
            let got = lines.iter().filter(|l| l["client"] == client && l["destination"] == destination).count();
            assert_eq!(got, 1, "{client} got {destination} once:\n{stdout}");
            assert!(lines.iter().any(|l| l["client"] == client && l["body"] == body), "{client}: {body:?}\n{stdout}");
        }
    }
    assert_eq!(lines.last(), Some(&serde_json::json!("done")));
    println!("{stdout}");
    server.shutdown().await;
}
