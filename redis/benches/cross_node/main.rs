//! Cross-node delivery through Redis, compared with in-process delivery on one
//! node, and with topic history on against off (in process and in Redis
//! Streams): publish throughput and latency (p50/p99), printed as a markdown table.
//!
//! ```sh
//! cargo bench -p wsboot-redis --bench cross_node
//! cargo bench -p wsboot-redis --bench cross_node -- --messages 50000 --subscribers 20 --redis redis://127.0.0.1:6379/
//! ```
//!
//! Every node is a real wsboot server in this process; the subscribers are real
//! WebSocket clients (tokio-tungstenite) on loopback sockets. Publishers call
//! `Hub::publish` on the first node. Without `--redis`, a `redis-server` is
//! started on a free port (and the Redis rows are skipped if none is installed).
//!
//! Two measurements per row:
//! - *idle* latency: one message at a time, the next once every subscriber has
//!   the previous one;
//! - *loaded*: `--publishers` tasks publish `--messages` messages as fast as the
//!   slowest subscriber allows (at most `--window` messages in flight), giving the
//!   publish rate, the deliveries per second (messages × subscribers) and the
//!   latency under that load.
//!
//! Latency runs from just before `Hub::publish` to the subscriber client reading
//! the message; clients, servers and Redis share the machine's cores.
//!
//! Every case runs `--repeat` times on fresh nodes, the cases taking turns (a
//! history-off case next to its history-on twin), and the table shows each
//! column's median; a second table gives, per pair, history on against off in
//! each repetition and their median, so that a noisy machine shows as spread.
//!
//! The publishers stand for the sessions of a busy app publishing at once. A
//! publish to a topic whose history is in Redis waits for Redis' answer (its
//! position), so its rate grows with the publishes in flight: with `--publishers
//! 4` it is bounded by four round trips at a time. Plain publishes only queue.
//! Last, the memory Redis spends on the retained publications is printed, per
//! 1,000.

mod options;
#[allow(dead_code, unreachable_pub)]
#[path = "../../tests/support/redis_server.rs"]
mod redis_server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use wsboot::{Bytes, HandlerRegistry, HandlerResult, Hub, Server, Session, WebSocketHandler};
use wsboot_redis::RedisBroker;

use options::{Options, USAGE};

const TOPIC: &str = "bench";
/// Publisher, sequence number and send time, in front of every payload.
const HEADER: usize = 4 + 8 + 8;

/// Subscribes every session to the bench topic, then says `ready`.
struct Subscribe;

impl WebSocketHandler for Subscribe {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        session.subscribe(TOPIC).await?;
        Ok(session.send("ready").await?)
    }
}

/// A server of the cluster.
struct Node {
    addr: SocketAddr,
    hub: Hub,
    stop: oneshot::Sender<()>,
    serving: JoinHandle<Result<(), wsboot::Error>>,
}

impl Node {
    /// A node; with `history`, the topic's history is on (10,000 messages).
    async fn start(broker: Option<RedisBroker>, history: bool) -> Result<Node, wsboot::Error> {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/bench", Subscribe);
        if history {
            registry.add_topic_history(wsboot::TopicHistory::new(TOPIC).max_messages(10_000).max_bytes(16 << 20));
        }
        let builder = Server::builder().registry(registry);
        let builder = match broker {
            Some(broker) => builder.broker(broker),
            None => builder,
        };
        let server = builder.bind("127.0.0.1:0").await?;
        let (stop, stopped) = oneshot::channel::<()>();
        Ok(Node {
            addr: server.local_addr(),
            hub: server.hub().clone(),
            serving: tokio::spawn(server.serve_with_shutdown(async {
                let _ = stopped.await;
            })),
            stop,
        })
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(15), self.serving).await;
    }
}

/// How many messages each subscriber has received, and a wake-up for whoever
/// waits on the slowest.
struct Progress {
    counts: Vec<AtomicU64>,
    changed: Notify,
}

impl Progress {
    fn slowest(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Acquire)).min().unwrap_or(0)
    }

    async fn wait_for_all(&self, target: u64) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.slowest() >= target {
                return;
            }
            changed.await;
        }
    }
}

/// One message: publisher, sequence number, send time (ns since `epoch`), padding.
fn payload(publisher: u32, seq: u64, epoch: Instant, size: usize) -> Bytes {
    let mut out = vec![0u8; size];
    out[..4].copy_from_slice(&publisher.to_be_bytes());
    out[4..12].copy_from_slice(&seq.to_be_bytes());
    out[12..20].copy_from_slice(&(epoch.elapsed().as_nanos() as u64).to_be_bytes());
    Bytes::from(out)
}

/// Connects a subscriber, waits until it is subscribed, then reads `expected`
/// messages; returns the latency of each, in ns, with its sequence number.
async fn subscriber(
    addr: SocketAddr,
    index: usize,
    expected: u64,
    epoch: Instant,
    progress: Arc<Progress>,
    ready: oneshot::Sender<()>,
) -> Vec<(u64, u64)> {
    let url = format!("ws://{addr}/bench");
    let (mut client, _) = tokio_tungstenite::connect_async(url.as_str()).await.expect("the subscriber connects");
    match client.next().await {
        Some(Ok(WsMessage::Text(text))) if text.as_str() == "ready" => {}
        other => panic!("expected `ready`, got {other:?}"),
    }
    let _ = ready.send(());
    let mut latencies = Vec::with_capacity(expected as usize);
    while (latencies.len() as u64) < expected {
        match client.next().await {
            Some(Ok(WsMessage::Binary(data))) => {
                let now = epoch.elapsed().as_nanos() as u64;
                let seq = u64::from_be_bytes(data[4..12].try_into().expect("8 bytes"));
                let sent = u64::from_be_bytes(data[12..20].try_into().expect("8 bytes"));
                latencies.push((seq, now.saturating_sub(sent)));
                progress.counts[index].fetch_add(1, Ordering::Release);
                progress.changed.notify_waiters();
            }
            Some(Ok(_)) => {}
            other => panic!("subscriber {index}: the connection ended early: {other:?}"),
        }
    }
    latencies
}

/// One line of the table.
struct Row {
    delivery: &'static str,
    subscribers: String,
    publish_rate: f64,
    deliveries: f64,
    idle: (Duration, Duration),
    loaded: (Duration, Duration),
}

fn percentiles(mut samples: Vec<u64>) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |p: f64| {
        let index = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1;
        Duration::from_nanos(samples[index])
    };
    if samples.is_empty() { (Duration::ZERO, Duration::ZERO) } else { (at(0.50), at(0.99)) }
}

/// Runs the idle and loaded phases: publishers on `publisher`, subscribers spread
/// over `subscriber_nodes`.
async fn measure(
    delivery: &'static str,
    subscribers: String,
    publisher: &Hub,
    subscriber_nodes: &[&Node],
    options: &Options,
) -> Row {
    let epoch = Instant::now();
    let expected = options.probes + options.messages;
    let progress = Arc::new(Progress {
        counts: (0..options.subscribers).map(|_| AtomicU64::new(0)).collect(),
        changed: Notify::new(),
    });
    let mut tasks = Vec::new();
    for index in 0..options.subscribers {
        let addr = subscriber_nodes[index % subscriber_nodes.len()].addr;
        let (ready, is_ready) = oneshot::channel();
        tasks.push(tokio::spawn(subscriber(addr, index, expected, epoch, progress.clone(), ready)));
        is_ready.await.expect("the subscriber is ready");
    }

    // Idle: one message at a time.
    for seq in 0..options.probes {
        publisher.publish(TOPIC, payload(0, seq, epoch, options.size)).await.unwrap();
        progress.wait_for_all(seq + 1).await;
    }

    // Loaded: every publisher as fast as the window allows.
    let published = Arc::new(AtomicU64::new(options.probes));
    let started = Instant::now();
    let mut publishers = Vec::new();
    for p in 0..options.publishers {
        let (hub, progress, published, options) =
            (publisher.clone(), progress.clone(), published.clone(), options.clone());
        let share = options.messages / options.publishers + u64::from(p < options.messages % options.publishers);
        publishers.push(tokio::spawn(async move {
            for _ in 0..share {
                let seq = published.fetch_add(1, Ordering::AcqRel);
                progress.wait_for_all((seq + 1).saturating_sub(options.window)).await;
                hub.publish(TOPIC, payload(p as u32, seq, epoch, options.size)).await.unwrap();
            }
        }));
    }
    for task in publishers {
        task.await.expect("a publisher does not panic");
    }
    progress.wait_for_all(expected).await;
    let elapsed = started.elapsed().as_secs_f64();

    let (mut idle, mut loaded) = (Vec::new(), Vec::new());
    for task in tasks {
        for (seq, latency) in task.await.expect("a subscriber does not panic") {
            if seq < options.probes { idle.push(latency) } else { loaded.push(latency) }
        }
    }
    Row {
        delivery,
        subscribers,
        publish_rate: options.messages as f64 / elapsed,
        deliveries: (options.messages * options.subscribers as u64) as f64 / elapsed,
        idle: percentiles(idle),
        loaded: percentiles(loaded),
    }
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn print_table(options: &Options, rows: &[Row]) {
    println!(
        "\n{} messages of {} bytes, {} publishers (at most {} in flight), {} idle probes; {} cores\n",
        options.messages,
        options.size,
        options.publishers,
        options.window,
        options.probes,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "| delivery | subscribers | publish rate | deliveries/s | idle p50 | idle p99 | loaded p50 | loaded p99 |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {} | {:.0} msg/s | {:.0} | {} | {} | {} | {} |",
            row.delivery,
            row.subscribers,
            row.publish_rate,
            row.deliveries,
            micros(row.idle.0),
            micros(row.idle.1),
            micros(row.loaded.0),
            micros(row.loaded.1)
        );
    }
}

/// What Redis spends on the retained publications of the bench topic (its
/// stream), per 1,000.
async fn print_redis_memory(url: &str, options: &Options) {
    let client = redis::Client::open(url).expect("a valid Redis URL");
    let mut connection = client.get_multiplexed_async_connection().await.expect("Redis answers");
    let stream = format!("wsboot:stream:{TOPIC}");
    // The stream keeps runs of publications per entry: count them by offset.
    let top: u64 = redis::cmd("HGET")
        .arg(format!("wsboot:history:{TOPIC}"))
        .arg("top")
        .query_async(&mut connection)
        .await
        .expect("HGET");
    let first: Vec<(String, redis::Value)> = redis::cmd("XRANGE")
        .arg(&stream)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut connection)
        .await
        .expect("XRANGE");
    let first = first.first().and_then(|(id, _)| id.split('-').next()?.parse::<u64>().ok()).unwrap_or(top + 1);
    let retained = top + 1 - first;
    let bytes: Option<u64> = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&stream)
        .arg("SAMPLES")
        .arg(0)
        .query_async(&mut connection)
        .await
        .expect("MEMORY USAGE");
    if let (Some(bytes), true) = (bytes, retained > 0) {
        println!(
            "\nhistory in Redis: {retained} publications of {} bytes retained in {:.0} KiB: {:.0} KiB per 1,000 ({:.0} bytes each)",
            options.size,
            bytes as f64 / 1024.0,
            bytes as f64 / retained as f64 * 1000.0 / 1024.0,
            bytes as f64 / retained as f64
        );
    }
}

async fn broker(url: &str) -> RedisBroker {
    RedisBroker::connect(url).await.unwrap_or_else(|e| panic!("cannot connect to Redis: {e}"))
}

/// Where a case's subscribers are.
#[derive(Debug, Clone, Copy)]
enum Placement {
    /// On the publishing node, without Redis.
    InProcess,
    /// On the publishing node, which has a Redis broker.
    Local,
    /// All on the other node.
    Other,
    /// Half on each node.
    Half,
}

/// The cases, history off then on side by side, so that each pair is
/// measured close together in time.
const CASES: [(&str, Placement, bool); 7] = [
    ("in-process, 1 node", Placement::InProcess, false),
    ("in-process, 1 node, history on", Placement::InProcess, true),
    ("Redis, 2 nodes", Placement::Other, false),
    ("Redis, 2 nodes, history on", Placement::Other, true),
    ("Redis, 2 nodes", Placement::Half, false),
    ("Redis, 2 nodes, history on", Placement::Half, true),
    ("Redis broker, 1 node", Placement::Local, false),
];

/// Measures one case on fresh nodes.
async fn measure_case(case: &(&'static str, Placement, bool), url: &str, options: &Options) -> Row {
    let (label, placement, history) = *case;
    let n = options.subscribers;
    let subscribers = match placement {
        Placement::InProcess | Placement::Local => format!("{n} local"),
        Placement::Other => format!("{n} on the other node"),
        Placement::Half => format!("{n}, half on each node"),
    };
    if let Placement::InProcess = placement {
        let local = Node::start(None, history).await.expect("the in-process node binds");
        let row = measure(label, subscribers, &local.hub, &[&local], options).await;
        local.stop().await;
        return row;
    }
    let a = Node::start(Some(broker(url).await), history).await.expect("node A binds");
    let b = Node::start(Some(broker(url).await), history).await.expect("node B binds");
    let nodes: Vec<&Node> = match placement {
        Placement::Other => vec![&b],
        Placement::Half => vec![&a, &b],
        Placement::InProcess | Placement::Local => vec![&a],
    };
    let row = measure(label, subscribers, &a.hub, &nodes, options).await;
    a.stop().await;
    b.stop().await;
    row
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn run(options: Options) {
    let _own_redis;
    let url = match &options.redis {
        Some(url) => Some(url.clone()),
        None => {
            _own_redis = redis_server::RedisServer::start_or_skip("the Redis rows of the cross_node bench").await;
            _own_redis.as_ref().map(|redis| redis.url())
        }
    };
    let cases: Vec<_> =
        CASES.iter().filter(|(_, placement, _)| url.is_some() || matches!(placement, Placement::InProcess)).collect();
    let mut runs: Vec<Vec<Row>> = cases.iter().map(|_| Vec::new()).collect();
    for _ in 0..options.repeat {
        for (index, case) in cases.iter().enumerate() {
            runs[index].push(measure_case(case, url.as_deref().unwrap_or_default(), &options).await);
        }
    }
    // Each column's median over the repetitions.
    let rows: Vec<Row> = cases
        .iter()
        .zip(&runs)
        .map(|(_, runs)| {
            let column = |f: &dyn Fn(&Row) -> f64| median(runs.iter().map(f).collect());
            let latency = |f: &dyn Fn(&Row) -> Duration| Duration::from_secs_f64(column(&|row| f(row).as_secs_f64()));
            Row {
                delivery: runs[0].delivery,
                subscribers: runs[0].subscribers.clone(),
                publish_rate: column(&|row| row.publish_rate),
                deliveries: column(&|row| row.deliveries),
                idle: (latency(&|row| row.idle.0), latency(&|row| row.idle.1)),
                loaded: (latency(&|row| row.loaded.0), latency(&|row| row.loaded.1)),
            }
        })
        .collect();
    print_table(&options, &rows);
    // History on against off, each repetition's pair measured side by side.
    println!("\n| history on against off | median | repetitions |\n|---|---:|---|");
    for pair in (0..cases.len()).filter(|&i| cases[i].2) {
        let ratios: Vec<f64> =
            runs[pair].iter().zip(&runs[pair - 1]).map(|(on, off)| on.publish_rate / off.publish_rate).collect();
        let each: Vec<String> = ratios.iter().map(|r| format!("{:+.0} %", (r - 1.0) * 100.0)).collect();
        println!(
            "| {}, {} | {:+.0} % | {} |",
            cases[pair].0,
            rows[pair].subscribers,
            (median(ratios) - 1.0) * 100.0,
            each.join(", ")
        );
    }
    if let Some(url) = &url {
        print_redis_memory(url, &options).await;
    }
}

fn main() {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(if message == USAGE { 0 } else { 2 });
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("the tokio runtime starts");
    runtime.block_on(run(options));
}
