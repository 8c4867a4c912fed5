//! [`RegistrationSource`]: how a handler or a plugin came to be part of a
//! server, for startup errors and route listings.

use std::fmt;

use crate::location::SourceLocation;

/// How a handler or a plugin came to be part of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationSource {
    /// An attribute (`#[ws_handler]`, `#[ws_plugin]`) on a type or factory function.
    Annotated {
        /// The attribute's name, e.g. `ws_handler`.
        attribute: &'static str,
        /// The type or factory function.
        type_name: &'static str,
        /// Where the attribute is.
        location: SourceLocation,
    },
    /// A call in code: `HandlerRegistry::add_handler` and friends, `ServerBuilder::plugin`.
    Programmatic {
        /// The type.
        type_name: &'static str,
        /// Where the call is.
        location: SourceLocation,
    },
}

impl RegistrationSource {
    /// The type (or factory function) name.
    pub fn type_name(&self) -> &'static str {
        match self {
            RegistrationSource::Annotated { type_name, .. } | RegistrationSource::Programmatic { type_name, .. } => {
                type_name
            }
        }
    }

    /// Where it was registered.
    pub fn location(&self) -> SourceLocation {
        match self {
            RegistrationSource::Annotated { location, .. } | RegistrationSource::Programmatic { location, .. } => {
                *location
            }
        }
    }
}

impl fmt::Display for RegistrationSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistrationSource::Annotated { attribute, type_name, location } => {
                write!(f, "`{type_name}` (#[{attribute}] at {location})")
            }
            RegistrationSource::Programmatic { type_name, location } => {
                write!(f, "`{type_name}` (added at {location})")
            }
        }
    }
}
