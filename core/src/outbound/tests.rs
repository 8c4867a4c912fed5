use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::*;
use crate::test_support::block_on;

/// A queue with its bounds, as a session pairs its queue with its route's.
struct Bounded {
    queue: Outbound,
    limits: QueueLimits,
}

impl Bounded {
    fn try_push(&self, message: Message) -> Result<(), (Error, Message)> {
        self.queue.try_push(message, &self.limits)
    }

    async fn push(&self, message: Message) -> Result<(), Error> {
        self.queue.push(message, &self.limits).await
    }

    fn offer(&self, broadcast: Broadcast, policy: &OverflowPolicy) -> Offered {
        self.queue.offer(broadcast, || (&self.limits, policy))
    }
}

impl std::ops::Deref for Bounded {
    type Target = Outbound;

    fn deref(&self) -> &Outbound {
        &self.queue
    }
}

fn queue(max_messages: usize, max_bytes: usize) -> Arc<Bounded> {
    Arc::new(Bounded { queue: Outbound::new(), limits: QueueLimits { max_messages, max_bytes } })
}

#[test]
fn try_push_is_bounded_by_messages_and_bytes() {
    let q = queue(2, 10);
    q.try_push(Message::text("12345")).unwrap();
    q.try_push(Message::text("12345")).unwrap();
    let (err, _) = q.try_push(Message::text("1")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QueueFull);

    let q = queue(10, 10);
    q.try_push(Message::text("123456")).unwrap();
    let (err, _) = q.try_push(Message::text("123456")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::QueueFull);
    assert!(err.to_string().contains("6 bytes queued"), "{err}");
}

#[test]
fn an_oversized_message_fits_an_empty_queue() {
    let q = queue(10, 4);
    q.try_push(Message::binary(vec![0; 100])).unwrap();
    assert_eq!(q.queued(), (1, 100));
}

#[test]
fn close_refuses_later_messages_but_keeps_earlier_ones() {
    let q = queue(10, 100);
    q.try_push(Message::text("a")).unwrap();
    assert!(q.push_close(CloseStatus::NORMAL));
    assert!(!q.push_close(CloseStatus::NORMAL));
    assert_eq!(q.try_push(Message::text("b")).unwrap_err().0.kind(), ErrorKind::Closed);
    let out: Vec<_> = q.drain().collect();
    assert!(matches!(out[0], Outgoing::Message(_)));
    assert!(matches!(out[1], Outgoing::Close(_)));
}

fn broadcast(text: &'static str) -> Broadcast {
    Broadcast::new(Message::text(text))
}

#[test]
fn overflow_policies() {
    let q = queue(2, 100);
    assert_eq!(q.offer(broadcast("a"), &OverflowPolicy::DropNewest), Offered::Queued);
    assert_eq!(q.offer(broadcast("b"), &OverflowPolicy::DropNewest), Offered::Queued);
    assert_eq!(q.offer(broadcast("c"), &OverflowPolicy::DropNewest), Offered::DroppedNewest);
    assert_eq!(q.offer(broadcast("d"), &OverflowPolicy::DropOldest), Offered::DroppedOldest(1));
    let texts: Vec<_> = q
        .drain()
        .map(|o| match o {
            Outgoing::Broadcast(b) => b.message().payload()[0],
            _ => 0,
        })
        .collect();
    assert_eq!(texts, vec![b'b', b'd']);

    let q = queue(1, 100);
    q.offer(broadcast("a"), &OverflowPolicy::default());
    assert_eq!(q.offer(broadcast("b"), &OverflowPolicy::default()), Offered::Terminated);
    assert_eq!(q.offer(broadcast("c"), &OverflowPolicy::default()), Offered::Closed);
    let out: Vec<_> = q.drain().collect();
    assert_eq!(out.len(), 1);
    assert!(matches!(&out[0], Outgoing::Close(status) if status.code() == 1013));
}

#[test]
fn push_waits_for_room_and_resumes_after_a_drain() {
    let q = queue(1, 100);
    q.try_push(Message::text("first")).unwrap();
    let sender = {
        let q = q.clone();
        thread::spawn(move || block_on(q.push(Message::text("second"))))
    };
    thread::sleep(Duration::from_millis(50));
    assert!(!sender.is_finished());
    assert!(matches!(q.pop(), Some(Outgoing::Message(_))));
    sender.join().unwrap().unwrap();
    assert_eq!(q.queued(), (1, 6));
}

#[test]
fn a_waiting_sender_fails_when_the_connection_ends() {
    let q = queue(1, 100);
    q.try_push(Message::text("first")).unwrap();
    let sender = {
        let q = q.clone();
        thread::spawn(move || block_on(q.push(Message::text("second"))))
    };
    thread::sleep(Duration::from_millis(50));
    assert_eq!(q.finish(), 1);
    assert_eq!(sender.join().unwrap().unwrap_err().kind(), ErrorKind::Closed);
}

#[test]
fn many_waiting_senders_all_get_through_in_turn() {
    let q = queue(1, 100);
    q.try_push(Message::text("first")).unwrap();
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let q = q.clone();
            thread::spawn(move || block_on(q.push(Message::text("x"))))
        })
        .collect();
    let mut taken = 0;
    while taken < 5 {
        if q.pop().is_some() {
            taken += 1;
        } else {
            thread::yield_now();
        }
    }
    for sender in senders {
        sender.join().unwrap().unwrap();
    }
    assert_eq!(q.queued(), (0, 0));
}
