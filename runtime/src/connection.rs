//! One TCP connection, from the first byte to the last: TLS if configured, the
//! HTTP handshake, then the session; or, for a client that speaks HTTP/2 (by
//! ALPN, or opening with its preface), the HTTP/2 connection (`http2`).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::StatusCode;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

use crate::handshake::{self, Outcome, Reply, count_dropped};
use crate::http1::Response;
use crate::io::Stream;
use crate::server::Shared;
use crate::session::{self, SessionDriver, Step, StepEnd, Work};
use crate::shutdown::LiveGuard;

/// Serves one accepted TCP connection to the end; `live` counts it as live
/// (taken by the accept loop, so a burst cannot overshoot `max_connections`).
pub(crate) fn serve(tcp: TcpStream, remote: SocketAddr, shared: Arc<Shared>, live: LiveGuard) -> ConnectionTask {
    ConnectionTask::new(open_tcp(tcp, remote, shared, live))
}

/// Serves a connection whose byte stream is open: the HTTP request (which must
/// be complete by `deadline`), then the session.
#[cfg(feature = "test-util")]
pub(crate) fn serve_stream(
    stream: Stream,
    remote: SocketAddr,
    shared: Arc<Shared>,
    deadline: Instant,
    live: LiveGuard,
) -> ConnectionTask {
    ConnectionTask::new(open_stream(stream, remote, shared, deadline, live))
}

/// The future a connection's task runs, for as long as the connection is open.
///
/// Between turns a session waits for its socket, its queue or its timer, and
/// that wait is all the task holds: a pointer to the session's state. The
/// opening (TLS, the HTTP request, interceptors, the 101) and every step of
/// the session that may wait on its own (handling a read, a slow write,
/// closing) run in boxed futures that are freed when they finish (a busy
/// session's read step lasts until the session rests). An `async
/// fn` loop would keep room for its largest await in the task for the
/// connection's whole life; this keeps a resting connection's task at tokio's
/// smallest (measured: 128 bytes, against 512 for the loop).
pub(crate) struct ConnectionTask {
    phase: Phase,
}

enum Phase {
    /// TLS and the HTTP request, up to the session or the HTTP/2 connection.
    Opening(Pin<Box<dyn Future<Output = Opened> + Send>>),
    /// A step of the session (or an HTTP/2 connection) in flight.
    Busy(Step),
    /// The session waits between steps.
    Waiting(Box<SessionDriver>),
    Over,
}

impl ConnectionTask {
    /// A connection that opens with `opening`.
    pub(crate) fn new(opening: impl Future<Output = Opened> + Send + 'static) -> Self {
        ConnectionTask { phase: Phase::Opening(Box::pin(opening)) }
    }
}

impl Future for ConnectionTask {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let phase = &mut self.phase;
        loop {
            *phase = match phase {
                Phase::Opening(opening) => match ready!(opening.as_mut().poll(cx)) {
                    Opened::Session(driver) => Phase::Busy(driver.start(Work::Open)),
                    Opened::Nothing => Phase::Over,
                    // HTTP/2 connections run boxed: their state is large.
                    #[cfg(feature = "http2")]
                    Opened::Http2 { stream, read, remote, shared, live } => Phase::Busy(Box::pin(async move {
                        crate::http2::serve(stream, read, remote, shared, live).await;
                        StepEnd::Over
                    })),
                },
                Phase::Busy(step) => match ready!(step.as_mut().poll(cx)) {
                    StepEnd::Wait(driver) => Phase::Waiting(driver),
                    StepEnd::Then(driver, work) => Phase::Busy(driver.start(work)),
                    StepEnd::Over => Phase::Over,
                },
                Phase::Waiting(driver) => {
                    let work = ready!(driver.poll_turn(cx));
                    match std::mem::replace(phase, Phase::Over) {
                        Phase::Waiting(driver) => Phase::Busy(driver.start(work)),
                        _ => unreachable!("the phase was Waiting"),
                    }
                }
                Phase::Over => return Poll::Ready(()),
            };
        }
    }
}

/// What the opening of a connection came to.
pub(crate) enum Opened {
    /// A session ready to run.
    Session(Box<SessionDriver>),
    /// An answer was written (or the client left): the connection ends.
    Nothing,
    /// The client speaks HTTP/2 (by ALPN, or it opened with the preface, whose
    /// bytes so far are in `read`).
    #[cfg(feature = "http2")]
    Http2 { stream: Stream, read: bytes::BytesMut, remote: SocketAddr, shared: Arc<Shared>, live: LiveGuard },
}

/// TLS if configured, then the HTTP request.
async fn open_tcp(tcp: TcpStream, remote: SocketAddr, shared: Arc<Shared>, live: LiveGuard) -> Opened {
    // The TLS handshake and the HTTP request share one time limit (slowloris).
    let deadline = Instant::now() + shared.config.handshake_timeout;
    let stream = match timeout_at(deadline, crate::io::accept(tcp, shared.tls.as_ref())).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(why)) => {
            tracing::debug!(%remote, "dropping the connection: {why}");
            count_dropped(&shared, "tls");
            return Opened::Nothing;
        }
        Err(_) => {
            tracing::debug!(%remote, "TLS handshake timed out; dropping the connection");
            count_dropped(&shared, "timeout");
            return Opened::Nothing;
        }
    };
    open_stream(stream, remote, shared, deadline, live).await
}

/// Answers the HTTP request; on an upgrade, writes the 101 and returns the
/// session ready to run.
async fn open_stream(
    mut stream: Stream,
    remote: SocketAddr,
    shared: Arc<Shared>,
    deadline: Instant,
    live: LiveGuard,
) -> Opened {
    #[cfg(feature = "http2")]
    if stream.negotiated_h2() {
        return Opened::Http2 { stream, read: bytes::BytesMut::new(), remote, shared, live };
    }
    let accepted = match handshake::negotiate(&mut stream, remote, &shared, deadline).await {
        Outcome::Dropped => return Opened::Nothing,
        Outcome::Respond(reply) => {
            reply.send(&shared, &mut stream).await;
            return Opened::Nothing;
        }
        Outcome::Upgrade(accepted) => accepted,
        #[cfg(feature = "http2")]
        Outcome::Http2(read) => return Opened::Http2 { stream, read, remote, shared, live },
    };
    match accepted.switch_protocols(&mut stream, shared.config.handshake_timeout).await {
        Some(upgrade) => Opened::Session(session::open(stream, upgrade, &shared, live)),
        None => Opened::Nothing,
    }
}

/// Counts a connection (or, through hyper, a request that may become a
/// session) as live, unless that takes the server over `max_connections`:
/// then nothing is counted and the caller answers [`overloaded`]. Counted
/// first, then compared, so that arrivals in a burst see each other.
pub(crate) fn admit(shared: &Shared) -> Option<LiveGuard> {
    let live = shared.shutdown.track();
    let full = shared.config.max_connections.is_some_and(|max| shared.shutdown.live() > max);
    (!full).then_some(live)
}

/// The answer to a connection (or, through hyper, a WebSocket request) over
/// `max_connections`.
pub(crate) fn overloaded() -> Response {
    Response::text(StatusCode::SERVICE_UNAVAILABLE, "too many connections; try again later").header("Retry-After", "5")
}

/// Answers `503` to a connection over the server's limit, without reading more
/// than a bounded amount of its request.
pub(crate) async fn refuse_overloaded(tcp: TcpStream, shared: Arc<Shared>) {
    let accepting = crate::io::accept(tcp, shared.tls.as_ref());
    let Ok(Ok(mut stream)) = timeout(shared.config.handshake_timeout, accepting).await else {
        return;
    };
    Reply::refusal(overloaded()).send(&shared, &mut stream).await;
    // Read (and discard) what the client already sent, briefly, so closing does not
    // reset the connection before the client has read the answer.
    let mut sink = [0u8; 1024];
    let _ = timeout(std::time::Duration::from_secs(1), async {
        while matches!(tokio::io::AsyncReadExt::read(&mut stream, &mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}
