//! The one error type of wsboot.

use std::fmt;

use crate::close_status::CloseStatus;

/// Any error a handler may return: `?` works on every `std::error::Error`, and
/// `"text".into()` makes one from a message.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a handler callback returns. `Err` goes to
/// [`handle_transport_error`](crate::WebSocketHandler::handle_transport_error) and
/// then closes the session with 1011 ([`CloseStatus::SERVER_ERROR`]).
pub type HandlerResult = Result<(), BoxError>;

/// A wsboot error: an opaque value with a [`kind`](Error::kind) to match on and a
/// message that names the problem.
#[derive(thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
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
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), source: None }
    }

    /// An error of `kind` with a message and the underlying cause.
    pub fn with_source(kind: ErrorKind, message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error { kind, message: message.into(), source: Some(source.into()) }
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

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
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
