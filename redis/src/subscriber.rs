//! The subscribing connection: what it subscribes (the presence events, and
//! the topics and users this node has sessions for), and the task that keeps
//! it alive: it hands every message from another node, and every recorded
//! publication, to the local sessions, checks the connection with `PING`, and
//! after a loss reconnects with back-off, restores every subscription and
//! delivers the recorded publications missed meanwhile.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use futures_util::StreamExt;
use redis::Msg;
use redis::aio::{PubSubSink, PubSubStream};
use wsboot_core::{Error, RemoteDelivery};

use crate::backoff::Backoff;
use crate::broker::Inner;
use crate::channels::Route;
use crate::envelope::{self, Received};
use crate::history;
use crate::stats::Counters;

/// How many channels one `SUBSCRIBE` names when restoring subscriptions.
const SUBSCRIBE_BATCH: usize = 256;

/// An open subscribing connection: its command side and its message stream.
pub(crate) struct Connection {
    sink: PubSubSink,
    stream: PubSubStream,
}

/// Why listening stopped.
enum End {
    /// The broker is shutting down.
    Stopped,
    /// The server (its hub) is gone.
    HubGone,
    /// The connection broke; the text says how.
    Lost(String),
}

/// Opens the subscribing connection and subscribes the presence events, the
/// channel of every user and every topic the hub has sessions for, then marks
/// the broker connected.
pub(crate) async fn open(inner: &Inner, delivery: &RemoteDelivery) -> Result<Connection, Error> {
    let limit = inner.settings.command_timeout;
    let pubsub = inner.timed_as(&inner.cannot_connect(), limit, inner.client.get_async_pubsub()).await?;
    let (mut sink, stream) = pubsub.split();
    inner.timed("subscribing to the presence events", sink.subscribe(inner.channels.presence_events())).await?;
    // Under the lock, so that no subscribe or unsubscribe slips between the
    // snapshot of the hub's topics and users and the connection becoming usable.
    let mut slot = inner.subscriber.lock().await;
    inner.refresh_publisher().await?;
    let users = delivery.users();
    for batch in users.chunks(SUBSCRIBE_BATCH) {
        let channels: Vec<String> = batch.iter().map(|user| inner.channels.user(user)).collect();
        inner.timed("restoring the user subscriptions", sink.subscribe(channels)).await?;
    }
    let topics = delivery.topics();
    let fresh = inner.subscriptions.restore(&topics);
    for batch in topics.chunks(SUBSCRIBE_BATCH) {
        let channels: Vec<String> = batch.iter().map(|topic| inner.channels.topic(topic)).collect();
        inner.timed("restoring the topic subscriptions", sink.subscribe(channels)).await?;
    }
    // Topics subscribed for the first time start live after their history's
    // latest position; the others catch up from theirs, before the broker is
    // connected again (see `history::live`).
    for (topic, latest) in fresh.iter().zip(history::latest(inner, &fresh).await?) {
        inner.subscriptions.start_after(topic, latest);
    }
    history::refill(inner, delivery).await;
    *slot = Some(sink.clone());
    inner.connected.store(true, Ordering::Release);
    drop(slot);
    tracing::debug!(topics = topics.len(), users = users.len(), "subscribed to every local topic and user");
    Ok(Connection { sink, stream })
}

// Subscribing and unsubscribing topics and users, under the subscribing
// connection's lock.

/// Subscribes `topic`, resolving once Redis confirmed it: from then on its
/// publications reach this node. At once if it is subscribed already.
pub(crate) async fn subscribe_topic(inner: &Inner, topic: &str) -> Result<(), Error> {
    let mut slot = inner.subscriber.lock().await;
    let Some(sink) = slot.as_mut() else {
        Counters::add(&inner.stats.subscription_failures);
        return Err(inner.unavailable(&format!(
            "cannot subscribe to topic `{topic}` now; it is subscribed as soon as Redis is back"
        )));
    };
    // While connected, every topic in `subscriptions` is subscribed on the
    // current connection (a reconnect subscribes them all again).
    if inner.subscriptions.contains(topic) {
        return Ok(());
    }
    // The subscription first, then the history's latest position: every
    // publication after it arrives over pub/sub (see `history::live`).
    inner.subscriptions.begin(topic);
    let subscribed = async {
        inner.timed("subscribing", sink.subscribe(inner.channels.topic(topic))).await?;
        let latest = history::latest(inner, &[topic.to_owned()]).await?;
        inner.subscriptions.start_after(topic, latest.into_iter().next().flatten());
        Ok(())
    };
    let result = subscribed.await;
    if result.is_err() {
        inner.subscriptions.remove(topic);
        Counters::add(&inner.stats.subscription_failures);
    }
    result
}

pub(crate) async fn unsubscribe_topic(inner: &Inner, topic: &str) -> Result<(), Error> {
    let mut slot = inner.subscriber.lock().await;
    // While disconnected nothing is subscribed, and a reconnect subscribes only
    // the topics that have subscribers then.
    let Some(sink) = slot.as_mut() else { return Ok(()) };
    // A session may have subscribed again since the hub decided to
    // unsubscribe; the hub's table is the truth.
    if inner.delivery.get().is_some_and(|d| d.topics().iter().any(|t| t == topic)) {
        return Ok(());
    }
    inner.subscriptions.remove(topic);
    let result = inner.timed("unsubscribing", sink.unsubscribe(inner.channels.topic(topic))).await;
    if result.is_err() {
        Counters::add(&inner.stats.subscription_failures);
    }
    result
}

/// Listens for messages to `user`, resolving once Redis confirmed it.
pub(crate) async fn subscribe_user(inner: &Inner, user: &str) -> Result<(), Error> {
    let mut slot = inner.subscriber.lock().await;
    let Some(sink) = slot.as_mut() else {
        Counters::add(&inner.stats.subscription_failures);
        return Err(inner.unavailable(&format!(
            "cannot listen for messages to user `{user}` now; it is done as soon as Redis is back"
        )));
    };
    // Subscribing to a channel twice is harmless: the first session of a
    // user that left and came back may race its own unsubscribe.
    let result = inner.timed("subscribing to a user", sink.subscribe(inner.channels.user(user))).await;
    if result.is_err() {
        Counters::add(&inner.stats.subscription_failures);
    }
    result
}

pub(crate) async fn unsubscribe_user(inner: &Inner, user: &str) -> Result<(), Error> {
    let mut slot = inner.subscriber.lock().await;
    let Some(sink) = slot.as_mut() else { return Ok(()) };
    // A session of the user may have connected since the hub decided.
    if inner.delivery.get().is_some_and(|d| d.has_user(user)) {
        return Ok(());
    }
    let result = inner.timed("unsubscribing from a user", sink.unsubscribe(inner.channels.user(user))).await;
    if result.is_err() {
        Counters::add(&inner.stats.subscription_failures);
    }
    result
}

/// Listens on `connection` until the broker stops or the hub is gone; after a
/// loss, reconnects with back-off and listens again.
pub(crate) async fn supervise(inner: Arc<Inner>, delivery: RemoteDelivery, first: Connection) {
    let settings = &inner.settings;
    let seed = u64::from_str_radix(&inner.node.to_string()[..16], 16).unwrap_or(1);
    let mut backoff = Backoff::new(settings.reconnect_min, settings.reconnect_max, seed);
    let mut stop = inner.stop.subscribe();
    let mut connection = Some(first);
    loop {
        let Connection { mut sink, mut stream } = match connection.take() {
            Some(connection) => connection,
            None => match open(&inner, &delivery).await {
                Ok(connection) => {
                    Counters::add(&inner.stats.reconnects);
                    tracing::info!(
                        url = %settings.shown_url(),
                        topics = delivery.topics().len(),
                        "reconnected to Redis; every topic and user is subscribed again"
                    );
                    // A restarted Redis may have lost the presence data: the
                    // beat finds out, and restores this node's members.
                    if let Err(error) = crate::presence::beat(&inner).await {
                        tracing::warn!("{error}; this node's presence is checked again at the next beat");
                    }
                    connection
                }
                Err(error) => {
                    Counters::add(&inner.stats.failed_reconnects);
                    let pause = backoff.next_delay();
                    tracing::warn!("{error}; next attempt in {pause:?}");
                    tokio::select! {
                        () = tokio::time::sleep(pause) => continue,
                        () = crate::broker::stopped(&mut stop) => return,
                    }
                }
            },
        };
        let since = Instant::now();
        let reason = tokio::select! {
            end = listen(&inner, &delivery, &mut sink, &mut stream) => end,
            () = crate::broker::stopped(&mut stop) => End::Stopped,
        };
        match reason {
            End::Stopped => return,
            End::HubGone => {
                tracing::debug!("the server is gone; the Redis broker stops listening");
                return;
            }
            End::Lost(why) => {
                inner.connected.store(false, Ordering::Release);
                *inner.subscriber.lock().await = None;
                drop((sink, stream));
                Counters::add(&inner.stats.disconnects);
                // A connection that lived a while was healthy: start the
                // back-off over. One that dies at once keeps backing off.
                if since.elapsed() > settings.health_check_interval {
                    backoff.reset();
                }
                let pause = backoff.next_delay();
                tracing::warn!(
                    url = %settings.shown_url(),
                    "lost the connection to Redis ({why}); local delivery goes on, messages published until it \
                     returns do not reach other nodes (those of topics with history are read back from it); \
                     reconnecting in {pause:?}"
                );
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = crate::broker::stopped(&mut stop) => return,
                }
            }
        }
    }
}

/// Hands messages to the local sessions and pings the connection every health
/// check interval.
async fn listen(inner: &Inner, delivery: &RemoteDelivery, sink: &mut PubSubSink, stream: &mut PubSubStream) -> End {
    let interval = inner.settings.health_check_interval;
    let mut health = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(message) => dispatch(inner, delivery, &message).await,
                None => return End::Lost("the connection closed".to_owned()),
            },
            _ = health.tick() => {
                if !delivery.is_alive() {
                    return End::HubGone;
                }
                // Subscribed connections answer PING with an array: take any value.
                let ping = inner.timed("checking the connection", sink.ping::<redis::Value>()).await;
                if let Err(error) = ping {
                    return End::Lost(error.to_string());
                }
            }
        }
    }
}

/// Delivers one message from Redis to this node's sessions, unless it is this
/// node's own plain publish or not a wsboot message. A recorded publication is
/// delivered whichever node made it (the hub leaves those to the broker), after
/// any this node missed.
async fn dispatch(inner: &Inner, delivery: &RemoteDelivery, message: &Msg) {
    let channel = message.get_channel_name();
    let Some(route) = inner.channels.route(channel) else {
        tracing::debug!(channel, "ignored a message on a channel that is not this broker's");
        return;
    };
    if route == Route::Presence {
        return crate::presence::dispatch(inner, delivery, message.get_payload_bytes());
    }
    let envelope = match envelope::decode_received(message.get_payload_bytes()) {
        Ok(Received::Plain(envelope)) => envelope,
        Ok(Received::Recorded(publications)) => {
            let Route::Topic(topic) = route else {
                Counters::add(&inner.stats.malformed);
                tracing::warn!(channel, "dropped recorded publications sent on a user's channel");
                return;
            };
            let run = publications.into_iter().map(|(position, envelope)| (position, envelope.message)).collect();
            return history::deliver(inner, delivery, topic, run).await;
        }
        Err(error) => {
            Counters::add(&inner.stats.malformed);
            tracing::warn!(channel, "dropped a message that is not a wsboot envelope: {error}");
            return;
        }
    };
    if envelope.origin == inner.node {
        Counters::add(&inner.stats.own_skipped);
        return;
    }
    Counters::add(&inner.stats.received);
    match route {
        Route::Topic(topic) => delivery.to_topic(topic, envelope.message),
        Route::User(user) => delivery.to_user(user, envelope.message),
        Route::Presence => 0,
    };
}
