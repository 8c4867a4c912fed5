//! [`HandlerFactory`]: how sessions get their handler instance.

use std::fmt;
use std::sync::Arc;

use crate::context::AppContext;
use crate::error::Error;
use crate::handler::SharedHandler;

type BuildFn = dyn Fn(&AppContext) -> Result<HandlerFactory, Error> + Send + Sync;

/// How sessions get their handler instance.
#[derive(Clone)]
pub enum HandlerFactory {
    /// One instance shared by every session (the default, Spring's singleton bean).
    Shared(SharedHandler),
    /// A fresh instance per session (Spring's `PerConnectionWebSocketHandler`).
    PerConnection(Arc<dyn Fn() -> SharedHandler + Send + Sync>),
    /// Built when the server starts, from the application context: a
    /// `#[ws_handler]` factory fn (whose parameters are beans) or
    /// [`HandlerRegistry::add_handler_with`](crate::HandlerRegistry::add_handler_with).
    /// [`HandlerRegistry::resolve`](crate::HandlerRegistry::resolve) turns it
    /// into one of the other two.
    FromContext(ContextFactory),
}

/// A handler factory that needs the application context: what
/// [`HandlerFactory::FromContext`] holds until the server starts.
#[derive(Clone)]
pub struct ContextFactory {
    build: Arc<BuildFn>,
    per_connection: bool,
}

impl ContextFactory {
    /// A factory that `build`s a [`Shared`](HandlerFactory::Shared) or
    /// [`PerConnection`](HandlerFactory::PerConnection) factory from the
    /// context, as `per_connection` says; its error names what is missing.
    pub fn new(
        per_connection: bool,
        build: impl Fn(&AppContext) -> Result<HandlerFactory, Error> + Send + Sync + 'static,
    ) -> Self {
        ContextFactory { build: Arc::new(build), per_connection }
    }

    /// Builds the factory sessions use.
    pub fn build(&self, context: &AppContext) -> Result<HandlerFactory, Error> {
        (self.build)(context)
    }
}

impl HandlerFactory {
    /// The handler for a new session.
    ///
    /// # Panics
    /// For a [`FromContext`](Self::FromContext) factory, which has no handler
    /// before the server [resolves](crate::HandlerRegistry::resolve) it.
    pub fn handler_for_session(&self) -> SharedHandler {
        match self {
            HandlerFactory::Shared(handler) => handler.clone(),
            HandlerFactory::PerConnection(make) => make(),
            HandlerFactory::FromContext(_) => {
                panic!("this handler is built when the server starts: call `HandlerRegistry::resolve` first")
            }
        }
    }

    /// Whether each session gets its own instance.
    pub fn is_per_connection(&self) -> bool {
        match self {
            HandlerFactory::Shared(_) => false,
            HandlerFactory::PerConnection(_) => true,
            HandlerFactory::FromContext(factory) => factory.per_connection,
        }
    }

    /// The address of the shared handler or of the factory, to tell whether a
    /// plugin replaced it.
    pub(super) fn identity(&self) -> *const () {
        match self {
            HandlerFactory::Shared(handler) => Arc::as_ptr(handler) as *const (),
            HandlerFactory::PerConnection(make) => Arc::as_ptr(make) as *const (),
            HandlerFactory::FromContext(factory) => Arc::as_ptr(&factory.build) as *const (),
        }
    }
}

impl fmt::Debug for HandlerFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_per_connection() { "PerConnection" } else { "Shared" })
    }
}

impl fmt::Debug for ContextFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextFactory").field("per_connection", &self.per_connection).finish()
    }
}
