//! [`RequestHead`]: the request in front of a session or a plain answer,
//! however it arrived: parsed from HTTP/1.1 bytes on wsboot's own listener
//! (`http1`), or handed over by hyper as an `http::Request` (HTTP/2 streams,
//! and requests routed to wsboot by an axum app). Every rule after that point
//! (endpoints, pages, routing, the handshake checks, interceptors) reads this
//! one type, so there is one handshake path whatever the transport.

use http::{Extensions, HeaderMap, Method, Uri, Version};

/// A request's head.
#[derive(Debug)]
pub(crate) struct RequestHead {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    /// HTTP/2's `:protocol` pseudo-header (RFC 8441): `websocket` on an
    /// extended CONNECT that opens a WebSocket.
    pub(crate) protocol: Option<Box<str>>,
    /// What an HTTP framework attached to the request (a tower middleware's
    /// values); empty on wsboot's own listener.
    pub(crate) extensions: Extensions,
}

impl RequestHead {
    /// A head with no `:protocol` and no extensions.
    pub(crate) fn new(method: Method, uri: Uri, version: Version, headers: HeaderMap) -> Self {
        RequestHead { method, uri, version, headers, protocol: None, extensions: Extensions::new() }
    }
}
