//! [`MessageMetrics`]: a decorator counting sessions, messages and bytes per
//! route, and [`MetricsPlugin`], which puts it around every handler.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use wsboot_core::{HandlerDecorator, Next, decorate};
use wsboot_core::{HandlerResult, Message, RegistryPlugin, Session, SharedHandler};

/// The counters of every route, shared by the decorators that fill them and
/// whoever reads them. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct MessageMetrics {
    routes: Arc<Mutex<BTreeMap<String, Arc<Counters>>>>,
}

#[derive(Debug, Default)]
struct Counters {
    sessions: AtomicU64,
    messages: AtomicU64,
    bytes: AtomicU64,
}

/// The counts of one route.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteCounts {
    /// Sessions opened.
    pub sessions: u64,
    /// Data messages received (text and binary; a fragmented message counts
    /// once, when complete).
    pub messages: u64,
    /// Payload bytes of those messages.
    pub bytes: u64,
}

impl MessageMetrics {
    /// No counts yet.
    pub fn new() -> Self {
        MessageMetrics::default()
    }

    /// The decorator that counts for `path` (a route pattern).
    pub fn decorator(&self, path: &str) -> CountMessages {
        let mut routes = self.routes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        CountMessages { counters: routes.entry(path.to_owned()).or_default().clone() }
    }

    /// The counts of the route at `path` (zero if nothing was counted there).
    pub fn counts(&self, path: &str) -> RouteCounts {
        let routes = self.routes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        routes.get(path).map(|c| c.read()).unwrap_or_default()
    }

    /// Every route's counts, by path.
    pub fn snapshot(&self) -> BTreeMap<String, RouteCounts> {
        let routes = self.routes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        routes.iter().map(|(path, counters)| (path.clone(), counters.read())).collect()
    }
}

impl Counters {
    fn read(&self) -> RouteCounts {
        RouteCounts {
            sessions: self.sessions.load(Ordering::Relaxed),
            messages: self.messages.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
}

/// Counts one route's sessions and received messages, then passes each event
/// on unchanged.
#[derive(Debug, Clone)]
pub struct CountMessages {
    counters: Arc<Counters>,
}

impl HandlerDecorator for CountMessages {
    async fn after_connection_established(&self, session: &Session, next: &Next) -> HandlerResult {
        self.counters.sessions.fetch_add(1, Ordering::Relaxed);
        next.after_connection_established(session).await
    }

    async fn handle_message(&self, session: &Session, message: Message, next: &Next) -> HandlerResult {
        if matches!(message, Message::Text(_) | Message::Binary(_)) {
            self.counters.messages.fetch_add(1, Ordering::Relaxed);
            self.counters.bytes.fetch_add(message.len() as u64, Ordering::Relaxed);
        }
        next.handle_message(session, message).await
    }

    async fn handle_partial_message(
        &self,
        session: &Session,
        fragment: Message,
        is_last: bool,
        next: &Next,
    ) -> HandlerResult {
        if matches!(fragment, Message::Text(_) | Message::Binary(_)) {
            self.counters.bytes.fetch_add(fragment.len() as u64, Ordering::Relaxed);
            if is_last {
                self.counters.messages.fetch_add(1, Ordering::Relaxed);
            }
        }
        next.handle_partial_message(session, fragment, is_last).await
    }

    fn name(&self) -> &'static str {
        "CountMessages"
    }
}

/// Wraps every handler in a [`CountMessages`] for its route, and logs the
/// counts when the server stops. Its name is `metrics`.
#[derive(Debug, Clone, Default)]
pub struct MetricsPlugin {
    metrics: MessageMetrics,
}

impl MetricsPlugin {
    /// Counts into a fresh [`MessageMetrics`].
    pub fn new() -> Self {
        MetricsPlugin::default()
    }

    /// Counts into `metrics` (keep a clone to read them).
    pub fn with_metrics(metrics: MessageMetrics) -> Self {
        MetricsPlugin { metrics }
    }

    /// The counts.
    pub fn metrics(&self) -> &MessageMetrics {
        &self.metrics
    }
}

impl RegistryPlugin for MetricsPlugin {
    fn name(&self) -> &str {
        "metrics"
    }

    fn decorate(&self, path: &str, handler: SharedHandler) -> SharedHandler {
        decorate(handler, self.metrics.decorator(path))
    }

    async fn on_shutdown(&self) {
        for (path, counts) in self.metrics.snapshot() {
            tracing::info!(%path, sessions = counts.sessions, messages = counts.messages, bytes = counts.bytes, "route totals");
        }
    }
}
