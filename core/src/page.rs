//! [`Page`]: a plain HTTP resource (a web page, its script, a status report)
//! served by the same listener as the WebSocket routes, so that an app such as a
//! chat ships its own web page without a second server.

use std::fmt;
use std::panic::Location;
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;

use crate::location::SourceLocation;
use crate::route::RoutePattern;

/// Where a page's body comes from.
#[derive(Clone)]
pub enum PageBody {
    /// The same bytes for every request (an embedded page or script). Served with
    /// an `ETag`, so a browser revalidates it with a `304 Not Modified`.
    Static(Bytes),
    /// Made afresh for every request (a status or metrics report).
    Generated(Arc<dyn Fn() -> Bytes + Send + Sync>),
}

impl fmt::Debug for PageBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageBody::Static(bytes) => write!(f, "Static({} bytes)", bytes.len()),
            PageBody::Generated(_) => f.write_str("Generated"),
        }
    }
}

/// A plain HTTP resource at one exact path, answered for `GET` and `HEAD`
/// (`405` for other methods) by the listener that serves the WebSocket routes.
///
/// A page and a WebSocket handler may share a path: a request that asks for a
/// WebSocket upgrade goes to the handler, any other request gets the page.
///
/// ```
/// use wsboot_core::HandlerRegistry;
///
/// let mut registry = HandlerRegistry::new();
/// registry.add_page("/", "text/html; charset=utf-8", "<!doctype html><title>Chat</title>");
/// registry.add_page("/app.js", "text/javascript", &b"console.log('hi')"[..]).cache_control("max-age=3600");
/// assert!(registry.validate().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct Page {
    path: String,
    content_type: String,
    body: PageBody,
    cache_control: Option<String>,
    location: SourceLocation,
}

impl Page {
    /// A page whose body never changes. `body` is typically `&'static str` or
    /// `&'static [u8]` from `include_str!`/`include_bytes!` (served without a copy).
    #[track_caller]
    pub fn new(path: &str, content_type: &str, body: impl Into<Bytes>) -> Self {
        Page::with_body(path, content_type, PageBody::Static(body.into()), Location::caller())
    }

    /// A page whose body `make` builds for each request.
    #[track_caller]
    pub fn generated<F>(path: &str, content_type: &str, make: F) -> Self
    where
        F: Fn() -> Bytes + Send + Sync + 'static,
    {
        Page::with_body(path, content_type, PageBody::Generated(Arc::new(make)), Location::caller())
    }

    fn with_body(path: &str, content_type: &str, body: PageBody, location: &'static Location<'static>) -> Self {
        Page {
            path: path.to_owned(),
            content_type: content_type.to_owned(),
            body,
            cache_control: None,
            location: SourceLocation::from_caller(location),
        }
    }

    /// Sets the `Cache-Control` header. Default: `no-cache` for a static body
    /// (the browser revalidates with its `ETag`, a cheap `304`, so a new build is
    /// seen at once) and `no-store` for a generated one.
    pub fn cache_control(&mut self, value: &str) -> &mut Self {
        self.cache_control = Some(value.to_owned());
        self
    }

    /// The path, exactly as requested (the query string is ignored).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The `Content-Type` it is served with.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The body.
    pub fn body(&self) -> &PageBody {
        &self.body
    }

    /// The `Cache-Control` it is served with (the default unless set).
    pub fn cache_control_value(&self) -> &str {
        match (&self.cache_control, &self.body) {
            (Some(value), _) => value,
            (None, PageBody::Static(_)) => "no-cache",
            (None, PageBody::Generated(_)) => "no-store",
        }
    }

    /// Where the page was added.
    pub fn location(&self) -> SourceLocation {
        self.location
    }

    /// What is wrong with this page's path or headers, if anything.
    pub(crate) fn problem(&self) -> Option<String> {
        let at = self.location;
        match RoutePattern::parse(&self.path) {
            Err(error) => return Some(format!("invalid page path (added at {at}): {error}")),
            Ok(pattern) if !pattern.is_static() => {
                return Some(format!(
                    "page path `{}` (added at {at}) has a parameter: a page is served at one exact path",
                    self.path
                ));
            }
            Ok(_) => {}
        }
        let headers = [("Content-Type", Some(&self.content_type)), ("Cache-Control", self.cache_control.as_ref())];
        for (name, value) in headers {
            let Some(value) = value else { continue };
            if value.is_empty() || HeaderValue::from_str(value).is_err() {
                return Some(format!("page `{}` (added at {at}) has an invalid {name} {value:?}", self.path));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_problems() {
        let page = Page::new("/", "text/html", "<p>hi</p>");
        assert_eq!(page.cache_control_value(), "no-cache");
        assert!(page.problem().is_none());
        assert!(page.location().file.ends_with("page.rs"));

        let generated = Page::generated("/status", "text/plain", || Bytes::from_static(b"ok"));
        assert_eq!(generated.cache_control_value(), "no-store");

        let problem = Page::new("/rooms/{room}", "text/html", "").problem().unwrap();
        assert!(problem.contains("one exact path"), "{problem}");
        let problem = Page::new("index.html", "text/html", "").problem().unwrap();
        assert!(problem.contains("must start with `/`"), "{problem}");
        let problem = Page::new("/", "text/html\r\nX: y", "").problem().unwrap();
        assert!(problem.contains("invalid Content-Type"), "{problem}");
    }
}
