//! [`TokenTable`]: which bearer token belongs to which user, read from
//! `NAME:TOKEN` pairs, and where a handshake may carry a token.

use std::collections::HashMap;
use std::fmt;

use wsboot_core::HandshakeRequest;

/// The users and their tokens. Tokens are secrets: they are never logged and
/// `Debug` shows only the user names.
#[derive(Clone, Default)]
pub struct TokenTable {
    by_token: HashMap<String, String>,
}

/// Why a `NAME:TOKEN` pair was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError(String);

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TokenError {}

impl TokenTable {
    /// An empty table: every token is refused.
    pub fn new() -> Self {
        TokenTable::default()
    }

    /// Reads `NAME:TOKEN` pairs, e.g. `alice:s3cret`. A token has the syntax
    /// of an OAuth bearer token (RFC 6750 §2.1: letters, digits and
    /// `-._~+/`, then optional `=` padding) and belongs to one user only.
    pub fn parse<I, S>(pairs: I) -> Result<Self, TokenError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut table = TokenTable::new();
        for pair in pairs {
            let pair = pair.as_ref();
            let (name, token) = pair
                .split_once(':')
                .ok_or_else(|| TokenError(format!("`{}` is not NAME:TOKEN, e.g. alice:s3cret", redact(pair))))?;
            table.insert(name, token)?;
        }
        Ok(table)
    }

    /// Adds `token` for user `name`.
    pub fn insert(&mut self, name: &str, token: &str) -> Result<(), TokenError> {
        if name.trim().is_empty() || name.chars().any(char::is_control) {
            return Err(TokenError(format!("the user name of token `{}` is empty", redact(token))));
        }
        if !is_b64token(token) {
            return Err(TokenError(format!(
                "the token of `{name}` is not a bearer token: use letters, digits and -._~+/ (then optional `=`)"
            )));
        }
        if let Some(owner) = self.by_token.get(token) {
            if owner != name {
                return Err(TokenError(format!("`{owner}` and `{name}` have the same token: give each their own")));
            }
        }
        self.by_token.insert(token.to_owned(), name.to_owned());
        Ok(())
    }

    /// The user a token belongs to.
    pub fn user(&self, token: &str) -> Option<&str> {
        self.by_token.get(token).map(String::as_str)
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.by_token.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty()
    }
}

impl fmt::Debug for TokenTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut users: Vec<&str> = self.by_token.values().map(String::as_str).collect();
        users.sort_unstable();
        f.debug_struct("TokenTable").field("users", &users).finish()
    }
}

/// A token's first characters, enough to recognise it in an error message.
fn redact(secret: &str) -> String {
    let shown: String = secret.chars().take(2).collect();
    format!("{shown}…")
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && body.chars().all(|c| c.is_ascii_alphanumeric() || "-._~+/".contains(c))
}

/// Where a handshake carried the token that authenticated it. Kept in the
/// session's attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `Authorization: Bearer TOKEN`.
    Header,
    /// `?access_token=TOKEN`.
    Query,
    /// Offered as one of the `Sec-WebSocket-Protocol` values.
    Subprotocol,
}

/// What a handshake presented.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Presented<'t> {
    /// A token the table knows: the user and where it was.
    Valid { user: &'t str, source: TokenSource },
    /// A token the table does not know.
    Invalid,
    /// No token at all.
    Missing,
}

/// Finds the token a handshake presents, looking at the `Authorization`
/// header, then the `access_token` query parameter, then the offered
/// subprotocols. The first of the first two that is present decides (RFC 6750
/// §2: a client uses one method); an offered subprotocol counts only if it is a
/// known token, since the others are the application's protocols.
pub(crate) fn presented<'t>(table: &'t TokenTable, request: &HandshakeRequest) -> Presented<'t> {
    let lookup = |token: &str, source| match table.user(token) {
        Some(user) => Presented::Valid { user, source },
        None => Presented::Invalid,
    };
    let authorization = request.headers().get_all(http::header::AUTHORIZATION).iter().find_map(|value| {
        let value = value.to_str().ok()?.trim();
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    if let Some(token) = authorization {
        return lookup(token, TokenSource::Header);
    }
    if let Some(token) = request.query_param("access_token") {
        return lookup(&token, TokenSource::Query);
    }
    let offered = request
        .headers()
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim);
    for protocol in offered {
        if let Some(user) = table.user(protocol) {
            return Presented::Valid { user, source: TokenSource::Subprotocol };
        }
    }
    Presented::Missing
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue, Method, Uri};
    use wsboot_core::PathParams;

    use super::*;

    fn request(uri: &'static str, headers: &[(&'static str, &'static str)]) -> HandshakeRequest {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, HeaderValue::from_static(value));
        }
        HandshakeRequest::new(
            Method::GET,
            Uri::from_static(uri),
            map,
            "127.0.0.1:1".parse().unwrap(),
            PathParams::default(),
        )
    }

    fn table() -> TokenTable {
        TokenTable::parse(["alice:s3cret", "bob:hunter2"]).unwrap()
    }

    #[test]
    fn pairs_are_checked() {
        assert_eq!(table().user("s3cret"), Some("alice"));
        assert_eq!(table().len(), 2);
        assert!(TokenTable::parse(["alice"]).unwrap_err().to_string().contains("is not NAME:TOKEN"));
        assert!(TokenTable::parse([":x"]).unwrap_err().to_string().contains("user name"));
        assert!(TokenTable::parse(["a:has space"]).unwrap_err().to_string().contains("not a bearer token"));
        assert!(TokenTable::parse(["a:"]).is_err());
        let twice = TokenTable::parse(["a:same", "b:same"]).unwrap_err().to_string();
        assert!(twice.contains("same token"), "{twice}");
        assert!(TokenTable::parse(["a:abc+/=="]).is_ok());
        let debug = format!("{:?}", table());
        assert!(debug.contains("alice") && !debug.contains("s3cret"), "{debug}");
    }

    #[test]
    fn every_place_a_token_may_be() {
        let table = table();
        let valid = |user, source| Presented::Valid { user, source };
        let header = request("/secure", &[("authorization", "Bearer s3cret")]);
        assert_eq!(presented(&table, &header), valid("alice", TokenSource::Header));
        let lower = request("/secure", &[("authorization", "bearer hunter2")]);
        assert_eq!(presented(&table, &lower), valid("bob", TokenSource::Header));
        let query = request("/secure?x=1&access_token=s3cret", &[]);
        assert_eq!(presented(&table, &query), valid("alice", TokenSource::Query));
        let offered = request("/secure", &[("sec-websocket-protocol", "secure.v1, s3cret")]);
        assert_eq!(presented(&table, &offered), valid("alice", TokenSource::Subprotocol));
        assert_eq!(presented(&table, &request("/secure", &[("authorization", "Bearer nope")])), Presented::Invalid);
        assert_eq!(presented(&table, &request("/secure", &[("authorization", "Basic YTpi")])), Presented::Missing);
        assert_eq!(presented(&table, &request("/secure?access_token=nope", &[])), Presented::Invalid);
        let app_protocol_only = request("/secure", &[("sec-websocket-protocol", "secure.v1")]);
        assert_eq!(presented(&table, &app_protocol_only), Presented::Missing);
        // The header decides when both are present.
        let both = request("/secure?access_token=s3cret", &[("authorization", "Bearer nope")]);
        assert_eq!(presented(&table, &both), Presented::Invalid);
    }
}
