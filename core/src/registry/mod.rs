//! [`HandlerRegistry`]: which handler serves which path, with what options
//! (Spring's `WebSocketHandlerRegistry`). Handlers annotated with `#[ws_handler]`
//! and handlers added in code end up here alike.
//!
//! One concept per file: [`registration`](HandlerRegistration) (one handler at
//! one path, and its options), [`factory`](HandlerFactory), the one
//! [`source`](RegistrationSource) type for handlers and plugins, the plugin
//! [`audit`](PluginMark), [`validate`](HandlerRegistry::validate), the
//! link-time [`annotations`](HandlerRegistry::from_annotations), and handlers
//! built from the application context at startup ([`resolve`](HandlerRegistry::resolve)).

mod annotations;
mod audit;
mod factory;
mod registration;
mod resolve;
mod source;
#[cfg(test)]
mod tests;
mod validate;

pub use self::annotations::HandlerDescriptor;
pub use self::audit::{PluginAction, PluginMark};
pub use self::factory::{ContextFactory, HandlerFactory};
pub use self::registration::{HandlerOptions, HandlerRegistration};
pub use self::source::RegistrationSource;
use crate::handler::{WebSocketHandler, shared_handler};
use crate::history::TopicHistory;
use crate::location::SourceLocation;
use crate::page::Page;
use std::sync::Arc;

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
    pub(super) registrations: Vec<HandlerRegistration>,
    pub(super) pages: Vec<Page>,
    pub(super) histories: Vec<TopicHistory>,
}

impl HandlerRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        HandlerRegistry::default()
    }

    /// Adds one handler instance shared by every session at `path`.
    #[track_caller]
    pub fn add_handler<H: WebSocketHandler>(&mut self, path: &str, handler: H) -> &mut HandlerRegistration {
        let source = RegistrationSource::Programmatic {
            type_name: std::any::type_name::<H>(),
            location: SourceLocation::caller(),
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
            location: SourceLocation::caller(),
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

    /// Turns topic history on for the topics `history` matches (see
    /// [`TopicHistory`]). Patterns are tried in the order added.
    pub fn add_topic_history(&mut self, history: TopicHistory) -> &mut Self {
        self.histories.push(history);
        self
    }

    /// The topic histories, in order.
    pub fn topic_histories(&self) -> &[TopicHistory] {
        &self.histories
    }

    /// The topic histories, to change or remove some.
    pub fn topic_histories_mut(&mut self) -> &mut Vec<TopicHistory> {
        &mut self.histories
    }

    /// Moves every registration, page and topic history of `other` into this
    /// registry, after its own.
    pub fn merge(&mut self, other: HandlerRegistry) {
        self.registrations.extend(other.registrations);
        self.pages.extend(other.pages);
        self.histories.extend(other.histories);
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
}
