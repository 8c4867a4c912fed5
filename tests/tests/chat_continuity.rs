//! The chat example's continuity, with real WebSocket clients: offsets on
//! every publication, resuming a room with `since` (exactly what was missed,
//! in order, also while others keep talking), offsets the history no longer
//! covers, acked message ids that are published once (and errors, not acks,
//! while the broker cannot publish), and a member taking its name back on a new
//! connection with its client token.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use wsboot::test::{Received, TestClient, TestServer, within};
use wsboot::{
    BoxFuture, Broker, CloseStatus, Error, ErrorKind, HistoryLimits, HistorySlice, LocalBroker, Message, Position,
    Recorded, RemoteDelivery, Server,
};
use wsboot_examples::chat::{self, RoomHistory};

async fn next_json(client: &mut TestClient) -> Value {
    let text = client.recv_text().await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the server sent invalid JSON {text:?}: {e}"))
}

fn offset_of(value: &Value) -> Position {
    let offset = value["offset"].as_str().unwrap_or_else(|| panic!("no offset in {value}"));
    offset.parse().unwrap_or_else(|e| panic!("{offset:?} is not a position: {e}"))
}

/// `value` without its `"offset"`, which must be there.
fn without_offset(mut value: Value) -> Value {
    offset_of(&value);
    value.as_object_mut().unwrap().remove("offset");
    value
}

async fn say(client: &mut TestClient, text: &str) {
    client.send_text(&json!({"type": "message", "text": text}).to_string()).await;
}

async fn say_with_id(client: &mut TestClient, text: &str, id: &str) {
    client.send_text(&json!({"type": "message", "text": text, "id": id}).to_string()).await;
}

/// Joins without `since`; returns the client and its `members` greeting.
async fn join(server: &TestServer, query: &str) -> (TestClient, Value) {
    let mut client = server.connect(&format!("/chat/{query}")).await;
    let greeting = next_json(&mut client).await;
    assert_eq!(greeting["type"], "members", "{query}: {greeting}");
    offset_of(&greeting);
    (client, greeting)
}

fn message(user: &str, text: &str) -> Value {
    json!({"type": "message", "user": user, "text": text})
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

#[tokio::test]
async fn every_publication_carries_its_offset_and_members_the_starting_one() {
    let server = TestServer::start(chat::registry()).await;
    let (mut ann, greeting) = join(&server, "lobby?name=ann").await;
    let start = offset_of(&greeting);
    let (mut bob, bob_greeting) = join(&server, "lobby?name=bob").await;
    let bob_join = next_json(&mut ann).await;
    assert_eq!(without_offset(bob_join.clone()), json!({"type": "join", "user": "bob"}));
    // Bob starts right at his own join notice.
    assert_eq!(offset_of(&bob_greeting), offset_of(&bob_join));
    assert!(offset_of(&bob_join).offset() > start.offset());

    say(&mut bob, "one").await;
    say(&mut bob, "two").await;
    let mut last = offset_of(&bob_join);
    for text in ["one", "two"] {
        let at_ann = next_json(&mut ann).await;
        let at_bob = next_json(&mut bob).await;
        assert_eq!(at_ann, at_bob, "everyone gets the same offset");
        assert_eq!(without_offset(at_ann.clone()), message("bob", text));
        let offset = offset_of(&at_ann);
        assert_eq!((offset.epoch(), offset.offset()), (last.epoch(), last.offset() + 1));
        last = offset;
    }
    drop(bob);
    let leave = next_json(&mut ann).await;
    assert_eq!(without_offset(leave.clone()), json!({"type": "leave", "user": "bob"}));
    assert_eq!(offset_of(&leave).offset(), last.offset() + 1);
    drop(ann);
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_resumes_gets_exactly_what_it_missed_then_resumed() {
    let server = TestServer::start(chat::registry()).await;
    let (mut ann, _) = join(&server, "lobby?name=ann&client=ann-tab").await;
    let (mut bob, _) = join(&server, "lobby?name=bob").await;
    let last_seen = offset_of(&next_json(&mut ann).await); // bob's join
    drop(ann);
    assert_eq!(without_offset(next_json(&mut bob).await), json!({"type": "leave", "user": "ann"}));
    for text in ["missed 1", "missed 2", "missed 3"] {
        say(&mut bob, text).await;
        assert_eq!(without_offset(next_json(&mut bob).await), message("bob", text));
    }

    let since = last_seen.to_string().replace(':', "%3A");
    let mut ann = server.connect(&format!("/chat/lobby?name=ann&client=ann-tab&since={since}")).await;
    let expected = [
        json!({"type": "leave", "user": "ann"}),
        message("bob", "missed 1"),
        message("bob", "missed 2"),
        message("bob", "missed 3"),
        json!({"type": "join", "user": "ann"}),
    ];
    let mut offset = last_seen;
    for want in expected {
        let got = next_json(&mut ann).await;
        assert_eq!(offset_of(&got).offset(), offset.offset() + 1, "in order, none skipped: {got}");
        offset = offset_of(&got);
        assert_eq!(without_offset(got), want);
    }
    let resumed = next_json(&mut ann).await;
    assert_eq!(
        resumed,
        json!({"type": "resumed", "recovered": true, "offset": offset.to_string(), "users": ["bob", "ann"]})
    );
    // Bob saw ann come back; then both are live.
    assert_eq!(without_offset(next_json(&mut bob).await), json!({"type": "join", "user": "ann"}));
    say(&mut bob, "welcome back").await;
    assert_eq!(without_offset(next_json(&mut ann).await), message("bob", "welcome back"));
    assert!(next_message_or_none(&mut ann).await.is_none(), "nothing twice");
    drop((ann, bob));
    server.shutdown().await;
}

#[tokio::test]
async fn resuming_while_another_member_keeps_talking_misses_nothing_and_repeats_nothing() {
    const COUNT: usize = 400;
    let server = TestServer::start(chat::registry()).await;
    let (ann, greeting) = join(&server, "busy?name=ann").await;
    let since = offset_of(&greeting);
    let (mut bob, _) = join(&server, "busy?name=bob").await;
    drop(ann);
    assert_eq!(without_offset(next_json(&mut bob).await), json!({"type": "leave", "user": "ann"}));

    // Bob numbers his messages, each sent once the previous one is back.
    let sent = Arc::new(AtomicUsize::new(0));
    let talking = tokio::spawn({
        let sent = sent.clone();
        async move {
            for n in 0..COUNT {
                let text = n.to_string();
                say(&mut bob, &text).await;
                loop {
                    let got = next_json(&mut bob).await;
                    if got["type"] == "message" && got["text"] == *text {
                        break;
                    }
                }
                sent.store(n + 1, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
            bob
        }
    });
    within("bob to get going", async {
        while sent.load(Ordering::SeqCst) < COUNT / 4 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;

    let mut ann = server.connect(&format!("/chat/busy?name=ann&since={since}")).await;
    let (mut numbers, mut resumed_at, mut last) = (Vec::new(), None, since.offset());
    while numbers.len() < COUNT {
        let got = next_json(&mut ann).await;
        match got["type"].as_str() {
            Some("message") => numbers.push(got["text"].as_str().unwrap().parse::<usize>().unwrap()),
            Some("resumed") => {
                assert!(resumed_at.is_none(), "resumed once");
                assert_eq!(got["recovered"], true);
                assert_eq!(offset_of(&got).offset(), last, "resumed at the last offset delivered");
                resumed_at = Some(numbers.len());
                continue;
            }
            Some("join" | "leave") => {}
            _ => panic!("unexpected {got}"),
        }
        let offset = offset_of(&got).offset();
        assert_eq!(offset, last + 1, "no gap, no repeat: {got} after {last}");
        last = offset;
    }
    assert_eq!(numbers, (0..COUNT).collect::<Vec<_>>());
    let resumed_at = resumed_at.expect("a resumed notice");
    assert!((COUNT / 4..COUNT).contains(&resumed_at), "caught up on the first {resumed_at}, then live");
    let bob = within("bob to finish", talking).await.unwrap();
    assert!(next_message_or_none(&mut ann).await.is_none(), "nothing more");
    drop((ann, bob));
    server.shutdown().await;
}

/// Connects as ann with `since` (already URL-encoded) and expects `resumed`
/// with `recovered: false` first. With her client token, in case her last
/// connection is still closing.
async fn not_recovered(server: &TestServer, room: &str, since: &str, users: &[&str]) -> TestClient {
    let mut ann = server.connect(&format!("/chat/{room}?name=ann&client=ann-tab&since={since}")).await;
    let resumed = next_json(&mut ann).await;
    assert_eq!(without_offset(resumed), json!({"type": "resumed", "recovered": false, "users": users}), "{since}");
    ann
}

#[tokio::test]
async fn an_offset_the_history_does_not_cover_gives_resumed_false_first() {
    let history = RoomHistory { max_messages: 3, max_age: Duration::from_millis(300), ..RoomHistory::default() };
    let server = TestServer::start(chat::registry_with(history)).await;
    let (mut bob, greeting) = join(&server, "short?name=bob").await;
    let start = offset_of(&greeting);

    // Trimmed: more publications since than the room keeps.
    for n in 0..4 {
        say(&mut bob, &format!("{n}")).await;
        assert_eq!(without_offset(next_json(&mut bob).await)["text"], n.to_string());
    }
    let mut ann = not_recovered(&server, "short", &start.to_string(), &["bob", "ann"]).await;
    assert_eq!(without_offset(next_json(&mut bob).await), json!({"type": "join", "user": "ann"}));
    // Live from there on.
    say(&mut bob, "live").await;
    assert_eq!(without_offset(next_json(&mut ann).await), message("bob", "live"));
    let live = offset_of(&next_json(&mut bob).await);
    drop(ann);
    assert_eq!(without_offset(next_json(&mut bob).await), json!({"type": "leave", "user": "ann"}));

    // Expired: older than the room keeps.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let ann = not_recovered(&server, "short", &live.to_string(), &["bob", "ann"]).await;
    drop(ann);
    assert_eq!(without_offset(next_json(&mut bob).await)["type"], "join");
    assert_eq!(without_offset(next_json(&mut bob).await)["type"], "leave");

    // Another history's epoch (a restarted server), and an offset never given.
    let other_epoch = Position::new(live.epoch() ^ 1, 1).to_string();
    let ann = not_recovered(&server, "short", &other_epoch, &["bob", "ann"]).await;
    drop(ann);
    let future = Position::new(live.epoch(), live.offset() + 1_000).to_string();
    let ann = not_recovered(&server, "short", &future, &["bob", "ann"]).await;
    drop(ann);

    // Garbage: an error says so, then the same as not recovered.
    for garbage in ["yesterday", "", "1%3A2%3A3", "%3A5"] {
        let mut ann = server.connect(&format!("/chat/short?name=ann&client=ann-tab&since={garbage}")).await;
        let error = next_json(&mut ann).await;
        assert_eq!(error["type"], "error", "{garbage}: {error}");
        assert!(error["reason"].as_str().unwrap().contains("\"since\" is not an offset"), "{error}");
        let resumed = next_json(&mut ann).await;
        assert_eq!((&resumed["type"], &resumed["recovered"]), (&json!("resumed"), &json!(false)), "{resumed}");
        offset_of(&resumed);
        // Still a member: it can talk.
        say(&mut ann, "still here").await;
        loop {
            let got = next_json(&mut ann).await;
            if got["type"] == "message" {
                assert_eq!(without_offset(got), message("ann", "still here"));
                break;
            }
        }
    }
    drop(bob);
    server.shutdown().await;
}

/// The next `message` and `ack`, in whichever order they come.
async fn message_and_ack(client: &mut TestClient) -> (Value, Value) {
    let (first, second) = (next_json(client).await, next_json(client).await);
    if first["type"] == "ack" { (second, first) } else { (first, second) }
}

#[tokio::test]
async fn a_message_id_is_acked_and_a_resend_is_published_once() {
    let server = TestServer::start(chat::registry()).await;
    let (mut ann, _) = join(&server, "lobby?name=ann&client=tab-a").await;
    let (mut bob, _) = join(&server, "lobby?name=bob&client=tab-b").await;
    next_json(&mut ann).await; // bob's join

    say_with_id(&mut ann, "once", "m-1").await;
    let (delivered, ack) = message_and_ack(&mut ann).await;
    assert_eq!(without_offset(delivered.clone()), message("ann", "once"));
    assert_eq!(ack, json!({"type": "ack", "id": "m-1", "offset": delivered["offset"]}));
    assert_eq!(next_json(&mut bob).await, delivered);

    // The resend is acked with the same offset and delivered to nobody.
    say_with_id(&mut ann, "once", "m-1").await;
    assert_eq!(next_json(&mut ann).await, ack);
    assert!(next_message_or_none(&mut bob).await.is_none(), "bob got the resend");
    assert!(next_message_or_none(&mut ann).await.is_none(), "ann got the resend");

    // Ids belong to their sender: bob's m-1 is another message.
    say_with_id(&mut bob, "mine", "m-1").await;
    let (bobs, bobs_ack) = message_and_ack(&mut bob).await;
    assert_eq!(without_offset(bobs.clone()), message("bob", "mine"));
    assert_ne!(bobs_ack["offset"], ack["offset"]);
    assert_eq!(next_json(&mut ann).await, bobs);

    // After a reconnect, resending what was never acked is still harmless.
    drop(ann);
    assert_eq!(without_offset(next_json(&mut bob).await)["type"], "leave");
    let (mut ann, _) = join(&server, "lobby?name=ann&client=tab-a").await;
    assert_eq!(without_offset(next_json(&mut bob).await)["type"], "join");
    say_with_id(&mut ann, "once", "m-1").await;
    assert_eq!(next_json(&mut ann).await, ack);
    say_with_id(&mut ann, "twice", "m-2").await;
    let (second, second_ack) = message_and_ack(&mut ann).await;
    assert_eq!(without_offset(second.clone()), message("ann", "twice"));
    assert_eq!(second_ack["offset"], second["offset"]);
    assert_eq!(next_json(&mut bob).await, second, "bob gets m-2 and never m-1 again");

    // A bad id is an error naming it, and nothing is published.
    ann.send_text(&json!({"type": "message", "text": "x", "id": ["m-3"]}).to_string()).await;
    let error = next_json(&mut ann).await;
    assert_eq!(error, json!({"type": "error", "reason": "\"id\" must be a string"}));
    // A valid id comes back with the error about the text.
    ann.send_text(&json!({"type": "message", "text": " ", "id": "m-4"}).to_string()).await;
    assert_eq!(next_json(&mut ann).await, json!({"type": "error", "reason": "\"text\" is empty", "id": "m-4"}));
    assert!(next_message_or_none(&mut bob).await.is_none());
    drop((ann, bob));
    server.shutdown().await;
}

#[tokio::test]
async fn a_member_with_its_client_token_takes_its_name_back_on_a_new_connection() {
    let server = TestServer::start(chat::registry()).await;
    let (mut old, _) = join(&server, "lobby?name=ann&client=tab-a").await;
    let (mut bob, _) = join(&server, "lobby?name=bob").await;
    let bob_join = next_json(&mut old).await;

    // Another token, or none, is still refused while ann is here.
    for query in ["name=ann&client=tab-b", "name=ann"] {
        let mut other = server.connect(&format!("/chat/lobby?{query}")).await;
        let error = next_json(&mut other).await;
        assert!(error["reason"].as_str().unwrap().contains("\"ann\" is already taken"), "{query}: {error}");
        assert_eq!(other.closed().await.code(), 1008);
    }

    // The same token while the old connection is still open: the new one
    // takes its place (and its place in the member list); the old is closed.
    let since = offset_of(&bob_join).to_string();
    let mut new = server.connect(&format!("/chat/lobby?name=ann&client=tab-a&since={since}")).await;
    let resumed = next_json(&mut new).await;
    assert_eq!(
        resumed,
        json!({"type": "resumed", "recovered": true, "offset": since, "users": ["ann", "bob"]}),
        "nothing to replay: nobody was told anything"
    );
    let closed = old.closed().await;
    assert_eq!(closed.code(), 1000);
    assert!(closed.reason().contains("replaced"), "{closed:?}");
    assert!(next_message_or_none(&mut bob).await.is_none(), "no join, no leave for bob");

    // A fresh join with the token takes over too, and gets the member list.
    let (mut newest, greeting) = join(&server, "lobby?name=ann&client=tab-a").await;
    assert_eq!(greeting["users"], json!(["ann", "bob"]));
    assert_eq!(new.closed().await.code(), 1000);
    assert!(next_message_or_none(&mut bob).await.is_none(), "no join, no leave for bob");

    say(&mut newest, "still me").await;
    assert_eq!(without_offset(next_json(&mut bob).await), message("ann", "still me"));
    assert_eq!(without_offset(next_json(&mut newest).await), message("ann", "still me"));
    // Ann's last connection leaving is announced, once.
    newest.close(CloseStatus::NORMAL).await;
    assert_eq!(without_offset(next_json(&mut bob).await), json!({"type": "leave", "user": "ann"}));
    assert!(next_message_or_none(&mut bob).await.is_none());
    drop(bob);
    server.shutdown().await;
}

/// The local broker, except that recording a publication fails while `down`
/// (as a cluster broker does while its store is unreachable).
struct FlakyBroker {
    local: LocalBroker,
    down: Arc<AtomicBool>,
}

impl Broker for FlakyBroker {
    fn name(&self) -> &'static str {
        "flaky"
    }
    fn start(&self, delivery: RemoteDelivery) -> BoxFuture<'_, Result<(), Error>> {
        self.local.start(delivery)
    }
    fn subscribe(&self, topic: &str) -> BoxFuture<'_, Result<(), Error>> {
        self.local.subscribe(topic)
    }
    fn unsubscribe(&self, topic: &str) -> BoxFuture<'_, Result<(), Error>> {
        self.local.unsubscribe(topic)
    }
    fn publish(&self, topic: &str, message: &Message) -> BoxFuture<'_, Result<(), Error>> {
        self.local.publish(topic, message)
    }
    fn publish_to_user(&self, user: &str, message: &Message) -> BoxFuture<'_, Result<(), Error>> {
        self.local.publish_to_user(user, message)
    }
    fn keeps_history(&self) -> bool {
        true
    }
    fn publish_recorded<'a>(
        &'a self,
        topic: &'a str,
        message: &'a Message,
        key: Option<&'a str>,
        limits: &'a HistoryLimits,
    ) -> BoxFuture<'a, Result<Recorded, Error>> {
        if self.down.load(Ordering::SeqCst) {
            return Box::pin(async { Err(Error::new(ErrorKind::Io, "the store is unreachable")) });
        }
        self.local.publish_recorded(topic, message, key, limits)
    }
    fn read_history<'a>(
        &'a self,
        topic: &'a str,
        since: Option<Position>,
        limits: &'a HistoryLimits,
    ) -> BoxFuture<'a, Result<HistorySlice, Error>> {
        self.local.read_history(topic, since, limits)
    }
}

#[tokio::test]
async fn while_the_broker_cannot_publish_the_sender_is_told_to_retry_and_gets_no_ack() {
    let down = Arc::new(AtomicBool::new(false));
    let broker = FlakyBroker { local: LocalBroker::new(), down: down.clone() };
    let server = TestServer::start_with(Server::builder().registry(chat::registry()).broker(broker)).await;
    let (mut ann, _) = join(&server, "lobby?name=ann&client=tab-a").await;

    down.store(true, Ordering::SeqCst);
    say_with_id(&mut ann, "hello?", "m-1").await;
    let error = next_json(&mut ann).await;
    assert_eq!((&error["type"], &error["id"], &error["retry"]), (&json!("error"), &json!("m-1"), &json!(true)));
    let reason = error["reason"].as_str().unwrap();
    assert!(reason.contains("not sent") && reason.contains("send it again"), "{reason}");
    say(&mut ann, "no id").await;
    let error = next_json(&mut ann).await;
    assert_eq!((&error["id"], &error["retry"]), (&Value::Null, &json!(true)), "{error}");
    assert!(next_message_or_none(&mut ann).await.is_none(), "no ack, no message");
    // Nobody can join meanwhile: the page tries again on 1011.
    let mut bob = server.connect("/chat/lobby?name=bob").await;
    let error = next_json(&mut bob).await;
    assert!(error["reason"].as_str().unwrap().contains("could not join"), "{error}");
    assert_eq!(bob.closed().await.code(), 1011);

    // Back up: the resend goes through, once.
    down.store(false, Ordering::SeqCst);
    say_with_id(&mut ann, "hello?", "m-1").await;
    let (delivered, ack) = message_and_ack(&mut ann).await;
    assert_eq!(without_offset(delivered.clone()), message("ann", "hello?"));
    assert_eq!(ack, json!({"type": "ack", "id": "m-1", "offset": delivered["offset"]}));
    let (mut bob, greeting) = join(&server, "lobby?name=bob").await;
    assert_eq!(greeting["users"], json!(["ann", "bob"]));
    assert!(next_message_or_none(&mut bob).await.is_none());
    drop((ann, bob));
    server.shutdown().await;
}
