//! One STOMP connection to the message broker (RabbitMQ's STOMP plugin, say):
//! CONNECT with credentials and heart-beats, then a task that writes what it
//! is given, reads what the broker sends, beats, and reports how it ended.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use wsboot_core::{Error, ErrorKind};

use crate::decode::{Decoder, Limits};
use crate::frame::{Command, Frame, Version};
use crate::heartbeat;

/// The most frames waiting to be written to the broker.
const QUEUE: usize = 1024;

/// How long connecting (TCP and the CONNECT exchange) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the broker is and how to talk to it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) addr: String,
    pub(crate) virtual_host: String,
    pub(crate) heartbeat: (Duration, Duration),
}

/// An open connection: frames sent here go to the broker, in order.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    outgoing: mpsc::Sender<Frame>,
}

impl Link {
    /// Queues `frame` for the broker.
    ///
    /// # Errors
    /// [`ErrorKind::Closed`] once the connection ended; [`ErrorKind::QueueFull`]
    /// if the broker does not keep up.
    pub(crate) fn send(&self, frame: Frame) -> Result<(), Error> {
        self.outgoing.try_send(frame).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => {
                Error::new(ErrorKind::QueueFull, "the message broker does not keep up: its queue is full")
            }
            mpsc::error::TrySendError::Closed(_) => {
                Error::new(ErrorKind::Closed, "the message broker connection is closed")
            }
        })
    }
}

fn io(what: &str, target: &Target, error: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Io, format!("{what} the message broker at {}: {error}", target.addr))
}

/// Connects as `login`, then runs the connection in a task: `on_frame` gets
/// every frame from the broker, `on_end` why it ended (once). Dropping every
/// [`Link`] ends it with a DISCONNECT.
///
/// # Errors
/// Why the broker could not be reached, or its ERROR's message.
pub(crate) async fn open(
    target: &Target,
    login: &str,
    passcode: &str,
    mut on_frame: impl FnMut(Frame) + Send + 'static,
    on_end: impl FnOnce(String) + Send + 'static,
) -> Result<Link, Error> {
    let connecting = async {
        let mut stream = TcpStream::connect(&target.addr).await.map_err(|e| io("cannot reach", target, e))?;
        let (send, receive) = target.heartbeat;
        let connect = Frame::new(Command::Connect)
            .header("accept-version", "1.2")
            .header("host", target.virtual_host.as_str())
            .header("login", login)
            .header("passcode", passcode)
            .header("heart-beat", format!("{},{}", send.as_millis(), receive.as_millis()));
        stream.write_all(&connect.encode(Version::V1_2)).await.map_err(|e| io("cannot write to", target, e))?;
        let mut decoder = Decoder::new(Limits { max_frame_bytes: 1 << 20, ..Limits::default() });
        let mut buffer = vec![0u8; 8192];
        let connected = loop {
            let read = stream.read(&mut buffer).await.map_err(|e| io("cannot read from", target, e))?;
            if read == 0 {
                return Err(io("connection closed by", target, "before CONNECTED"));
            }
            decoder.push(&buffer[..read]);
            if let Some(frame) = decoder.next_frame().map_err(|e| io("bad frame from", target, e))? {
                break frame;
            }
        };
        match connected.command {
            Command::Connected => Ok((stream, decoder, connected)),
            Command::Error => Err(Error::new(
                ErrorKind::Io,
                format!(
                    "the message broker at {} refused the connection: {}",
                    target.addr,
                    connected.get("message").unwrap_or("(no message)")
                ),
            )),
            other => Err(io("unexpected frame from", target, other)),
        }
    };
    let (stream, decoder, connected) = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
        .await
        .map_err(|_| io("timed out connecting to", target, format!("no CONNECTED within {CONNECT_TIMEOUT:?}")))??;
    // The broker's offer against ours, as for a client (see `heartbeat`).
    let (broker_sends, broker_wants) = connected.get("heart-beat").and_then(heartbeat::parse).unwrap_or((0, 0));
    let send_every = heartbeat::agree(target.heartbeat.0, broker_wants);
    let expect_every = heartbeat::agree(target.heartbeat.1, broker_sends);
    let (outgoing, queue) = mpsc::channel(QUEUE);
    tokio::spawn(async move {
        let why = run(stream, decoder, queue, send_every, expect_every, &mut on_frame).await;
        on_end(why);
    });
    Ok(Link { outgoing })
}

/// Reads, writes and beats until the connection ends; why it ended.
async fn run(
    mut stream: TcpStream,
    mut decoder: Decoder,
    mut queue: mpsc::Receiver<Frame>,
    send_every: Duration,
    expect_every: Duration,
    on_frame: &mut (impl FnMut(Frame) + Send),
) -> String {
    let mut buffer = vec![0u8; 16 << 10];
    let tick =
        [send_every, expect_every / 2].into_iter().filter(|d| !d.is_zero()).min().unwrap_or(Duration::from_secs(3600));
    let mut ticks = tokio::time::interval(tick);
    let (mut last_read, mut last_write) = (Instant::now(), Instant::now());
    loop {
        tokio::select! {
            read = stream.read(&mut buffer) => {
                let read = match read {
                    Ok(0) => return "the message broker closed the connection".to_owned(),
                    Ok(n) => n,
                    Err(error) => return format!("reading from the message broker failed: {error}"),
                };
                last_read = Instant::now();
                decoder.push(&buffer[..read]);
                loop {
                    match decoder.next_frame() {
                        Ok(Some(frame)) => on_frame(frame),
                        Ok(None) => break,
                        Err(error) => return format!("the message broker sent a bad frame: {error}"),
                    }
                }
            }
            frame = queue.recv() => {
                let Some(frame) = frame else {
                    // Every link dropped: say goodbye.
                    let _ = stream.write_all(&Frame::new(Command::Disconnect).encode(Version::V1_2)).await;
                    return "closed".to_owned();
                };
                if let Err(error) = stream.write_all(&frame.encode(Version::V1_2)).await {
                    return format!("writing to the message broker failed: {error}");
                }
                last_write = Instant::now();
            }
            _ = ticks.tick() => {
                if !send_every.is_zero() && last_write.elapsed() >= send_every {
                    if let Err(error) = stream.write_all(b"\n").await {
                        return format!("writing to the message broker failed: {error}");
                    }
                    last_write = Instant::now();
                }
                if !expect_every.is_zero() && last_read.elapsed() > expect_every * 2 {
                    return format!("no heart-beat from the message broker for {:?}", last_read.elapsed());
                }
            }
        }
    }
}
