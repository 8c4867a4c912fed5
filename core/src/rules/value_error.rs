//! [`OptionValueError`]: why a declared value breaks its rule, and what to write
//! instead, kept apart so that the macro can put the help on its own line.

use std::fmt;

/// Why a declared value (an allowed origin, a subprotocol) can never work;
/// [`help`](Self::help) says what to write instead.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionValueError {
    message: String,
    help: String,
}

impl OptionValueError {
    pub(crate) fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        OptionValueError { message: message.into(), help: help.into() }
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

impl fmt::Display for OptionValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (help: {})", self.message, self.help)
    }
}

impl std::error::Error for OptionValueError {}
