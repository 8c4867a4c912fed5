//! Many sessions at once: each gets its own echoes, all of them, in order.

use tokio::task::JoinSet;
use wsboot::test::{TestServer, within};
use wsboot::{CloseStatus, HandlerRegistry, Message};
use wsboot_tests::Echo;

const CLIENTS: usize = 200;
const MESSAGES: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_each_get_their_fifty_echoes_in_order() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Echo);
    let server = std::sync::Arc::new(TestServer::start(registry).await);

    let mut clients = JoinSet::new();
    for c in 0..CLIENTS {
        let server = server.clone();
        clients.spawn(async move {
            let mut client = server.connect("/echo").await;
            // Send everything before reading, so the sessions' traffic interleaves.
            client.send_all((0..MESSAGES).map(|m| Message::text(format!("{c}:{m}")))).await;
            for m in 0..MESSAGES {
                assert_eq!(client.recv_text().await, format!("{c}:{m}"), "client {c}, echo number {m}");
            }
            client.close(CloseStatus::NORMAL).await;
            c
        });
    }
    let mut done = [false; CLIENTS];
    while let Some(finished) = within("all clients to finish", clients.join_next()).await {
        let c = finished.expect("a client task panicked");
        done[c] = true;
    }
    assert!(done.iter().all(|d| *d), "every client finished");
    std::sync::Arc::try_unwrap(server).expect("every client dropped its handle").shutdown().await;
}
