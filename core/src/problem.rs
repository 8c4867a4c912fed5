//! [`ConfigProblem`]: one thing wrong with a configuration. A configuration
//! [`Error`](crate::Error) lists every problem found, each kept apart, so that a
//! tool can show each next to its setting while people read them all at once.

use std::fmt;

/// One thing wrong with a server's configuration: what is wrong, the setting
/// it concerns (if it concerns one) and where the faulty value was written (if
/// it came from a file or a variable).
///
/// ```
/// use wsboot_core::ConfigProblem;
///
/// let problem = ConfigProblem::new("must be at least 1 byte").with_key("limits.max_frame_size").with_location("app.toml");
/// assert_eq!(problem.to_string(), "app.toml: `limits.max_frame_size` must be at least 1 byte");
/// assert_eq!(problem.key(), Some("limits.max_frame_size"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    message: String,
    key: Option<String>,
    location: Option<String>,
}

impl ConfigProblem {
    /// A problem described by `message`. With a [key](Self::with_key), the message
    /// says what is wrong with that setting without naming it
    /// ("must be at least 1 byte"); without one, it is a sentence of its own.
    pub fn new(message: impl Into<String>) -> Self {
        ConfigProblem { message: message.into(), key: None, location: None }
    }

    /// The setting concerned, e.g. `limits.max_frame_size`; shown before the
    /// message, in backquotes.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Where the faulty value was written: a file name, an environment variable.
    pub fn with_location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// What is wrong (without the key and the location).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The setting concerned, if the problem concerns one.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// Where the faulty value was written, if known.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "`{key}` ")?;
        }
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_joins_location_key_and_message() {
        assert_eq!(ConfigProblem::new("two handlers for `/a`").to_string(), "two handlers for `/a`");
        assert_eq!(
            ConfigProblem::new("must be 1 or more").with_key("limits.x").to_string(),
            "`limits.x` must be 1 or more"
        );
        let located = ConfigProblem::new("unknown setting `nope`").with_location("WSBOOT_NOPE");
        assert_eq!(located.to_string(), "WSBOOT_NOPE: unknown setting `nope`");
        assert_eq!((located.key(), located.location()), (None, Some("WSBOOT_NOPE")));
    }

    #[test]
    fn the_registry_reports_each_problem_apart() {
        struct Silent;
        impl crate::WebSocketHandler for Silent {}
        let mut registry = crate::HandlerRegistry::new();
        registry.add_handler("nope", Silent);
        registry.add_handler("/x", Silent);
        registry.add_handler("/x", Silent);
        let error = registry.validate().unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Config);
        let problems = error.problems();
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].message().contains("must start with `/`"), "{problems:#?}");
        assert!(problems[1].message().starts_with("two handlers for path `/x`"), "{problems:#?}");
        assert!(!problems[1].message().contains("; "), "{problems:#?}");
    }
}
