//! Pushing to a session from outside its callbacks: handlers keep `Session`
//! clones, any task sends through them, and sending to a closed session fails
//! with `ErrorKind::Closed`.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use wsboot::test::{TestServer, within};
use wsboot::{CloseStatus, ErrorKind, HandlerRegistry, HandlerResult, Message, Session, WebSocketHandler};

/// Keeps every session it sees and says when one connects or closes.
struct Registry {
    sessions: Arc<Mutex<Vec<Session>>>,
    events: mpsc::UnboundedSender<(&'static str, Session)>,
}

impl WebSocketHandler for Registry {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        self.sessions.lock().unwrap().push(session.clone());
        let _ = self.events.send(("open", session.clone()));
        Ok(())
    }

    async fn after_connection_closed(&self, session: &Session, _status: &CloseStatus) {
        self.sessions.lock().unwrap().retain(|s| s != session);
        let _ = self.events.send(("closed", session.clone()));
    }
}

struct Pushing {
    server: TestServer,
    sessions: Arc<Mutex<Vec<Session>>>,
    events: mpsc::UnboundedReceiver<(&'static str, Session)>,
}

async fn pushing_server() -> Pushing {
    let sessions = Arc::new(Mutex::new(Vec::new()));
    let (events, received) = mpsc::unbounded_channel();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/push", Registry { sessions: sessions.clone(), events });
    Pushing { server: TestServer::start(registry).await, sessions, events: received }
}

async fn next_event(events: &mut mpsc::UnboundedReceiver<(&'static str, Session)>, expected: &str) -> Session {
    let (event, session) = within("a session event", events.recv()).await.expect("the handler is alive");
    assert_eq!(event, expected, "session {}", session.id());
    session
}

#[tokio::test]
async fn a_task_pushes_to_a_stored_session() {
    let mut push = pushing_server().await;
    let mut client = push.server.connect("/push").await;
    let opened = next_event(&mut push.events, "open").await;
    let stored = push.sessions.lock().unwrap().clone();
    assert_eq!(stored, vec![opened], "the handler stored the session");

    let session = stored.into_iter().next().expect("one session");
    let pusher = tokio::spawn(async move {
        session.send("pushed").await?;
        session.send(vec![1u8, 2, 3]).await
    });
    within("the pushing task", pusher).await.expect("the task does not panic").expect("the sends succeed");

    assert_eq!(client.recv_text().await, "pushed");
    assert_eq!(client.recv().await, Message::binary(vec![1, 2, 3]));
    client.close(CloseStatus::NORMAL).await;
    next_event(&mut push.events, "closed").await;
    push.server.shutdown().await;
}

#[tokio::test]
async fn a_broadcast_reaches_every_session() {
    let mut push = pushing_server().await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(push.server.connect("/push").await);
        next_event(&mut push.events, "open").await;
    }
    let sessions = push.sessions.clone();
    let broadcast = tokio::spawn(async move {
        let targets = sessions.lock().unwrap().clone();
        for session in targets {
            session.send("news").await.expect("an open session accepts a message");
        }
    });
    within("the broadcast", broadcast).await.expect("the broadcast does not panic");
    for client in &mut clients {
        assert_eq!(client.recv_text().await, "news");
    }
    for client in &mut clients {
        client.close(CloseStatus::NORMAL).await;
    }
    push.server.shutdown().await;
}

#[tokio::test]
async fn send_after_the_client_closed_fails_with_closed() {
    let mut push = pushing_server().await;
    let mut client = push.server.connect("/push").await;
    let session = next_event(&mut push.events, "open").await;
    assert!(session.is_open());

    client.close_without_status().await;
    let closed = next_event(&mut push.events, "closed").await;
    assert!(closed.ptr_eq(&session));

    assert!(!session.is_open());
    let sending = tokio::spawn(async move { session.send("too late").await });
    let error = within("a send to a closed session", sending)
        .await
        .expect("the task does not panic")
        .expect_err("sending to a closed session fails");
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
    push.server.shutdown().await;
}

#[tokio::test]
async fn send_after_the_connection_dropped_fails_with_closed() {
    let mut push = pushing_server().await;
    let client = push.server.connect("/push").await;
    let session = next_event(&mut push.events, "open").await;
    drop(client);
    next_event(&mut push.events, "closed").await;
    let error = within("a send to a dropped session", session.send("too late"))
        .await
        .expect_err("sending to a dropped session fails");
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
    let error = session.try_send("too late").expect_err("try_send fails too");
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
    push.server.shutdown().await;
}
