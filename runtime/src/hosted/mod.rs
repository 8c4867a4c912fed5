//! Requests that hyper parsed and answers: HTTP/2 streams on wsboot's own
//! listener, and every request an axum app routes to wsboot. Each takes the
//! one handshake path ([`handshake::decide`]); an accepted WebSocket is
//! answered with the response hyper writes (`101` for an HTTP/1.1 upgrade,
//! `200` for an extended CONNECT), and its session runs in a task of its own
//! on the stream hyper hands over once that response is out.

mod upgraded;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;
use tokio::time::timeout;

pub(crate) use self::upgraded::UpgradedIo;
use crate::connection::{self, ConnectionTask, Opened};
use crate::handshake::{self, Accepted, Outcome, Reply};
use crate::http1::{RequestHead, Response};
use crate::io::Stream;
use crate::server::Shared;
use crate::session;
use crate::shutdown::LiveGuard;

/// The response body of everything wsboot answers through hyper.
pub(crate) type Body = Full<Bytes>;

/// Answers one request hyper parsed; `remote` is the client's address (as
/// well as it is known).
pub(crate) async fn serve_request<B>(
    request: http::Request<B>,
    remote: SocketAddr,
    shared: Arc<Shared>,
) -> http::Response<Body> {
    let (parts, _body) = request.into_parts();
    let http::request::Parts { method, uri, version, mut headers, mut extensions, .. } = parts;
    // HTTP/2 names the authority in `:authority`, not `Host` (RFC 9113
    // §8.3.1): restore the header, which the same-origin check and the
    // application's interceptors read.
    if !headers.contains_key(http::header::HOST) {
        if let Some(host) = uri.authority().and_then(|a| http::HeaderValue::from_str(a.as_str()).ok()) {
            headers.insert(http::header::HOST, host);
        }
    }
    // A request that may become a session counts against `max_connections`
    // from here, handshake included, as a connection of wsboot's own listener
    // does from its accept. In an axum app the sessions are all it counts; on
    // wsboot's own listener, a WebSocket over HTTP/2 counts beside its connection.
    let upgrade = match extensions.remove::<OnUpgrade>() {
        Some(on_upgrade) => match connection::admit(&shared) {
            Some(live) => Some((on_upgrade, live)),
            None => return into_http(Reply::refusal(connection::overloaded()).into_response(&shared).await),
        },
        None => None,
    };
    let mut head = RequestHead::new(method, uri, version, headers);
    head.protocol = extensions.remove::<hyper::ext::Protocol>().map(|p| p.as_str().into());
    head.extensions = extensions;
    match handshake::decide(head, BytesMut::new(), remote, &shared).await {
        Outcome::Respond(reply) => into_http(reply.into_response(&shared).await),
        Outcome::Upgrade(accepted) => accept(accepted, upgrade, shared),
        // Only wsboot's own HTTP/1.1 reader drops requests or meets a preface.
        Outcome::Dropped => into_http(Response::text(StatusCode::BAD_REQUEST, "incomplete request")),
        Outcome::Http2(_) => into_http(Response::text(StatusCode::BAD_REQUEST, "unexpected HTTP/2 preface")),
    }
}

/// Answers an accepted WebSocket and starts its session once hyper hands the
/// stream over; `upgrade` is hyper's handle to that stream, with the session's
/// count as live (taken when the request came, so a drain started from then
/// on waits for this session too).
fn accept(accepted: Accepted, upgrade: Option<(OnUpgrade, LiveGuard)>, shared: Arc<Shared>) -> http::Response<Body> {
    let Some((on_upgrade, live)) = upgrade else {
        // A request that did not come over a connection (a `tower::Service`
        // called directly, as in a unit test) cannot become a session.
        let response = Response::text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "this request cannot be upgraded: serve the app with hyper (axum::serve) for WebSockets",
        );
        tokio::spawn(async move { accepted.opened(Err("no connection to upgrade".to_owned())).await });
        return into_http(response);
    };
    let response = accepted.response().map(|()| Body::default());
    tokio::spawn(tokio::task::unconstrained(ConnectionTask::new(async move {
        let upgraded = match timeout(shared.config.handshake_timeout, on_upgrade).await {
            Ok(Ok(upgraded)) => Ok(upgraded),
            Ok(Err(e)) => Err(format!("the upgrade failed: {e}")),
            Err(_) => Err("the upgrade timed out".to_owned()),
        };
        let written = upgraded.as_ref().map(|_| ()).map_err(String::clone);
        // `opened` hands the upgrade back exactly when the stream came.
        let (Some(upgrade), Ok(upgraded)) = (accepted.opened(written).await, upgraded) else {
            return Opened::Nothing;
        };
        let stream = Stream::Upgraded(Box::new(UpgradedIo::new(upgraded)));
        Opened::Session(session::open(stream, upgrade, &shared, live))
    })));
    response
}

/// wsboot's plain response as an `http::Response`. The framing headers are
/// the HTTP server's to write.
pub(crate) fn into_http(response: Response) -> http::Response<Body> {
    let mut builder = http::Response::builder()
        .status(response.status)
        .header(http::header::CONTENT_TYPE, response.content_type.as_str());
    for (name, value) in &response.headers {
        if name.eq_ignore_ascii_case("connection") {
            continue;
        }
        builder = builder.header(name.as_str(), value.as_str());
    }
    let body = if response.head_only { Bytes::new() } else { response.body };
    builder.body(Full::new(body)).unwrap_or_else(|e| {
        tracing::error!("cannot build a response: {e}");
        let mut failed = http::Response::new(Body::default());
        *failed.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        failed
    })
}
