//! Plain HTTP for the [`Page`]s registered beside the WebSocket routes: `GET`
//! and `HEAD` at an exact path, `ETag` revalidation for fixed bodies, `405`
//! for other methods.

use std::collections::HashMap;

use http::{Method, StatusCode, header};
use wsboot_core::{HandlerRegistry, Page, PageBody};

use crate::http1::{RequestHead, Response};

/// The pages of a server by path, resolved once at startup.
#[derive(Debug, Default)]
pub(crate) struct Pages {
    by_path: HashMap<String, ServedPage>,
}

#[derive(Debug)]
struct ServedPage {
    page: Page,
    /// A strong validator for a fixed body.
    etag: Option<String>,
}

impl Pages {
    /// The registry's pages (already validated: one per path).
    pub(crate) fn new(registry: &HandlerRegistry) -> Self {
        let by_path = registry
            .pages()
            .map(|page| {
                let etag = match page.body() {
                    PageBody::Static(body) => Some(format!("\"{:016x}-{:x}\"", fnv1a(body), body.len())),
                    PageBody::Generated(_) => None,
                };
                (page.path().to_owned(), ServedPage { page: page.clone(), etag })
            })
            .collect();
        Pages { by_path }
    }

    /// Every page path, sorted, for listings.
    pub(crate) fn paths(&self) -> Vec<&str> {
        let mut paths: Vec<&str> = self.by_path.keys().map(String::as_str).collect();
        paths.sort_unstable();
        paths
    }

    /// The answer to `head` if it is for a page: a request for a page's path,
    /// unless it asks for a WebSocket upgrade on a path that also has a handler
    /// (`has_handler`), which goes to the handler.
    pub(crate) fn answer(&self, head: &RequestHead, has_handler: bool) -> Option<Response> {
        let served = self.by_path.get(head.uri.path())?;
        if has_handler && head.headers.contains_key(header::UPGRADE) {
            return None;
        }
        Some(served.respond(head))
    }
}

impl ServedPage {
    fn respond(&self, head: &RequestHead) -> Response {
        let page = &self.page;
        if head.method != Method::GET && head.method != Method::HEAD {
            let body = format!("{} serves GET and HEAD, not {}", page.path(), head.method);
            return Response::text(StatusCode::METHOD_NOT_ALLOWED, body).header("Allow", "GET, HEAD");
        }
        let fresh = match (&self.etag, head.headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok())) {
            (Some(etag), Some(wanted)) => wanted.split(',').map(str::trim).any(|tag| {
                // Weak comparison (RFC 9110 §13.1.2): `W/"x"` matches `"x"`.
                tag == "*" || tag.trim_start_matches("W/") == etag
            }),
            _ => false,
        };
        let body = match page.body() {
            PageBody::Static(body) => body.clone(),
            PageBody::Generated(make) => make(),
        };
        let status = if fresh { StatusCode::NOT_MODIFIED } else { StatusCode::OK };
        let mut response = Response::bytes(status, page.content_type(), body)
            .header("Cache-Control", page.cache_control_value())
            .header("X-Content-Type-Options", "nosniff");
        if let Some(etag) = &self.etag {
            response = response.header("ETag", etag.clone());
        }
        if head.method == Method::HEAD { response.head_only() } else { response }
    }
}

/// FNV-1a: a stable 64-bit hash, enough to tell two builds of a page apart.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;

    fn head(request: &str) -> RequestHead {
        crate::http1::parse_head(&mut BytesMut::from(request), 32).unwrap().unwrap()
    }

    fn answer(pages: &Pages, request: &str) -> String {
        let response = pages.answer(&head(request), false).expect("a page answers");
        String::from_utf8(response.encode()).unwrap()
    }

    fn pages() -> Pages {
        let mut registry = HandlerRegistry::new();
        registry.add_page("/", "text/html; charset=utf-8", "<h1>hi</h1>");
        registry.push_page(Page::generated("/n", "text/plain", || bytes::Bytes::from("42")));
        Pages::new(&registry)
    }

    #[test]
    fn get_head_and_other_methods() {
        let pages = pages();
        let get = answer(&pages, "GET /?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(get.starts_with("HTTP/1.1 200 OK\r\n"), "{get}");
        assert!(get.contains("Content-Type: text/html; charset=utf-8\r\nContent-Length: 11\r\n"), "{get}");
        assert!(get.contains("Cache-Control: no-cache\r\n") && get.contains("ETag: \""), "{get}");
        assert!(get.ends_with("\r\n\r\n<h1>hi</h1>"), "{get}");

        let head_only = answer(&pages, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(head_only.contains("Content-Length: 11\r\n") && head_only.ends_with("\r\n\r\n"), "{head_only}");

        let post = answer(&pages, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
        assert!(post.starts_with("HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"), "{post}");

        let generated = answer(&pages, "GET /n HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(generated.contains("Cache-Control: no-store\r\n") && !generated.contains("ETag"), "{generated}");
        assert!(generated.ends_with("\r\n\r\n42"), "{generated}");

        assert!(pages.answer(&head("GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n"), false).is_none());
    }

    #[test]
    fn a_matching_etag_answers_304_without_a_body() {
        let pages = pages();
        let first = answer(&pages, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        let etag = first.lines().find_map(|l| l.strip_prefix("ETag: ")).unwrap().to_owned();
        let again = answer(&pages, &format!("GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"old\", W/{etag}\r\n\r\n"));
        assert!(again.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{again}");
        assert!(!again.contains("Content-Length") && again.ends_with("Connection: close\r\n\r\n"), "{again}");
        let stale = answer(&pages, "GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"old\"\r\n\r\n");
        assert!(stale.starts_with("HTTP/1.1 200 OK\r\n"), "{stale}");
    }

    #[test]
    fn an_upgrade_goes_to_the_handler_sharing_the_path() {
        let pages = pages();
        let upgrade = head("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        assert!(pages.answer(&upgrade, true).is_none());
        assert!(pages.answer(&upgrade, false).is_some());
        assert_eq!(pages.paths(), ["/", "/n"]);
    }
}
