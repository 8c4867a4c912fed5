//! Everything `#[ws_handler]` and `#[ws_plugin]` expansions name, in one place.
//! Not public API: the paths may change in any release.

pub use inventory;
pub use wsboot_core::__runtime::{HandlerDescriptor, PluginDescriptor};
pub use wsboot_core::{
    HandlerRegistration, SharedHandler, SharedPlugin, SourceLocation, shared_handler, shared_plugin,
};
