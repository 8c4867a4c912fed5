//! The plugins of one server: which run and in what order, their `configure`
//! and `decorate` hooks applied to the registry before the routes are built,
//! `on_start` once the listener is bound, and `on_shutdown` last.
//!
//! The order is the one documented in [`wsboot_core::RegistryPlugin`]: `#[ws_plugin]`
//! plugins by `order` then type path, then `ServerBuilder::plugin` ones in call
//! order. Handlers are wrapped innermost first: the registration's own
//! decorators, each plugin's `decorate` in plugin order, then the built-ins.

use std::sync::Arc;
use std::time::Duration;

use wsboot_core::__runtime::with_builtin_decorators;
use wsboot_core::{
    AppContext, Error, ErrorKind, HandlerFactory, HandlerRegistry, PluginAction, RegistrationSource, ServerInfo,
    SharedDecorator, SharedHandler, SharedPlugin, WebSocketHandler, annotated_plugins, decorate_shared, shared_handler,
};

/// What the builder was told about plugins.
#[derive(Debug, Default)]
pub(crate) struct PluginOptions {
    added: Vec<(SharedPlugin, RegistrationSource)>,
    /// Whether to collect `#[ws_plugin]`s; by default, only when the registry
    /// comes from the annotations too.
    annotated: Option<bool>,
    without_builtin_decorators: bool,
}

/// One plugin of a server, with its name read once.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) name: Arc<str>,
    pub(crate) plugin: SharedPlugin,
    pub(crate) source: RegistrationSource,
}

/// The registry to serve, with every plugin applied, and the plugins to start.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) registry: HandlerRegistry,
    pub(crate) plugins: Plugins,
    pub(crate) builtin_decorators: bool,
}

impl PluginOptions {
    pub(crate) fn add(&mut self, plugin: SharedPlugin, source: RegistrationSource) {
        self.added.push((plugin, source));
    }

    pub(crate) fn set_annotated(&mut self, collect: bool) {
        self.annotated = Some(collect);
    }

    pub(crate) fn set_builtin_decorators(&mut self, enabled: bool) {
        self.without_builtin_decorators = !enabled;
    }

    /// Builds the plugins, runs every plugin's `configure` on `registry` (the
    /// annotations when `None`), builds the handlers from `context`, then wraps
    /// every handler. Fails, naming the plugin, if a `configure` fails or two
    /// plugins share a name, and naming factory, parameter and type if a
    /// factory's parameter has no bean.
    pub(crate) fn prepare(&self, registry: Option<HandlerRegistry>, context: &AppContext) -> Result<Prepared, Error> {
        let collect_annotated = self.annotated.unwrap_or(registry.is_none());
        let mut registry = registry.unwrap_or_else(HandlerRegistry::from_annotations);
        let mut entries: Vec<Entry> = Vec::new();
        let annotated = if collect_annotated { annotated_plugins(context)? } else { Vec::new() };
        for (plugin, source) in annotated.into_iter().chain(self.added.iter().cloned()) {
            let name: Arc<str> = Arc::from(plugin.name());
            if let Some(twin) = entries.iter().find(|e| e.name == name) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("two plugins are named `{name}`: {} and {source}; give each its own name", twin.source),
                ));
            }
            entries.push(Entry { name, plugin, source });
        }
        for entry in &entries {
            registry.configure_as(&entry.name, |registry| entry.plugin.configure(registry)).map_err(|e| {
                let message =
                    format!("plugin `{}` ({}) failed to configure the handlers: {e}", entry.name, entry.source);
                Error::with_source(ErrorKind::Plugin, message, e)
            })?;
        }
        // After `configure`: plugins may add handlers built from the context.
        registry.resolve(context)?;
        let builtin_decorators = !self.without_builtin_decorators;
        decorate_handlers(&mut registry, &entries, builtin_decorators);
        Ok(Prepared { registry, plugins: Plugins { entries }, builtin_decorators })
    }
}

/// Stands in for a per-connection handler when asking a plugin, at startup,
/// whether it decorates a path: no session ever reaches it.
struct Probe;

impl WebSocketHandler for Probe {}

/// Wraps each registration's handler (or, for a per-connection handler, each
/// session's instance) in its own decorators, the plugins' and the built-ins,
/// recording which plugins decorated it.
fn decorate_handlers(registry: &mut HandlerRegistry, plugins: &[Entry], builtin_decorators: bool) {
    for registration in registry.iter_mut() {
        let path: Arc<str> = Arc::from(registration.path());
        let own: Vec<SharedDecorator> = registration.options().decorators.clone();
        match registration.factory().clone() {
            HandlerFactory::Shared(handler) => {
                let mut handler = wrap_in(handler, &own);
                for entry in plugins {
                    let decorated = entry.plugin.decorate(&path, handler.clone());
                    if !same_handler(&decorated, &handler) {
                        registration.record_plugin_action(&entry.name, PluginAction::Decorated);
                    }
                    handler = decorated;
                }
                if builtin_decorators {
                    handler = with_builtin_decorators(handler);
                }
                registration.set_factory(HandlerFactory::Shared(handler));
            }
            // `resolve` built every one of these.
            HandlerFactory::FromContext(_) => unreachable!("handlers are built before they are decorated"),
            HandlerFactory::PerConnection(make) => {
                let probe = shared_handler(Probe);
                let decorating: Vec<SharedPlugin> = plugins
                    .iter()
                    .filter(|entry| !same_handler(&entry.plugin.decorate(&path, probe.clone()), &probe))
                    .inspect(|entry| {
                        registration.record_plugin_action(&entry.name, PluginAction::Decorated);
                    })
                    .map(|entry| entry.plugin.clone())
                    .collect();
                if own.is_empty() && decorating.is_empty() && !builtin_decorators {
                    continue;
                }
                let per_session = move || {
                    let mut handler = wrap_in(make(), &own);
                    for plugin in &decorating {
                        handler = plugin.decorate(&path, handler);
                    }
                    if builtin_decorators { with_builtin_decorators(handler) } else { handler }
                };
                registration.set_factory(HandlerFactory::PerConnection(Arc::new(per_session)));
            }
        }
    }
}

fn wrap_in(handler: SharedHandler, decorators: &[SharedDecorator]) -> SharedHandler {
    decorators.iter().fold(handler, decorate_shared)
}

/// Whether two handles are the same handler (by address, not vtable).
fn same_handler(a: &SharedHandler, b: &SharedHandler) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}

/// The plugins of a bound server, in order.
#[derive(Debug, Default)]
pub(crate) struct Plugins {
    entries: Vec<Entry>,
}

impl Plugins {
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Runs every `on_start` in order. If one fails, those already started
    /// are shut down (in reverse order) and the error names the plugin.
    pub(crate) async fn start(&self, info: &ServerInfo, shutdown_limit: Duration) -> Result<(), Error> {
        for (started, entry) in self.entries.iter().enumerate() {
            if let Err(e) = entry.plugin.on_start(info).await {
                shut_down(self.entries[..started].iter().rev(), shutdown_limit).await;
                let message = format!("plugin `{}` ({}) failed to start: {e}", entry.name, entry.source);
                return Err(Error::with_source(ErrorKind::Plugin, message, e));
            }
            tracing::debug!(plugin = &*entry.name, "plugin started");
        }
        Ok(())
    }

    /// Runs every `on_shutdown`, in reverse order, each for at most `limit`.
    pub(crate) async fn shutdown(&self, limit: Duration) {
        shut_down(self.entries.iter().rev(), limit).await
    }
}

async fn shut_down(entries: impl Iterator<Item = &Entry>, limit: Duration) {
    for entry in entries {
        if tokio::time::timeout(limit, entry.plugin.on_shutdown()).await.is_err() {
            tracing::warn!(plugin = &*entry.name, "plugin did not finish on_shutdown within {limit:?}; going on");
        }
    }
}
