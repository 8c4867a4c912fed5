//! The plain `GET` endpoints beside the WebSocket routes, for the machines
//! around a server: liveness (`/healthz`: the process serves), readiness
//! (`/readyz`: it takes new sessions) and the Prometheus metrics. Both
//! listeners answer them, the main one and the management one.

use http::StatusCode;

use crate::http1::{RequestHead, Response};
use crate::server::Shared;

/// The answer to a plain `GET` of the health, readiness or metrics path;
/// `None` for every other request (a WebSocket upgrade at one of those paths
/// goes to its handler).
pub(crate) fn answer(shared: &Shared, head: &RequestHead) -> Option<Response> {
    if head.method != http::Method::GET || head.headers.contains_key(http::header::UPGRADE) {
        return None;
    }
    let config = &shared.config;
    let path = head.uri.path();
    if config.health_enabled && path == config.health_path {
        // Liveness stays 200 through the drain: restarting a node that is
        // shutting down on purpose would cut its drain short.
        return Some(Response::text(StatusCode::OK, "ok").header("Cache-Control", "no-store"));
    }
    if config.ready_enabled && path == config.ready_path {
        return Some(readiness(shared).header("Cache-Control", "no-store"));
    }
    let metrics = shared.metrics.as_ref().filter(|_| path == config.metrics_path)?;
    let shutdown = &shared.shutdown;
    let text = metrics.render(shared.hub.stats(), shutdown.live(), shutdown.is_triggered());
    let response = Response::text(StatusCode::OK, text).content_type(crate::metrics::CONTENT_TYPE);
    Some(response.header("Cache-Control", "no-store"))
}

/// `200` while the server takes new sessions; `503` from the moment it starts
/// shutting down, so that a load balancer sends new connections elsewhere
/// while the open sessions drain.
fn readiness(shared: &Shared) -> Response {
    if shared.shutdown.is_triggered() {
        Response::text(StatusCode::SERVICE_UNAVAILABLE, "draining: shutting down, not taking new sessions")
    } else {
        Response::text(StatusCode::OK, "ready")
    }
}
