//! The management listener (`management.addr`): a second port answering the
//! health, readiness and metrics endpoints and nothing else, in plain HTTP,
//! for probes and scrapers on an internal address. It serves no WebSocket
//! route and no page, counts toward no connection limit, and keeps answering
//! while the server drains.

use std::net::SocketAddr;

use bytes::BytesMut;
use http::StatusCode;
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::handshake::ANSWER_WRITE_LIMIT;
use crate::http1::{HeadError, Response, read_head};
use crate::server::Shared;

/// Answers one request on the management port, then closes the connection.
pub(crate) async fn serve(mut tcp: TcpStream, remote: SocketAddr, shared: &Shared) {
    let config = &shared.config;
    let mut buf = BytesMut::new();
    let reading = read_head(&mut tcp, &mut buf, config.max_request_head_size, config.max_headers);
    let response = match timeout(config.handshake_timeout, reading).await {
        Err(_) | Ok(Err(HeadError::Disconnected)) => return,
        Ok(Err(HeadError::TooLarge(what))) => Response::text(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, what),
        Ok(Err(HeadError::Malformed(what))) => Response::text(StatusCode::BAD_REQUEST, what),
        Ok(Ok(head)) => crate::endpoints::answer(shared, &head).unwrap_or_else(|| {
            tracing::debug!(%remote, path = head.uri.path(), "not a management endpoint");
            Response::text(StatusCode::NOT_FOUND, format!("the management port serves only {}", paths(shared)))
        }),
    };
    let _ = timeout(ANSWER_WRITE_LIMIT, response.send(&mut tcp)).await;
}

/// The endpoints served, for the `404`'s body: `GET /healthz, /readyz, /metrics`.
fn paths(shared: &Shared) -> String {
    let config = &shared.config;
    let paths: Vec<&str> = [
        (config.health_enabled, &config.health_path),
        (config.ready_enabled, &config.ready_path),
        (shared.metrics.is_some(), &config.metrics_path),
    ]
    .into_iter()
    .filter_map(|(on, path)| on.then_some(path.as_str()))
    .collect();
    if paths.is_empty() {
        "nothing: its endpoints are all turned off".to_owned()
    } else {
        format!("GET {}", paths.join(", "))
    }
}
