//! [`RegistryPlugin`]: extends a server from outside its handlers (Spring's
//! `WebSocketConfigurer` and `WebSocketHandlerDecoratorFactory`, with Rocket
//! fairings' clarity about when each hook runs).
//!
//! A plugin has a name and four hooks, each a no-op by default:
//!
//! | hook | when | what for |
//! |---|---|---|
//! | [`configure`](RegistryPlugin::configure) | once, before the routes are built | add, remove or re-route handlers; add interceptors, origins, limits, decorators |
//! | [`decorate`](RegistryPlugin::decorate) | for every handler, after every `configure` | wrap the handler (metrics, auditing, tracing) |
//! | [`on_start`](RegistryPlugin::on_start) | after the listener is bound, before the first connection is accepted | connect to brokers, start background tasks; an error stops the server from starting |
//! | [`on_shutdown`](RegistryPlugin::on_shutdown) | last, after every session ended | flush, disconnect, report |
//!
//! Register a plugin with `#[ws_plugin]` (at link time, like `#[ws_handler]`),
//! with `ServerBuilder::plugin`, or, for a single hook, as an [`AdHocPlugin`].
//!
//! # Order
//!
//! Plugins run in one fixed order, whatever the link order:
//!
//! 1. `#[ws_plugin]` plugins, by their `order` option (ascending, default 0),
//!    then by type path (`my_crate::auth::TokenAuth`);
//! 2. then plugins given to `ServerBuilder::plugin`, in the order of the calls,
//!    so an application's own plugins have the last word.
//!
//! Every `configure` runs in that order, each seeing the registry as the
//! previous plugins left it; interceptors a plugin adds run after the handler's
//! own and after those of earlier plugins. Then, for each handler, every
//! `decorate` in that order, each wrapping the result of the previous one: the
//! last plugin's decorator is outermost and sees events first. The built-in
//! decorators ([`crate::decorator`]) wrap the result. `on_start` runs in order,
//! `on_shutdown` in reverse order, as for a stack.
//!
//! A plugin may be asked to decorate more than once per handler (for a
//! per-connection handler: once when the server starts, to learn whether it
//! decorates that path, then for each session's instance), so `decorate` should
//! only wrap, not count or connect.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::error::BoxError;
use crate::handler::SharedHandler;
use crate::handshake::BoxFuture;
use crate::registry::{HandlerRegistry, SourceLocation};

/// What a plugin's [`on_start`](RegistryPlugin::on_start) learns about the
/// server that is starting.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerInfo {
    /// The address the server listens on.
    pub local_addr: SocketAddr,
    /// The route patterns served, e.g. `/rooms/{room}`, sorted.
    pub routes: Vec<String>,
}

impl ServerInfo {
    /// Information about a server bound to `local_addr`, serving `routes`.
    pub fn new(local_addr: SocketAddr, routes: Vec<String>) -> Self {
        ServerInfo { local_addr, routes }
    }
}

/// Extends a server: registers or changes handlers, wraps them, and takes part
/// in startup and shutdown. Every hook but [`name`](Self::name) does nothing by
/// default; see the [module documentation](self) for when each runs.
///
/// ```
/// use wsboot_core::decorator::{HandlerDecorator, Next, decorate};
/// use wsboot_core::{BoxError, HandlerRegistry, RegistryPlugin, SharedHandler, WebSocketHandler};
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
    /// [`decorate`](crate::decorator::decorate) with a
    /// [`HandlerDecorator`](crate::decorator::HandlerDecorator) to build the
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

/// How a plugin came to be part of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginSource {
    /// `#[ws_plugin]` on a type or factory function.
    Annotated {
        /// The plugin type or factory function.
        type_name: &'static str,
        /// Where the attribute is.
        location: SourceLocation,
        /// Its `order` option.
        order: i32,
    },
    /// `ServerBuilder::plugin`.
    Added {
        /// The plugin type.
        type_name: &'static str,
        /// Where the call is.
        location: SourceLocation,
    },
}

impl fmt::Display for PluginSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginSource::Annotated { type_name, location, .. } => {
                write!(f, "`{type_name}` (#[ws_plugin] at {location})")
            }
            PluginSource::Added { type_name, location } => write!(f, "`{type_name}` (added at {location})"),
        }
    }
}

/// Every plugin annotated with `#[ws_plugin]` in the program, built and in the
/// documented order: by `order`, then type path (link order is unspecified;
/// this order is not).
pub fn annotated_plugins() -> Vec<(SharedPlugin, PluginSource)> {
    let mut descriptors: Vec<&PluginDescriptor> = inventory::iter::<PluginDescriptor>.into_iter().collect();
    descriptors.sort_by_key(|d| (d.order, d.type_name, d.location.file, d.location.line, d.location.column));
    descriptors
        .into_iter()
        .map(|d| {
            let source = PluginSource::Annotated { type_name: d.type_name, location: d.location, order: d.order };
            ((d.factory)(), source)
        })
        .collect()
}

/// What `#[ws_plugin]` registers at link time: plain, const-constructible data.
/// Not public API; [`annotated_plugins`] builds the plugins.
#[doc(hidden)]
#[derive(Debug)]
pub struct PluginDescriptor {
    pub type_name: &'static str,
    pub factory: fn() -> SharedPlugin,
    pub order: i32,
    pub location: SourceLocation,
}

inventory::collect!(PluginDescriptor);

type ConfigureFn = dyn Fn(&mut HandlerRegistry) -> Result<(), BoxError> + Send + Sync;
type DecorateFn = dyn Fn(&str, SharedHandler) -> SharedHandler + Send + Sync;
type StartFn = dyn Fn(ServerInfo) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync;
type ShutdownFn = dyn Fn() -> BoxFuture<'static, ()> + Send + Sync;

/// A plugin made of one closure, for small cases (Rocket's `AdHoc` fairing).
///
/// ```
/// use wsboot_core::{AdHocPlugin, HandlerRegistry};
///
/// // Every handler accepts browsers from the app's domain.
/// let origins = AdHocPlugin::configure("origins", |registry: &mut HandlerRegistry| {
///     for registration in registry.iter_mut() {
///         registration.allowed_origins(["https://*.example.com"]);
///     }
///     Ok(())
/// });
/// let started = AdHocPlugin::on_start("announce", |server| async move {
///     println!("serving {} routes on {}", server.routes.len(), server.local_addr);
///     Ok(())
/// });
/// # let _ = (origins, started);
/// ```
pub struct AdHocPlugin {
    name: String,
    hook: Hook,
}

enum Hook {
    Configure(Box<ConfigureFn>),
    Decorate(Box<DecorateFn>),
    Start(Box<StartFn>),
    Shutdown(Box<ShutdownFn>),
}

impl AdHocPlugin {
    /// A plugin whose [`configure`](RegistryPlugin::configure) is `f`.
    pub fn configure<F>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(&mut HandlerRegistry) -> Result<(), BoxError> + Send + Sync + 'static,
    {
        AdHocPlugin { name: name.into(), hook: Hook::Configure(Box::new(f)) }
    }

    /// A plugin whose [`decorate`](RegistryPlugin::decorate) is `f`.
    pub fn decorate<F>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(&str, SharedHandler) -> SharedHandler + Send + Sync + 'static,
    {
        AdHocPlugin { name: name.into(), hook: Hook::Decorate(Box::new(f)) }
    }

    /// A plugin whose [`on_start`](RegistryPlugin::on_start) is `f`.
    pub fn on_start<F, Fut>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(ServerInfo) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        AdHocPlugin { name: name.into(), hook: Hook::Start(Box::new(move |info| Box::pin(f(info)))) }
    }

    /// A plugin whose [`on_shutdown`](RegistryPlugin::on_shutdown) is `f`.
    pub fn on_shutdown<F, Fut>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        AdHocPlugin { name: name.into(), hook: Hook::Shutdown(Box::new(move || Box::pin(f()))) }
    }
}

impl fmt::Debug for AdHocPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hook = match self.hook {
            Hook::Configure(_) => "configure",
            Hook::Decorate(_) => "decorate",
            Hook::Start(_) => "on_start",
            Hook::Shutdown(_) => "on_shutdown",
        };
        f.debug_struct("AdHocPlugin").field("name", &self.name).field("hook", &hook).finish()
    }
}

impl RegistryPlugin for AdHocPlugin {
    fn name(&self) -> &str {
        &self.name
    }

    fn configure(&self, registry: &mut HandlerRegistry) -> Result<(), BoxError> {
        match &self.hook {
            Hook::Configure(f) => f(registry),
            _ => Ok(()),
        }
    }

    fn decorate(&self, path: &str, handler: SharedHandler) -> SharedHandler {
        match &self.hook {
            Hook::Decorate(f) => f(path, handler),
            _ => handler,
        }
    }

    fn on_start(&self, server: &ServerInfo) -> impl Future<Output = Result<(), BoxError>> + Send {
        let started = match &self.hook {
            Hook::Start(f) => Some(f(server.clone())),
            _ => None,
        };
        async move {
            match started {
                Some(started) => started.await,
                None => Ok(()),
            }
        }
    }

    fn on_shutdown(&self) -> impl Future<Output = ()> + Send {
        let stopped = match &self.hook {
            Hook::Shutdown(f) => Some(f()),
            _ => None,
        };
        async move {
            if let Some(stopped) = stopped {
                stopped.await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WebSocketHandler;
    use crate::decorator::HandlerDecorator;
    use crate::handshake::{HandshakeInterceptor, HandshakeRequest, Rejection};
    use crate::registry::PluginAction;

    struct Chat;
    impl WebSocketHandler for Chat {}

    struct Audit;
    impl HandlerDecorator for Audit {}

    struct Deny;
    impl HandshakeInterceptor for Deny {
        async fn before_handshake(&self, _request: &mut HandshakeRequest) -> Result<(), Rejection> {
            Err(Rejection::forbidden())
        }
    }

    fn actions(registry: &HandlerRegistry, path: &str) -> Vec<String> {
        let registration = registry.iter().find(|r| r.path() == path).expect("registered");
        registration.plugin_marks().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn configure_as_records_what_a_plugin_did() {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/chat", Chat);
        registry.add_handler("/old", Chat);
        registry.add_handler("/gone", Chat);
        registry.configure_as("auth", |registry| {
            registry.add_handler("/health", Chat);
            let chat = registry.get_mut("/chat").unwrap();
            chat.interceptor(Deny).subprotocols(["v1"]).decorator(Audit).max_message_size(10);
            registry.get_mut("/old").unwrap().set_path("/new");
            registry.remove("/gone");
        });
        assert_eq!(actions(&registry, "/health"), ["auth: added it"]);
        let chat = actions(&registry, "/chat");
        assert_eq!(chat.len(), 1, "{chat:?}");
        for change in
            ["set subprotocols [v1]", "added interceptor `", "Deny`", "added decorator `", "set max_message_size to 10"]
        {
            assert!(chat[0].contains(change), "{change} in {chat:?}");
        }
        assert_eq!(actions(&registry, "/new"), ["auth: moved it from /old"]);
        assert_eq!(registry.len(), 3);
        let health = registry.iter().find(|r| r.path() == "/health").unwrap();
        assert_eq!(health.added_by(), Some("auth"));
        assert!(health.plugin_marks()[0].action == PluginAction::Added);
    }

    #[test]
    fn a_plugin_that_changes_nothing_leaves_no_mark() {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/chat", Chat);
        registry.configure_as("idle", |registry| {
            let _ = registry.iter_mut().count();
        });
        assert!(actions(&registry, "/chat").is_empty());
    }

    #[test]
    fn conflicts_name_the_plugin_that_added_a_handler() {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/chat", Chat);
        registry.configure_as("rogue", |registry| {
            registry.add_handler("/chat", Chat);
        });
        let error = registry.validate().unwrap_err().to_string();
        assert!(error.contains("two handlers for path `/chat`"), "{error}");
        assert!(error.contains("by plugin `rogue`"), "{error}");
    }

    #[tokio::test]
    async fn ad_hoc_plugins_run_only_their_hook() {
        let configure = AdHocPlugin::configure("add", |registry: &mut HandlerRegistry| {
            registry.add_handler("/added", Chat);
            Ok(())
        });
        let mut registry = HandlerRegistry::new();
        RegistryPlugin::configure(&configure, &mut registry).unwrap();
        assert_eq!(registry.len(), 1);
        assert_eq!(RegistryPlugin::name(&configure), "add");

        let (started, mut seen) = tokio::sync::mpsc::unbounded_channel();
        let start = AdHocPlugin::on_start("start", move |info: ServerInfo| {
            let started = started.clone();
            async move {
                started.send(info.local_addr).unwrap();
                Ok(())
            }
        });
        let info = ServerInfo::new("127.0.0.1:9".parse().unwrap(), vec!["/added".into()]);
        RegistryPlugin::on_start(&start, &info).await.unwrap();
        RegistryPlugin::configure(&start, &mut registry).unwrap();
        assert_eq!(registry.len(), 1, "an on_start plugin configures nothing");
        assert_eq!(seen.try_recv().unwrap(), info.local_addr);
        RegistryPlugin::on_shutdown(&configure).await;

        let failing = AdHocPlugin::on_start("fails", |_| async { Err("redis is down".into()) });
        let error = RegistryPlugin::on_start(&failing, &info).await.unwrap_err();
        assert_eq!(error.to_string(), "redis is down");
    }
}
