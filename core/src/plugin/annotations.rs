//! Plugins registered at link time by `#[ws_plugin]`: the descriptor the macro
//! emits and [`annotated_plugins`], which builds them in the documented order.

use super::SharedPlugin;
use crate::context::AppContext;
use crate::error::Error;
use crate::location::SourceLocation;
use crate::problem::ConfigProblem;
use crate::registry::RegistrationSource;

/// Every plugin annotated with `#[ws_plugin]` in the program, built with the
/// beans of `context` its factory takes, in the documented order: by `order`,
/// then type path (link order is unspecified; this order is not). Fails with
/// every factory whose parameter has no bean, naming factory, parameter and type.
pub fn annotated_plugins(context: &AppContext) -> Result<Vec<(SharedPlugin, RegistrationSource)>, Error> {
    let mut descriptors: Vec<&PluginDescriptor> = inventory::iter::<PluginDescriptor>.into_iter().collect();
    descriptors.sort_by_key(|d| (d.order, d.type_name, d.location.file, d.location.line, d.location.column));
    let mut plugins = Vec::new();
    let mut problems = Vec::new();
    for d in descriptors {
        let source =
            RegistrationSource::Annotated { attribute: "ws_plugin", type_name: d.type_name, location: d.location };
        match (d.factory)(context) {
            Ok(plugin) => plugins.push((plugin, source)),
            Err(error) => problems.push(ConfigProblem::new(format!("plugin factory {source}: {error}"))),
        }
    }
    if problems.is_empty() { Ok(plugins) } else { Err(Error::config(problems)) }
}

/// What `#[ws_plugin]` registers at link time: plain, const-constructible data.
/// Not public API; [`annotated_plugins`] builds the plugins.
#[doc(hidden)]
#[derive(Debug)]
pub struct PluginDescriptor {
    pub type_name: &'static str,
    /// Builds the plugin, looking its factory's parameters up in the context.
    pub factory: fn(&AppContext) -> Result<SharedPlugin, Error>,
    pub order: i32,
    pub location: SourceLocation,
}

inventory::collect!(PluginDescriptor);
