//! The chat example's JSON protocol, with real WebSocket clients against the
//! example's own registry: joining, member lists, messages, leaving, rooms kept
//! apart, and every kind of bad input answered with an error. Resuming, acks
//! and reconnecting members are in `chat_continuity.rs`.

use serde_json::{Value, json};
use wsboot::test::{Received, TestClient, TestServer, eventually, within};
use wsboot::{CloseStatus, Message};
use wsboot_examples::chat;
use wsboot_tests::http_request;

async fn chat_server() -> TestServer {
    TestServer::start(chat::registry()).await
}

async fn next_json(client: &mut TestClient) -> Value {
    let text = client.recv_text().await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the server sent invalid JSON {text:?}: {e}"))
}

/// The next room publication (`message`, `join`, `leave`), checked to carry an
/// offset, without it.
async fn next_event(client: &mut TestClient) -> Value {
    let mut event = next_json(client).await;
    let offset = event.as_object_mut().and_then(|fields| fields.remove("offset"));
    assert!(offset.as_ref().and_then(Value::as_str).is_some_and(|o| !o.is_empty()), "no offset in {event}");
    event
}

async fn send_text(client: &mut TestClient, text: &str) {
    client.send_text(text).await;
}

async fn say(client: &mut TestClient, text: &str) {
    send_text(client, &json!({"type": "message", "text": text}).to_string()).await;
}

/// Joins `room` as `name` and checks the member list it is greeted with.
async fn join(server: &TestServer, room: &str, name: &str, members: &[&str]) -> TestClient {
    let mut client = server.connect(&format!("/chat/{room}?name={name}")).await;
    let mut greeting = next_json(&mut client).await;
    let offset = greeting.as_object_mut().and_then(|fields| fields.remove("offset"));
    assert!(offset.as_ref().and_then(Value::as_str).is_some(), "{name} gets an offset: {greeting}");
    assert_eq!(greeting, json!({"type": "members", "users": members}), "{name} joins {room}");
    client
}

#[tokio::test]
async fn members_joins_messages_and_leaves() {
    let server = chat_server().await;
    let mut ann = join(&server, "lobby", "ann", &["ann"]).await;
    let mut bob = join(&server, "lobby", "bob", &["ann", "bob"]).await;
    assert_eq!(next_event(&mut ann).await, json!({"type": "join", "user": "bob"}));

    say(&mut bob, "hi ann \"quoted\" ✓").await;
    let expected = json!({"type": "message", "user": "bob", "text": "hi ann \"quoted\" ✓"});
    assert_eq!(next_event(&mut ann).await, expected);
    assert_eq!(next_event(&mut bob).await, expected, "the sender receives its own message too");

    say(&mut ann, "hello bob").await;
    assert_eq!(next_event(&mut bob).await, json!({"type": "message", "user": "ann", "text": "hello bob"}));
    assert_eq!(next_event(&mut ann).await, json!({"type": "message", "user": "ann", "text": "hello bob"}));

    bob.close(CloseStatus::NORMAL).await;
    assert_eq!(next_event(&mut ann).await, json!({"type": "leave", "user": "bob"}));
    // A newcomer sees who is left, in the order they joined.
    let mut cid = join(&server, "lobby", "cid", &["ann", "cid"]).await;
    assert_eq!(next_event(&mut ann).await, json!({"type": "join", "user": "cid"}));
    // A dropped connection (no close frame) is a leave too.
    drop(cid);
    assert_eq!(next_event(&mut ann).await, json!({"type": "leave", "user": "cid"}));
    cid = join(&server, "lobby", "cid", &["ann", "cid"]).await;
    drop((ann, cid));
    server.shutdown().await;
}

#[tokio::test]
async fn rooms_are_kept_apart() {
    let server = chat_server().await;
    let mut ann = join(&server, "red", "ann", &["ann"]).await;
    let mut bob = join(&server, "blue", "bob", &["bob"]).await;
    // The same name is free in another room.
    let mut ann_in_blue = join(&server, "blue", "ann", &["bob", "ann"]).await;
    assert_eq!(next_event(&mut bob).await, json!({"type": "join", "user": "ann"}));

    say(&mut ann, "red alert").await;
    assert_eq!(next_event(&mut ann).await["text"], "red alert");
    say(&mut bob, "blue sky").await;
    // Blue's first message is blue's own: nothing from red, nor red's joins.
    assert_eq!(next_event(&mut bob).await, json!({"type": "message", "user": "bob", "text": "blue sky"}));
    assert_eq!(next_event(&mut ann_in_blue).await, json!({"type": "message", "user": "bob", "text": "blue sky"}));
    // Room names are path segments: percent-encoded names work.
    let mut cafe = join(&server, "caf%C3%A9", "zoe", &["zoe"]).await;
    say(&mut cafe, "☕").await;
    assert_eq!(next_event(&mut cafe).await["text"], "☕");
    drop((ann, bob, ann_in_blue, cafe));
    server.shutdown().await;
}

#[tokio::test]
async fn bad_messages_get_an_error_and_the_connection_stays_open() {
    let server = chat_server().await;
    let mut ann = join(&server, "lobby", "ann", &["ann"]).await;
    let long_text = "x".repeat(chat::MAX_TEXT_CHARS + 1);
    let cases = [
        ("{not json".to_owned(), "invalid JSON"),
        ("[1, 2]".to_owned(), "expected a JSON object"),
        (json!({"text": "hi"}).to_string(), "missing \"type\""),
        (json!({"type": "shout", "text": "hi"}).to_string(), "unknown message type \"shout\""),
        (json!({"type": 7}).to_string(), "\"type\" must be a string"),
        (json!({"type": "message"}).to_string(), "missing \"text\""),
        (json!({"type": "message", "text": ["a"]}).to_string(), "\"text\" must be a string"),
        (json!({"type": "message", "text": " \n "}).to_string(), "\"text\" is empty"),
        (json!({"type": "message", "text": long_text}).to_string(), "the limit is 2000"),
        (json!({"type": "message", "text": "hi", "id": 1}).to_string(), "\"id\" must be a string"),
        (json!({"type": "message", "text": "hi", "id": ""}).to_string(), "\"id\" must be 1 to 64 characters"),
        (json!({"type": "message", "text": "hi", "id": "i".repeat(65)}).to_string(), "this one has 65"),
    ];
    for (sent, reason) in cases {
        send_text(&mut ann, &sent).await;
        let answer = next_json(&mut ann).await;
        assert_eq!(answer["type"], "error", "{sent:.40} → {answer}");
        let got = answer["reason"].as_str().expect("a reason");
        assert!(got.contains(reason), "{sent:.40}: expected {reason:?} in {got:?}");
    }
    ann.send(Message::binary(vec![1, 2, 3])).await;
    let answer = next_json(&mut ann).await;
    assert!(answer["reason"].as_str().unwrap().contains("binary messages are not supported"), "{answer}");

    // Still in the room, and the longest allowed text goes through.
    let longest = "y".repeat(chat::MAX_TEXT_CHARS);
    say(&mut ann, &longest).await;
    assert_eq!(next_event(&mut ann).await, json!({"type": "message", "user": "ann", "text": longest}));
    // Unknown extra fields are ignored.
    send_text(&mut ann, &json!({"type": "message", "text": "ok", "extra": 1}).to_string()).await;
    assert_eq!(next_event(&mut ann).await["text"], "ok");
    drop(ann);
    server.shutdown().await;
}

/// Connects to `path`; expects an error naming `reason`, then a 1008 close whose
/// reason says the same.
async fn refused(server: &TestServer, path: &str, reason: &str) {
    let mut client = server.connect(path).await;
    let answer = next_json(&mut client).await;
    assert_eq!(answer["type"], "error", "{path}: {answer}");
    let said = answer["reason"].as_str().unwrap().to_owned();
    assert!(said.contains(reason), "{path}: expected {reason:?} in {said:?}");
    let closed = client.closed().await;
    let (code, close_reason) = (closed.code(), closed.reason().to_owned());
    assert_eq!(code, 1008, "{path}");
    assert!(said.starts_with(&close_reason) && !close_reason.is_empty(), "{path}: {close_reason:?} vs {said:?}");
}

#[tokio::test]
async fn a_connection_without_a_valid_name_gets_the_error_then_a_1008_close() {
    let server = chat_server().await;
    let long_name = "n".repeat(chat::MAX_NAME_CHARS + 1);
    refused(&server, "/chat/lobby", "missing name").await;
    refused(&server, "/chat/lobby?name=", "the name is empty").await;
    refused(&server, "/chat/lobby?name=%20%20", "the name is empty").await;
    refused(&server, &format!("/chat/lobby?name={long_name}"), "the limit is 32").await;
    refused(&server, "/chat/lobby?name=a%07b", "control characters").await;
    let long_room = "r".repeat(chat::MAX_ROOM_CHARS + 1);
    refused(&server, &format!("/chat/{long_room}?name=ann"), "room name").await;
    refused(&server, "/chat/lobby?name=ann&client=", "client token must be 1 to 64 characters").await;
    refused(&server, &format!("/chat/lobby?name=ann&client={}", "t".repeat(65)), "this one has 65").await;
    refused(&server, "/chat/lobby?name=ann&client=a%20b", "visible ASCII").await;

    let mut ann = join(&server, "lobby", "ann", &["ann"]).await;
    refused(&server, "/chat/lobby?name=ann", "\"ann\" is already taken in room \"lobby\"").await;
    // Nobody refused was ever a member: the next one to join sees only ann.
    let bob = join(&server, "lobby", "bob", &["ann", "bob"]).await;
    assert_eq!(next_event(&mut ann).await, json!({"type": "join", "user": "bob"}));
    eventually("the refused sessions to leave the hub", || server.hub().count() == 2).await;
    drop((ann, bob));
    server.shutdown().await;
}

#[tokio::test]
async fn an_oversized_message_is_closed_with_1009_before_it_is_read() {
    let server = chat_server().await;
    let mut ann = join(&server, "lobby", "ann", &["ann"]).await;
    send_text(&mut ann, &"z".repeat(chat::MAX_MESSAGE_BYTES + 1)).await;
    let code = ann.closed().await.code();
    assert_eq!(code, 1009);
    server.shutdown().await;
}

#[tokio::test]
async fn the_page_is_served_at_the_root_by_the_same_listener() {
    let server = chat_server().await;
    let get = http_request(server.tcp_addr(), "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert_eq!(get.status, 200);
    assert_eq!(get.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(get.body, chat::INDEX_HTML);
    assert!(get.body.contains("new WebSocket("), "the page opens the chat's WebSocket");
    let etag = get.header("etag").expect("an ETag").to_owned();
    assert_eq!(get.header("cache-control"), Some("no-cache"));

    // HEAD: the same head, and the connection ends without a body.
    let head = read_all(&server, "HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains(&format!("Content-Length: {}\r\n", chat::INDEX_HTML.len())), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "no body after the head: {head}");

    let again = format!("GET / HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: {etag}\r\n\r\n");
    assert_eq!(http_request(server.tcp_addr(), again).await.status, 304);

    let post = http_request(server.tcp_addr(), "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n").await;
    assert_eq!((post.status, post.header("allow")), (405, Some("GET, HEAD")));

    let missing = http_request(server.tcp_addr(), "GET /missing HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert_eq!(missing.status, 404);
    // A plain GET on a room path is still a WebSocket endpoint.
    let room = http_request(server.tcp_addr(), "GET /chat/lobby HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert_eq!(room.status, 426);
    server.shutdown().await;
}

#[tokio::test]
async fn many_members_all_receive_every_message_in_order() {
    let server = chat_server().await;
    let mut members = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for i in 0..20 {
        let name = format!("m{i:02}");
        names.push(name.clone());
        let expected: Vec<&str> = names.iter().map(String::as_str).collect();
        let client = join(&server, "big", &name, &expected).await;
        // Everyone already in hears about the newcomer.
        for (j, earlier) in members.iter_mut().enumerate() {
            assert_eq!(next_event(earlier).await, json!({"type": "join", "user": name}), "member {j}");
        }
        members.push(client);
    }
    for (round, member) in members.iter_mut().enumerate().take(10) {
        say(member, &format!("round {round}")).await;
    }
    for member in &mut members {
        for round in 0..10 {
            let message = next_event(member).await;
            assert_eq!(
                message,
                json!({"type": "message", "user": format!("m{round:02}"), "text": format!("round {round}")})
            );
        }
    }
    let stray = next_message_or_none(&mut members[0]).await;
    assert!(stray.is_none(), "nothing else arrives: {stray:?}");
    drop(members);
    server.shutdown().await;
}

/// Sends `request` and reads everything until the server closes the connection.
async fn read_all(server: &TestServer, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = within("connecting", tokio::net::TcpStream::connect(server.tcp_addr())).await.unwrap();
    within("writing the request", stream.write_all(request.as_bytes())).await.unwrap();
    let mut response = Vec::new();
    within("the whole response", stream.read_to_end(&mut response)).await.unwrap();
    String::from_utf8(response).unwrap()
}

/// The next data message, if one arrives before the answer to a ping sent now
/// (the pong is written after everything queued before it).
async fn next_message_or_none(client: &mut TestClient) -> Option<Message> {
    client.send(Message::Ping(b"sync".to_vec().into())).await;
    loop {
        match client.next().await {
            Received::Message(Message::Pong(_)) => return None,
            Received::Message(Message::Ping(_)) => continue,
            Received::Message(message) => return Some(message),
            other => panic!("the connection failed while waiting for a pong: {other:?}"),
        }
    }
}
