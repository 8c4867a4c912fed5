//! Everything `#[ws_handler]` and `#[ws_plugin]` expansions name, in one place.
//! Not public API: the paths may change in any release.

pub use inventory;
pub use wsboot_core::handler::{SharedHandler, shared_handler};
pub use wsboot_core::plugin::{PluginDescriptor, SharedPlugin, shared_plugin};
pub use wsboot_core::registry::{HandlerDescriptor, HandlerRegistration, SourceLocation};
