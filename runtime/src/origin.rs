//! Which browser origins may open a session (RFC 6455 §10.2).
//!
//! Only browsers send `Origin`, and they always send it on a WebSocket handshake;
//! a request without one comes from some other client, which could claim any
//! origin anyway, so it passes. The policy protects users' browsers from pages of
//! other sites (cross-site WebSocket hijacking), not the server from clients.

use http::HeaderMap;
use wsboot_core::__runtime::{OptionValueError, check_allowed_origin};
use wsboot_core::{Error, ErrorKind, HandlerRegistration};

/// A route's origin policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OriginPolicy {
    /// The `Origin` must name the same host and port as the request's `Host`
    /// (Spring's default).
    SameOrigin,
    /// Any origin.
    Any,
    /// Exact values or `*` patterns such as `https://*.example.com`, lowercase.
    List(Vec<String>),
}

impl OriginPolicy {
    /// The policy for a handler's `allowed_origins` (`None`: same-origin), or why
    /// one of the values can never match an `Origin` header: the rule
    /// `#[ws_handler]` checks at compile time.
    pub(crate) fn new(allowed: Option<&[String]>) -> Result<Self, OptionValueError> {
        let Some(list) = allowed else { return Ok(OriginPolicy::SameOrigin) };
        for origin in list {
            check_allowed_origin(origin)?;
        }
        if list.iter().any(|o| o == "*") {
            return Ok(OriginPolicy::Any);
        }
        Ok(OriginPolicy::List(list.iter().map(|o| o.to_ascii_lowercase()).collect()))
    }

    /// The policy of a registered handler; the error names the handler and the value.
    pub(crate) fn for_handler(registration: &HandlerRegistration) -> Result<Self, Error> {
        OriginPolicy::new(registration.options().allowed_origins.as_deref())
            .map_err(|e| Error::new(ErrorKind::Config, format!("{}: {e}", registration.source())))
    }

    /// `Ok` if the request may proceed, or the offending origin. Every `Origin`
    /// header must pass (a browser sends exactly one).
    pub(crate) fn check<'h>(&self, headers: &'h HeaderMap) -> Result<(), &'h str> {
        for origin in headers.get_all(http::header::ORIGIN) {
            // Not visible ASCII: no browser sends that, and nothing can match it.
            let origin = origin.to_str().map_err(|_| "(not ASCII)")?;
            if !self.allows(origin, headers) {
                return Err(origin);
            }
        }
        Ok(())
    }

    fn allows(&self, origin: &str, headers: &HeaderMap) -> bool {
        match self {
            OriginPolicy::Any => true,
            OriginPolicy::SameOrigin => {
                let host = headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
                same_authority(origin, host)
            }
            OriginPolicy::List(patterns) => {
                let origin = origin.to_ascii_lowercase();
                patterns.iter().any(|p| glob_match(p.as_bytes(), origin.as_bytes()))
            }
        }
    }
}

/// Whether `origin` (`scheme://host[:port]`) names the authority in `host`,
/// treating an omitted port as the scheme's default.
fn same_authority(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else { return false };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => "80",
        "https" | "wss" => "443",
        _ => return false,
    };
    let split = |authority: &str| {
        let authority = authority.to_ascii_lowercase();
        if let Some(i) = authority.rfind(':') {
            let (host, port) = (&authority[..i], &authority[i + 1..]);
            // `[::1]` has colons but no port: only digits after a closing bracket count.
            let bracketed_ok = !authority.starts_with('[') || host.ends_with(']');
            if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && bracketed_ok {
                return (host.to_owned(), port.to_owned());
            }
        }
        (authority, default_port.to_owned())
    };
    !host.is_empty() && split(authority) == split(host)
}

/// Whether `text` matches `pattern`, where `*` matches one or more characters
/// and everything else is literal.
///
/// The usual wildcard matcher that backtracks only to the last `*`: time
/// proportional to `pattern.len() * text.len()` at worst, whatever the patterns,
/// where trying every split recursively would be exponential in the number of
/// `*` on a long, attacker-chosen `Origin`.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // After the last `*` seen: where the pattern resumes, and where in the text
    // that `*`'s match currently ends.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                // The `*` takes its one mandatory character, then as few more as possible.
                t += 1;
                p += 1;
                star = Some((p, t));
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // Let the last `*` take one more character and retry from there.
                Some((resume, end)) => {
                    star = Some((resume, end + 1));
                    p = resume;
                    t = end + 1;
                }
                None => return false,
            },
        }
    }
    p == pattern.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(http::header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    fn list(origins: &[&str]) -> OriginPolicy {
        OriginPolicy::new(Some(&origins.iter().map(|o| o.to_string()).collect::<Vec<_>>())).unwrap()
    }

    #[test]
    fn same_origin_by_default() {
        let policy = OriginPolicy::new(None).unwrap();
        assert!(policy.check(&headers(None, "example.com")).is_ok());
        assert!(policy.check(&headers(Some("https://example.com"), "example.com:443")).is_ok());
        assert!(policy.check(&headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080")).is_ok());
        assert!(policy.check(&headers(Some("http://[::1]:8080"), "[::1]:8080")).is_ok());
        assert_eq!(policy.check(&headers(Some("https://evil.com"), "example.com")), Err("https://evil.com"));
        assert!(policy.check(&headers(Some("http://example.com:81"), "example.com")).is_err());
        assert!(policy.check(&headers(Some("null"), "example.com")).is_err());
        assert!(policy.check(&headers(Some("ftp://example.com"), "example.com")).is_err());
    }

    #[test]
    fn listed_origins_and_patterns() {
        let policy = list(&["https://*.example.com", "https://app.test"]);
        assert!(policy.check(&headers(Some("https://a.example.com"), "x")).is_ok());
        assert!(policy.check(&headers(Some("https://a.b.example.com"), "x")).is_ok());
        assert!(policy.check(&headers(Some("HTTPS://App.Test"), "x")).is_ok());
        assert!(policy.check(&headers(Some("https://example.com"), "x")).is_err());
        assert!(policy.check(&headers(Some("https://.example.com"), "x")).is_err(), "`*` takes at least one character");
        assert!(policy.check(&headers(Some("https://a.example.com.evil"), "x")).is_err());
        assert!(policy.check(&headers(Some("http://a.example.com"), "x")).is_err());
        assert!(list(&["*"]).check(&headers(Some("https://any"), "x")).is_ok());
        assert!(list(&[]).check(&headers(Some("https://any"), "x")).is_err());
        assert!(list(&[]).check(&headers(None, "x")).is_ok());
    }

    #[test]
    fn every_origin_header_must_pass() {
        let mut h = headers(Some("https://app.test"), "x");
        h.append(http::header::ORIGIN, "https://evil.test".parse().unwrap());
        assert_eq!(list(&["https://app.test"]).check(&h), Err("https://evil.test"));
    }

    #[test]
    fn glob_semantics() {
        let m = |p: &str, t: &str| glob_match(p.as_bytes(), t.as_bytes());
        assert!(m("a*c", "abc"));
        assert!(m("a*c", "abbbc"));
        assert!(!m("a*c", "ac"), "`*` takes at least one character");
        assert!(m("*", "x"));
        assert!(!m("*", ""));
        assert!(m("a*b*c", "axxbyyc"));
        assert!(m("a*b*c", "abbbbc"));
        assert!(!m("a*b*c", "abc"));
        assert!(m("*a", "aaa"));
        assert!(!m("abc", "abcd"));
        assert!(!m("abcd", "abc"));
    }

    #[test]
    fn many_stars_on_a_long_origin_stay_fast() {
        // Recursive splitting would try ~n^7 ways here.
        let text = format!("https://{}", "a".repeat(16 << 10));
        assert!(!glob_match(b"https://*a*a*a*a*a*a*b", text.as_bytes()));
    }

    #[test]
    fn configured_origins_are_checked() {
        let bad = |o: &str| OriginPolicy::new(Some(&[o.to_owned()])).unwrap_err().to_string();
        assert!(bad("https://app.example/").contains("write \"https://app.example\""), "{}", bad("https://a/"));
        assert!(bad("app.example").contains("write \"https://app.example\""));
        assert!(bad("").contains("empty"));
        assert!(bad("https://app example").contains("whitespace"));
        assert!(bad("https://").contains("no host"));
        for ok in ["*", "null", "https://*.example.com", "http://localhost:8080", "https://[::1]:443"] {
            assert!(OriginPolicy::new(Some(&[ok.to_owned()])).is_ok(), "{ok}");
        }
    }
}
