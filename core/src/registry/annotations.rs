//! Handlers registered at link time by `#[ws_handler]`: the descriptor the
//! macro emits and [`HandlerRegistry::from_annotations`], which collects them.

use super::{ContextFactory, HandlerFactory, HandlerRegistration, HandlerRegistry, RegistrationSource};
use crate::context::AppContext;
use crate::error::Error;
use crate::location::SourceLocation;

impl HandlerRegistry {
    /// Every handler annotated with `#[ws_handler]` in the program, with its
    /// attribute options applied, ordered by path then type name (link order is
    /// unspecified; this order is not). The handlers themselves are built when
    /// the server starts ([`resolve`](Self::resolve)), when the beans their
    /// factories take exist.
    pub fn from_annotations() -> Self {
        let mut descriptors: Vec<&HandlerDescriptor> = inventory::iter::<HandlerDescriptor>.into_iter().collect();
        descriptors.sort_by_key(|d| (d.path, d.type_name, d.location.file, d.location.line));
        let mut registry = HandlerRegistry::new();
        for descriptor in descriptors {
            let factory =
                HandlerFactory::FromContext(ContextFactory::new(descriptor.per_connection, descriptor.factory));
            let source = RegistrationSource::Annotated {
                attribute: "ws_handler",
                type_name: descriptor.type_name,
                location: descriptor.location,
            };
            let mut registration = HandlerRegistration::new(descriptor.path, factory, source);
            (descriptor.configure)(&mut registration);
            registry.registrations.push(registration);
        }
        registry
    }
}

/// What `#[ws_handler]` registers at link time: plain, const-constructible data.
/// Not public API; the runtime turns it into a [`HandlerRegistration`].
#[doc(hidden)]
#[derive(Debug)]
pub struct HandlerDescriptor {
    pub path: &'static str,
    pub type_name: &'static str,
    /// Builds the shared handler (or the per-connection factory), looking the
    /// factory fn's parameters up in the context.
    pub factory: fn(&AppContext) -> Result<HandlerFactory, Error>,
    pub per_connection: bool,
    pub configure: fn(&mut HandlerRegistration),
    pub location: SourceLocation,
}

inventory::collect!(HandlerDescriptor);
