//! A session's outbound queue: a handler's `try_send` and the connection
//! writer's `drain`, one message at a time and in bursts (what a writer
//! finds after it was busy, and writes with one syscall).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput};
use futures_util::FutureExt;
use wsboot::{HandshakeRequest, LocalBroker};
use wsboot::{Hub, Message, OverflowPolicy, PathParams, QueueLimits, Session};
use wsboot_core::__runtime::{MessageLimits, RouteSettings, SessionConfig, Transport, new_hub, register_session};

/// A session as the runtime makes one after a handshake, registered with `hub`,
/// and the writer's end of its queue; no socket involved.
pub(crate) fn open_session(hub: &Hub) -> (Session, Transport) {
    let request = HandshakeRequest::new(
        http::Method::GET,
        http::Uri::from_static("/rooms/lobby"),
        http::HeaderMap::new(),
        "127.0.0.1:40000".parse().expect("a socket address"),
        PathParams::from_pairs([("room", "lobby")]),
    );
    let (session, transport) = Transport::new(SessionConfig {
        handshake: request,
        route: Arc::new(RouteSettings {
            path: Arc::from("/rooms/{room}"),
            queue: QueueLimits::default(),
            overflow: OverflowPolicy::default(),
        }),
        accepted_protocol: None,
        extensions: Vec::new(),
        limits: MessageLimits { max_text_message_size: 1 << 20, max_binary_message_size: 1 << 20 },
        hub: hub.clone(),
    });
    // Without a principal there is no broker call to wait for.
    register_session(hub, &session).now_or_never().expect("a session without a principal registers at once");
    (session, transport)
}

/// A hub with no other node, as a server without a broker has.
pub(crate) fn local_hub() -> Hub {
    new_hub(Arc::new(LocalBroker::new()))
}

pub(crate) fn send_and_drain(c: &mut Criterion) {
    let hub = local_hub();
    let (session, transport) = open_session(&hub);
    let message = Message::text("x".repeat(32));
    let mut group = c.benchmark_group("session queue");
    for burst in [1usize, 16, 64] {
        group.throughput(Throughput::Elements(burst as u64));
        group.bench_with_input(BenchmarkId::new("try_send 32 B, then drain", burst), &burst, |b, &burst| {
            b.iter(|| {
                for _ in 0..burst {
                    session.try_send(black_box(message.clone())).expect("the queue has room");
                }
                let drained = transport.drain();
                assert_eq!(drained.len(), burst);
                drop(drained);
            })
        });
    }
    // What the writer does around one echoed message: it resumes, the handler
    // queues the answer, the writer takes it (one item: held inline, no
    // list), finds nothing more on its way back to the wait, and parks until
    // something is queued again.
    group.throughput(Throughput::Elements(1));
    group.bench_function("one echo's turn: resume, try_send, drain, drain empty, park", |b| {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        b.iter(|| {
            transport.set_active();
            session.try_send(black_box(message.clone())).expect("the queue has room");
            let answer = transport.drain();
            assert_eq!(answer.len(), 1);
            drop(answer);
            assert!(transport.drain().is_empty());
            assert!(transport.poll_ready(&mut cx).is_pending());
        })
    });
    group.finish();
}
