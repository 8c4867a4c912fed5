//! One TCP connection, from the first byte to the last: TLS if configured, the
//! HTTP handshake, then the session; or, for a client that speaks HTTP/2 (by
//! ALPN, or opening with its preface), the HTTP/2 connection (`http2`).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use http::StatusCode;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};
use tracing::Instrument;

use crate::handshake::{self, Outcome, Reply, count_dropped};
use crate::http1::Response;
use crate::io::Stream;
use crate::server::Shared;
use crate::session::{self, SessionDriver};
use crate::shutdown::LiveGuard;

/// Serves one accepted TCP connection to the end; `live` counts it as live
/// (taken by the accept loop, so a burst cannot overshoot `max_connections`).
///
/// The connection's task is this future, for as long as the connection is
/// open, so it is kept small: the opening (TLS, the HTTP request, interceptors,
/// the 101) is boxed and freed before the session starts, and no `async fn`
/// wraps the result, as one would keep its arguments' space for the task's
/// whole life.
pub(crate) fn serve(
    tcp: TcpStream,
    remote: SocketAddr,
    shared: Arc<Shared>,
    live: LiveGuard,
) -> impl Future<Output = ()> {
    run(Box::pin(open_tcp(tcp, remote, shared)), live)
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
) -> impl Future<Output = ()> {
    run(Box::pin(open_stream(stream, remote, shared, deadline)), live)
}

/// Runs what the opening of a connection came to: the session, or the HTTP/2
/// connection.
async fn run(opening: Pin<Box<impl Future<Output = Opened>>>, _live: LiveGuard) {
    // The session's future is made in one statement and awaited in the next,
    // so the task does not also keep room for the `Opened` it came from.
    let session = match opening.await {
        Opened::Session(driver, span) => driver.run().instrument(span),
        Opened::Nothing => return,
        // HTTP/2 connections run boxed: their state is large, and inline it would
        // make every connection's task as large, HTTP/1.1 sessions included.
        #[cfg(feature = "http2")]
        Opened::Http2 { stream, read, remote, shared } => {
            return Box::pin(crate::http2::serve(stream, read, remote, shared, _live)).await;
        }
    };
    session.await;
}

/// What the opening of a connection came to.
enum Opened {
    /// A session ready to run, and its tracing span.
    Session(Box<SessionDriver>, tracing::Span),
    /// An answer was written (or the client left): the connection ends.
    Nothing,
    /// The client speaks HTTP/2 (by ALPN, or it opened with the preface, whose
    /// bytes so far are in `read`).
    #[cfg(feature = "http2")]
    Http2 { stream: Stream, read: bytes::BytesMut, remote: SocketAddr, shared: Arc<Shared> },
}

/// TLS if configured, then the HTTP request.
async fn open_tcp(tcp: TcpStream, remote: SocketAddr, shared: Arc<Shared>) -> Opened {
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
    open_stream(stream, remote, shared, deadline).await
}

/// Answers the HTTP request; on an upgrade, writes the 101 and returns the
/// session ready to run.
async fn open_stream(mut stream: Stream, remote: SocketAddr, shared: Arc<Shared>, deadline: Instant) -> Opened {
    #[cfg(feature = "http2")]
    if stream.negotiated_h2() {
        return Opened::Http2 { stream, read: bytes::BytesMut::new(), remote, shared };
    }
    let accepted = match handshake::negotiate(&mut stream, remote, &shared, deadline).await {
        Outcome::Dropped => return Opened::Nothing,
        Outcome::Respond(reply) => {
            reply.send(&shared, &mut stream).await;
            return Opened::Nothing;
        }
        Outcome::Upgrade(accepted) => accepted,
        #[cfg(feature = "http2")]
        Outcome::Http2(read) => return Opened::Http2 { stream, read, remote, shared },
    };
    match accepted.switch_protocols(&mut stream, shared.config.handshake_timeout).await {
        Some(upgrade) => {
            let (driver, span) = session::open(stream, upgrade, &shared);
            Opened::Session(driver, span)
        }
        None => Opened::Nothing,
    }
}

/// Answers `503` to a connection over the server's limit, without reading more
/// than a bounded amount of its request.
pub(crate) async fn refuse_overloaded(tcp: TcpStream, shared: Arc<Shared>) {
    let accepting = crate::io::accept(tcp, shared.tls.as_ref());
    let Ok(Ok(mut stream)) = timeout(shared.config.handshake_timeout, accepting).await else {
        return;
    };
    let response = Response::text(StatusCode::SERVICE_UNAVAILABLE, "too many connections; try again later")
        .header("Retry-After", "5");
    Reply::refusal(response).send(&shared, &mut stream).await;
    // Read (and discard) what the client already sent, briefly, so closing does not
    // reset the connection before the client has read the answer.
    let mut sink = [0u8; 1024];
    let _ = timeout(std::time::Duration::from_secs(1), async {
        while matches!(tokio::io::AsyncReadExt::read(&mut stream, &mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}
