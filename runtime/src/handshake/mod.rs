//! The HTTP side of a session, top to bottom: a request head in, then either
//! a response out (metrics, health, a page, or a refusal) or an accepted
//! WebSocket (the route, subprotocol, extensions, and the request with what
//! the interceptors put in it). [`decide`] is the one path every request takes,
//! whatever carried it: HTTP/1.1 bytes read here by [`negotiate`], or a request
//! hyper parsed (HTTP/2 streams, an axum app's requests). Accepting is the
//! separate last step: [`Accepted::switch_protocols`] writes the 101 on
//! wsboot's own listener, [`Accepted::opened`] reports the outcome when hyper
//! wrote the answer.

mod interceptors;
pub(crate) mod upgrade;

pub(crate) use upgrade::Opening;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use http::StatusCode;
use tokio::io::AsyncWriteExt;
use tokio::time::{Instant, timeout, timeout_at};
use wsboot_core::{HandshakeRequest, Rejection};

use crate::extensions::{self, AgreedDeflate};
use crate::http1::{HeadError, RequestHead, Response, read_head};
use crate::io::Stream;
use crate::routing::Route;
use crate::server::Shared;

/// How long a refusal or a metrics scrape may take to write.
pub(crate) const ANSWER_WRITE_LIMIT: Duration = Duration::from_secs(5);

/// The `Retry-After` of an upgrade refused during a drain, in seconds. The
/// load balancer has taken this node out (or soon will, its readiness being
/// `503`), so a retry reaches another node; a short hint costs at most one
/// more refusal, a long one delays every client.
const DRAINING_RETRY_AFTER: &str = "1";

/// What a request comes to.
// Returned once per connection and taken apart at once: boxing the large
// variant would only add an allocation to every upgrade.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Outcome {
    /// The client left, or sent no complete request in time: nothing to answer.
    Dropped,
    /// Not a session: answer, then close the connection.
    Respond(Reply),
    /// A session: write the 101 ([`Accepted::switch_protocols`]), then run it.
    Upgrade(Accepted),
    /// The client opened with HTTP/2's connection preface (h2c with prior
    /// knowledge): hyper serves the connection, starting with these bytes.
    #[cfg(feature = "http2")]
    Http2(BytesMut),
}

/// Reads the request (complete by `deadline`) and decides what it comes to.
pub(crate) async fn negotiate(stream: &mut Stream, remote: SocketAddr, shared: &Shared, deadline: Instant) -> Outcome {
    let config = &shared.config;
    let mut read = BytesMut::new();
    let head = match timeout_at(
        deadline,
        read_head(stream, &mut read, config.max_request_head_size, config.max_headers),
    )
    .await
    {
        Err(_) => {
            tracing::debug!(%remote, "handshake timed out; dropping the connection");
            count_dropped(shared, "timeout");
            return Outcome::Dropped;
        }
        Ok(Err(HeadError::Disconnected)) => return Outcome::Dropped,
        Ok(Err(HeadError::TooLarge(what))) => return refuse(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, what),
        #[cfg(feature = "http2")]
        Ok(Err(HeadError::Malformed(_))) if crate::http2::is_preface(&read) && config.http2_enabled => {
            return Outcome::Http2(read);
        }
        #[cfg(feature = "http2")]
        Ok(Err(HeadError::Malformed(_))) if crate::http2::is_preface(&read) => {
            let why = "HTTP/2 is turned off on this server (`http2.enabled`): speak HTTP/1.1";
            return refuse(StatusCode::HTTP_VERSION_NOT_SUPPORTED, why);
        }
        Ok(Err(HeadError::Malformed(what))) => return refuse(StatusCode::BAD_REQUEST, what),
        Ok(Ok(head)) => head,
    };
    if read.is_empty() {
        // Release the request buffer: an idle session must not keep it.
        read = BytesMut::new();
    }
    decide(head, read, remote, shared).await
}

/// Decides what a request comes to: a plain answer, a refusal, or an accepted
/// WebSocket. `read` holds what the client sent after the head (its first
/// frames, on an HTTP/1.1 connection read by wsboot).
pub(crate) async fn decide(head: RequestHead, read: BytesMut, remote: SocketAddr, shared: &Shared) -> Outcome {
    let config = &shared.config;
    if let Some(response) = upgrade::refuse_tunnel(&head) {
        return Outcome::Respond(Reply::refusal(response));
    }
    if let Some(response) = crate::endpoints::answer(shared, &head) {
        return Outcome::Respond(Reply { response, kind: ReplyKind::Served(ANSWER_WRITE_LIMIT) });
    }
    let found = shared.router.find(head.uri.path());
    if let Some(response) = shared.pages.answer(&head, found.is_some()) {
        tracing::debug!(%remote, path = head.uri.path(), status = %response.status, "page");
        return Outcome::Respond(Reply { response, kind: ReplyKind::Served(config.write_timeout) });
    }
    let Some((route, params)) = found else {
        return refuse(StatusCode::NOT_FOUND, format!("no WebSocket handler at {}", head.uri.path()));
    };
    if shared.shutdown.is_triggered() {
        // Before the checks and interceptors: no session can open here any more.
        let response = Response::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server is shutting down and takes no new sessions: connect again, to another server",
        )
        .header("Retry-After", DRAINING_RETRY_AFTER);
        return Outcome::Respond(Reply { response, kind: ReplyKind::Refused(Some("draining")) });
    }
    let route = route.clone();
    let opening = match upgrade::check_request(&head) {
        Ok(opening) => opening,
        Err(response) => return Outcome::Respond(Reply::refusal(response)),
    };
    if let Err(origin) = route.origins.check(&head.headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            format!("origin {origin} is not allowed to open a session at {}", route.path),
        );
    }
    let protocol = upgrade::select_subprotocol(&head.headers, &route.subprotocols);
    let deflate = route.deflate.as_ref().and_then(|config| extensions::negotiate_deflate(&head.headers, config));
    let mut request = upgrade::handshake_request(head, remote, params);
    let (interceptors, verdict) = interceptors::before_handshake(&shared.interceptors, &route, &mut request).await;
    if let Err(rejection) = verdict {
        let response = upgrade::rejection_response(&rejection);
        let interception = Box::new(Interception { interceptors, request, rejection });
        return Outcome::Respond(Reply { response, kind: ReplyKind::Intercepted(interception) });
    }
    Outcome::Upgrade(Accepted { opening, interceptors, upgrade: Upgrade { route, protocol, deflate, request, read } })
}

fn refuse(status: StatusCode, why: impl Into<String>) -> Outcome {
    Outcome::Respond(Reply::refusal(Response::text(status, why)))
}

/// An HTTP answer that ends the connection.
pub(crate) struct Reply {
    response: Response,
    kind: ReplyKind,
}

enum ReplyKind {
    /// A resource (metrics, health, a page), written within this time.
    Served(Duration),
    /// A refused handshake, counted in the metrics under this reason (or the
    /// one its status names).
    Refused(Option<&'static str>),
    /// Refused by an interceptor: those that ran hear of it once the response
    /// is written.
    Intercepted(Box<Interception>),
}

struct Interception {
    interceptors: interceptors::Ran,
    request: HandshakeRequest,
    rejection: Rejection,
}

impl Reply {
    /// Refuses the request with `response`.
    pub(crate) fn refusal(response: Response) -> Self {
        Reply { response, kind: ReplyKind::Refused(None) }
    }

    /// Writes the answer (best effort: the connection closes next either way).
    pub(crate) async fn send(self, shared: &Shared, stream: &mut Stream) {
        let limit = self.count(shared);
        let _ = timeout(limit, self.response.send(stream)).await;
        self.kind.answered().await;
    }

    /// The answer, for hyper to write: counted, and the interceptors told
    /// (the answer is final once it is made).
    #[cfg(feature = "http2")]
    pub(crate) async fn into_response(self, shared: &Shared) -> Response {
        self.count(shared);
        self.kind.answered().await;
        self.response
    }

    /// Counts and logs a refusal; returns the time its answer may take to write.
    fn count(&self, shared: &Shared) -> Duration {
        match &self.kind {
            ReplyKind::Served(limit) => *limit,
            ReplyKind::Refused(reason) => count_refusal(shared, &self.response, *reason),
            ReplyKind::Intercepted(_) => count_refusal(shared, &self.response, None),
        }
    }
}

impl ReplyKind {
    /// Tells the interceptors of a refusal they caused that it was answered.
    async fn answered(self) {
        if let ReplyKind::Intercepted(interception) = self {
            let Interception { interceptors, request, rejection } = *interception;
            interceptors.after_handshake(&request, Some(&rejection)).await;
        }
    }
}

/// Counts and logs a refusal (under `reason`, or the one its status names);
/// returns the time its answer may take to write.
fn count_refusal(shared: &Shared, response: &Response, reason: Option<&'static str>) -> Duration {
    if let Some(metrics) = &shared.metrics {
        match reason {
            Some(reason) => metrics.rejected(reason, Some(response.status.as_u16())),
            None => metrics.rejected_with(response.status),
        }
    }
    tracing::debug!(status = %response.status, "refusing request: {}", String::from_utf8_lossy(&response.body).trim_end());
    ANSWER_WRITE_LIMIT
}

/// An upgrade every check and interceptor allowed, not yet answered.
pub(crate) struct Accepted {
    /// How the request opens its WebSocket (for HTTP/1.1, the client's key,
    /// for the 101's accept value).
    opening: Opening,
    interceptors: interceptors::Ran,
    upgrade: Upgrade,
}

/// What a session starts from.
pub(crate) struct Upgrade {
    pub(crate) route: Arc<Route>,
    pub(crate) protocol: Option<String>,
    pub(crate) deflate: Option<AgreedDeflate>,
    /// The request, with the attributes and principal the interceptors set.
    pub(crate) request: HandshakeRequest,
    /// Bytes that arrived after the request head: the client's first frames.
    pub(crate) read: BytesMut,
}

impl Accepted {
    /// Writes the 101 within `limit`, then tells the interceptors the outcome;
    /// `None` when the client is gone (they hear it as a rejection, status 499,
    /// "client closed request", which was never sent).
    pub(crate) async fn switch_protocols(self, stream: &mut Stream, limit: Duration) -> Option<Upgrade> {
        let Opening::Upgrade { key } = &self.opening else {
            unreachable!("wsboot reads HTTP/1.1 only; hyper answers HTTP/2 streams")
        };
        let extensions = self.upgrade.deflate.as_ref().map(|d| d.response.as_str());
        let response = upgrade::switching_protocols(key, self.upgrade.protocol.as_deref(), extensions);
        let written = match timeout(limit, stream.write_all(&response)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("writing the 101 failed: {e}")),
            Err(_) => Err("writing the 101 timed out".to_owned()),
        };
        self.opened(written).await
    }

    /// The response that accepts this WebSocket, for hyper to write.
    #[cfg(feature = "http2")]
    pub(crate) fn response(&self) -> http::Response<()> {
        let extensions = self.upgrade.deflate.as_ref().map(|d| d.response.as_str());
        upgrade::accepting_response(&self.opening, self.upgrade.protocol.as_deref(), extensions)
    }

    /// Tells the interceptors whether the accepting response reached the
    /// client; the upgrade to run when it did. A failure is heard as a
    /// rejection with status 499, "client closed request", which was never sent.
    pub(crate) async fn opened(self, written: Result<(), String>) -> Option<Upgrade> {
        let Accepted { opening: _, interceptors, upgrade: agreed } = self;
        let failure = match written {
            Ok(()) => {
                interceptors.after_handshake(&agreed.request, None).await;
                return Some(agreed);
            }
            Err(failure) => failure,
        };
        tracing::debug!("{failure}");
        let client_closed = StatusCode::from_u16(499).expect("a three-digit status");
        interceptors.after_handshake(&agreed.request, Some(&Rejection::new(client_closed).body(failure))).await;
        None
    }
}

/// Counts a connection dropped before it could be answered.
pub(crate) fn count_dropped(shared: &Shared, reason: &'static str) {
    if let Some(metrics) = &shared.metrics {
        metrics.rejected(reason, None);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use wsboot_core::{HandlerRegistry, HandshakeInterceptor, WebSocketHandler};

    use super::*;
    use crate::config::ServerConfig;
    use crate::routing::Router;

    struct Nothing;
    impl WebSocketHandler for Nothing {}

    /// Records each `after_handshake` outcome; panics in `before_handshake` when told to.
    struct Record(Arc<Mutex<Vec<String>>>, bool);

    impl HandshakeInterceptor for Record {
        async fn before_handshake(&self, _request: &mut HandshakeRequest) -> Result<(), Rejection> {
            assert!(!self.1, "asked to panic");
            Ok(())
        }

        async fn after_handshake(&self, _request: &HandshakeRequest, rejection: Option<&Rejection>) {
            let outcome = rejection.map_or("accepted".to_owned(), |r| r.status().as_u16().to_string());
            self.0.lock().unwrap().push(outcome);
        }
    }

    async fn run_interceptors(log: &Arc<Mutex<Vec<String>>>, panics: bool) -> (Accepted, Result<(), Rejection>) {
        let mut registry = HandlerRegistry::new();
        registry
            .add_handler("/", Nothing)
            .interceptor(Record(log.clone(), false))
            .interceptor(Record(log.clone(), panics));
        let router = Router::new(&registry, &ServerConfig::default()).unwrap();
        let (route, params) = router.find("/").unwrap();
        let remote = SocketAddr::from(([127, 0, 0, 1], 9));
        let mut request =
            HandshakeRequest::new(http::Method::GET, "/".parse().unwrap(), Default::default(), remote, params);
        let (interceptors, verdict) = interceptors::before_handshake(&[], route, &mut request).await;
        let upgrade = Upgrade { route: route.clone(), protocol: None, deflate: None, request, read: BytesMut::new() };
        let opening = Opening::Upgrade { key: "dGhlIHNhbXBsZSBub25jZQ==".to_owned() };
        (Accepted { opening, interceptors, upgrade }, verdict)
    }

    // In-memory streams come with the test kit.
    #[cfg(feature = "test-util")]
    #[tokio::test]
    async fn interceptors_hear_when_the_101_cannot_be_written() {
        let log = Arc::default();
        let (accepted, verdict) = run_interceptors(&log, false).await;
        assert!(verdict.is_ok());
        let (client, server) = tokio::io::duplex(64);
        drop(client);
        let mut stream = Stream::Memory(Box::new(tokio::io::BufReader::new(server)));
        assert!(accepted.switch_protocols(&mut stream, Duration::from_secs(5)).await.is_none());
        assert_eq!(*log.lock().unwrap(), ["499", "499"]);
    }

    #[tokio::test]
    async fn a_panicking_interceptor_refuses_with_500_and_every_one_that_ran_hears_it() {
        let log = Arc::default();
        let (accepted, verdict) = run_interceptors(&log, true).await;
        assert_eq!(verdict.unwrap_err().status(), StatusCode::INTERNAL_SERVER_ERROR);
        let rejection = Rejection::new(StatusCode::INTERNAL_SERVER_ERROR);
        accepted.interceptors.after_handshake(&accepted.upgrade.request, Some(&rejection)).await;
        assert_eq!(*log.lock().unwrap(), ["500", "500"]);
    }
}
