//! Route patterns such as `/rooms/{room}`: parsing (shared by the `#[ws_handler]`
//! macro, which checks literals at compile time, and the runtime) and matching.

use std::fmt;

/// A parsed handler path: literal segments and `{name}` parameters.
///
/// Rules (the same at compile time and at startup):
/// - starts with `/`; `/` alone is the root;
/// - no empty segments (`//`, or a trailing `/` after a segment);
/// - no `?`, `#`, whitespace or control characters (the query string is not part
///   of the route);
/// - a parameter is a whole segment `{name}`, where `name` is an identifier
///   (`[A-Za-z_][A-Za-z0-9_]*`), unique within the path.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RoutePattern {
    source: String,
    segments: Vec<Segment>,
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
enum Segment {
    Literal(String),
    Param(String),
}

/// Why a path is not a valid route pattern; [`help`](RoutePatternError::help)
/// says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePatternError {
    message: String,
    help: String,
}

impl RoutePatternError {
    fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        RoutePatternError { message: message.into(), help: help.into() }
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What to write instead.
    pub fn help(&self) -> &str {
        &self.help
    }
}

impl fmt::Display for RoutePatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (help: {})", self.message, self.help)
    }
}

impl std::error::Error for RoutePatternError {}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl RoutePattern {
    /// Parses and validates a path.
    pub fn parse(path: &str) -> Result<Self, RoutePatternError> {
        if !path.starts_with('/') {
            return Err(RoutePatternError::new(
                format!("handler path `{path}` must start with `/`"),
                format!("write \"/{}\"", path.trim_start_matches('/')),
            ));
        }
        if let Some(bad) = path.chars().find(|c| c.is_whitespace() || c.is_control() || *c == '?' || *c == '#') {
            return Err(RoutePatternError::new(
                format!("handler path `{path}` contains {bad:?}, which cannot appear in a route"),
                "a route is the path alone: leave out query strings, fragments and spaces",
            ));
        }
        let mut segments = Vec::new();
        if path != "/" {
            for raw in path[1..].split('/') {
                segments.push(Self::parse_segment(path, raw)?);
            }
        }
        let mut seen = Vec::new();
        for segment in &segments {
            if let Segment::Param(name) = segment {
                if seen.contains(&name) {
                    return Err(RoutePatternError::new(
                        format!("path parameter `{{{name}}}` appears twice in `{path}`"),
                        "give each parameter its own name, e.g. \"/{a}/{b}\"",
                    ));
                }
                seen.push(name);
            }
        }
        Ok(RoutePattern { source: path.to_owned(), segments })
    }

    fn parse_segment(path: &str, raw: &str) -> Result<Segment, RoutePatternError> {
        if raw.is_empty() {
            return Err(RoutePatternError::new(
                format!("handler path `{path}` has an empty segment"),
                format!(
                    "remove the extra `/`: \"/{}\"",
                    path.split('/').filter(|s| !s.is_empty()).collect::<Vec<_>>().join("/")
                ),
            ));
        }
        let has_braces = raw.contains('{') || raw.contains('}');
        if !has_braces {
            return Ok(Segment::Literal(raw.to_owned()));
        }
        match raw.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) if is_identifier(name) => Ok(Segment::Param(name.to_owned())),
            Some("") => Err(RoutePatternError::new(
                format!("path parameter in `{path}` has no name"),
                "name the parameter, e.g. \"/rooms/{room}\"",
            )),
            Some(name) => Err(RoutePatternError::new(
                format!("path parameter `{{{name}}}` in `{path}` is not an identifier"),
                "a parameter name is letters, digits and `_`, not starting with a digit, e.g. \"{room_id}\"",
            )),
            None => Err(RoutePatternError::new(
                format!("malformed segment `{raw}` in `{path}`: a parameter must be a whole segment `{{name}}`"),
                "write the parameter as its own segment, e.g. \"/rooms/{room}\"",
            )),
        }
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern has no parameters (it matches exactly one path).
    pub fn is_static(&self) -> bool {
        self.segments.iter().all(|s| matches!(s, Segment::Literal(_)))
    }

    /// The parameter names, in order.
    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// Number of literal segments: the more, the more specific the route.
    pub fn specificity(&self) -> usize {
        self.segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count()
    }

    /// Matches a request path (without its query); on success returns the
    /// parameters as `(name, raw value)` pairs. Values are still percent-encoded.
    pub fn matches<'p>(&self, path: &'p str) -> Option<Vec<(&str, &'p str)>> {
        let rest = path.strip_prefix('/')?;
        if self.segments.is_empty() {
            return rest.is_empty().then(Vec::new);
        }
        let mut params = Vec::new();
        let mut parts = rest.split('/');
        for segment in &self.segments {
            let part = parts.next()?;
            match segment {
                Segment::Literal(literal) if literal == part => {}
                Segment::Literal(_) => return None,
                Segment::Param(_) if part.is_empty() => return None,
                Segment::Param(name) => params.push((name.as_str(), part)),
            }
        }
        parts.next().is_none().then_some(params)
    }

    /// Whether two patterns would match exactly the same paths (the same literals
    /// with parameters in the same places): registering both is ambiguous.
    pub fn conflicts_with(&self, other: &RoutePattern) -> bool {
        self.segments.len() == other.segments.len()
            && self.segments.iter().zip(&other.segments).all(|pair| match pair {
                (Segment::Literal(a), Segment::Literal(b)) => a == b,
                (Segment::Param(_), Segment::Param(_)) => true,
                _ => false,
            })
    }
}

impl fmt::Debug for RoutePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoutePattern({:?})", self.source)
    }
}

impl fmt::Display for RoutePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_patterns_parse() {
        for path in ["/", "/myHandler", "/rooms/{room}", "/a/{x}/b/{y_2}"] {
            RoutePattern::parse(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }

    #[test]
    fn invalid_patterns_explain_the_fix() {
        let cases = [
            ("myHandler", "must start with `/`"),
            ("/a//b", "empty segment"),
            ("/a/", "empty segment"),
            ("/a?x=1", "cannot appear"),
            ("/rooms/{}", "no name"),
            ("/rooms/{1x}", "not an identifier"),
            ("/rooms/x{room}", "whole segment"),
            ("/rooms/{room", "whole segment"),
            ("/{a}/{a}", "appears twice"),
        ];
        for (path, expected) in cases {
            let err = RoutePattern::parse(path).expect_err(path);
            assert!(err.message().contains(expected), "{path}: {err}");
            assert!(!err.help().is_empty());
        }
    }

    #[test]
    fn matching_extracts_parameters() {
        let pattern = RoutePattern::parse("/rooms/{room}/users/{user}").unwrap();
        assert_eq!(pattern.matches("/rooms/42/users/ann"), Some(vec![("room", "42"), ("user", "ann")]));
        assert_eq!(pattern.matches("/rooms/42/users"), None);
        assert_eq!(pattern.matches("/rooms//users/ann"), None);
        assert_eq!(pattern.matches("/rooms/42/users/ann/x"), None);
        let root = RoutePattern::parse("/").unwrap();
        assert_eq!(root.matches("/"), Some(vec![]));
        assert_eq!(root.matches("/x"), None);
    }

    #[test]
    fn same_shape_conflicts() {
        let a = RoutePattern::parse("/rooms/{room}").unwrap();
        let b = RoutePattern::parse("/rooms/{id}").unwrap();
        let c = RoutePattern::parse("/rooms/lobby").unwrap();
        assert!(a.conflicts_with(&b));
        assert!(!a.conflicts_with(&c));
    }
}
