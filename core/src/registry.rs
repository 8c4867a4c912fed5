//! [`HandlerRegistry`]: which handler serves which path, with what options
//! (Spring's `WebSocketHandlerRegistry`). Handlers annotated with `#[ws_handler]`
//! and handlers added in code end up here alike.

use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::decorator::{HandlerDecorator, SharedDecorator, shared_decorator};
use crate::deflate::DeflateConfig;
use crate::error::Error;
use crate::handler::{SharedHandler, WebSocketHandler, shared_handler};
use crate::handshake::{HandshakeInterceptor, SharedInterceptor};
use crate::outbound::{OverflowPolicy, QueueLimits};
use crate::page::Page;
use crate::route::{RoutePattern, RoutePatternError};

/// Where a handler was registered: a source location, for startup errors and
/// route listings.
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

/// How a registration came to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationSource {
    /// `#[ws_handler]` on a type or factory function.
    Annotated {
        /// The handler type or factory function.
        type_name: &'static str,
        /// Where the attribute is.
        location: SourceLocation,
    },
    /// `HandlerRegistry::add_handler` and friends.
    Programmatic {
        /// The handler type.
        type_name: &'static str,
        /// Where the call is.
        location: SourceLocation,
    },
}

impl RegistrationSource {
    /// The handler type (or factory function) name.
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
            RegistrationSource::Annotated { type_name, location } => {
                write!(f, "`{type_name}` (#[ws_handler] at {location})")
            }
            RegistrationSource::Programmatic { type_name, location } => {
                write!(f, "`{type_name}` (added at {location})")
            }
        }
    }
}

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
    fn identity(&self) -> *const () {
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

/// One handler at one path, with its options. Every setter returns `&mut Self`
/// so options chain; the same setters back the `#[ws_handler(...)]` options.
#[derive(Debug, Clone)]
pub struct HandlerRegistration {
    /// Identifies the registration while plugins change the registry.
    id: u64,
    path: String,
    pattern: Result<RoutePattern, RoutePatternError>,
    factory: HandlerFactory,
    source: RegistrationSource,
    options: HandlerOptions,
    plugin_marks: Vec<PluginMark>,
}

/// Per-handler options; `None` means "the server's setting".
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct HandlerOptions {
    /// Origins allowed to open a session (exact values or `*` patterns such as
    /// `https://*.example.com`); `None` is same-origin (requests without `Origin`
    /// are allowed).
    pub allowed_origins: Option<Vec<String>>,
    /// Subprotocols the handler speaks, in order of preference.
    pub subprotocols: Vec<String>,
    /// Interceptors for this handler, run in order after the server-wide ones.
    pub interceptors: Vec<SharedInterceptor>,
    /// Decorators for this handler, each wrapping the ones before (the last
    /// added sees events first), inside those of plugins and the built-ins.
    pub decorators: Vec<SharedDecorator>,
    /// Largest message accepted, in bytes.
    pub max_message_size: Option<usize>,
    /// Largest frame accepted, in bytes.
    pub max_frame_size: Option<usize>,
    /// permessage-deflate on or off for this handler.
    pub deflate: Option<bool>,
    /// permessage-deflate settings for this handler (level, threshold, context
    /// takeover, window); `None` uses the server's.
    pub deflate_config: Option<DeflateConfig>,
    /// What a broadcast does when a session's outbound queue is full.
    pub overflow: Option<OverflowPolicy>,
    /// How long a write to one of this handler's clients may stay blocked before
    /// the session is dropped (Spring's `sendTimeLimit`).
    pub send_time_limit: Option<std::time::Duration>,
    /// Bounds of each session's outbound queue.
    pub queue: Option<QueueLimits>,
}

impl fmt::Debug for dyn crate::handshake::ErasedInterceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl HandlerRegistration {
    fn new(path: &str, factory: HandlerFactory, source: RegistrationSource) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        HandlerRegistration {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            path: path.to_owned(),
            pattern: RoutePattern::parse(path),
            factory,
            source,
            options: HandlerOptions::default(),
            plugin_marks: Vec::new(),
        }
    }

    /// Moves the handler to another path (checked, like every path, when the
    /// server starts).
    pub fn set_path(&mut self, path: &str) -> &mut Self {
        self.path = path.to_owned();
        self.pattern = RoutePattern::parse(path);
        self
    }

    /// Wraps this handler in `decorator`, around the decorators added before it
    /// (so this one sees events first). Applied when the server starts, to the
    /// shared instance or to each session's instance of a per-connection handler.
    pub fn decorator<D: HandlerDecorator>(&mut self, decorator: D) -> &mut Self {
        self.options.decorators.push(shared_decorator(decorator));
        self
    }

    /// Adds an already shared decorator.
    pub fn shared_decorator(&mut self, decorator: SharedDecorator) -> &mut Self {
        self.options.decorators.push(decorator);
        self
    }

    /// Sets the origins allowed to connect. Exact values (`https://app.example.com`)
    /// or patterns with `*` (`https://*.example.com`); `"*"` allows any origin.
    pub fn allowed_origins<I, S>(&mut self, origins: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.allowed_origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the subprotocols this handler speaks, in order of preference.
    pub fn subprotocols<I, S>(&mut self, protocols: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.subprotocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a handshake interceptor for this handler (after those added before).
    pub fn interceptor<I: HandshakeInterceptor>(&mut self, interceptor: I) -> &mut Self {
        self.options.interceptors.push(Arc::new(interceptor));
        self
    }

    /// Adds an already shared interceptor.
    pub fn shared_interceptor(&mut self, interceptor: SharedInterceptor) -> &mut Self {
        self.options.interceptors.push(interceptor);
        self
    }

    /// Sets the largest message accepted (text and binary), in bytes.
    pub fn max_message_size(&mut self, bytes: usize) -> &mut Self {
        self.options.max_message_size = Some(bytes);
        self
    }

    /// Sets the largest single frame accepted, in bytes.
    pub fn max_frame_size(&mut self, bytes: usize) -> &mut Self {
        self.options.max_frame_size = Some(bytes);
        self
    }

    /// Turns permessage-deflate on or off for this handler, with the server's
    /// settings (or those given to [`deflate_config`](Self::deflate_config)).
    pub fn deflate(&mut self, enabled: bool) -> &mut Self {
        self.options.deflate = Some(enabled);
        self
    }

    /// Sets this handler's permessage-deflate settings, `enabled` included.
    pub fn deflate_config(&mut self, config: DeflateConfig) -> &mut Self {
        self.options.deflate = Some(config.enabled);
        self.options.deflate_config = Some(config);
        self
    }

    /// Sets what a broadcast does for a slow session of this handler.
    pub fn overflow_policy(&mut self, policy: OverflowPolicy) -> &mut Self {
        self.options.overflow = Some(policy);
        self
    }

    /// Sets how long a write to a client may stay blocked (the client not reading)
    /// before the session is dropped.
    pub fn send_time_limit(&mut self, limit: std::time::Duration) -> &mut Self {
        self.options.send_time_limit = Some(limit);
        self
    }

    /// Sets the bounds of each session's outbound queue.
    pub fn queue_limits(&mut self, limits: QueueLimits) -> &mut Self {
        self.options.queue = Some(limits);
        self
    }

    /// The path as registered.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The parsed route pattern, or why the path is invalid.
    pub fn pattern(&self) -> Result<&RoutePattern, &RoutePatternError> {
        self.pattern.as_ref()
    }

    /// How sessions get their handler.
    pub fn factory(&self) -> &HandlerFactory {
        &self.factory
    }

    /// Replaces the handler, e.g. to wrap it in a decorator.
    pub fn set_factory(&mut self, factory: HandlerFactory) -> &mut Self {
        self.factory = factory;
        self
    }

    /// Where the registration came from.
    pub fn source(&self) -> &RegistrationSource {
        &self.source
    }

    /// The options set so far.
    pub fn options(&self) -> &HandlerOptions {
        &self.options
    }

    /// What plugins did to this registration, in order.
    pub fn plugin_marks(&self) -> &[PluginMark] {
        &self.plugin_marks
    }

    /// The plugin that registered this handler, if a plugin did.
    pub fn added_by(&self) -> Option<&str> {
        self.plugin_marks.iter().find(|m| m.action == PluginAction::Added).map(|m| &*m.plugin)
    }

    /// Records that `plugin` did `action` to this registration. The server
    /// records what plugins do itself; this is for code that changes
    /// registrations on a plugin's behalf outside its hooks.
    pub fn record_plugin_action(&mut self, plugin: &str, action: PluginAction) -> &mut Self {
        self.plugin_marks.push(PluginMark { plugin: Arc::from(plugin), action });
        self
    }

    /// The source, with the plugin that added the registration if any: how
    /// startup errors name a registration.
    fn described(&self) -> String {
        match self.added_by() {
            Some(plugin) => format!("{} by plugin `{plugin}`", self.source),
            None => self.source.to_string(),
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

/// The set of handlers a server serves (Spring's `WebSocketHandlerRegistry`).
///
/// ```
/// use wsboot_core::{HandlerRegistry, WebSocketHandler};
///
/// struct Chat;
/// impl WebSocketHandler for Chat {}
///
/// let mut registry = HandlerRegistry::new();
/// registry.add_handler("/chat/{room}", Chat).allowed_origins(["https://chat.example.com"]);
/// assert!(registry.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default)]
pub struct HandlerRegistry {
    registrations: Vec<HandlerRegistration>,
    pages: Vec<Page>,
}

impl HandlerRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        HandlerRegistry::default()
    }

    /// Every handler annotated with `#[ws_handler]` in the program, with its
    /// attribute options applied, ordered by path then type name (link order is
    /// unspecified; this order is not).
    pub fn from_annotations() -> Self {
        let mut descriptors: Vec<&HandlerDescriptor> = inventory::iter::<HandlerDescriptor>.into_iter().collect();
        descriptors.sort_by_key(|d| (d.path, d.type_name, d.location.file, d.location.line));
        let mut registry = HandlerRegistry::new();
        for descriptor in descriptors {
            let factory = if descriptor.per_connection {
                let make = descriptor.factory;
                HandlerFactory::PerConnection(Arc::new(make))
            } else {
                HandlerFactory::Shared((descriptor.factory)())
            };
            let source =
                RegistrationSource::Annotated { type_name: descriptor.type_name, location: descriptor.location };
            let mut registration = HandlerRegistration::new(descriptor.path, factory, source);
            (descriptor.configure)(&mut registration);
            registry.registrations.push(registration);
        }
        registry
    }

    /// Adds one handler instance shared by every session at `path`.
    #[track_caller]
    pub fn add_handler<H: WebSocketHandler>(&mut self, path: &str, handler: H) -> &mut HandlerRegistration {
        let source = RegistrationSource::Programmatic {
            type_name: std::any::type_name::<H>(),
            location: SourceLocation::from_caller(Location::caller()),
        };
        self.push(HandlerRegistration::new(path, HandlerFactory::Shared(shared_handler(handler)), source))
    }

    /// Adds a handler built afresh for each session at `path` (Spring's
    /// `PerConnectionWebSocketHandler`): its fields are per-session state.
    #[track_caller]
    pub fn add_per_connection_handler<H, F>(&mut self, path: &str, make: F) -> &mut HandlerRegistration
    where
        H: WebSocketHandler,
        F: Fn() -> H + Send + Sync + 'static,
    {
        let source = RegistrationSource::Programmatic {
            type_name: std::any::type_name::<H>(),
            location: SourceLocation::from_caller(Location::caller()),
        };
        let factory = HandlerFactory::PerConnection(Arc::new(move || shared_handler(make())));
        self.push(HandlerRegistration::new(path, factory, source))
    }

    fn push(&mut self, registration: HandlerRegistration) -> &mut HandlerRegistration {
        self.registrations.push(registration);
        self.registrations.last_mut().expect("just pushed")
    }

    /// Serves `body` at exactly `path` for plain HTTP `GET` and `HEAD`, with
    /// `content_type`: the web page of an app, its script or stylesheet. See [`Page`].
    #[track_caller]
    pub fn add_page(&mut self, path: &str, content_type: &str, body: impl Into<bytes::Bytes>) -> &mut Page {
        self.push_page(Page::new(path, content_type, body))
    }

    /// Adds a page (for example one built with [`Page::generated`]).
    pub fn push_page(&mut self, page: Page) -> &mut Page {
        self.pages.push(page);
        self.pages.last_mut().expect("just pushed")
    }

    /// Every page, in order.
    pub fn pages(&self) -> impl Iterator<Item = &Page> {
        self.pages.iter()
    }

    /// Moves every registration and page of `other` into this registry, after its own.
    pub fn merge(&mut self, other: HandlerRegistry) {
        self.registrations.extend(other.registrations);
        self.pages.extend(other.pages);
    }

    /// Removes the registrations at exactly `path`; returns how many.
    pub fn remove(&mut self, path: &str) -> usize {
        let before = self.registrations.len();
        self.registrations.retain(|r| r.path != path);
        before - self.registrations.len()
    }

    /// The registration at exactly `path`, to change its options.
    pub fn get_mut(&mut self, path: &str) -> Option<&mut HandlerRegistration> {
        self.registrations.iter_mut().find(|r| r.path == path)
    }

    /// Every registration, in order.
    pub fn iter(&self) -> impl Iterator<Item = &HandlerRegistration> {
        self.registrations.iter()
    }

    /// Every registration, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut HandlerRegistration> {
        self.registrations.iter_mut()
    }

    /// Number of handler registrations (pages not counted).
    pub fn len(&self) -> usize {
        self.registrations.len()
    }

    /// Whether there are no handler registrations.
    pub fn is_empty(&self) -> bool {
        self.registrations.is_empty()
    }

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

    /// Checks every path and looks for two handlers on the same route, or two
    /// pages at the same path. The error names every problem and both sides of
    /// each conflict (with the plugin that added a handler, if one did).
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        for registration in &self.registrations {
            if let Err(err) = &registration.pattern {
                problems.push(format!("invalid path for {}: {err}", registration.described()));
            }
        }
        let valid: Vec<(&HandlerRegistration, &RoutePattern)> =
            self.registrations.iter().filter_map(|r| Some((r, r.pattern.as_ref().ok()?))).collect();
        for (i, (first, first_pattern)) in valid.iter().enumerate() {
            for (second, second_pattern) in &valid[i + 1..] {
                if first_pattern.conflicts_with(second_pattern) {
                    let what = if first.path == second.path {
                        format!("two handlers for path `{}`", first.path)
                    } else {
                        format!("paths `{}` and `{}` match the same requests", first.path, second.path)
                    };
                    problems.push(format!("{what}: {} and {}", first.described(), second.described()));
                }
            }
        }
        problems.extend(self.pages.iter().filter_map(Page::problem));
        for (i, first) in self.pages.iter().enumerate() {
            if let Some(second) = self.pages[i + 1..].iter().find(|p| p.path() == first.path()) {
                problems.push(format!(
                    "two pages for path `{}`: added at {} and at {}",
                    first.path(),
                    first.location(),
                    second.location()
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::config(problems.into_iter().map(crate::ConfigProblem::new)))
        }
    }
}

/// What `#[ws_handler]` registers at link time: plain, const-constructible data.
/// Not public API; the runtime turns it into a [`HandlerRegistration`].
#[doc(hidden)]
#[derive(Debug)]
pub struct HandlerDescriptor {
    pub path: &'static str,
    pub type_name: &'static str,
    pub factory: fn() -> SharedHandler,
    pub per_connection: bool,
    pub configure: fn(&mut HandlerRegistration),
    pub location: SourceLocation,
}

inventory::collect!(HandlerDescriptor);

#[cfg(test)]
mod tests {
    use super::*;

    struct A;
    impl WebSocketHandler for A {}
    struct B;
    impl WebSocketHandler for B {}

    #[test]
    fn duplicate_paths_name_both_handlers() {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/x", A);
        registry.add_handler("/x", B);
        let err = registry.validate().unwrap_err().to_string();
        assert!(err.contains("two handlers for path `/x`"), "{err}");
        assert!(err.contains("registry::tests::A") && err.contains("registry::tests::B"), "{err}");
        assert!(err.contains("registry.rs:"), "{err}");
    }

    #[test]
    fn same_shape_patterns_conflict_and_bad_paths_are_reported() {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/rooms/{room}", A);
        registry.add_handler("/rooms/{id}", B);
        registry.add_handler("nope", B);
        let err = registry.validate().unwrap_err().to_string();
        assert!(err.contains("match the same requests"), "{err}");
        assert!(err.contains("must start with `/`"), "{err}");
    }

    #[test]
    fn pages_are_validated_and_merged() {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/", A);
        registry.add_page("/", "text/html", "<p>a page and a handler may share a path</p>");
        assert!(registry.validate().is_ok());
        let mut other = HandlerRegistry::new();
        other.add_page("/", "text/plain", "again").cache_control("max-age=60");
        other.add_page("/x/{y}", "text/plain", "");
        registry.merge(other);
        assert_eq!(registry.pages().count(), 3);
        let err = registry.validate().unwrap_err().to_string();
        assert!(err.contains("two pages for path `/`: added at"), "{err}");
        assert!(err.contains("one exact path"), "{err}");
    }

    #[test]
    fn options_chain() {
        let mut registry = HandlerRegistry::new();
        registry.add_handler("/a", A).allowed_origins(["https://x"]).subprotocols(["v1"]).max_message_size(10);
        let registration = registry.iter().next().unwrap();
        assert_eq!(registration.options().allowed_origins.as_deref(), Some(&["https://x".to_owned()][..]));
        assert_eq!(registration.options().max_message_size, Some(10));
        assert_eq!(registry.remove("/a"), 1);
        assert!(registry.is_empty());
    }
}
