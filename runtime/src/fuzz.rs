//! Entry points for the fuzz targets in the repository's `fuzz/` directory: they
//! run the server's own code on arbitrary bytes and check what must hold for any
//! input. Not public API (feature `fuzzing`); the paths may change in any release.
//!
//! Each function panics when an invariant breaks, which is what the fuzzer
//! reports; an input that panics is kept as a regression test below.

use std::net::SocketAddr;
use std::sync::OnceLock;

use bytes::BytesMut;
use http::StatusCode;
use wsboot_core::{HandlerRegistry, Message, Rejection, WebSocketHandler};

use crate::config::ServerConfig;
use crate::handshake::upgrade;
use crate::http1::{HeadError, HeadScanner, RequestHead, Response};
use crate::protocol::{Decoded, DecoderLimits, FrameDecoder};
use crate::routing::Router;

/// Request-head limits of the fuzzed server: small, so the fuzzer reaches them.
const MAX_HEAD: usize = 2048;
const MAX_HEADERS: usize = 16;

struct Nothing;
impl WebSocketHandler for Nothing {}

/// The fixed routes every input is matched against: static and parameterised
/// paths, listed origins with a pattern, same-origin, subprotocols.
fn router() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let mut registry = HandlerRegistry::new();
        registry
            .add_handler("/chat", Nothing)
            .allowed_origins(["https://*.example.com", "https://app.test"])
            .subprotocols(["chat.v2", "chat.v1"]);
        registry.add_handler("/rooms/{room}", Nothing);
        registry.add_handler("/rooms/{room}/users/{user}", Nothing).allowed_origins(["*"]);
        registry.add_handler("/", Nothing);
        Router::new(&registry, &ServerConfig::default()).expect("the fuzzed registry is valid")
    })
}

/// Request parsing, routing and handshake validation on `data`.
///
/// The first byte chooses how the rest is split into reads (1 to 256 bytes each),
/// so the incremental head scanner sees every way a client can fragment a request;
/// the rest is the request. Whatever the bytes, the server must answer with a
/// well-formed response or accept with a well-formed 101, and never panic.
pub fn handshake(data: &[u8]) {
    let Some((&step, request)) = data.split_first() else { return };
    let step = usize::from(step) + 1;
    let mut scanner = HeadScanner::new(MAX_HEAD, MAX_HEADERS);
    let mut buf = BytesMut::new();
    let mut fed = 0;
    for chunk in request.chunks(step) {
        // What read_head does: never buffer past the size budget.
        let chunk = &chunk[..chunk.len().min(scanner.budget(&buf))];
        buf.extend_from_slice(chunk);
        fed += chunk.len();
        match scanner.advance(&mut buf) {
            Ok(None) => continue,
            Ok(Some(head)) => {
                assert!(buf.len() <= fed, "bytes after the head come from the input");
                return route_and_check(head);
            }
            Err(HeadError::TooLarge(why)) => {
                assert!(fed >= MAX_HEAD.min(request.len()) || why.contains("headers"), "431 before the limit");
                return check_response(&Response::text(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, why));
            }
            Err(HeadError::Malformed(why)) => return check_response(&Response::text(StatusCode::BAD_REQUEST, why)),
            Err(HeadError::Disconnected) => unreachable!("the scanner does no I/O"),
        }
    }
    assert!(scanner.budget(&buf) > 0, "a full buffer is refused, not kept waiting");
}

fn route_and_check(head: RequestHead) {
    let Some((route, params)) = router().find(head.uri.path()) else { return };
    let key = match upgrade::check_request(&head) {
        Ok(upgrade::Opening::Upgrade { key }) => key,
        Ok(upgrade::Opening::ExtendedConnect) => unreachable!("HTTP/1.1 bytes parse to HTTP/1.x heads"),
        Err(response) => return check_response(&response),
    };
    if route.origins.check(&head.headers).is_err() {
        return;
    }
    let protocol = upgrade::select_subprotocol(&head.headers, &route.subprotocols);
    if let Some(protocol) = &protocol {
        assert!(route.subprotocols.contains(protocol), "only a protocol the route speaks is selected");
    }
    let accept = upgrade::switching_protocols(&key, protocol.as_deref(), None);
    check_switching_protocols(&accept, protocol.as_deref());
    let remote = SocketAddr::from(([127, 0, 0, 1], 9));
    let request = upgrade::handshake_request(head, remote, params);
    for name in ["token", "user", ""] {
        let _ = request.query_param(name);
    }
}

/// An error response parses as HTTP/1.1 with exactly its declared body.
fn check_response(response: &Response) {
    let bytes = response.encode();
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut parsed = httparse::Response::new(&mut headers);
    let head_len = match parsed.parse(&bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        other => panic!("an unparseable response ({other:?}): {:?}", String::from_utf8_lossy(&bytes)),
    };
    assert_eq!(parsed.code, Some(response.status.as_u16()));
    let length = parsed.headers.iter().find(|h| h.name.eq_ignore_ascii_case("content-length"));
    if matches!(response.status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED) {
        // Statuses without a body (RFC 9110 §8.6, §15.4.5).
        assert!(length.is_none(), "no Content-Length on a {}", response.status);
        assert_eq!(bytes.len(), head_len, "no body on a {}", response.status);
        return;
    }
    let length: usize =
        length.and_then(|h| std::str::from_utf8(h.value).ok()?.parse().ok()).expect("a numeric Content-Length");
    assert_eq!(bytes.len() - head_len, length, "the body is exactly Content-Length bytes");
}

fn check_switching_protocols(bytes: &[u8], protocol: Option<&str>) {
    let mut headers = [httparse::EMPTY_HEADER; 8];
    let mut parsed = httparse::Response::new(&mut headers);
    assert!(matches!(parsed.parse(bytes), Ok(httparse::Status::Complete(n)) if n == bytes.len()));
    assert_eq!(parsed.code, Some(101));
    let echoed = parsed.headers.iter().find(|h| h.name.eq_ignore_ascii_case("sec-websocket-protocol"));
    assert_eq!(echoed.map(|h| h.value), protocol.map(str::as_bytes));
}

/// An interceptor's rejection built from `data` (status, then header name and
/// value, then body, split at the first two zero bytes): the response must stay
/// well-formed whatever the interceptor put in it.
pub fn rejection(data: &[u8]) {
    let Some((status, rest)) = data.split_first_chunk::<2>() else { return };
    let Ok(status) = StatusCode::from_u16(u16::from_be_bytes(*status) % 1000) else { return };
    let mut parts = rest.splitn(3, |&b| b == 0);
    let name = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let value = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let body = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let rejection = Rejection::new(status).header(&name, &value).body(body);
    check_response(&upgrade::rejection_response(&rejection));
}

/// The frame decoder on `data`, as client bytes after a handshake. The first
/// byte picks the read size and the delivery mode; every decoded item must
/// respect the limits.
pub fn frames(data: &[u8]) {
    let Some((&control, input)) = data.split_first() else { return };
    let step = usize::from(control & 0x7f) + 1;
    let limits = DecoderLimits { max_frame_size: 300, max_text_message_size: 1000, max_binary_message_size: 500 };
    let mut decoder = FrameDecoder::new(control & 0x80 != 0);
    let mut buf = BytesMut::new();
    let mut needed = 0;
    for chunk in input.chunks(step) {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf, &limits, &mut needed) {
                Ok(Some(decoded)) => check_decoded(&decoded, &limits),
                Ok(None) => {
                    assert!(needed <= limits.max_frame_size.max(125) + 14, "never asks to buffer past a limit");
                    break;
                }
                Err(violation) => {
                    assert!(matches!(violation.status.code(), 1002 | 1007 | 1009), "{:?}", violation.status);
                    return;
                }
            }
        }
    }
}

fn check_decoded(decoded: &Decoded, limits: &DecoderLimits) {
    match decoded {
        Decoded::Message(message) | Decoded::Fragment(message, _) => {
            let limit = if matches!(message, Message::Text(_)) {
                limits.max_text_message_size
            } else {
                limits.max_binary_message_size
            };
            assert!(message.len() <= limit, "a message over its limit was delivered");
        }
        Decoded::Ping(payload) | Decoded::Pong(payload) => assert!(payload.len() <= 125),
        Decoded::Close(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs worth keeping: a few valid handshakes and the edge cases found while
    /// fuzzing. Each entry is fed to every target.
    const REGRESSIONS: &[&[u8]] = &[
        b"\x00GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
          Origin: https://x.example.com\r\nSec-WebSocket-Protocol: chat.v1, chat.v2\r\n\r\n",
        b"\x07GET /rooms/caf%C3%A9/users/%FF?token=a+b%zz HTTP/1.1\nHost: a\nUpgrade: websocket\n\
          Connection: upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n",
        b"\xff\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n",
        // Found by the `rejection` target: a rejection with status 304 (0x0130) and
        // a body, which a 304 must not carry. So must a 204 (0x00cc) not.
        b"\x01\x30\xcb\x97\x97\xff\xef\xff\xff\x2d\xaa\xaa\xaa\x02\x00\x00\x00\x00\x68\x68\x01\x00\x00\x00\
          \x63\x6f\x67\x69\x6e\x6e\x00\x2f\x6c\x2d\x00\x6e\x00",
        b"\x00\xccX-Reason\0no content\0but a body",
    ];

    #[test]
    fn regression_inputs_pass_every_target() {
        for input in REGRESSIONS {
            handshake(input);
            rejection(input);
            frames(input);
        }
    }

    #[test]
    fn the_fuzzed_registry_is_valid() {
        assert_eq!(router().routes().count(), 4);
    }
}
