//! The rules of the WebSocket opening handshake as pure functions: checking
//! the request (an HTTP/1.1 upgrade, RFC 6455 §4.2, or an HTTP/2 extended
//! CONNECT, RFC 8441 §4), choosing the subprotocol, the accepting response, and
//! the answer to an interceptor's rejection. No I/O: the fuzz targets run them.

use std::net::SocketAddr;

use http::{HeaderMap, StatusCode};
use tungstenite::handshake::derive_accept_key;
use wsboot_core::{Error, ErrorKind, HandlerRegistration, HandshakeRequest, PathParams, Principal, Rejection};

use crate::http1::{RequestHead, Response};

/// Whether a comma-separated header contains `token` (case-insensitive).
fn has_token(headers: &HeaderMap, name: http::header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Whether the request announces a body: any `Transfer-Encoding`, or a
/// `Content-Length` other than 0.
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(http::header::TRANSFER_ENCODING)
        || headers
            .get_all(http::header::CONTENT_LENGTH)
            .iter()
            .any(|v| v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()) != Some(0))
}

/// A key is the base64 encoding of 16 bytes: 22 characters and `==`.
fn is_valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes.len() == 24
        && bytes[22..] == *b"=="
        && bytes[..22].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
}

/// How a checked request opens its WebSocket, which decides how it is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Opening {
    /// An HTTP/1.1 upgrade, accepted by a `101` proving this key was read.
    Upgrade { key: String },
    /// An HTTP/2 extended CONNECT, accepted by a `200` on its stream.
    ExtendedConnect,
}

/// Checks the request against RFC 6455 §4.2.1 (HTTP/1.1) or RFC 8441 §4
/// (HTTP/2); returns how it opens, or the HTTP answer that names what is wrong.
pub(crate) fn check_request(head: &RequestHead) -> Result<Opening, Response> {
    if head.version == http::Version::HTTP_2 {
        return check_extended_connect(head);
    }
    check_upgrade(head).map(|key| Opening::Upgrade { key })
}

/// An HTTP/2 request to a WebSocket route must be an extended CONNECT with
/// `:protocol websocket`; `Upgrade`, `Connection` and the key have no place in
/// HTTP/2 and are not asked for.
fn check_extended_connect(head: &RequestHead) -> Result<Opening, Response> {
    let path = head.uri.path();
    if head.method != http::Method::CONNECT {
        return Err(Response::text(
            StatusCode::BAD_REQUEST,
            format!(
                "{path} is a WebSocket endpoint: over HTTP/2, open it with an extended CONNECT (:protocol websocket)"
            ),
        ));
    }
    match head.protocol.as_deref() {
        None => return Err(tunnel_refusal()),
        Some(protocol) if !protocol.eq_ignore_ascii_case("websocket") => {
            return Err(Response::text(
                StatusCode::BAD_REQUEST,
                format!("unsupported :protocol {protocol:?}: this server speaks `websocket` only"),
            ));
        }
        Some(_) => {}
    }
    check_version(&head.headers)?;
    if has_body_length(&head.headers) {
        return Err(Response::text(
            StatusCode::BAD_REQUEST,
            "a WebSocket CONNECT has no body length: its stream carries WebSocket frames",
        ));
    }
    Ok(Opening::ExtendedConnect)
}

/// A `CONNECT` without `:protocol` asks for a TCP tunnel (to the authority it
/// names, with no path): refused before routing, as no route can serve it.
pub(crate) fn refuse_tunnel(head: &RequestHead) -> Option<Response> {
    (head.method == http::Method::CONNECT && head.protocol.is_none()).then(tunnel_refusal)
}

fn tunnel_refusal() -> Response {
    Response::text(
        StatusCode::BAD_REQUEST,
        "a CONNECT without :protocol asks for a tunnel, which this server does not offer: \
         send :protocol websocket to open a WebSocket",
    )
}

/// `Sec-WebSocket-Version` must say 13.
fn check_version(headers: &HeaderMap) -> Result<(), Response> {
    let version = headers.get(http::header::SEC_WEBSOCKET_VERSION).and_then(|v| v.to_str().ok()).map(str::trim);
    if version == Some("13") {
        return Ok(());
    }
    let found = version.map_or("none".to_owned(), |v| format!("{v:?}"));
    Err(Response::text(
        StatusCode::UPGRADE_REQUIRED,
        format!("unsupported Sec-WebSocket-Version {found}: this server speaks version 13"),
    )
    .header("Sec-WebSocket-Version", "13"))
}

/// A `Content-Length` other than 0 (HTTP/2 frames its bodies itself: there is
/// no `Transfer-Encoding`).
fn has_body_length(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::CONTENT_LENGTH)
        .iter()
        .any(|v| v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()) != Some(0))
}

/// The HTTP/1.1 upgrade's checks; returns the client's key.
fn check_upgrade(head: &RequestHead) -> Result<String, Response> {
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
    if head.version < http::Version::HTTP_11 {
        return Err(Response::text(StatusCode::BAD_REQUEST, "a WebSocket upgrade requires HTTP/1.1"));
    }
    if !has_token(headers, http::header::CONNECTION, "upgrade") {
        return Err(Response::text(StatusCode::BAD_REQUEST, "missing `Connection: Upgrade` header"));
    }
    match headers.get_all(http::header::HOST).iter().count() {
        0 => return Err(Response::text(StatusCode::BAD_REQUEST, "missing Host header")),
        1 => {}
        // RFC 9112 §3.2: a request with several Host headers is refused. The
        // same-origin check compares against it, so it must be unambiguous.
        _ => return Err(Response::text(StatusCode::BAD_REQUEST, "more than one Host header")),
    }
    if has_body(headers) {
        // Bytes after the head are WebSocket frames; a body would be read as frames,
        // and a proxy in front might frame the stream differently (smuggling).
        return Err(Response::text(
            StatusCode::BAD_REQUEST,
            "a WebSocket upgrade request has no body: remove Content-Length / Transfer-Encoding",
        ));
    }
    check_version(headers)?;
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

/// The response that accepts a WebSocket handed over by hyper (an HTTP/1.1
/// upgrade through an HTTP framework, or an HTTP/2 extended CONNECT): hyper
/// writes it, then gives the stream to the session.
#[cfg(feature = "http2")]
pub(crate) fn accepting_response(
    opening: &Opening,
    protocol: Option<&str>,
    extensions: Option<&str>,
) -> http::Response<()> {
    let mut response = http::Response::new(());
    if let Opening::Upgrade { .. } = opening {
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    }
    let headers = response.headers_mut();
    match opening {
        Opening::Upgrade { key } => {
            headers.insert(http::header::UPGRADE, http::HeaderValue::from_static("websocket"));
            headers.insert(http::header::CONNECTION, http::HeaderValue::from_static("upgrade"));
            let accept = derive_accept_key(key.as_bytes());
            headers.insert(http::header::SEC_WEBSOCKET_ACCEPT, accept.parse().expect("base64 is a header value"));
        }
        Opening::ExtendedConnect => {}
    }
    // Both were checked as tokens (the subprotocol at startup, the extension
    // offer is written by the server), so they are valid header values.
    if let Some(value) = protocol.and_then(|p| http::HeaderValue::from_str(p).ok()) {
        headers.insert(http::header::SEC_WEBSOCKET_PROTOCOL, value);
    }
    if let Some(value) = extensions.and_then(|e| http::HeaderValue::from_str(e).ok()) {
        headers.insert(http::header::SEC_WEBSOCKET_EXTENSIONS, value);
    }
    response
}

/// Turns an interceptor's rejection into a response.
///
/// The server frames the response itself: the interceptor's `Content-Length`,
/// `Transfer-Encoding` and `Connection` headers are dropped (they would contradict
/// the body actually sent), its `Content-Type` replaces the default. An
/// informational status (1xx, 101 included) would leave the client waiting for a
/// final answer, so it is answered as 500.
pub(crate) fn rejection_response(rejection: &Rejection) -> Response {
    if rejection.status().is_informational() {
        tracing::error!(status = %rejection.status(), "an interceptor rejected a handshake with an informational status; answering 500");
        return Response::text(StatusCode::INTERNAL_SERVER_ERROR, "handshake refused");
    }
    // The body exactly as the interceptor wrote it: the server's own refusals
    // end in a newline for people at a terminal, an application's JSON must not.
    let body = rejection.body_text().to_owned();
    let mut response = Response::bytes(rejection.status(), "text/plain; charset=utf-8", body);
    for (name, value) in rejection.headers() {
        // `HeaderValue` excludes line breaks; a value that is not visible ASCII is
        // dropped rather than sent as raw bytes in a `String` response.
        let Ok(value) = value.to_str() else { continue };
        match *name {
            http::header::CONTENT_LENGTH | http::header::TRANSFER_ENCODING | http::header::CONNECTION => {}
            http::header::CONTENT_TYPE => response = response.content_type(value),
            _ => response = response.header(name.as_str(), value),
        }
    }
    response
}

/// The subprotocols of a registered handler, each checked; the error names the
/// handler and the value.
pub(crate) fn subprotocols_for(registration: &HandlerRegistration) -> Result<Vec<String>, Error> {
    let protocols = &registration.options().subprotocols;
    for protocol in protocols {
        validate_subprotocol(protocol)
            .map_err(|e| Error::new(ErrorKind::Config, format!("{}: {e}", registration.source())))?;
    }
    Ok(protocols.clone())
}

/// Checks a subprotocol a handler declares, by the rule `#[ws_handler]` checks
/// at compile time.
pub(crate) fn validate_subprotocol(protocol: &str) -> Result<(), String> {
    wsboot_core::__runtime::check_subprotocol(protocol).map_err(|e| e.to_string())
}

/// The request an interceptor sees.
pub(crate) fn handshake_request(head: RequestHead, remote_addr: SocketAddr, params: PathParams) -> HandshakeRequest {
    let RequestHead { method, uri, version, headers, protocol: _, extensions } = head;
    let mut request = HandshakeRequest::new(method, uri, headers, remote_addr, params)
        .with_version(version)
        .with_extensions(extensions);
    // An authentication layer in front (a tower middleware) that put the user
    // in the request makes them the session's principal; interceptors may
    // still change it.
    if let Some(principal) = request.extensions().get::<Principal>().cloned() {
        request.set_principal(principal);
    }
    request
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
    fn head(request: &str) -> RequestHead {
        crate::http1::parse_head(&mut bytes::BytesMut::from(request), 32).unwrap().unwrap()
    }

    fn refusal(request: &str) -> (u16, String) {
        let response = check_request(&head(request)).unwrap_err();
        (response.status.as_u16(), String::from_utf8_lossy(&response.body).into_owned())
    }

    const UPGRADE: &str = "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                           Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

    #[test]
    fn ambiguous_hosts_and_bodies_are_refused() {
        assert!(check_request(&head(&format!("{UPGRADE}\r\n"))).is_ok());
        assert!(check_request(&head(&format!("{UPGRADE}Content-Length: 0\r\n\r\n"))).is_ok());
        let (status, body) = refusal(&format!("{UPGRADE}Host: b\r\n\r\n"));
        assert_eq!((status, body.as_str()), (400, "more than one Host header\n"));
        let (status, body) = refusal(&format!("{UPGRADE}Content-Length: 5\r\n\r\n"));
        assert!(status == 400 && body.contains("no body"), "{body}");
        let (status, body) = refusal(&format!("{UPGRADE}Transfer-Encoding: chunked\r\n\r\n"));
        assert!(status == 400 && body.contains("Transfer-Encoding"), "{body}");
    }

    #[test]
    fn rejections_cannot_break_the_response_framing() {
        let rejection = Rejection::new(StatusCode::UNAUTHORIZED)
            .header("WWW-Authenticate", "Bearer")
            .header("Content-Length", "999")
            .header("Connection", "keep-alive")
            .header("Content-Type", "application/json")
            .body("{}");
        let text = String::from_utf8(rejection_response(&rejection).encode()).unwrap();
        assert!(text.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{text}");
        assert!(text.contains("www-authenticate: Bearer\r\n"), "{text}");
        assert!(text.contains("Content-Type: application/json\r\n"), "{text}");
        assert!(text.contains("Content-Length: 2\r\n") && !text.contains("999"), "{text}");
        assert!(text.ends_with("\r\n\r\n{}"), "the body as written, no newline added: {text}");
        assert!(!text.contains("keep-alive"), "{text}");
        let informational = rejection_response(&Rejection::new(StatusCode::SWITCHING_PROTOCOLS));
        assert_eq!(informational.status, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn a_plain_request_gets_426_with_one_connection_header() {
        let refused = check_request(&head("GET /chat HTTP/1.1\r\nHost: a\r\n\r\n")).unwrap_err();
        let text = String::from_utf8(refused.encode()).unwrap();
        assert!(text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{text}");
        assert!(text.contains("Upgrade: websocket\r\n"), "{text}");
        assert_eq!(text.matches("Connection:").count(), 1, "{text}");
        assert!(text.contains("Connection: Upgrade, close\r\n"), "{text}");
    }

    fn h2_head(method: http::Method, protocol: Option<&str>, version: Option<&str>) -> RequestHead {
        let mut headers = HeaderMap::new();
        if let Some(version) = version {
            headers.insert(http::header::SEC_WEBSOCKET_VERSION, version.parse().unwrap());
        }
        let mut head = RequestHead::new(method, "/chat".parse().unwrap(), http::Version::HTTP_2, headers);
        head.protocol = protocol.map(Into::into);
        head
    }

    #[test]
    fn an_extended_connect_opens_without_upgrade_headers_or_key() {
        let head = h2_head(http::Method::CONNECT, Some("websocket"), Some("13"));
        assert_eq!(check_request(&head).unwrap(), Opening::ExtendedConnect);
        let refusals = [
            (h2_head(http::Method::GET, None, Some("13")), 400, "extended CONNECT"),
            (h2_head(http::Method::CONNECT, None, Some("13")), 400, "tunnel"),
            (h2_head(http::Method::CONNECT, Some("webtransport"), Some("13")), 400, "\"webtransport\""),
            (h2_head(http::Method::CONNECT, Some("websocket"), Some("8")), 426, "version 13"),
            (h2_head(http::Method::CONNECT, Some("websocket"), None), 426, "none"),
        ];
        for (head, status, says) in refusals {
            let refused = check_request(&head).unwrap_err();
            let body = String::from_utf8_lossy(&refused.body).into_owned();
            assert_eq!(refused.status.as_u16(), status, "{body}");
            assert!(body.contains(says), "{body}");
        }
        assert!(refuse_tunnel(&h2_head(http::Method::CONNECT, None, None)).is_some());
        assert!(refuse_tunnel(&h2_head(http::Method::CONNECT, Some("websocket"), None)).is_none());
    }

    #[cfg(feature = "http2")]
    #[test]
    fn accepting_responses_per_opening() {
        let upgrade = Opening::Upgrade { key: "dGhlIHNhbXBsZSBub25jZQ==".to_owned() };
        let response = accepting_response(&upgrade, Some("v1"), Some("permessage-deflate"));
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(response.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(response.headers()["sec-websocket-protocol"], "v1");
        let connect = accepting_response(&Opening::ExtendedConnect, None, Some("permessage-deflate"));
        assert_eq!(connect.status(), StatusCode::OK);
        assert!(!connect.headers().contains_key("upgrade") && !connect.headers().contains_key("sec-websocket-accept"));
        assert_eq!(connect.headers()["sec-websocket-extensions"], "permessage-deflate");
    }

    #[test]
    fn declared_subprotocols_must_be_tokens() {
        assert!(validate_subprotocol("chat.v1").is_ok());
        assert!(validate_subprotocol("").is_err());
        assert!(validate_subprotocol("v1, v2").is_err());
        assert!(validate_subprotocol("v1\r\nX-Injected: 1").is_err());
    }
}
