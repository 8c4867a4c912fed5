//! The one error type of wsboot.

use std::fmt;

use crate::close_status::CloseStatus;
use crate::problem::ConfigProblem;

/// Any error a handler may return: `?` works on every `std::error::Error`, and
/// `"text".into()` makes one from a message.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a handler callback returns. `Err` goes to
/// [`handle_transport_error`](crate::WebSocketHandler::handle_transport_error) and
/// then closes the session with 1011 ([`CloseStatus::SERVER_ERROR`]).
pub type HandlerResult = Result<(), BoxError>;

/// A wsboot error: an opaque value with a [`kind`](Error::kind) to match on and a
/// message that names the problem.
///
/// A configuration error ([`ErrorKind::Config`]) lists every problem found,
/// each kept apart in [`problems`](Error::problems). Displayed with `{}` they
/// follow one another on one line, separated by `; `; with `{:#}`, one per line.
///
/// ```
/// use wsboot_core::{ConfigProblem, Error, ErrorKind};
///
/// let error = Error::config_with_summary(
///     "invalid settings",
///     [
///         ConfigProblem::new("must be at least 1 byte").with_key("limits.max_frame_size"),
///         ConfigProblem::new("must be longer than zero").with_key("timeouts.pong"),
///     ],
/// );
/// assert_eq!(error.kind(), ErrorKind::Config);
/// assert_eq!(error.problems()[1].key(), Some("timeouts.pong"));
/// assert_eq!(
///     error.to_string(),
///     "invalid settings: `limits.max_frame_size` must be at least 1 byte; `timeouts.pong` must be longer than zero"
/// );
/// assert_eq!(
///     format!("{error:#}"),
///     "invalid settings:\n  - `limits.max_frame_size` must be at least 1 byte\n  - `timeouts.pong` must be longer than zero"
/// );
/// ```
pub struct Error {
    kind: ErrorKind,
    /// The whole message, or for a configuration error the summary printed
    /// before its problems (possibly empty).
    message: String,
    /// Empty unless the kind is `Config`.
    problems: Box<[ConfigProblem]>,
    source: Option<BoxError>,
}

/// The category of an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The session is closed (or closing): nothing more can be sent.
    Closed,
    /// `try_send` found the session's outbound queue full.
    QueueFull,
    /// A handler callback returned an error or panicked.
    Handler,
    /// The peer broke RFC 6455; the session closed with the given status.
    Protocol,
    /// A message exceeded a size limit.
    TooBig,
    /// A socket read or write failed.
    Io,
    /// A timeout expired (handshake, pong, idle or send).
    Timeout,
    /// The server's configuration is invalid (bad path, duplicate route, bad value).
    Config,
    /// A plugin's hook failed (`configure` or `on_start`); the message names
    /// the plugin.
    Plugin,
}

impl Error {
    /// An error of `kind` with a message. For [`ErrorKind::Config`] the message
    /// is the error's one [problem](Error::problems).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error::build(kind, message.into(), None)
    }

    /// An error of `kind` with a message and the underlying cause.
    pub fn with_source(kind: ErrorKind, message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::build(kind, message.into(), Some(source.into()))
    }

    fn build(kind: ErrorKind, message: String, source: Option<BoxError>) -> Self {
        if kind == ErrorKind::Config {
            Error { kind, message: String::new(), problems: Box::new([ConfigProblem::new(message)]), source }
        } else {
            Error { kind, message, problems: Box::default(), source }
        }
    }

    /// A configuration error listing `problems`, each kept apart.
    pub fn config(problems: impl IntoIterator<Item = ConfigProblem>) -> Self {
        Error::config_with_summary(String::new(), problems)
    }

    /// A configuration error listing `problems` after a `summary` that says
    /// what they are problems of, e.g. "invalid settings".
    pub fn config_with_summary(summary: impl Into<String>, problems: impl IntoIterator<Item = ConfigProblem>) -> Self {
        let mut problems: Box<[ConfigProblem]> = problems.into_iter().collect();
        if problems.is_empty() {
            // Never an error that says nothing.
            problems = Box::new([ConfigProblem::new("invalid configuration")]);
        }
        Error { kind: ErrorKind::Config, message: summary.into(), problems, source: None }
    }

    /// Every problem of a configuration error, in the order found; empty for
    /// the other kinds.
    pub fn problems(&self) -> &[ConfigProblem] {
        &self.problems
    }

    /// The category of the error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The close status a session ends with because of this error.
    pub fn close_status(&self) -> CloseStatus {
        match self.kind {
            ErrorKind::Protocol => CloseStatus::PROTOCOL_ERROR,
            ErrorKind::TooBig => CloseStatus::TOO_BIG_TO_PROCESS,
            ErrorKind::Io | ErrorKind::Closed => CloseStatus::NO_CLOSE_FRAME,
            ErrorKind::Timeout => CloseStatus::GOING_AWAY,
            ErrorKind::QueueFull => CloseStatus::SESSION_NOT_RELIABLE,
            ErrorKind::Handler | ErrorKind::Config | ErrorKind::Plugin => CloseStatus::SERVER_ERROR,
        }
    }

    pub(crate) fn closed() -> Self {
        Error::new(ErrorKind::Closed, "the session is closed")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.problems.is_empty() {
            return f.write_str(&self.message);
        }
        let summary = if self.message.is_empty() && self.problems.len() > 1 && f.alternate() {
            "configuration problems"
        } else {
            &self.message
        };
        if !summary.is_empty() {
            write!(f, "{summary}:")?;
        }
        if f.alternate() && self.problems.len() > 1 {
            for problem in &self.problems {
                write!(f, "\n  - {problem}")?;
            }
            return Ok(());
        }
        for (i, problem) in self.problems.iter().enumerate() {
            let separator = match i {
                0 if summary.is_empty() => "",
                0 => " ",
                _ => "; ",
            };
            write!(f, "{separator}{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|source| source as &(dyn std::error::Error + 'static))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if !self.problems.is_empty() {
            d.field("problems", &self.problems);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::with_source(ErrorKind::Io, format!("i/o error: {err}"), err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_problems_stay_apart() {
        let error = Error::config([ConfigProblem::new("first"), ConfigProblem::new("second")]);
        let messages: Vec<&str> = error.problems().iter().map(ConfigProblem::message).collect();
        assert_eq!(messages, ["first", "second"]);
        assert_eq!(error.to_string(), "first; second");
        assert_eq!(format!("{error:#}"), "configuration problems:\n  - first\n  - second");
    }

    #[test]
    fn a_config_error_made_with_new_is_one_problem() {
        let error = Error::new(ErrorKind::Config, "bad path");
        assert_eq!(error.problems(), [ConfigProblem::new("bad path")]);
        assert_eq!((error.to_string(), format!("{error:#}")), ("bad path".to_owned(), "bad path".to_owned()));
        let single = Error::config_with_summary("invalid settings", [ConfigProblem::new("x").with_key("k")]);
        assert_eq!(format!("{single:#}"), "invalid settings: `k` x");
        assert!(Error::new(ErrorKind::Io, "reset").problems().is_empty());
        assert_eq!(Error::config([]).to_string(), "invalid configuration");
    }

    #[test]
    fn the_source_is_kept() {
        let io = std::io::Error::other("reset");
        let error = Error::from(io);
        assert_eq!(std::error::Error::source(&error).map(ToString::to_string).as_deref(), Some("reset"));
    }
}
