//! Destinations: which prefix a destination has (application, broker, user),
//! and patterns with variables (`/chat.{room}`) that application handlers are
//! mapped to.

use std::collections::HashMap;

/// The destination prefixes of an endpoint, as Spring configures them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefixes {
    /// Destinations the application handles (default `/app`).
    pub application: Vec<String>,
    /// Destinations the broker fans out (default `/topic` and `/queue`).
    pub broker: Vec<String>,
    /// User destinations (default `/user`): `/user/queue/x` is user X's own
    /// `/queue/x`, on every session of that user.
    pub user: String,
}

impl Default for Prefixes {
    fn default() -> Self {
        Prefixes {
            application: vec!["/app".to_owned()],
            broker: vec!["/topic".to_owned(), "/queue".to_owned()],
            user: "/user".to_owned(),
        }
    }
}

/// What a destination is, by its prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind<'a> {
    /// For the application: the destination without its prefix
    /// (`/app/chat.lobby` → `/chat.lobby`).
    Application(&'a str),
    /// For the broker, as is.
    Broker,
    /// A user destination: the broker destination it stands for
    /// (`/user/queue/x` → `/queue/x`).
    User(&'a str),
    /// None of the prefixes.
    Unknown,
}

/// Whether `destination` is `prefix` itself or starts with `prefix/` (or
/// with `prefix` when it ends in `/`).
fn strip<'a>(destination: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = destination.strip_prefix(prefix)?;
    if rest.is_empty() || rest.starts_with('/') || prefix.ends_with('/') { Some(rest) } else { None }
}

impl Prefixes {
    /// What `destination` is.
    pub fn kind<'a>(&self, destination: &'a str) -> Kind<'a> {
        if let Some(rest) = strip(destination, &self.user) {
            if self.is_broker(rest) {
                return Kind::User(rest);
            }
        }
        if let Some(rest) = self.application.iter().find_map(|p| strip(destination, p)) {
            return Kind::Application(rest);
        }
        if self.is_broker(destination) { Kind::Broker } else { Kind::Unknown }
    }

    /// Whether `destination` starts with a broker prefix.
    pub fn is_broker(&self, destination: &str) -> bool {
        self.broker.iter().any(|p| strip(destination, p).is_some())
    }

    /// The destination a user's session subscribes to for `destination`
    /// sent to that user (`/queue/x` → `/user/queue/x`).
    pub fn user_destination(&self, destination: &str) -> String {
        format!("{}{destination}", self.user.trim_end_matches('/'))
    }

    /// Where a handler's answer goes by default: the first broker prefix and
    /// the application destination (`/chat.lobby` → `/topic/chat.lobby`).
    pub fn default_reply(&self, application_destination: &str) -> String {
        let broker = self.broker.first().map_or("/topic", String::as_str);
        format!("{}{application_destination}", broker.trim_end_matches('/'))
    }
}

/// A destination pattern: literal text and `{name}` variables, each matching
/// one or more characters other than `/` (Spring's `.`-separated
/// destinations match as a whole: `/chat.{room}` matches `/chat.lobby`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Variable(String),
}

impl Pattern {
    /// Parses `pattern`.
    ///
    /// # Errors
    /// A message naming the problem: an unclosed or empty `{}`, a variable
    /// twice, or two variables with nothing between them.
    pub fn parse(pattern: &str) -> Result<Pattern, String> {
        let mut parts = Vec::new();
        let mut rest = pattern;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let close = rest[open..].find('}').ok_or_else(|| format!("`{pattern}`: a `{{` is not closed"))? + open;
            let name = &rest[open + 1..close];
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(format!("`{pattern}`: `{{{name}}}` is not a variable name (letters, digits, `_`)"));
            }
            if matches!(parts.last(), Some(Part::Variable(_))) {
                return Err(format!("`{pattern}`: two variables need text between them"));
            }
            if parts.iter().any(|p| matches!(p, Part::Variable(n) if n == name)) {
                return Err(format!("`{pattern}`: the variable `{name}` appears twice"));
            }
            parts.push(Part::Variable(name.to_owned()));
            rest = &rest[close + 1..];
        }
        if rest.contains('}') {
            return Err(format!("`{pattern}`: a `}}` without its `{{`"));
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(Pattern { source: pattern.to_owned(), parts })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The variables of `destination`, if it matches.
    pub fn matches(&self, destination: &str) -> Option<HashMap<String, String>> {
        let mut vars = HashMap::new();
        let mut rest = destination;
        let mut parts = self.parts.iter().peekable();
        while let Some(part) = parts.next() {
            match part {
                Part::Literal(text) => rest = rest.strip_prefix(text.as_str())?,
                Part::Variable(name) => {
                    // Up to the next literal (or the end), and not across a `/`.
                    let end = match parts.peek() {
                        Some(Part::Literal(next)) => rest.find(next.as_str())?,
                        _ => rest.len(),
                    };
                    let value = &rest[..end];
                    if value.is_empty() || value.contains('/') {
                        return None;
                    }
                    vars.insert(name.clone(), value.to_owned());
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty().then_some(vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_told_apart_by_prefix() {
        let prefixes = Prefixes::default();
        assert_eq!(prefixes.kind("/app/chat.lobby"), Kind::Application("/chat.lobby"));
        assert_eq!(prefixes.kind("/topic/chat.lobby"), Kind::Broker);
        assert_eq!(prefixes.kind("/queue/a"), Kind::Broker);
        assert_eq!(prefixes.kind("/user/queue/errors"), Kind::User("/queue/errors"));
        assert_eq!(prefixes.kind("/user/other"), Kind::Unknown);
        assert_eq!(prefixes.kind("/topical"), Kind::Unknown, "a prefix ends at a /");
        assert_eq!(prefixes.kind("/elsewhere"), Kind::Unknown);
        assert_eq!(prefixes.user_destination("/queue/x"), "/user/queue/x");
        assert_eq!(prefixes.default_reply("/chat.lobby"), "/topic/chat.lobby");
    }

    #[test]
    fn patterns_bind_variables() {
        let pattern = Pattern::parse("/chat.{room}").unwrap();
        assert_eq!(pattern.matches("/chat.lobby").unwrap()["room"], "lobby");
        assert!(pattern.matches("/chat.").is_none());
        assert!(pattern.matches("/chat.a/b").is_none());
        let two = Pattern::parse("/rooms/{room}/say.{kind}").unwrap();
        let vars = two.matches("/rooms/r1/say.loud").unwrap();
        assert_eq!((vars["room"].as_str(), vars["kind"].as_str()), ("r1", "loud"));
        assert!(Pattern::parse("/plain").unwrap().matches("/plain").unwrap().is_empty());
        assert!(Pattern::parse("/plain").unwrap().matches("/plainer").is_none());
        for bad in ["/a{", "/a{}", "/{a}{b}", "/{a}.{a}", "/a}", "/{a-b}"] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }
}
