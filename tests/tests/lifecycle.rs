//! `after_connection_closed` runs exactly once per session, with the status of
//! how the session ended: the client's close, the handler's own, or 1006 when the
//! connection dropped.

use std::time::Duration;

use tokio::sync::mpsc;
use wsboot::test::{TestClient, TestServer, within};
use wsboot::{CloseStatus, HandlerRegistry, HandlerResult, Session, SessionId, Utf8Bytes, WebSocketHandler};

/// What the handler saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Established(SessionId),
    Closed(SessionId, CloseStatus),
}

/// Reports its lifecycle callbacks on a channel. Sends its session id on
/// connect; on the text "close", closes the session with 1008 "policy".
struct Recorder {
    events: mpsc::UnboundedSender<Event>,
}

impl WebSocketHandler for Recorder {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        let _ = self.events.send(Event::Established(session.id()));
        session.send(session.id().to_string()).await?;
        Ok(())
    }

    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        if text == "close" {
            session.close(CloseStatus::POLICY_VIOLATION.with_reason("policy"));
        } else {
            session.send(text).await?;
        }
        Ok(())
    }

    async fn after_connection_closed(&self, session: &Session, status: &CloseStatus) {
        let _ = self.events.send(Event::Closed(session.id(), status.clone()));
    }
}

/// Time given to a second, wrong callback to show up.
const SETTLE: Duration = Duration::from_millis(300);

async fn recording_server() -> (TestServer, mpsc::UnboundedReceiver<Event>) {
    let (events, received) = mpsc::unbounded_channel();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/life", Recorder { events });
    (TestServer::start(registry).await, received)
}

async fn next_event(events: &mut mpsc::UnboundedReceiver<Event>) -> Event {
    within("a lifecycle callback", events.recv()).await.expect("the handler is still registered")
}

/// Waits for the close callback of `id` and checks that no other callback
/// follows it.
async fn expect_closed_once(events: &mut mpsc::UnboundedReceiver<Event>, id: SessionId) -> CloseStatus {
    let status = match next_event(events).await {
        Event::Closed(closed, status) if closed == id => status,
        other => panic!("expected after_connection_closed for session {id}, got {other:?}"),
    };
    tokio::time::sleep(SETTLE).await;
    assert!(events.try_recv().is_err(), "after_connection_closed is called once only");
    status
}

/// Connects and returns the client and its session id (checking that
/// `after_connection_established` ran for it).
async fn open(server: &TestServer, events: &mut mpsc::UnboundedReceiver<Event>) -> (TestClient, SessionId) {
    let mut client = server.connect("/life").await;
    let id = client.recv_text().await;
    let session = match next_event(events).await {
        Event::Established(session) => session,
        other => panic!("expected after_connection_established, got {other:?}"),
    };
    assert_eq!(id, session.to_string());
    (client, session)
}

#[tokio::test]
async fn client_close_reports_the_clients_status_once() {
    let (server, mut events) = recording_server().await;
    let (mut client, id) = open(&server, &mut events).await;
    let echoed = client.close(CloseStatus::NORMAL.with_reason("done here")).await.code();
    assert_eq!(echoed, 1000, "the server answers the close with the same code");
    let status = expect_closed_once(&mut events, id).await;
    assert_eq!((status.code(), status.reason()), (1000, "done here"));
    server.shutdown().await;
}

#[tokio::test]
async fn client_close_with_an_application_code_is_reported() {
    let (server, mut events) = recording_server().await;
    let (mut client, id) = open(&server, &mut events).await;
    let echoed = client.close(CloseStatus::new(4001).with_reason("app")).await.code();
    assert_eq!(echoed, 4001);
    let status = expect_closed_once(&mut events, id).await;
    assert_eq!((status.code(), status.reason()), (4001, "app"));
    server.shutdown().await;
}

#[tokio::test]
async fn client_close_without_a_code_is_reported_as_1005() {
    let (server, mut events) = recording_server().await;
    let (mut client, id) = open(&server, &mut events).await;
    client.close_without_status().await;
    let status = expect_closed_once(&mut events, id).await;
    assert_eq!(status.code(), CloseStatus::NO_STATUS_CODE.code());
    server.shutdown().await;
}

#[tokio::test]
async fn server_close_reaches_the_client_and_is_reported_once() {
    let (server, mut events) = recording_server().await;
    let (mut client, id) = open(&server, &mut events).await;
    client.send_text("close").await;
    let closed = client.closed().await;
    let (code, reason) = (closed.code(), closed.reason().to_owned());
    assert_eq!((code, reason.as_str()), (1008, "policy"));
    let status = expect_closed_once(&mut events, id).await;
    assert_eq!((status.code(), status.reason()), (1008, "policy"));
    server.shutdown().await;
}

#[tokio::test]
async fn dropped_connection_is_reported_as_1006_once() {
    let (server, mut events) = recording_server().await;
    let (client, id) = open(&server, &mut events).await;
    drop(client); // TCP goes away without a close frame
    let status = expect_closed_once(&mut events, id).await;
    assert_eq!(status, CloseStatus::NO_CLOSE_FRAME);
    server.shutdown().await;
}

#[tokio::test]
async fn server_shutdown_closes_sessions_with_1012_and_reports_it() {
    let (server, mut events) = recording_server().await;
    let (mut client, id) = open(&server, &mut events).await;
    let reading = tokio::spawn(async move { client.closed().await });
    server.shutdown().await;
    let status = within("the client's reader", reading).await.expect("the reader does not panic");
    assert_eq!(status.code(), 1012);
    let status = expect_closed_once(&mut events, id).await;
    assert_eq!(status.code(), 1012);
}

#[tokio::test]
async fn each_of_several_sessions_is_closed_once() {
    let (server, mut events) = recording_server().await;
    let (first, first_id) = open(&server, &mut events).await;
    let (mut second, second_id) = open(&server, &mut events).await;
    drop(first);
    assert_eq!(expect_closed_once(&mut events, first_id).await, CloseStatus::NO_CLOSE_FRAME);
    // The other session is untouched.
    second.send_text("still here").await;
    assert_eq!(second.recv_text().await, "still here");
    second.close(CloseStatus::NORMAL).await;
    assert_eq!(expect_closed_once(&mut events, second_id).await.code(), 1000);
    server.shutdown().await;
}
