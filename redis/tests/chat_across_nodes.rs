//! The chat example's rooms on two nodes sharing one Redis (what `--redis URL`
//! does): a member on node A and one on node B see each other in the member
//! list and each other's messages, at the same offsets, from the room history
//! both nodes share; a name is unique across the nodes.

mod support;

use wsboot::test::TestClient;
use wsboot_examples::chat;

use support::{Node, RedisServer};

/// The next chat event as JSON text, without its offset (checked apart).
async fn event(client: &mut TestClient) -> String {
    event_at(client).await.0
}

/// `json` with its keys in the order `event` gives them.
fn normal(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json).expect("valid JSON").to_string()
}

/// The next chat event as JSON.
async fn event_json(client: &mut TestClient) -> serde_json::Value {
    serde_json::from_str(&client.recv_text().await).expect("the chat sends JSON")
}

/// The next chat event as JSON text without its offset, and the offset.
async fn event_at(client: &mut TestClient) -> (String, String) {
    let text = client.recv_text().await;
    let mut value: serde_json::Value = serde_json::from_str(&text).expect("the chat sends JSON");
    let offset = value.as_object_mut().and_then(|o| o.remove("offset"));
    let offset = offset.and_then(|o| o.as_str().map(str::to_owned)).unwrap_or_else(|| panic!("no offset in {text}"));
    (value.to_string(), offset)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_chat_nodes_share_their_rooms() {
    let Some(redis) = RedisServer::start_or_skip("two_chat_nodes_share_their_rooms").await else {
        return;
    };
    let a = Node::serving_on(chat::registry(), &redis).await;
    let b = Node::serving_on(chat::registry(), &redis).await;

    let mut ann = a.open("/chat/lobby?name=ann").await;
    assert_eq!(event(&mut ann).await, normal(r#"{"type":"members","users":["ann"]}"#));
    let mut bob = b.open("/chat/lobby?name=bob").await;
    assert_eq!(
        event(&mut bob).await,
        normal(r#"{"type":"members","users":["ann","bob"]}"#),
        "the member list is the cluster's"
    );
    assert_eq!(event(&mut ann).await, normal(r#"{"type":"join","user":"bob"}"#), "a join on node B reaches node A");

    ann.send_text(r#"{"type":"message","text":"hi from A"}"#).await;
    let (on_a, offset_on_a) = event_at(&mut ann).await;
    let (on_b, offset_on_b) = event_at(&mut bob).await;
    assert_eq!(on_a, normal(r#"{"type":"message","text":"hi from A","user":"ann"}"#));
    assert_eq!(on_b, on_a);
    assert_eq!(offset_on_a, offset_on_b, "one history: the same offset on both nodes");
    bob.send_text(r#"{"type":"message","text":"hi from B"}"#).await;
    assert_eq!(event(&mut bob).await, normal(r#"{"type":"message","text":"hi from B","user":"bob"}"#));
    assert_eq!(event(&mut ann).await, normal(r#"{"type":"message","text":"hi from B","user":"bob"}"#));

    // A name taken on node A is taken on node B too.
    let mut other_ann = b.open("/chat/lobby?name=ann").await;
    let refused = event_json(&mut other_ann).await;
    assert_eq!(refused["type"], "error");
    assert!(refused["reason"].as_str().unwrap().contains("already taken"), "{refused}");

    // Another room on node B is not heard in the lobby.
    let mut cy = b.open("/chat/kitchen?name=cy").await;
    assert_eq!(event(&mut cy).await, normal(r#"{"type":"members","users":["cy"]}"#));
    cy.send_text(r#"{"type":"message","text":"elsewhere"}"#).await;
    assert_eq!(event(&mut cy).await, normal(r#"{"type":"message","text":"elsewhere","user":"cy"}"#));

    // Leaving crosses nodes too, and comes after everything bob said.
    drop(bob);
    assert_eq!(event(&mut ann).await, normal(r#"{"type":"leave","user":"bob"}"#), "nothing from the kitchen before it");
    drop((ann, cy, other_ann));
    a.stop().await;
    b.stop().await;
}
