//! Which browser origins may open a session (RFC 6455 §10.2).

use http::HeaderMap;

/// A route's origin policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OriginPolicy {
    /// The `Origin` must name the same host and port as the request's `Host`
    /// (Spring's default). Requests without `Origin` (non-browser clients) pass.
    SameOrigin,
    /// Any origin.
    Any,
    /// Exact values or `*` patterns such as `https://*.example.com`. Requests
    /// without `Origin` pass.
    List(Vec<String>),
}

impl OriginPolicy {
    pub(crate) fn new(allowed: Option<&[String]>) -> Self {
        match allowed {
            None => OriginPolicy::SameOrigin,
            Some(list) if list.iter().any(|o| o == "*") => OriginPolicy::Any,
            Some(list) => OriginPolicy::List(list.iter().map(|o| o.to_ascii_lowercase()).collect()),
        }
    }

    /// `Ok` if the request may proceed, or the offending origin.
    pub(crate) fn check<'h>(&self, headers: &'h HeaderMap) -> Result<(), &'h str> {
        let Some(origin) = headers.get(http::header::ORIGIN) else { return Ok(()) };
        let origin = origin.to_str().unwrap_or("");
        let allowed = match self {
            OriginPolicy::Any => true,
            OriginPolicy::SameOrigin => {
                let host = headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
                same_authority(origin, host)
            }
            OriginPolicy::List(patterns) => {
                let origin = origin.to_ascii_lowercase();
                patterns.iter().any(|p| glob_match(p, &origin))
            }
        };
        if allowed { Ok(()) } else { Err(origin) }
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

/// `*` matches any run of characters (at least one); everything else is literal.
fn glob_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, rest)) => {
            let Some(after) = text.strip_prefix(prefix) else { return false };
            (1..=after.len()).any(|i| after.is_char_boundary(i) && glob_match(rest, &after[i..]))
        }
    }
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

    #[test]
    fn same_origin_by_default() {
        let policy = OriginPolicy::new(None);
        assert!(policy.check(&headers(None, "example.com")).is_ok());
        assert!(policy.check(&headers(Some("https://example.com"), "example.com:443")).is_ok());
        assert!(policy.check(&headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080")).is_ok());
        assert_eq!(policy.check(&headers(Some("https://evil.com"), "example.com")), Err("https://evil.com"));
        assert!(policy.check(&headers(Some("http://example.com:81"), "example.com")).is_err());
        assert!(policy.check(&headers(Some("null"), "example.com")).is_err());
    }

    #[test]
    fn listed_origins_and_patterns() {
        let policy = OriginPolicy::new(Some(&["https://*.example.com".into(), "https://app.test".into()]));
        assert!(policy.check(&headers(Some("https://a.example.com"), "x")).is_ok());
        assert!(policy.check(&headers(Some("HTTPS://App.Test"), "x")).is_ok());
        assert!(policy.check(&headers(Some("https://example.com"), "x")).is_err());
        assert!(policy.check(&headers(Some("https://a.example.com.evil"), "x")).is_err());
        assert!(OriginPolicy::new(Some(&["*".into()])).check(&headers(Some("https://any"), "x")).is_ok());
    }
}
