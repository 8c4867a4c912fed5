//! Framing a message for the socket, as the connection writer does for every
//! message it sends, and a broadcast to many subscribers.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use wsboot::__bench::FrameWriter;
use wsboot::Message;

use crate::queue::{local_hub, open_session};

/// Payload sizes: a small chat message, a typical JSON update, a large binary.
const SIZES: [(usize, &str); 3] = [(32, "32 B"), (512, "512 B"), (64 * 1024, "64 KiB")];

pub(crate) fn frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame encode");
    for (size, label) in SIZES {
        let message = Message::text("x".repeat(size));
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("text", label), &message, |b, message| {
            let mut writer = FrameWriter::default();
            b.iter(|| writer.frame(black_box(message)))
        });
    }
    group.finish();
}

/// Subscribers of the broadcast bench.
const SUBSCRIBERS: usize = 1_000;

pub(crate) fn fan_out(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a tokio runtime");
    let hub = local_hub();
    let sessions: Vec<_> = (0..SUBSCRIBERS).map(|_| open_session(&hub)).collect();
    runtime.block_on(async {
        for (session, _) in &sessions {
            session.subscribe("room").await.expect("subscribing to the local hub");
        }
    });
    let mut group = c.benchmark_group("fan-out");
    group.throughput(Throughput::Elements(SUBSCRIBERS as u64));
    for (size, label) in SIZES {
        let message = Message::text("x".repeat(size));
        // One publish: one shared copy queued for each subscriber; then every
        // subscriber's writer takes it, so the queues stay empty between rounds.
        group.bench_with_input(BenchmarkId::new("publish to 1,000 and drain", label), &message, |b, message| {
            b.iter(|| {
                let delivered = runtime.block_on(hub.publish("room", message.clone())).unwrap().delivered_here;
                assert_eq!(delivered, SUBSCRIBERS);
                for (_, transport) in &sessions {
                    drop(black_box(transport.drain()));
                }
            })
        });
    }
    group.finish();
}
