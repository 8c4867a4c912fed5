//! [`BrokerRelay`]: broker destinations in a real message broker (RabbitMQ
//! with its STOMP plugin), as Spring's `StompBrokerRelayMessageHandler` does:
//! one broker connection per client session for what the client subscribes
//! to, sends and acknowledges, and one system connection for what the
//! application sends (handler replies, [`Messaging`](crate::Messaging)).
//! User destinations stay with the hub.

mod connection;
pub(crate) mod forward;

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use wsboot_core::{Error, ErrorKind};

pub(crate) use connection::Link;
use connection::Target;

use crate::frame::{Command, Frame};
use crate::payload::Payload;

/// How long an application send waits for the system connection.
const SYSTEM_WAIT: Duration = Duration::from_secs(2);

/// A message broker that carries the endpoint's broker destinations. Cheap
/// to clone: the endpoint and [`Messaging`](crate::Messaging) share it.
///
/// ```
/// use wsboot_stomp::{BrokerRelay, StompEndpoint};
///
/// let relay = BrokerRelay::new("127.0.0.1:61613").client_credentials("guest", "guest");
/// let endpoint = StompEndpoint::new("/stomp").broker_relay(relay.clone());
/// ```
#[derive(Debug, Clone)]
pub struct BrokerRelay {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    target: Target,
    client: (String, String),
    system: (String, String),
    reconnect: (Duration, Duration),
    /// The system connection, while it is up.
    link: Mutex<Option<Link>>,
    /// Bumped on every change of `link`.
    changed: watch::Sender<u64>,
    /// The task that keeps the system connection up, started on first use.
    started: OnceLock<()>,
}

impl BrokerRelay {
    /// A broker at `addr` (`host:port` of its STOMP listener), virtual host
    /// `/`, credentials `guest`/`guest` for both kinds of connection,
    /// heart-beats every 10 s both ways.
    pub fn new(addr: impl Into<String>) -> BrokerRelay {
        BrokerRelay {
            inner: Arc::new(Inner {
                target: Target {
                    addr: addr.into(),
                    virtual_host: "/".to_owned(),
                    heartbeat: (Duration::from_secs(10), Duration::from_secs(10)),
                },
                client: ("guest".to_owned(), "guest".to_owned()),
                system: ("guest".to_owned(), "guest".to_owned()),
                reconnect: (Duration::from_millis(100), Duration::from_secs(5)),
                link: Mutex::new(None),
                changed: watch::Sender::new(0),
                started: OnceLock::new(),
            }),
        }
    }

    fn edit(self, change: impl FnOnce(&mut Inner)) -> BrokerRelay {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            target: shared.target.clone(),
            client: shared.client.clone(),
            system: shared.system.clone(),
            reconnect: shared.reconnect,
            link: Mutex::new(None),
            changed: watch::Sender::new(0),
            started: OnceLock::new(),
        });
        change(&mut inner);
        BrokerRelay { inner: Arc::new(inner) }
    }

    /// The login and passcode of the connections made for client sessions.
    pub fn client_credentials(self, login: impl Into<String>, passcode: impl Into<String>) -> BrokerRelay {
        let credentials = (login.into(), passcode.into());
        self.edit(|inner| inner.client = credentials)
    }

    /// The login and passcode of the system connection.
    pub fn system_credentials(self, login: impl Into<String>, passcode: impl Into<String>) -> BrokerRelay {
        let credentials = (login.into(), passcode.into());
        self.edit(|inner| inner.system = credentials)
    }

    /// The virtual host (the CONNECT frame's `host`; default `/`).
    pub fn virtual_host(self, host: impl Into<String>) -> BrokerRelay {
        let host = host.into();
        self.edit(|inner| inner.target.virtual_host = host)
    }

    /// Heart-beats with the broker: every `send`, and one wanted every `receive`.
    pub fn heartbeat(self, send: Duration, receive: Duration) -> BrokerRelay {
        self.edit(|inner| inner.target.heartbeat = (send, receive))
    }

    /// The pause before reconnecting the system connection: `min`, doubling
    /// up to `max` while the broker stays away.
    pub fn reconnect_backoff(self, min: Duration, max: Duration) -> BrokerRelay {
        self.edit(|inner| inner.reconnect = (min, max))
    }

    /// The broker's address.
    pub fn addr(&self) -> &str {
        &self.inner.target.addr
    }

    /// Opens a connection for a client session.
    pub(crate) async fn open_client(
        &self,
        on_frame: impl FnMut(Frame) + Send + 'static,
        on_end: impl FnOnce(String) + Send + 'static,
    ) -> Result<Link, Error> {
        let (login, passcode) = &self.inner.client;
        connection::open(&self.inner.target, login, passcode, on_frame, on_end).await
    }

    /// Sends `payload` to `destination` through the system connection,
    /// waiting a moment for it if it is reconnecting.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the broker cannot be reached.
    pub async fn send(&self, destination: &str, payload: &Payload) -> Result<(), Error> {
        self.start();
        let mut frame = Frame::new(Command::Send).header("destination", destination);
        if !payload.content_type.is_empty() {
            frame.push_header("content-type", payload.content_type.as_str());
        }
        let frame = frame.body(payload.body.clone());
        let mut changed = self.inner.changed.subscribe();
        let deadline = tokio::time::Instant::now() + SYSTEM_WAIT;
        loop {
            let link = self.inner.link.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Some(link) = link {
                return link.send(frame);
            }
            if tokio::time::timeout_at(deadline, changed.changed()).await.is_err() {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("the message broker at {} is unreachable (reconnecting)", self.inner.target.addr),
                ));
            }
        }
    }

    /// Starts the task that keeps the system connection up (once).
    fn start(&self) {
        self.inner.started.get_or_init(|| {
            tokio::spawn(supervise(Arc::downgrade(&self.inner)));
        });
    }
}

/// Keeps the system connection up while the relay exists, reconnecting with
/// back-off (the pause doubles while the broker stays away).
async fn supervise(relay: Weak<Inner>) {
    let mut pause: Option<Duration> = None;
    loop {
        if let Some(pause) = pause {
            tokio::time::sleep(pause).await;
        }
        let Some(inner) = relay.upgrade() else { return };
        let (tell_end, ended) = oneshot::channel::<String>();
        let (login, passcode) = inner.system.clone();
        let (min, max) = inner.reconnect;
        let opened = connection::open(
            &inner.target,
            &login,
            &passcode,
            |_| {},
            move |why| {
                let _ = tell_end.send(why);
            },
        )
        .await;
        match opened {
            Ok(link) => {
                inner.set_link(Some(link));
                tracing::info!(broker = %inner.target.addr, "the system connection to the message broker is up");
                // Not holding the relay: dropping its last handle ends the connection.
                drop(inner);
                let why = ended.await.unwrap_or_default();
                let Some(inner) = relay.upgrade() else { return };
                inner.set_link(None);
                tracing::warn!(broker = %inner.target.addr, "the system connection to the message broker ended: {why}");
                pause = Some(min);
            }
            Err(error) => {
                let next = pause.map_or(min, |p| (p * 2).min(max));
                tracing::warn!("{error}; the system connection retries in {next:?}");
                pause = Some(next);
            }
        }
    }
}

impl Inner {
    fn set_link(&self, link: Option<Link>) {
        *self.link.lock().unwrap_or_else(|p| p.into_inner()) = link;
        self.changed.send_modify(|n| *n += 1);
    }
}
