//! Many sessions at once: each gets its own echoes, all of them, in order.

use futures_util::SinkExt;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use wsboot::HandlerRegistry;
use wsboot_tests::{Echo, close_normally, connect, next_text, start, within};

const CLIENTS: usize = 200;
const MESSAGES: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_each_get_their_fifty_echoes_in_order() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Echo);
    let server = std::sync::Arc::new(start(registry).await);

    let mut clients = JoinSet::new();
    for c in 0..CLIENTS {
        let server = server.clone();
        clients.spawn(async move {
            let mut client = connect(&server, "/echo").await;
            // Send everything before reading, so the sessions' traffic interleaves.
            for m in 0..MESSAGES {
                within("queueing a message", client.feed(Message::text(format!("{c}:{m}")))).await.expect("queued");
            }
            within("sending 50 messages", client.flush()).await.expect("the messages are sent");
            for m in 0..MESSAGES {
                assert_eq!(next_text(&mut client).await, format!("{c}:{m}"), "client {c}, echo number {m}");
            }
            close_normally(&mut client).await;
            c
        });
    }
    let mut done = [false; CLIENTS];
    while let Some(finished) = within("all clients to finish", clients.join_next()).await {
        let c = finished.expect("a client task panicked");
        done[c] = true;
    }
    assert!(done.iter().all(|d| *d), "every client finished");
    std::sync::Arc::try_unwrap(server).expect("every client dropped its handle").stop().await;
}
