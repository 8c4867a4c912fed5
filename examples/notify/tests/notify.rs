//! The notifications service on real sockets, tested with wsboot's test kit:
//! the app's own handler, plugin and ticker, with beans given here.

use std::sync::Arc;
use std::time::Duration;

use wsboot::test::{TestServer, eventually};
use wsboot::{CloseStatus, Message, Server, ServerBuilder};
use wsboot_example_notify::{Heartbeat, TokenStore, ticker};

const TOKENS: [&str; 3] = ["alice:t-alice", "bob:t-bob", "carol:t-carol"];

/// The app as `main` builds it, with a heartbeat every `every`.
fn app(heartbeat: Arc<Heartbeat>) -> ServerBuilder {
    Server::builder().bean(TokenStore::parse(&TOKENS).unwrap()).bean_shared(heartbeat).background("ticker", ticker)
}

/// A heartbeat that will not tick during a test.
fn quiet() -> Arc<Heartbeat> {
    Arc::new(Heartbeat::every(Duration::from_secs(3600)))
}

#[wsboot::test]
async fn an_unknown_or_missing_token_gets_401_with_a_bearer_challenge() {
    let server = TestServer::start_with(app(quiet())).await;
    let forged = server
        .request("/notifications")
        .header("Authorization", "Bearer forged")
        .try_connect()
        .await
        .expect_err("an unknown token is refused");
    assert_eq!(forged.status, 401);
    let challenge = forged.header("WWW-Authenticate").expect("a challenge");
    assert!(challenge.starts_with("Bearer") && challenge.contains("invalid_token"), "{challenge}");

    let missing = server.request("/notifications").try_connect().await.expect_err("no token is refused");
    assert_eq!(missing.status, 401);
    assert!(missing.header("WWW-Authenticate").is_some_and(|c| c.starts_with("Bearer")), "{missing:?}");

    let mut by_query = server.connect("/notifications?token=t-carol").await;
    assert_eq!(by_query.recv_text().await, "welcome carol");
    by_query.close(CloseStatus::NORMAL).await;
    server.shutdown().await;
}

#[wsboot::test]
async fn a_note_reaches_every_session_of_its_user_and_no_one_else() {
    let server = TestServer::start_with(app(quiet())).await;
    let connect = |token: &str| server.request("/notifications").header("Authorization", &format!("Bearer {token}"));
    let mut alice = connect("t-alice").connect().await;
    let mut bob_phone = connect("t-bob").connect().await;
    let mut bob_laptop = connect("t-bob").connect().await;
    let mut carol = connect("t-carol").connect().await;
    for (client, user) in
        [(&mut alice, "alice"), (&mut bob_phone, "bob"), (&mut bob_laptop, "bob"), (&mut carol, "carol")]
    {
        assert_eq!(client.recv_text().await, format!("welcome {user}"));
    }

    alice.send_text("to bob: lunch at 12?").await;
    assert_eq!(alice.recv_text().await, "sent to bob (2 sessions)");
    assert_eq!(bob_phone.recv_text().await, "from alice: lunch at 12?");
    assert_eq!(bob_laptop.recv_text().await, "from alice: lunch at 12?");

    // Carol's first message is the one sent to her after bob's: bob's note never reached her.
    alice.send_text("to carol: and you?").await;
    assert_eq!(alice.recv_text().await, "sent to carol (1 session)");
    assert_eq!(carol.recv_text().await, "from alice: and you?");

    bob_laptop.send_text("to alice: yes").await;
    assert_eq!(alice.recv_text().await, "from bob: yes");
    for mut client in [alice, bob_phone, bob_laptop, carol] {
        client.close(CloseStatus::NORMAL).await;
    }
    server.shutdown().await;
}

#[wsboot::test]
async fn bad_input_gets_an_error_and_binary_closes_with_1003() {
    let server = TestServer::start_with(app(quiet())).await;
    let mut alice = server.connect("/notifications?token=t-alice").await;
    assert_eq!(alice.recv_text().await, "welcome alice");
    alice.send_text("hello bob").await;
    assert_eq!(alice.recv_text().await, "error: write `to USER: TEXT`");
    alice.send_text("to mallory: hi").await;
    assert_eq!(alice.recv_text().await, "error: no user named `mallory`");
    // Still served after an error.
    alice.send_text("to alice: note to self").await;
    assert_eq!(alice.recv_text().await, "from alice: note to self");
    assert_eq!(alice.recv_text().await, "sent to alice (1 session)");

    alice.send(Message::binary(vec![1, 2, 3])).await;
    assert_eq!(alice.closed().await.code(), CloseStatus::NOT_ACCEPTABLE.code());
    server.shutdown().await;
}

#[wsboot::test]
async fn every_session_gets_the_heartbeat() {
    let server = TestServer::start_with(app(Arc::new(Heartbeat::every(Duration::from_millis(20))))).await;
    let mut alice = server.connect("/notifications?token=t-alice").await;
    let mut bob = server.connect("/notifications?token=t-bob").await;
    for (client, user) in [(&mut alice, "alice"), (&mut bob, "bob")] {
        assert_eq!(client.recv_text().await, format!("welcome {user}"));
        let first: u64 = beat_number(&client.recv_text().await);
        assert_eq!(beat_number(&client.recv_text().await), first + 1, "one heartbeat per period, in order");
    }
    for mut client in [alice, bob] {
        client.close(CloseStatus::NORMAL).await;
    }
    server.shutdown().await;
}

#[wsboot::test]
async fn shutdown_stops_the_ticker() {
    let heartbeat = Arc::new(Heartbeat::every(Duration::from_millis(10)));
    let server = TestServer::start_with(app(heartbeat.clone())).await;
    eventually("a few heartbeats", || heartbeat.beats() >= 3).await;
    assert!(heartbeat.is_running());
    server.shutdown().await;
    assert!(!heartbeat.is_running(), "the ticker is stopped and awaited before shutdown returns");
    let after = heartbeat.beats();
    // Ten periods later, still no new heartbeat.
    let ten_periods = Duration::from_millis(100);
    let deadline = std::time::Instant::now() + ten_periods;
    eventually("ten periods to pass", || std::time::Instant::now() >= deadline).await;
    assert_eq!(heartbeat.beats(), after);
}

/// `N` of `heartbeat N`.
fn beat_number(text: &str) -> u64 {
    text.strip_prefix("heartbeat ").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("a heartbeat, not {text:?}"))
}
