//! One member's connection to the chat, and finding a node to connect to:
//! [`Dialer`] picks the nodes in turn, waiting a jittered, growing back-off
//! before each attempt after a failure, as the page does; [`Link`] reads the
//! server's events and tells how the connection ended and whether to come back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::protocol::{Event, Identity, Rng};

/// How long opening a connection (TCP and handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a new connection may wait for `members` or `resumed`.
const GREETING_TIMEOUT: Duration = Duration::from_secs(10);
/// The first back-off; each failure in a row doubles it, up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The longest back-off.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Close codes after which the page reconnects: going away (1001), the
/// connection dropped without a close (1006), a server error (1011), a
/// restart (1012), try again later (1013). Anything else ends the client.
pub const RECONNECT_CODES: [u16; 5] = [1001, 1006, 1011, 1012, 1013];

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The close code (1006 when it dropped without a close frame).
    pub code: u16,
    /// The close reason or the error, for people.
    pub detail: String,
}

impl Ended {
    /// Whether the page would reconnect after this.
    pub fn reconnects(&self) -> bool {
        RECONNECT_CODES.contains(&self.code)
    }

    fn dropped(detail: impl Into<String>) -> Ended {
        Ended { code: 1006, detail: detail.into() }
    }
}

/// What [`Link::next`] gives.
#[derive(Debug)]
pub enum Next {
    /// A server event.
    Event(Event),
    /// The server sent something the protocol does not define.
    Garbled(String),
    /// The connection is over.
    Ended(Ended),
}

/// An open connection of a member to one node.
#[derive(Debug)]
pub struct Link {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    node: usize,
    greeting_deadline: Option<Instant>,
}

impl Link {
    /// The index of the node it is connected to.
    pub fn node(&self) -> usize {
        self.node
    }

    /// The next event; [`Next::Ended`] once the connection is over (also when
    /// no greeting came in time: the node is not serving the room).
    pub async fn next(&mut self) -> Next {
        loop {
            let read = match self.greeting_deadline {
                Some(deadline) => match tokio::time::timeout_at(deadline.into(), self.ws.next()).await {
                    Ok(read) => read,
                    Err(_) => return Next::Ended(Ended::dropped(format!("no greeting within {GREETING_TIMEOUT:?}"))),
                },
                None => self.ws.next().await,
            };
            let text = match read {
                None => return Next::Ended(Ended::dropped("the connection ended without a close")),
                Some(Err(e)) => return Next::Ended(Ended::dropped(e.to_string())),
                Some(Ok(Message::Close(frame))) => return Next::Ended(closed(frame)),
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(_)) => continue, // pings are answered by the stream itself
            };
            return match Event::parse(&text) {
                Ok(event) => {
                    if event.is_greeting() {
                        self.greeting_deadline = None;
                    }
                    Next::Event(event)
                }
                Err(problem) => Next::Garbled(problem),
            };
        }
    }

    /// Sends a text message.
    ///
    /// # Errors
    /// When the connection is broken; reading tells how it ended.
    pub async fn send(&mut self, text: String) -> Result<(), String> {
        self.ws.send(Message::text(text)).await.map_err(|e| e.to_string())
    }

    /// Closes with 1000 and waits briefly for the server's answer.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = self.ws.close(None).await;
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }
}

fn closed(frame: Option<CloseFrame>) -> Ended {
    match frame {
        Some(frame) => Ended { code: u16::from(frame.code), detail: frame.reason.to_string() },
        None => Ended { code: 1005, detail: "a close without a status".to_owned() },
    }
}

/// What one attempt to connect gave, for the client's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The node tried.
    pub node: usize,
    /// Why it failed, if it did.
    pub failure: Option<String>,
}

/// Finds a node for a member: the first connection goes to its own node; after
/// a connection ends or an attempt fails, it waits a back-off with jitter and
/// tries the next node in turn, so a dead node costs one refused attempt.
#[derive(Debug)]
pub struct Dialer {
    identity: Identity,
    urls: Arc<Vec<String>>,
    node: usize,
    failures: u32,
    fresh: bool,
    rng: Rng,
}

impl Dialer {
    /// A dialer for `identity` over the nodes at `urls`, starting at `first`.
    pub fn new(identity: Identity, urls: Arc<Vec<String>>, first: usize, rng: Rng) -> Dialer {
        let node = first % urls.len().max(1);
        Dialer { identity, urls, node, failures: 0, fresh: true, rng }
    }

    /// Who connects.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Connects (resuming from `since` when given), trying node after node
    /// until one accepts; `record` is told of every failed attempt.
    pub async fn dial(&mut self, since: Option<&str>, mut record: impl FnMut(Attempt)) -> Link {
        loop {
            if !std::mem::replace(&mut self.fresh, false) {
                tokio::time::sleep(self.backoff()).await;
                self.node = (self.node + 1) % self.urls.len();
            }
            let url = self.identity.url(&self.urls[self.node], since);
            let attempt = tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(url)).await;
            match attempt {
                Ok(Ok((ws, _))) => {
                    let greeting_deadline = Some(Instant::now() + GREETING_TIMEOUT);
                    return Link { ws, node: self.node, greeting_deadline };
                }
                Ok(Err(e)) => record(Attempt { node: self.node, failure: Some(e.to_string()) }),
                Err(_) => {
                    record(Attempt { node: self.node, failure: Some(format!("no answer in {CONNECT_TIMEOUT:?}")) })
                }
            }
            self.failures += 1;
        }
    }

    /// Marks the current connection as good (greeted): the next back-off
    /// starts from the shortest again.
    pub fn connected(&mut self) {
        self.failures = 0;
    }

    /// A delay in [d/2, d], d doubling with each failure in a row.
    fn backoff(&mut self) -> Duration {
        let full = MIN_BACKOFF.saturating_mul(1 << self.failures.min(8)).min(MAX_BACKOFF);
        let half = full.as_millis() as u64 / 2;
        Duration::from_millis(half + self.rng.below(half + 1))
    }
}
