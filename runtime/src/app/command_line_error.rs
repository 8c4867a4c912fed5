//! [`CommandLineError`]: why an application's command line gave no options,
//! `--help` included, typed so that `main` can tell a request for help from a
//! mistake without reading the message.

use std::fmt;

/// Why [`AppOptions::parse`](super::AppOptions::parse) returned no options:
/// `--help` was asked for, or an argument is wrong. It displays what to print:
/// the usage for `--help`; else what is wrong, followed by the usage when the
/// argument is not an option at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLineError {
    kind: CommandLineErrorKind,
    argument: String,
    message: String,
    usage: String,
}

/// The category of a [`CommandLineError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandLineErrorKind {
    /// `-h` or `--help`: not a mistake; print the usage and exit successfully.
    Help,
    /// An argument that is not an option (`serve`), or an option nobody
    /// declared (`--port`).
    UnknownArgument,
    /// An option that may be given once, given twice.
    Repeated,
    /// A value given to a switch (`--deflate=yes`).
    UnexpectedValue,
    /// An option without its value (`--addr` last).
    MissingValue,
    /// An address (`--addr`, or `WSBOOT_ADDR`) that is not `HOST:PORT`.
    InvalidAddr,
}

impl CommandLineError {
    pub(super) fn new(kind: CommandLineErrorKind, argument: &str, message: String, usage: String) -> Self {
        CommandLineError { kind, argument: argument.to_owned(), message, usage }
    }

    /// The category of the error.
    pub fn kind(&self) -> CommandLineErrorKind {
        self.kind
    }

    /// The argument concerned, as written (`serve`, `--port`, `-h`); `--addr`
    /// for an invalid address, wherever it came from.
    pub fn argument(&self) -> &str {
        &self.argument
    }

    /// The `--help` text, which lists every option.
    pub fn usage(&self) -> &str {
        &self.usage
    }

    /// The status to exit with: 0 after `--help`, 2 (the usual status of a
    /// command-line mistake) otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.kind == CommandLineErrorKind::Help { 0 } else { 2 }
    }
}

impl fmt::Display for CommandLineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            CommandLineErrorKind::Help => f.write_str(&self.usage),
            CommandLineErrorKind::UnknownArgument => write!(f, "{}\n\n{}", self.message, self.usage),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for CommandLineError {}
