//! Handlers registered at link time by `#[ws_handler]`: the descriptor the
//! macro emits and [`HandlerRegistry::from_annotations`], which collects them.

use std::sync::Arc;

use super::{HandlerFactory, HandlerRegistration, HandlerRegistry, RegistrationSource};
use crate::handler::SharedHandler;
use crate::location::SourceLocation;

impl HandlerRegistry {
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
    pub factory: fn() -> SharedHandler,
    pub per_connection: bool,
    pub configure: fn(&mut HandlerRegistration),
    pub location: SourceLocation,
}

inventory::collect!(HandlerDescriptor);
