//! [`HandlerFactory`]: how sessions get their handler instance.

use std::fmt;
use std::sync::Arc;

use crate::handler::SharedHandler;

/// How sessions get their handler instance.
#[derive(Clone)]
pub enum HandlerFactory {
    /// One instance shared by every session (the default, Spring's singleton bean).
    Shared(SharedHandler),
    /// A fresh instance per session (Spring's `PerConnectionWebSocketHandler`).
    PerConnection(Arc<dyn Fn() -> SharedHandler + Send + Sync>),
}

impl HandlerFactory {
    /// The handler for a new session.
    pub fn handler_for_session(&self) -> SharedHandler {
        match self {
            HandlerFactory::Shared(handler) => handler.clone(),
            HandlerFactory::PerConnection(make) => make(),
        }
    }

    /// Whether each session gets its own instance.
    pub fn is_per_connection(&self) -> bool {
        matches!(self, HandlerFactory::PerConnection(_))
    }

    /// The address of the shared handler or of the factory, to tell whether a
    /// plugin replaced it.
    pub(super) fn identity(&self) -> *const () {
        match self {
            HandlerFactory::Shared(handler) => Arc::as_ptr(handler) as *const (),
            HandlerFactory::PerConnection(make) => Arc::as_ptr(make) as *const (),
        }
    }
}

impl fmt::Debug for HandlerFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_per_connection() { "PerConnection" } else { "Shared" })
    }
}
