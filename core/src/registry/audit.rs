//! What plugins did to each registration, for route listings and startup
//! errors: a [`PluginMark`] per change, recorded by
//! [`HandlerRegistry::configure_as`] from snapshots taken around a plugin's
//! `configure`.

use std::fmt;
use std::sync::Arc;

use super::{HandlerRegistration, HandlerRegistry};

/// What a plugin did to a registration, as recorded for route listings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PluginAction {
    /// The plugin registered the handler in its `configure`.
    Added,
    /// The plugin moved the handler from another path.
    Moved {
        /// The path before.
        from: String,
    },
    /// The plugin changed the registration in its `configure`; each entry says
    /// what, e.g. "added interceptor `TokenAuth`".
    Configured {
        /// The changes, in a fixed order.
        changes: Vec<String>,
    },
    /// The plugin wrapped the handler in its `decorate`.
    Decorated,
}

/// One thing a plugin did to a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginMark {
    /// The plugin's name.
    pub plugin: Arc<str>,
    /// What it did.
    pub action: PluginAction,
}

impl fmt::Display for PluginMark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plugin = &self.plugin;
        match &self.action {
            PluginAction::Added => write!(f, "{plugin}: added it"),
            PluginAction::Moved { from } => write!(f, "{plugin}: moved it from {from}"),
            PluginAction::Configured { changes } => write!(f, "{plugin}: {}", changes.join(", ")),
            PluginAction::Decorated => write!(f, "{plugin}: decorated it"),
        }
    }
}

/// What a registration looked like before a plugin's `configure`, to tell
/// what the plugin changed.
struct Snapshot {
    id: u64,
    path: String,
    factory: *const (),
    allowed_origins: Option<Vec<String>>,
    subprotocols: Vec<String>,
    interceptors: Vec<*const ()>,
    decorators: Vec<*const ()>,
    max_message_size: Option<usize>,
    max_frame_size: Option<usize>,
    /// Every option, for changes the fields above do not cover.
    options: String,
}

fn addresses<T: ?Sized>(items: &[Arc<T>]) -> Vec<*const ()> {
    items.iter().map(|item| Arc::as_ptr(item) as *const ()).collect()
}

impl Snapshot {
    fn of(registration: &HandlerRegistration) -> Self {
        let options = &registration.options;
        Snapshot {
            id: registration.id,
            path: registration.path.clone(),
            factory: registration.factory.identity(),
            allowed_origins: options.allowed_origins.clone(),
            subprotocols: options.subprotocols.clone(),
            interceptors: addresses(&options.interceptors),
            decorators: addresses(&options.decorators),
            max_message_size: options.max_message_size,
            max_frame_size: options.max_frame_size,
            options: format!("{options:?}"),
        }
    }

    /// What changed between this snapshot and `now`, in words.
    fn changes(&self, now: &HandlerRegistration) -> Vec<String> {
        let options = &now.options;
        let mut changes = Vec::new();
        if now.factory.identity() != self.factory {
            changes.push("replaced the handler".to_owned());
        }
        if options.allowed_origins != self.allowed_origins {
            changes.push(match &options.allowed_origins {
                Some(origins) => format!("set allowed origins [{}]", origins.join(", ")),
                None => "reset allowed origins to same-origin".to_owned(),
            });
        }
        if options.subprotocols != self.subprotocols {
            changes.push(format!("set subprotocols [{}]", options.subprotocols.join(", ")));
        }
        let interceptors = addresses(&options.interceptors);
        if interceptors != self.interceptors {
            let added: Vec<String> = options
                .interceptors
                .iter()
                .filter(|i| !self.interceptors.contains(&(Arc::as_ptr(i) as *const ())))
                .map(|i| format!("added interceptor `{}`", i.name()))
                .collect();
            let removed = self.interceptors.iter().filter(|p| !interceptors.contains(p)).count();
            if added.is_empty() && removed == 0 {
                changes.push("reordered interceptors".to_owned());
            }
            changes.extend(added);
            if removed > 0 {
                changes.push(format!("removed {removed} interceptor(s)"));
            }
        }
        let decorators = addresses(&options.decorators);
        if decorators != self.decorators {
            let added = options.decorators.iter().filter(|d| !self.decorators.contains(&(Arc::as_ptr(d) as *const ())));
            changes.extend(added.map(|d| format!("added decorator `{}`", d.name())));
            let removed = self.decorators.iter().filter(|p| !decorators.contains(p)).count();
            if removed > 0 {
                changes.push(format!("removed {removed} decorator(s)"));
            }
        }
        let limits = [
            ("max_message_size", options.max_message_size, self.max_message_size),
            ("max_frame_size", options.max_frame_size, self.max_frame_size),
        ];
        for (name, now, before) in limits {
            if now != before {
                changes.push(match now {
                    Some(bytes) => format!("set {name} to {bytes}"),
                    None => format!("reset {name} to the server's"),
                });
            }
        }
        if changes.is_empty() && format!("{options:?}") != self.options {
            changes.push("changed options".to_owned());
        }
        changes
    }
}

impl HandlerRegistry {
    /// Runs `configure` on behalf of the plugin called `plugin`, recording on
    /// each registration what the plugin did to it (added it, moved it, changed
    /// its options or handler) for route listings and startup errors; removed
    /// registrations are logged. The server calls this for every plugin's
    /// `configure`.
    pub fn configure_as<R>(&mut self, plugin: &str, configure: impl FnOnce(&mut HandlerRegistry) -> R) -> R {
        let before: Vec<Snapshot> = self.registrations.iter().map(Snapshot::of).collect();
        let result = configure(self);
        let plugin: Arc<str> = Arc::from(plugin);
        for registration in &mut self.registrations {
            let mut actions = Vec::new();
            match before.iter().find(|s| s.id == registration.id) {
                None => actions.push(PluginAction::Added),
                Some(snapshot) => {
                    if registration.path != snapshot.path {
                        actions.push(PluginAction::Moved { from: snapshot.path.clone() });
                    }
                    let changes = snapshot.changes(registration);
                    if !changes.is_empty() {
                        actions.push(PluginAction::Configured { changes });
                    }
                }
            }
            let marks = actions.into_iter().map(|action| PluginMark { plugin: plugin.clone(), action });
            registration.plugin_marks.extend(marks);
        }
        for snapshot in &before {
            if !self.registrations.iter().any(|r| r.id == snapshot.id) {
                tracing::info!(plugin = &*plugin, path = %snapshot.path, "plugin removed a route");
            }
        }
        result
    }
}
