//! Everything `#[ws_handler]` and `#[ws_plugin]` expansions name, in one place.
//! Not public API: the paths may change in any release.

pub use inventory;
// `#[wsboot::main]` and `#[wsboot::test]` hand this tokio to tokio's attributes
// (`crate = "::wsboot::__private::tokio"`), so an application needs no tokio of
// its own.
pub use tokio;
pub use wsboot_core::__runtime::{HandlerDescriptor, PluginDescriptor};
pub use wsboot_core::{
    HandlerRegistration, SharedHandler, SharedPlugin, SourceLocation, shared_handler, shared_plugin,
};
