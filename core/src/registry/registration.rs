//! [`HandlerRegistration`]: one handler at one path, and its options.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::audit::{PluginAction, PluginMark};
use super::factory::HandlerFactory;
use super::source::RegistrationSource;
use crate::decorator::{HandlerDecorator, SharedDecorator, shared_decorator};
use crate::deflate::DeflateConfig;
use crate::handshake::{HandshakeInterceptor, SharedInterceptor};
use crate::outbound::{OverflowPolicy, QueueLimits};
use crate::route::{RoutePattern, RoutePatternError};

/// One handler at one path, with its options. Every setter returns `&mut Self`
/// so options chain; the same setters back the `#[ws_handler(...)]` options.
#[derive(Debug, Clone)]
pub struct HandlerRegistration {
    /// Identifies the registration while plugins change the registry.
    pub(super) id: u64,
    pub(super) path: String,
    pub(super) pattern: Result<RoutePattern, RoutePatternError>,
    pub(super) factory: HandlerFactory,
    pub(super) source: RegistrationSource,
    pub(super) options: HandlerOptions,
    pub(super) plugin_marks: Vec<PluginMark>,
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

impl HandlerRegistration {
    pub(super) fn new(path: &str, factory: HandlerFactory, source: RegistrationSource) -> Self {
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
    pub fn source(&self) -> RegistrationSource {
        self.source
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
    pub(super) fn described(&self) -> String {
        match self.added_by() {
            Some(plugin) => format!("{} by plugin `{plugin}`", self.source),
            None => self.source.to_string(),
        }
    }
}
