//! [`RedisBroker`]: the [`Broker`] of a node in a cluster that shares one Redis.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink};
use tokio::sync::{OnceCell, watch};
use tokio::task::JoinHandle;
use wsboot_core::BoxFuture;
use wsboot_core::{
    Broker, Error, ErrorKind, HistoryLimits, HistorySlice, Member, Message, Position, Presence, Recorded,
    RemoteDelivery, Tracked,
};

use crate::builder::{RedisBrokerBuilder, Settings};
use crate::channels::Channels;
use crate::envelope;
use crate::history::{self, Subscriptions};
use crate::node_id::NodeId;
use crate::presence;
use crate::publisher::{self, Outbox, Outgoing};
use crate::stats::{Counters, RedisBrokerStats};
use crate::subscriber;

/// Carries a server's topics and per-user messages to the other nodes of its
/// cluster over Redis pub/sub.
///
/// Install it with `Server::builder().broker(broker)`; every node of the cluster
/// points at the same Redis with the same [prefix](RedisBrokerBuilder::prefix).
/// Then a [`Hub::publish`](wsboot_core::Hub::publish) on any node reaches the
/// topic's subscribers on every node, and
/// [`Hub::send_to_user`](wsboot_core::Hub::send_to_user) reaches the user's
/// sessions wherever they are connected.
///
/// ```no_run
/// # async fn run(registry: wsboot::HandlerRegistry) -> Result<(), wsboot::Error> {
/// let broker = wsboot_redis::RedisBroker::connect("redis://127.0.0.1:6379").await?;
/// let stats = broker.clone(); // a handle for monitoring, sharing the same broker
/// let server = wsboot::Server::builder().registry(registry).broker(broker).bind("0.0.0.0:8080").await?;
/// # let _ = (server, stats);
/// # Ok(())
/// # }
/// ```
///
/// # How it works
/// - One connection subscribes: one Redis channel per topic that has subscribers
///   on this node (not one per session), plus one pattern for all user channels.
///   Publishes wait in one bounded queue per node (see
///   [`publish_queue`](RedisBrokerBuilder::publish_queue)) that a task sends to
///   Redis as pipelines over a second connection (a `redis` connection manager):
///   a publish costs its caller an enqueue, not a round trip.
/// - The node's own sessions get a publish straight from the hub, in process.
///   Redis hands the publish back to its origin too; each message carries the
///   publishing node's random id, and a node skips its own.
/// - Messages published one after another (awaiting each publish) reach every
///   subscriber on every node exactly once, in that order. Concurrent publishes,
///   on one node or several, may interleave differently on different sessions.
/// - Topics whose [history](wsboot_core::TopicHistory) is on are kept in Redis
///   Streams, shared by every node: a hash `{prefix}history:T` (epoch, latest
///   offset, byte total, idempotency keys) and a stream `{prefix}stream:T`. A
///   publish runs one Lua script that numbers the publication, appends it, trims
///   the stream to the bounds, sets the keys' time to live (the stream:
///   `max_age`; the hash: a day longer, so a client back after a quiet spell
///   still resumes, with nothing to replay) and publishes it with its position,
///   atomically: positions are the same on every node and every node, the
///   publisher's included, delivers them in position order. The publish waits
///   for Redis' answer (the caller gets the position); it does not go through
///   the queue. Needs Redis 6.2 or later.
///
/// # When Redis is unavailable
/// - At start: [`connect`](Self::connect) (or `bind`, for a broker made with
///   [`build`](RedisBrokerBuilder::build)) fails with an error naming the URL.
///   The broker does not retry at start: a node that cannot reach its cluster
///   should not serve as if it were alone.
/// - While running: local delivery goes on untouched. The broker logs the loss,
///   reconnects with exponential back-off (with jitter) and, once Redis answers
///   again, resubscribes every topic this node has subscribers for at that moment
///   and the user channels, then resumes publishing.
/// - Messages published during the outage reach this node's sessions only; they
///   are **lost for the other nodes**, not buffered (Redis pub/sub delivers to
///   whoever is subscribed at the moment of the publish, so replaying them later
///   would deliver stale messages out of order). Each such publish fails fast,
///   counts in [`RedisBrokerStats::publish_failures`] and in the hub's
///   `broker_errors`.
///
/// For topics whose history is on:
/// - A publish that Redis cannot record **fails** (within the command timeout,
///   with an error naming Redis and the topic): nothing was published, no node
///   delivers it, and the caller may retry (with the same idempotency key, a
///   retry after a timeout whose publish did happen is not doubled). Nothing is
///   lost silently.
/// - What the subscribing connection missed while it was down (Redis kept it)
///   is read back from the stream when it is restored, before the broker counts
///   as connected, and its late pub/sub copies are skipped: live subscribers
///   receive every publication exactly once and in order across a blip, as long
///   as the history still holds it. Resuming from a position
///   ([`subscribe_from`](wsboot_core::Session::subscribe_from)) is exact the
///   same way, on any node; while the subscribing connection is down it fails.
/// - A Redis restarted without persistence has lost the histories: each starts
///   over under a new epoch, so resuming from an old position reports
///   `recovered: false` (never a wrong replay), and live subscribers continue
///   with the new history's publications (the loss is logged). A node that
///   restarts loses nothing Redis kept.
#[derive(Clone)]
pub struct RedisBroker {
    pub(crate) inner: Arc<Inner>,
}

/// The state shared by the broker's handles and its subscriber task.
pub(crate) struct Inner {
    pub(crate) settings: Settings,
    pub(crate) client: redis::Client,
    pub(crate) channels: Channels,
    pub(crate) node: NodeId,
    /// The publishing connection.
    publisher: OnceCell<ConnectionManager>,
    /// The queue of publishes on their way to Redis (set at start).
    outbox: OnceLock<Outbox>,
    /// The queue of publications to record, for topics with history (set at start).
    pub(crate) recorder: OnceLock<history::Recorder>,
    /// The subscribing connection's command side; `None` while disconnected. The
    /// lock orders subscribe, unsubscribe and resubscription after a reconnect.
    pub(crate) subscriber: tokio::sync::Mutex<Option<PubSubSink>>,
    /// The topics subscribed, and where live delivery of their recorded
    /// publications stands (changed under the `subscriber` lock).
    pub(crate) subscriptions: Subscriptions,
    /// Whether the subscriptions are in place and publishes may go out.
    pub(crate) connected: AtomicBool,
    pub(crate) delivery: OnceLock<RemoteDelivery>,
    pub(crate) stats: Counters,
    /// Where this node's presence stands with Redis.
    pub(crate) presence: presence::State,
    pub(crate) stop: watch::Sender<bool>,
    /// The subscriber and publisher tasks.
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl RedisBroker {
    /// A builder for the Redis at `url`, to set the prefix, back-off and timeouts.
    pub fn builder(url: impl Into<String>) -> RedisBrokerBuilder {
        RedisBrokerBuilder::new(url)
    }

    /// Connects to the Redis at `url` with the default settings (prefix
    /// `wsboot:`).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for a URL that is not a Redis URL;
    /// [`ErrorKind::Io`] or [`ErrorKind::Timeout`], naming the URL, when Redis
    /// cannot be reached.
    pub async fn connect(url: impl Into<String>) -> Result<RedisBroker, Error> {
        RedisBrokerBuilder::new(url).connect().await
    }

    pub(crate) fn new(settings: Settings, client: redis::Client) -> Self {
        RedisBroker {
            inner: Arc::new(Inner {
                channels: Channels::new(&settings.prefix),
                settings,
                client,
                node: NodeId::random(),
                publisher: OnceCell::new(),
                outbox: OnceLock::new(),
                recorder: OnceLock::new(),
                subscriber: tokio::sync::Mutex::new(None),
                subscriptions: Subscriptions::default(),
                connected: AtomicBool::new(false),
                delivery: OnceLock::new(),
                stats: Counters::default(),
                presence: presence::State::default(),
                stop: watch::Sender::new(false),
                tasks: Mutex::new(Vec::new()),
            }),
        }
    }

    /// This node's random id, as carried in every message it publishes.
    pub fn node_id(&self) -> NodeId {
        self.inner.node
    }

    /// The Redis URL, with any password masked.
    pub fn url(&self) -> String {
        self.inner.settings.shown_url()
    }

    /// The channel prefix.
    pub fn prefix(&self) -> &str {
        &self.inner.settings.prefix
    }

    /// Whether the broker is connected and its subscriptions are in place.
    pub fn is_connected(&self) -> bool {
        self.inner.connected.load(Ordering::Acquire)
    }

    /// What the broker carried and what failed, since it was built.
    pub fn stats(&self) -> RedisBrokerStats {
        self.inner.stats.snapshot(self.is_connected())
    }

    /// Opens the publishing connection (once).
    pub(crate) async fn connect_publisher(&self) -> Result<(), Error> {
        self.inner.publisher().await.map(|_| ())
    }

    async fn start_broker(&self, delivery: RemoteDelivery) -> Result<(), Error> {
        let inner = &self.inner;
        let already = || {
            Error::new(ErrorKind::Config, "this RedisBroker is already started: each server needs a broker of its own")
        };
        if inner.delivery.get().is_some() {
            return Err(already());
        }
        let manager = inner.publisher().await?.clone();
        let connection = subscriber::open(inner, &delivery).await?;
        inner.delivery.set(delivery.clone()).map_err(|_| already())?;
        let (outbox, queue) = Outbox::new(inner.settings.publish_queue);
        inner.outbox.set(outbox).map_err(|_| already())?;
        let (recorder, recordings) = history::Recorder::new(inner.settings.publish_queue);
        inner.recorder.set(recorder).map_err(|_| already())?;
        // Beats once before any session can track its presence.
        presence::beat(inner).await?;
        tracing::info!(
            url = %inner.settings.shown_url(),
            prefix = %inner.settings.prefix,
            node = %inner.node,
            "connected to Redis: topics and per-user messages reach the other nodes"
        );
        let tasks = [
            tokio::spawn(publisher::run(inner.clone(), manager, queue)),
            tokio::spawn(history::run_recorder(inner.clone(), recordings)),
            tokio::spawn(subscriber::supervise(inner.clone(), delivery, connection)),
            tokio::spawn(presence::run_heartbeat(inner.clone())),
        ];
        inner.tasks.lock().unwrap_or_else(|p| p.into_inner()).extend(tasks);
        Ok(())
    }

    async fn send(&self, channel: String, payload: Vec<u8>, what: &str) -> Result<(), Error> {
        let inner = &self.inner;
        if !self.is_connected() {
            Counters::add(&inner.stats.publish_failures);
            return Err(inner.unavailable(&format!("the {what} reached this node's sessions only")));
        }
        let Some(outbox) = inner.outbox.get() else {
            Counters::add(&inner.stats.publish_failures);
            return Err(Error::new(ErrorKind::Closed, "the Redis broker is not started"));
        };
        let queued = outbox.push(inner, Outgoing { channel, payload }).await;
        if queued.is_err() {
            Counters::add(&inner.stats.publish_failures);
        }
        queued
    }

    async fn stop(&self) {
        let inner = &self.inner;
        inner.stop.send_replace(true);
        let tasks = std::mem::take(&mut *inner.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        // The publisher flushes its queue first: give it a few round trips.
        let grace = inner.settings.command_timeout * 2 + Duration::from_secs(1);
        for mut task in tasks {
            if tokio::time::timeout(grace, &mut task).await.is_err() {
                task.abort();
            }
        }
        // Every session has closed (its presence left with it): the node
        // leaves the heartbeats, so that nobody reaps it later.
        if let Err(error) = presence::leave(inner).await {
            tracing::debug!("{error}; the other nodes will count this node gone after the presence timeout");
        }
        inner.connected.store(false, Ordering::Release);
        *inner.subscriber.lock().await = None;
        tracing::debug!(node = %inner.node, "Redis broker stopped");
    }
}

impl Inner {
    /// The publishing connection, opened on first use.
    pub(crate) async fn publisher(&self) -> Result<&ConnectionManager, Error> {
        self.publisher
            .get_or_try_init(|| async {
                let timeout = self.settings.command_timeout;
                // One quick retry only: the subscriber task paces reconnection,
                // and a publish during an outage must fail fast, not wait.
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(1)
                    .set_min_delay(self.settings.reconnect_min)
                    .set_max_delay(self.settings.reconnect_max);
                let connecting = ConnectionManager::new_with_config(self.client.clone(), config);
                let manager = self.timed_as(&self.cannot_connect(), timeout * 3, connecting).await?;
                self.ping_publisher(&manager).await?;
                Ok(manager)
            })
            .await
    }

    /// Checks the publishing connection with a `PING`. The connection manager
    /// answers the first request after an outage with the outage's error (and
    /// reconnects), so a few attempts are made.
    pub(crate) async fn ping_publisher(&self, manager: &ConnectionManager) -> Result<(), Error> {
        let mut last = None;
        for _ in 0..3 {
            let mut manager = manager.clone();
            match self.timed("checking the connection", redis::cmd("PING").query_async::<String>(&mut manager)).await {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| self.unavailable("no answer to PING")))
    }

    /// Re-checks the publishing connection after the subscriber reconnected.
    pub(crate) async fn refresh_publisher(&self) -> Result<(), Error> {
        match self.publisher.get() {
            Some(manager) => self.ping_publisher(manager).await,
            None => self.publisher().await.map(|_| ()),
        }
    }

    /// Runs a Redis command with the command timeout; errors name what was being
    /// done and the URL.
    pub(crate) async fn timed<T>(
        &self,
        doing: &str,
        command: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Error> {
        let context = format!("Redis at {}: failed {doing}", self.settings.shown_url());
        self.timed_as(&context, self.settings.command_timeout, command).await
    }

    /// Runs `command` for at most `limit`; an error reads `{context}: {cause}`.
    pub(crate) async fn timed_as<T>(
        &self,
        context: &str,
        limit: Duration,
        command: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(limit, command).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Io };
                Err(Error::with_source(kind, format!("{context}: {e}"), e))
            }
            Err(_) => Err(Error::new(ErrorKind::Timeout, format!("{context}: no answer within {limit:?}"))),
        }
    }

    /// The context of a failed connection attempt.
    pub(crate) fn cannot_connect(&self) -> String {
        format!("cannot connect to Redis at {}", self.settings.shown_url())
    }

    /// The error for a call made while Redis is unreachable.
    pub(crate) fn unavailable(&self, consequence: &str) -> Error {
        Error::new(
            ErrorKind::Io,
            format!("Redis at {} is unreachable (reconnecting): {consequence}", self.settings.shown_url()),
        )
    }
}

/// Resolves once the broker is told to stop.
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns must not live across the caller's awaits.
    let _ = stop.wait_for(|stopped| *stopped).await;
}

impl Broker for RedisBroker {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn start(&self, delivery: RemoteDelivery) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(self.start_broker(delivery))
    }

    fn subscribe(&self, topic: &str) -> BoxFuture<'_, Result<(), Error>> {
        let topic = topic.to_owned();
        Box::pin(async move { subscriber::subscribe_topic(&self.inner, &topic).await })
    }

    fn unsubscribe(&self, topic: &str) -> BoxFuture<'_, Result<(), Error>> {
        let topic = topic.to_owned();
        Box::pin(async move { subscriber::unsubscribe_topic(&self.inner, &topic).await })
    }

    fn publish(&self, topic: &str, message: &Message) -> BoxFuture<'_, Result<(), Error>> {
        let channel = self.inner.channels.topic(topic);
        let payload = envelope::encode(self.inner.node, message);
        Box::pin(self.send(channel, payload, "publish"))
    }

    fn publish_to_user(&self, user: &str, message: &Message) -> BoxFuture<'_, Result<(), Error>> {
        let channel = self.inner.channels.user(user);
        let payload = envelope::encode(self.inner.node, message);
        Box::pin(self.send(channel, payload, "message to the user"))
    }

    fn subscribe_user(&self, user: &str) -> BoxFuture<'_, Result<(), Error>> {
        let user = user.to_owned();
        Box::pin(async move { subscriber::subscribe_user(&self.inner, &user).await })
    }

    fn unsubscribe_user(&self, user: &str) -> BoxFuture<'_, Result<(), Error>> {
        let user = user.to_owned();
        Box::pin(async move { subscriber::unsubscribe_user(&self.inner, &user).await })
    }

    fn node_id(&self) -> String {
        self.inner.node.to_string()
    }

    fn keeps_presence(&self) -> bool {
        true
    }

    fn track<'a>(
        &'a self,
        topic: &'a str,
        member: &'a Member,
        presence: &'a Presence,
    ) -> BoxFuture<'a, Result<Tracked, Error>> {
        Box::pin(presence::track(&self.inner, topic, member, presence))
    }

    fn untrack<'a>(&'a self, topic: &'a str, member: &'a Member) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(presence::untrack(&self.inner, topic, member))
    }

    fn presence<'a>(&'a self, topic: &'a str) -> BoxFuture<'a, Result<Vec<Member>, Error>> {
        Box::pin(presence::members(&self.inner, topic))
    }

    fn presence_count<'a>(&'a self, topic: &'a str) -> BoxFuture<'a, Result<usize, Error>> {
        Box::pin(presence::count(&self.inner, topic))
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.stop())
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
        Box::pin(history::record(&self.inner, topic, message, key, limits))
    }

    fn read_history<'a>(
        &'a self,
        topic: &'a str,
        since: Option<Position>,
        limits: &'a HistoryLimits,
    ) -> BoxFuture<'a, Result<HistorySlice, Error>> {
        Box::pin(history::read(&self.inner, topic, since, limits))
    }
}

impl fmt::Debug for RedisBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBroker")
            .field("url", &self.inner.settings.shown_url())
            .field("prefix", &self.inner.settings.prefix)
            .field("node", &self.inner.node)
            .field("connected", &self.is_connected())
            .finish()
    }
}
