//! The WebSocket opening handshake (RFC 6455 §4.2): checking the upgrade request,
//! the origin, negotiating the subprotocol, running interceptors, and the 101.

use std::net::SocketAddr;

use http::{HeaderMap, StatusCode};
use tungstenite::handshake::derive_accept_key;
use wsboot_core::handshake::SharedInterceptor;
use wsboot_core::{HandshakeRequest, PathParams, Rejection};

use crate::http::{RequestHead, Response};
use crate::routing::Route;

/// Whether a comma-separated header contains `token` (case-insensitive).
fn has_token(headers: &HeaderMap, name: http::header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// A key is the base64 encoding of 16 bytes: 22 characters and `==`.
fn is_valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes.len() == 24
        && bytes[22..] == *b"=="
        && bytes[..22].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
}

/// Checks the request against RFC 6455 §4.2.1; returns the client's key, or the
/// HTTP answer that names what is wrong.
pub(crate) fn check_request(head: &RequestHead) -> Result<String, Response> {
    let headers = &head.headers;
    if !has_token(headers, http::header::UPGRADE, "websocket") {
        return Err(Response::text(
            StatusCode::UPGRADE_REQUIRED,
            format!("{} is a WebSocket endpoint: send a WebSocket upgrade request", head.uri.path()),
        )
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade"));
    }
    if head.method != http::Method::GET {
        return Err(Response::text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("a WebSocket upgrade must use GET, not {}", head.method),
        )
        .header("Allow", "GET"));
    }
    if head.minor_version < 1 {
        return Err(Response::text(StatusCode::BAD_REQUEST, "a WebSocket upgrade requires HTTP/1.1"));
    }
    if !has_token(headers, http::header::CONNECTION, "upgrade") {
        return Err(Response::text(StatusCode::BAD_REQUEST, "missing `Connection: Upgrade` header"));
    }
    if !headers.contains_key(http::header::HOST) {
        return Err(Response::text(StatusCode::BAD_REQUEST, "missing Host header"));
    }
    let version = headers.get(http::header::SEC_WEBSOCKET_VERSION).and_then(|v| v.to_str().ok()).map(str::trim);
    if version != Some("13") {
        let found = version.map_or("none".to_owned(), |v| format!("{v:?}"));
        return Err(Response::text(
            StatusCode::UPGRADE_REQUIRED,
            format!("unsupported Sec-WebSocket-Version {found}: this server speaks version 13"),
        )
        .header("Sec-WebSocket-Version", "13"));
    }
    let mut keys = headers.get_all(http::header::SEC_WEBSOCKET_KEY).iter();
    let key = match (keys.next(), keys.next()) {
        (None, _) => return Err(Response::text(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key header")),
        (Some(_), Some(_)) => {
            return Err(Response::text(StatusCode::BAD_REQUEST, "more than one Sec-WebSocket-Key header"));
        }
        (Some(key), None) => key.to_str().unwrap_or("").trim(),
    };
    if !is_valid_key(key) {
        return Err(Response::text(
            StatusCode::BAD_REQUEST,
            "invalid Sec-WebSocket-Key: it must be 16 random bytes, base64-encoded (24 characters)",
        ));
    }
    Ok(key.to_owned())
}

/// The first subprotocol the client offered that the route speaks.
pub(crate) fn select_subprotocol(headers: &HeaderMap, supported: &[String]) -> Option<String> {
    if supported.is_empty() {
        return None;
    }
    headers
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find(|offered| supported.iter().any(|s| s == offered))
        .map(str::to_owned)
}

/// The 101 response.
pub(crate) fn switching_protocols(key: &str, protocol: Option<&str>, extensions: Option<&str>) -> Vec<u8> {
    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        derive_accept_key(key.as_bytes())
    );
    if let Some(protocol) = protocol {
        response.push_str("Sec-WebSocket-Protocol: ");
        response.push_str(protocol);
        response.push_str("\r\n");
    }
    if let Some(extensions) = extensions {
        response.push_str("Sec-WebSocket-Extensions: ");
        response.push_str(extensions);
        response.push_str("\r\n");
    }
    response.push_str("\r\n");
    response.into_bytes()
}

/// Turns an interceptor's rejection into a response.
pub(crate) fn rejection_response(rejection: &Rejection) -> Response {
    let mut response = Response::text(rejection.status(), rejection.body_text());
    for (name, value) in rejection.headers() {
        if let Ok(value) = value.to_str() {
            response = response.header(name.as_str(), value);
        }
    }
    response
}

/// Runs the interceptors (server-wide first, then the route's) on the request.
/// On rejection, the `after_handshake` of every interceptor that ran is called
/// before returning.
pub(crate) async fn run_interceptors(
    global: &[SharedInterceptor],
    route: &Route,
    request: &mut HandshakeRequest,
) -> Result<Vec<SharedInterceptor>, (Rejection, Vec<SharedInterceptor>)> {
    let mut ran: Vec<SharedInterceptor> = Vec::new();
    for interceptor in global.iter().chain(&route.interceptors) {
        ran.push(interceptor.clone());
        if let Err(rejection) = interceptor.before_handshake(request).await {
            tracing::debug!(interceptor = interceptor.name(), status = %rejection.status(), "handshake rejected");
            return Err((rejection, ran));
        }
    }
    Ok(ran)
}

/// The request an interceptor sees.
pub(crate) fn handshake_request(head: RequestHead, remote_addr: SocketAddr, params: PathParams) -> HandshakeRequest {
    HandshakeRequest::new(head.method, head.uri, head.headers, remote_addr, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_sample_key() {
        // RFC 6455 §1.3.
        let response = String::from_utf8(switching_protocols("dGhlIHNhbXBsZSBub25jZQ==", None, None)).unwrap();
        assert!(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), "{response}");
    }

    #[test]
    fn keys_must_be_16_bytes_of_base64() {
        assert!(is_valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_valid_key("dGhlIHNhbXBsZQ=="));
        assert!(!is_valid_key("dGhlIHNhbXBsZSBub25j!Q=="));
    }

    #[test]
    fn first_offered_supported_protocol_wins() {
        let mut headers = HeaderMap::new();
        headers.append(http::header::SEC_WEBSOCKET_PROTOCOL, "v3, v2".parse().unwrap());
        headers.append(http::header::SEC_WEBSOCKET_PROTOCOL, "v1".parse().unwrap());
        let supported = vec!["v1".to_owned(), "v2".to_owned()];
        assert_eq!(select_subprotocol(&headers, &supported).as_deref(), Some("v2"));
        assert_eq!(select_subprotocol(&headers, &["x".to_owned()]), None);
    }
}
