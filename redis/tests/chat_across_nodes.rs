//! The chat example's rooms on two nodes sharing one Redis (what `--redis URL`
//! does): a member on node A and one on node B see each other's messages.

mod support;

use wsboot::test::TestClient;
use wsboot_examples::chat;

use support::{Node, RedisServer};

/// The next chat event, as JSON text.
async fn event(client: &mut TestClient) -> String {
    client.recv_text().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_chat_nodes_share_their_rooms() {
    let Some(redis) = RedisServer::start_or_skip("two_chat_nodes_share_their_rooms").await else {
        return;
    };
    let a = Node::serving_on(chat::registry(), &redis).await;
    let b = Node::serving_on(chat::registry(), &redis).await;

    let mut ann = a.open("/chat/lobby?name=ann").await;
    assert_eq!(event(&mut ann).await, r#"{"type":"members","users":["ann"]}"#);
    let mut bob = b.open("/chat/lobby?name=bob").await;
    assert_eq!(event(&mut bob).await, r#"{"type":"members","users":["bob"]}"#, "members are per node");
    assert_eq!(event(&mut ann).await, r#"{"type":"join","user":"bob"}"#, "a join on node B reaches node A");

    ann.send_text(r#"{"type":"message","text":"hi from A"}"#).await;
    assert_eq!(event(&mut ann).await, r#"{"type":"message","user":"ann","text":"hi from A"}"#);
    assert_eq!(event(&mut bob).await, r#"{"type":"message","user":"ann","text":"hi from A"}"#);
    bob.send_text(r#"{"type":"message","text":"hi from B"}"#).await;
    assert_eq!(event(&mut bob).await, r#"{"type":"message","user":"bob","text":"hi from B"}"#);
    assert_eq!(event(&mut ann).await, r#"{"type":"message","user":"bob","text":"hi from B"}"#);

    // Another room on node B is not heard in the lobby.
    let mut cy = b.open("/chat/kitchen?name=cy").await;
    assert_eq!(event(&mut cy).await, r#"{"type":"members","users":["cy"]}"#);
    cy.send_text(r#"{"type":"message","text":"elsewhere"}"#).await;
    assert_eq!(event(&mut cy).await, r#"{"type":"message","user":"cy","text":"elsewhere"}"#);

    // Leaving crosses nodes too, and comes after everything bob said.
    drop(bob);
    assert_eq!(event(&mut ann).await, r#"{"type":"leave","user":"bob"}"#, "nothing from the kitchen before it");
    drop((ann, cy));
    a.stop().await;
    b.stop().await;
}
