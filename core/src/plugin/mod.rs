//! [`RegistryPlugin`]: extends a server from outside its handlers (Spring's
//! `WebSocketConfigurer` and `WebSocketHandlerDecoratorFactory`, with Rocket
//! fairings' clarity about when each hook runs).

mod ad_hoc;
mod annotations;
#[cfg(test)]
mod tests;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub use self::ad_hoc::AdHocPlugin;
pub use self::annotations::{PluginDescriptor, annotated_plugins};
use crate::background::Background;
use crate::context::AppContext;
use crate::error::BoxError;
use crate::future::BoxFuture;
use crate::handler::SharedHandler;
use crate::hub::Hub;
use crate::registry::HandlerRegistry;

/// What a plugin's [`on_start`](RegistryPlugin::on_start) learns about the
/// server that is starting, and what it may use from then on: the application
/// context (beans and hub) and a spawner for background tasks.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerInfo {
    /// The address the server listens on.
    pub local_addr: SocketAddr,
    /// The route patterns served, e.g. `/rooms/{room}`, sorted.
    pub routes: Vec<String>,
    /// The application context: the beans, and the hub to publish through.
    pub context: AppContext,
    /// Starts tasks the server cancels and awaits when it shuts down.
    pub background: Background,
}

impl ServerInfo {
    /// Information about a server bound to `local_addr`, serving `routes`,
    /// with an empty context and no executor for background tasks (see
    /// [`with_context`](Self::with_context)).
    pub fn new(local_addr: SocketAddr, routes: Vec<String>) -> Self {
        ServerInfo { local_addr, routes, context: AppContext::default(), background: Background::default() }
    }

    /// The same, with the server's context and background spawner.
    pub fn with_context(mut self, context: AppContext, background: Background) -> Self {
        self.context = context;
        self.background = background;
        self
    }

    /// The application context (beans and hub).
    pub fn context(&self) -> &AppContext {
        &self.context
    }

    /// The server's hub, to publish from a background task.
    pub fn hub(&self) -> &Hub {
        self.context.hub()
    }
}

/// Extends a server: registers or changes handlers, wraps them, and takes part
/// in startup and shutdown. Every hook but [`name`](Self::name) does nothing by
/// default.
///
/// A plugin has a name and four hooks, each a no-op by default:
///
/// | hook | when | what for |
/// |---|---|---|
/// | [`configure`](Self::configure) | once, before the routes are built | add, remove or re-route handlers; add interceptors, origins, limits, decorators |
/// | [`decorate`](Self::decorate) | for every handler, after every `configure` | wrap the handler (metrics, auditing, tracing) |
/// | [`on_start`](Self::on_start) | after the listener is bound, before the first connection is accepted | connect to brokers, start background tasks ([`ServerInfo::background`]); an error stops the server from starting |
/// | [`on_shutdown`](Self::on_shutdown) | last, after every session ended | flush, disconnect, report |
///
/// Register a plugin with `#[ws_plugin]` (at link time, like `#[ws_handler]`),
/// with `ServerBuilder::plugin`, or, for a single hook, as an [`AdHocPlugin`].
/// A `#[ws_plugin]` factory fn may take beans as parameters, like a handler
/// factory (see [`FromContext`](crate::FromContext)): that is how a plugin's
/// interceptors get a token store or a pool.
///
/// # Order
///
/// Plugins run in one fixed order, whatever the link order:
///
/// 1. `#[ws_plugin]` plugins, by their `order` option (ascending, default 0),
///    then by type path (`my_crate::auth::TokenAuth`);
/// 2. then plugins given to `ServerBuilder::plugin`, in the order of the calls,
///    so an application's own plugins have the last word.
///
/// Every `configure` runs in that order, each seeing the registry as the
/// previous plugins left it; interceptors a plugin adds run after the handler's
/// own and after those of earlier plugins. Then, for each handler, every
/// `decorate` in that order, each wrapping the result of the previous one: the
/// last plugin's decorator is outermost and sees events first. The built-in
/// decorators wrap the result. `on_start` runs in order,
/// `on_shutdown` in reverse order, as for a stack.
///
/// A plugin may be asked to decorate more than once per handler (for a
/// per-connection handler: once when the server starts, to learn whether it
/// decorates that path, then for each session's instance), so `decorate` should
/// only wrap, not count or connect.
///
///
/// # Example
///
/// ```
/// use wsboot_core::{
///     BoxError, HandlerDecorator, HandlerRegistry, RegistryPlugin, SharedHandler, WebSocketHandler, decorate,
/// };
///
/// /// Serves a health endpoint and logs every handler's events.
/// struct Health;
///
/// struct Ping;
/// impl WebSocketHandler for Ping {}
///
/// struct Audit;
/// impl HandlerDecorator for Audit {}
///
/// impl RegistryPlugin for Health {
///     fn name(&self) -> &str {
///         "health"
///     }
///
///     fn configure(&self, registry: &mut HandlerRegistry) -> Result<(), BoxError> {
///         registry.add_handler("/health", Ping).allowed_origins(["*"]);
///         Ok(())
///     }
///
///     fn decorate(&self, _path: &str, handler: SharedHandler) -> SharedHandler {
///         decorate(handler, Audit)
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a registry plugin",
    label = "`{Self}` does not implement `wsboot::RegistryPlugin`",
    note = "add `impl wsboot::RegistryPlugin for {Self} {{ fn name(&self) -> &str {{ \"...\" }} }}` and override the hooks you need"
)]
pub trait RegistryPlugin: Send + Sync + 'static {
    /// The plugin's name, for route listings, logs and errors. Two plugins of
    /// one server may not share a name.
    fn name(&self) -> &str;

    /// Changes the registry before the routes are built (Spring's
    /// `registerWebSocketHandlers`): add handlers with
    /// [`HandlerRegistry::add_handler`], remove them, move them with
    /// [`HandlerRegistration::set_path`](crate::HandlerRegistration::set_path),
    /// or change their options through [`HandlerRegistry::iter_mut`]. What a
    /// plugin changes is recorded for the route listing.
    ///
    /// An `Err` stops the server from starting, with an error naming the plugin.
    fn configure(&self, registry: &mut HandlerRegistry) -> Result<(), BoxError> {
        let _ = registry;
        Ok(())
    }

    /// Wraps the handler at `path` (the route pattern, e.g. `/rooms/{room}`);
    /// returning `handler` unchanged leaves it alone. Use
    /// [`decorate`](crate::decorate) with a
    /// [`HandlerDecorator`](crate::HandlerDecorator) to build the
    /// wrapper (Spring's `WebSocketHandlerDecoratorFactory`).
    fn decorate(&self, path: &str, handler: SharedHandler) -> SharedHandler {
        let _ = path;
        handler
    }

    /// The server is bound and about to accept connections. An `Err` stops it
    /// from starting: plugins already started are shut down, in reverse order,
    /// and binding fails with an error naming this plugin.
    fn on_start(&self, server: &ServerInfo) -> impl Future<Output = Result<(), BoxError>> + Send {
        let _ = server;
        async { Ok(()) }
    }

    /// The server has stopped: no session is open any more (or the shutdown
    /// deadline passed). The last thing a server does.
    fn on_shutdown(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// The object-safe form of [`RegistryPlugin`], implemented for every plugin.
#[doc(hidden)]
pub trait ErasedPlugin: Send + Sync + 'static {
    fn name(&self) -> &str;
    fn configure(&self, registry: &mut HandlerRegistry) -> Result<(), BoxError>;
    fn decorate(&self, path: &str, handler: SharedHandler) -> SharedHandler;
    fn on_start<'a>(&'a self, server: &'a ServerInfo) -> BoxFuture<'a, Result<(), BoxError>>;
    fn on_shutdown(&self) -> BoxFuture<'_, ()>;
    fn type_name(&self) -> &'static str;
}

impl<P: RegistryPlugin> ErasedPlugin for P {
    fn name(&self) -> &str {
        RegistryPlugin::name(self)
    }
    fn configure(&self, registry: &mut HandlerRegistry) -> Result<(), BoxError> {
        RegistryPlugin::configure(self, registry)
    }
    fn decorate(&self, path: &str, handler: SharedHandler) -> SharedHandler {
        RegistryPlugin::decorate(self, path, handler)
    }
    fn on_start<'a>(&'a self, server: &'a ServerInfo) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(RegistryPlugin::on_start(self, server))
    }
    fn on_shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(RegistryPlugin::on_shutdown(self))
    }
    fn type_name(&self) -> &'static str {
        std::any::type_name::<P>()
    }
}

impl fmt::Debug for dyn ErasedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin").field("name", &self.name()).field("type", &self.type_name()).finish()
    }
}

/// A plugin behind an `Arc`.
pub type SharedPlugin = Arc<dyn ErasedPlugin>;

/// Erases a plugin into a [`SharedPlugin`].
pub fn shared_plugin<P: RegistryPlugin>(plugin: P) -> SharedPlugin {
    Arc::new(plugin)
}
