//! Plugins registered at link time by `#[ws_plugin]`: the descriptor the macro
//! emits and [`annotated_plugins`], which builds them in the documented order.

use super::SharedPlugin;
use crate::location::SourceLocation;
use crate::registry::RegistrationSource;

/// Every plugin annotated with `#[ws_plugin]` in the program, built and in the
/// documented order: by `order`, then type path (link order is unspecified;
/// this order is not).
pub fn annotated_plugins() -> Vec<(SharedPlugin, RegistrationSource)> {
    let mut descriptors: Vec<&PluginDescriptor> = inventory::iter::<PluginDescriptor>.into_iter().collect();
    descriptors.sort_by_key(|d| (d.order, d.type_name, d.location.file, d.location.line, d.location.column));
    descriptors
        .into_iter()
        .map(|d| {
            let source =
                RegistrationSource::Annotated { attribute: "ws_plugin", type_name: d.type_name, location: d.location };
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
