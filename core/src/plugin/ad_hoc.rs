//! [`AdHocPlugin`]: a plugin made of one closure.

use std::fmt;
use std::future::Future;

use super::{RegistryPlugin, ServerInfo};
use crate::error::BoxError;
use crate::future::BoxFuture;
use crate::handler::SharedHandler;
use crate::registry::HandlerRegistry;

type ConfigureFn = dyn Fn(&mut HandlerRegistry) -> Result<(), BoxError> + Send + Sync;
type DecorateFn = dyn Fn(&str, SharedHandler) -> SharedHandler + Send + Sync;
type StartFn = dyn Fn(ServerInfo) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync;
type ShutdownFn = dyn Fn() -> BoxFuture<'static, ()> + Send + Sync;

/// A plugin made of one closure, for small cases (Rocket's `AdHoc` fairing).
///
/// ```
/// use wsboot_core::{AdHocPlugin, HandlerRegistry};
///
/// // Every handler accepts browsers from the app's domain.
/// let origins = AdHocPlugin::configure("origins", |registry: &mut HandlerRegistry| {
///     for registration in registry.iter_mut() {
///         registration.allowed_origins(["https://*.example.com"]);
///     }
///     Ok(())
/// });
/// let started = AdHocPlugin::on_start("announce", |server| async move {
///     println!("serving {} routes on {}", server.routes.len(), server.local_addr);
///     Ok(())
/// });
/// # let _ = (origins, started);
/// ```
pub struct AdHocPlugin {
    name: String,
    hook: Hook,
}

enum Hook {
    Configure(Box<ConfigureFn>),
    Decorate(Box<DecorateFn>),
    Start(Box<StartFn>),
    Shutdown(Box<ShutdownFn>),
}

impl AdHocPlugin {
    /// A plugin whose [`configure`](RegistryPlugin::configure) is `f`.
    pub fn configure<F>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(&mut HandlerRegistry) -> Result<(), BoxError> + Send + Sync + 'static,
    {
        AdHocPlugin { name: name.into(), hook: Hook::Configure(Box::new(f)) }
    }

    /// A plugin whose [`decorate`](RegistryPlugin::decorate) is `f`.
    pub fn decorate<F>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(&str, SharedHandler) -> SharedHandler + Send + Sync + 'static,
    {
        AdHocPlugin { name: name.into(), hook: Hook::Decorate(Box::new(f)) }
    }

    /// A plugin whose [`on_start`](RegistryPlugin::on_start) is `f`.
    pub fn on_start<F, Fut>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(ServerInfo) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        AdHocPlugin { name: name.into(), hook: Hook::Start(Box::new(move |info| Box::pin(f(info)))) }
    }

    /// A plugin whose [`on_shutdown`](RegistryPlugin::on_shutdown) is `f`.
    pub fn on_shutdown<F, Fut>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        AdHocPlugin { name: name.into(), hook: Hook::Shutdown(Box::new(move || Box::pin(f()))) }
    }
}

impl fmt::Debug for AdHocPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hook = match self.hook {
            Hook::Configure(_) => "configure",
            Hook::Decorate(_) => "decorate",
            Hook::Start(_) => "on_start",
            Hook::Shutdown(_) => "on_shutdown",
        };
        f.debug_struct("AdHocPlugin").field("name", &self.name).field("hook", &hook).finish()
    }
}

impl RegistryPlugin for AdHocPlugin {
    fn name(&self) -> &str {
        &self.name
    }

    fn configure(&self, registry: &mut HandlerRegistry) -> Result<(), BoxError> {
        match &self.hook {
            Hook::Configure(f) => f(registry),
            _ => Ok(()),
        }
    }

    fn decorate(&self, path: &str, handler: SharedHandler) -> SharedHandler {
        match &self.hook {
            Hook::Decorate(f) => f(path, handler),
            _ => handler,
        }
    }

    fn on_start(&self, server: &ServerInfo) -> impl Future<Output = Result<(), BoxError>> + Send {
        let started = match &self.hook {
            Hook::Start(f) => Some(f(server.clone())),
            _ => None,
        };
        async move {
            match started {
                Some(started) => started.await,
                None => Ok(()),
            }
        }
    }

    fn on_shutdown(&self) -> impl Future<Output = ()> + Send {
        let stopped = match &self.hook {
            Hook::Shutdown(f) => Some(f()),
            _ => None,
        };
        async move {
            if let Some(stopped) = stopped {
                stopped.await
            }
        }
    }
}
