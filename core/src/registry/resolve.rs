//! Handlers built from the application context when the server starts:
//! [`HandlerRegistry::add_handler_with`] in code, and
//! [`HandlerRegistry::resolve`], which builds them (and those of
//! `#[ws_handler]` factory fns) once the context exists.

use super::{ContextFactory, HandlerFactory, HandlerRegistration, HandlerRegistry, RegistrationSource};
use crate::context::AppContext;
use crate::error::Error;
use crate::handler::{WebSocketHandler, shared_handler};
use crate::location::SourceLocation;
use crate::problem::ConfigProblem;

impl HandlerRegistry {
    /// Adds a handler built from the application context when the server
    /// starts, shared by every session at `path`: the code form of a
    /// `#[ws_handler]` factory fn with parameters. An `Err` (a missing bean,
    /// from [`AppContext::require`]) stops the server from starting, naming
    /// this registration.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use wsboot_core::{AppContext, Beans, HandlerRegistry, WebSocketHandler};
    ///
    /// struct Tokens;
    /// struct Notify { tokens: Arc<Tokens> }
    /// impl WebSocketHandler for Notify {}
    ///
    /// let mut registry = HandlerRegistry::new();
    /// registry.add_handler_with("/notify", |context: &AppContext| Ok(Notify { tokens: context.require()? }));
    /// let mut beans = Beans::new();
    /// beans.add(Tokens);
    /// registry.resolve(&AppContext::from_beans(beans).unwrap()).unwrap();
    /// assert!(registry.resolve(&AppContext::default()).is_ok(), "built once");
    /// ```
    #[track_caller]
    pub fn add_handler_with<H, F>(&mut self, path: &str, build: F) -> &mut HandlerRegistration
    where
        H: WebSocketHandler,
        F: Fn(&AppContext) -> Result<H, Error> + Send + Sync + 'static,
    {
        let source = RegistrationSource::Programmatic {
            type_name: std::any::type_name::<H>(),
            location: SourceLocation::caller(),
        };
        let factory =
            ContextFactory::new(false, move |context| Ok(HandlerFactory::Shared(shared_handler(build(context)?))));
        self.push(HandlerRegistration::new(path, HandlerFactory::FromContext(factory), source))
    }

    /// Builds every handler that waits for the application context (see
    /// [`HandlerFactory::FromContext`]); the server calls this at startup,
    /// after the plugins' `configure`. Fails with one problem per handler that
    /// could not be built, each naming the factory, the parameter and its type.
    pub fn resolve(&mut self, context: &AppContext) -> Result<(), Error> {
        let mut problems = Vec::new();
        for registration in &mut self.registrations {
            let HandlerFactory::FromContext(factory) = &registration.factory else { continue };
            match factory.build(context) {
                Ok(built) => registration.factory = built,
                Err(error) => {
                    problems.push(ConfigProblem::new(format!("handler factory {}: {error}", registration.described())))
                }
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(Error::config(problems)) }
    }
}
