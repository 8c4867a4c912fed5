//! A cluster for tests: wsboot servers in this process, each with its own
//! [`RedisBroker`] on one shared `redis-server`, and real WebSocket clients, all
//! from wsboot's test kit.
//!
//! The nodes serve `/ws?user=NAME` with a handler that speaks a tiny text
//! protocol, so a client drives its node's hub:
//!
//! | client sends            | the node does                                  | answer             |
//! |-------------------------|------------------------------------------------|--------------------|
//! | `sub TOPIC`             | subscribes the session                         | `subscribed TOPIC` |
//! | `unsub TOPIC`           | unsubscribes it                                | `unsubscribed TOPIC` |
//! | `pub TOPIC TEXT`        | `hub.publish(TOPIC, TEXT)`                     | — (with history: `published POS`) |
//! | `pubkey TOPIC KEY TEXT` | `hub.publish_idempotent(TOPIC, KEY, TEXT)`     | `published POS` or `duplicate POS` |
//! | `resume TOPIC SINCE`    | `session.subscribe_from(TOPIC, SINCE)` (`-`: none) | the replay, then `resumed TOPIC recovered=BOOL position=POS` |
//! | `to USER TEXT`          | `hub.send_to_user(USER, TEXT)`                 | —                  |
//! | `track TOPIC INFO [OWNER]` | tracks its presence, INFO unique (owned by OWNER) | `joined`, `took NODE/SESSION` or `taken NODE/SESSION` |
//! | `untrack TOPIC`         | `session.untrack_presence(TOPIC)`              | `untracked TOPIC`  |
//! | a binary message        | publishes it, as binary, to `binary`           | —                  |
//!
//! A publish that fails answers `failed ERROR`.

#![allow(dead_code, unreachable_pub)]

pub mod redis_server;

use std::time::{Duration, Instant};

use wsboot::test::{TestClient, TestServer, within};
use wsboot::{
    Bytes, Error, HandlerRegistry, HandlerResult, HandshakeInterceptor, HandshakeRequest, Hub, Position, Presence,
    Principal, Published, Rejection, Server, Session, TopicHistory, Tracked, Utf8Bytes, WebSocketHandler,
};
use wsboot_redis::RedisBroker;

pub use redis_server::RedisServer;

/// Makes the `user` query parameter the session's principal.
pub struct UserFromQuery;

impl HandshakeInterceptor for UserFromQuery {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        if let Some(user) = request.query_param("user") {
            request.set_principal(Principal::new(user));
        }
        Ok(())
    }
}

/// The handler of the table above.
struct Commands;

/// The answer to a publish: its position, if it has one.
async fn answer(session: &Session, published: Result<Published, Error>) -> HandlerResult {
    match published {
        Ok(Published { position: Some(position), duplicate: true, .. }) => {
            session.send(format!("duplicate {position}")).await?
        }
        Ok(Published { position: Some(position), .. }) => session.send(format!("published {position}")).await?,
        Ok(_) => {}
        Err(error) => session.send(format!("failed {error}")).await?,
    }
    Ok(())
}

impl WebSocketHandler for Commands {
    async fn handle_text_message(&self, session: &Session, text: Utf8Bytes) -> HandlerResult {
        let (command, rest) = text.split_once(' ').unwrap_or((text.as_str(), ""));
        let words = if matches!(command, "pubkey" | "track") { 3 } else { 2 };
        let mut words = rest.splitn(words, ' ');
        match (command, words.next(), words.next(), words.next()) {
            ("sub", Some(topic), None, None) => {
                session.subscribe(topic).await?;
                session.send(format!("subscribed {topic}")).await?;
            }
            ("unsub", Some(topic), None, None) => {
                session.unsubscribe(topic).await;
                session.send(format!("unsubscribed {topic}")).await?;
            }
            ("pub", Some(topic), Some(body), None) => {
                answer(session, session.hub().publish(topic, body.to_owned()).await).await?;
            }
            ("pubkey", Some(topic), Some(key), Some(body)) => {
                answer(session, session.hub().publish_idempotent(topic, key, body.to_owned()).await).await?;
            }
            ("resume", Some(topic), Some(since), None) => {
                let since: Option<Position> = if since == "-" { None } else { Some(since.parse()?) };
                let resuming = session.subscribe_from(topic, since).await?;
                let (recovered, position) = (resuming.recovered(), resuming.position());
                session.send(format!("resumed {topic} recovered={recovered} position={position}")).await?;
                drop(resuming);
            }
            ("to", Some(user), Some(body), None) => {
                session.hub().send_to_user(user, body.to_owned()).await;
            }
            ("track", Some(topic), Some(info), owner) => {
                let presence = Presence::new(info).unique();
                let presence = match owner {
                    Some(owner) => presence.owner(owner),
                    None => presence,
                };
                let answer = match session.track_presence(topic, presence).await? {
                    Tracked::Joined => "joined".to_owned(),
                    Tracked::TookOver(old) => format!("took {}/{}", old.node, old.session),
                    Tracked::Taken(holder) => format!("taken {}/{}", holder.node, holder.session),
                    other => format!("{other:?}"),
                };
                session.send(answer).await?;
            }
            ("untrack", Some(topic), None, None) => {
                session.untrack_presence(topic).await;
                session.send(format!("untracked {topic}")).await?;
            }
            _ => return Err(format!("unknown command {:?}", text.as_str()).into()),
        }
        Ok(())
    }

    async fn handle_binary_message(&self, session: &Session, data: Bytes) -> HandlerResult {
        session.hub().publish("binary", data).await.unwrap();
        Ok(())
    }
}

/// A broker for `redis` tuned for tests: quick reconnection and health checks.
pub fn test_broker(redis: &RedisServer) -> wsboot_redis::RedisBrokerBuilder {
    RedisBroker::builder(redis.url())
        .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(500))
        .health_check_interval(Duration::from_millis(500))
        .command_timeout(Duration::from_secs(2))
}

/// One wsboot server of the cluster.
#[derive(Debug)]
pub struct Node {
    pub server: TestServer,
    pub broker: RedisBroker,
}

impl Node {
    /// Starts a node on `127.0.0.1:0` sharing `redis`.
    pub async fn start(redis: &RedisServer) -> Node {
        let broker = within("the broker to connect", test_broker(redis).connect()).await.expect("the broker connects");
        Node::with_broker(broker).await
    }

    /// Starts a node with `broker`.
    pub async fn with_broker(broker: RedisBroker) -> Node {
        Node::with_history(broker, &[]).await
    }

    /// Starts a node sharing `redis` that keeps the topic histories `histories`.
    pub async fn start_with_history(redis: &RedisServer, histories: &[TopicHistory]) -> Node {
        let broker = within("the broker to connect", test_broker(redis).connect()).await.expect("the broker connects");
        Node::with_history(broker, histories).await
    }

    /// Starts a node with `broker` that keeps the topic histories `histories`.
    pub async fn with_history(broker: RedisBroker, histories: &[TopicHistory]) -> Node {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/ws", Commands).interceptor(UserFromQuery);
        for history in histories {
            registry.add_topic_history(history.clone());
        }
        Node::serving(registry, broker).await
    }

    /// Starts a node serving `registry`, sharing `redis`.
    pub async fn serving_on(registry: HandlerRegistry, redis: &RedisServer) -> Node {
        let broker = within("the broker to connect", test_broker(redis).connect()).await.expect("the broker connects");
        Node::serving(registry, broker).await
    }

    async fn serving(registry: HandlerRegistry, broker: RedisBroker) -> Node {
        let server = TestServer::start_with(Server::builder().registry(registry).broker(broker.clone())).await;
        Node { server, broker }
    }

    /// The node's hub.
    pub fn hub(&self) -> &Hub {
        self.server.hub()
    }

    /// Opens a WebSocket as user `user`.
    pub async fn connect(&self, user: &str) -> TestClient {
        self.open(&format!("/ws?user={user}")).await
    }

    /// Opens a WebSocket to `path` (with its query).
    pub async fn open(&self, path: &str) -> TestClient {
        self.server.connect(path).await
    }

    /// Shuts the node down (its broker with it) and waits for it.
    pub async fn stop(self) {
        self.server.shutdown().await;
    }
}

/// Subscribes the client's session to `topic` and waits until the node has
/// subscribed it (in Redis too, for the node's first subscriber).
pub async fn subscribe(client: &mut TestClient, topic: &str) {
    client.send_text(&format!("sub {topic}")).await;
    assert_eq!(client.recv_text().await, format!("subscribed {topic}"));
}

/// Unsubscribes the client's session from `topic` and waits for the answer.
pub async fn unsubscribe(client: &mut TestClient, topic: &str) {
    client.send_text(&format!("unsub {topic}")).await;
    assert_eq!(client.recv_text().await, format!("unsubscribed {topic}"));
}

/// How many nodes subscribe to `channel` in `redis` (`PUBSUB NUMSUB`).
pub async fn redis_subscribers(redis: &RedisServer, channel: &str) -> i64 {
    let client = redis::Client::open(redis.url()).expect("a valid URL");
    let mut connection =
        within("a Redis connection", client.get_multiplexed_async_connection()).await.expect("Redis answers");
    let (_, count): (String, i64) =
        within("PUBSUB NUMSUB", redis::cmd("PUBSUB").arg("NUMSUB").arg(channel).query_async(&mut connection))
            .await
            .expect("PUBSUB NUMSUB answers");
    count
}

/// Runs `command` (its words) on `redis` and returns the integer it answers.
pub async fn redis_command(redis: &RedisServer, command: &[&str]) -> i64 {
    let client = redis::Client::open(redis.url()).expect("a valid URL");
    let mut connection =
        within("a Redis connection", client.get_multiplexed_async_connection()).await.expect("Redis answers");
    let mut cmd = redis::cmd(command[0]);
    for arg in &command[1..] {
        cmd.arg(*arg);
    }
    within("a Redis command", cmd.query_async(&mut connection)).await.expect("the command succeeds")
}

/// Waits until `condition` holds, checking every 20 ms, for at most `limit`.
///
/// # Panics
/// When the limit passes first; the message says what was awaited.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
