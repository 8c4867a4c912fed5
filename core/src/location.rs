//! [`SourceLocation`]: where in the program something was registered.

use std::fmt;
use std::panic::Location;

/// A place in the program's source (where a handler, page or plugin was
/// registered), for startup errors and route listings.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceLocation {
    /// Source file.
    pub file: &'static str,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
}

impl SourceLocation {
    pub(crate) fn from_caller(location: &'static Location<'static>) -> Self {
        SourceLocation { file: location.file(), line: location.line(), column: location.column() }
    }

    /// The location of the call to the `#[track_caller]` function this is
    /// called from (or of this call).
    #[track_caller]
    pub fn caller() -> Self {
        SourceLocation::from_caller(Location::caller())
    }
}

impl fmt::Debug for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}
