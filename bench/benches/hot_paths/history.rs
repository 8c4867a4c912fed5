//! Topic history's cost: a publish to a topic whose history is on against one
//! whose history is off (no subscribers, and 1,000 subscribers), and the heap a
//! history holds per 1,000 retained messages.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput};
use wsboot::{Hub, LocalBroker, Message, TopicHistory};
use wsboot_core::__runtime::{new_hub, set_topic_histories, start_hub};

use crate::queue::open_session;

const SUBSCRIBERS: usize = 1_000;

/// A started single-node hub keeping the history of topics `kept:*`, bounded
/// at 1,000 messages, so that every publish of a long run also trims one.
fn hub_with_history(runtime: &tokio::runtime::Runtime) -> Hub {
    let hub = new_hub(Arc::new(LocalBroker::new()));
    set_topic_histories(&hub, vec![TopicHistory::new("kept:*").max_messages(1_000)]).expect("valid bounds");
    runtime.block_on(start_hub(&hub)).expect("the local broker starts");
    hub
}

pub(crate) fn publish(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a tokio runtime");
    let hub = hub_with_history(&runtime);
    let message = Message::text("x".repeat(32));
    let mut group = c.benchmark_group("history");
    group.throughput(Throughput::Elements(1));
    for (topic, label) in [("plain", "off"), ("kept:room", "on")] {
        group.bench_with_input(BenchmarkId::new("publish 32 B, no subscribers, history", label), &topic, |b, topic| {
            b.iter(|| runtime.block_on(hub.publish(topic, message.clone())).expect("in process, it cannot fail"))
        });
    }

    let sessions: Vec<_> = (0..SUBSCRIBERS).map(|_| open_session(&hub)).collect();
    runtime.block_on(async {
        for (session, _) in &sessions {
            session.subscribe("plain").await.expect("subscribing");
            session.subscribe("kept:room").await.expect("subscribing");
        }
    });
    group.throughput(Throughput::Elements(SUBSCRIBERS as u64));
    for (topic, label) in [("plain", "off"), ("kept:room", "on")] {
        group.bench_with_input(
            BenchmarkId::new("publish 32 B to 1,000 and drain, history", label),
            &topic,
            |b, topic| {
                b.iter(|| {
                    let published = runtime.block_on(hub.publish(topic, message.clone())).expect("in process");
                    assert_eq!(published.delivered_here, SUBSCRIBERS);
                    for (_, transport) in &sessions {
                        drop(black_box(transport.drain()));
                    }
                })
            },
        );
    }
    group.finish();
    retained_memory(&runtime);
}

/// Prints the memory a history holds per 1,000 retained messages of 32 and 512
/// bytes: the growth of the process's resident memory while 100,000 are
/// published and kept (payload included).
fn retained_memory(runtime: &tokio::runtime::Runtime) {
    const RETAINED: usize = 100_000;
    println!("\nhistory memory (in process), per 1,000 retained messages:");
    for size in [32, 512] {
        let hub = new_hub(Arc::new(LocalBroker::new()));
        set_topic_histories(&hub, vec![TopicHistory::new("*").max_messages(RETAINED).max_bytes(1 << 30)])
            .expect("valid bounds");
        runtime.block_on(start_hub(&hub)).expect("the local broker starts");
        let before = resident_bytes();
        runtime.block_on(async {
            for n in 0..RETAINED {
                // A fresh payload each time, as real publishes have.
                let mut text = format!("{n:>8}");
                text.extend(std::iter::repeat_n('x', size - 8));
                hub.publish("room", text).await.expect("in process");
            }
        });
        let grown = resident_bytes().saturating_sub(before);
        drop(hub);
        let per_thousand = grown as f64 / (RETAINED / 1_000) as f64;
        println!(
            "  {size:>4}-byte messages: {:.1} KiB per 1,000 ({:.0} bytes each, {} of them payload)",
            per_thousand / 1024.0,
            per_thousand / 1_000.0,
            size
        );
    }
}

fn resident_bytes() -> usize {
    let kib = wsboot_bench::procfs::resident_kib("self").expect("the resident size from /proc");
    kib as usize * 1024
}
