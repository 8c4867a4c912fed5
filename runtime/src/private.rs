//! Everything `#[ws_handler]` and `#[ws_plugin]` expansions name, in one place.
//! Not public API: the paths may change in any release.

pub use inventory;
// `#[wsboot::main]` and `#[wsboot::test]` hand this tokio to tokio's attributes
// (`crate = "::wsboot::__private::tokio"`), so an application needs no tokio of
// its own.
pub use tokio;
pub use wsboot_core::__runtime::{BeanDescriptor, HandlerDescriptor, PluginDescriptor, ProvidedBean};
pub use wsboot_core::{AppContext, Error, FromContext, HandlerFactory};
pub use wsboot_core::{
    HandlerRegistration, SharedHandler, SharedPlugin, SourceLocation, shared_handler, shared_plugin,
};

/// A factory parameter of type `T` (`Arc<T>`, `Hub`, `AppContext`, ...), or an
/// error naming the `parameter` as written (`tokens: Arc<TokenStore>`).
pub fn inject<T: FromContext>(context: &AppContext, parameter: &str) -> Result<T, Error> {
    T::from_context(context).map_err(|error| with_parameter(error, parameter))
}

/// The bean a `&T` factory parameter borrows, or an error naming the
/// `parameter` as written (`tokens: &TokenStore`).
pub fn inject_ref<T: ?Sized + Send + Sync + 'static>(
    context: &AppContext,
    parameter: &str,
) -> Result<std::sync::Arc<T>, Error> {
    context.require::<T>().map_err(|error| with_parameter(error, parameter))
}

fn with_parameter(error: Error, parameter: &str) -> Error {
    Error::new(wsboot_core::ErrorKind::Config, format!("parameter `{parameter}`: {error}"))
}

/// One handler shared by every session.
pub fn shared_factory<H: wsboot_core::WebSocketHandler>(handler: H) -> HandlerFactory {
    HandlerFactory::Shared(shared_handler(handler))
}

/// A handler made afresh for each session by `make`.
pub fn per_connection_factory<H, F>(make: F) -> HandlerFactory
where
    H: wsboot_core::WebSocketHandler,
    F: Fn() -> H + Send + Sync + 'static,
{
    HandlerFactory::PerConnection(std::sync::Arc::new(move || shared_handler(make())))
}

/// The `TypeId` of a bean type, as a `#[bean]` descriptor records it.
pub fn type_id<T: ?Sized + 'static>() -> std::any::TypeId {
    std::any::TypeId::of::<T>()
}

/// The name of a bean type, for startup errors.
pub fn type_name<T: ?Sized>() -> &'static str {
    std::any::type_name::<T>()
}
