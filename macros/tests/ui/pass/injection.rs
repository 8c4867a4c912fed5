// Factory fns with beans as parameters: `&T`, `Arc<T>`, `Arc<dyn Trait>`,
// `Option<Arc<T>>`, `Hub`, `AppContext`, for handlers (shared and per
// connection) and plugins; built when the context exists, and a missing bean
// named with its factory, parameter and type.
#![deny(warnings)]

use std::sync::Arc;

use wsboot::{
    AppContext, Beans, HandlerRegistry, Hub, RegistryPlugin, WebSocketHandler, annotated_plugins, ws_handler,
    ws_plugin,
};

pub struct TokenStore(&'static str);

pub trait Clock: Send + Sync {
    fn now(&self) -> u64;
}

struct Fixed;

impl Clock for Fixed {
    fn now(&self) -> u64 {
        7
    }
}

pub struct Notify {
    token: &'static str,
}

impl WebSocketHandler for Notify {
    fn supports_partial_messages(&self) -> bool {
        self.token.is_empty()
    }
}

#[ws_handler("/notify/{user}")]
fn notify(tokens: &TokenStore, hub: Hub) -> Notify {
    let _ = hub.stats();
    Notify { token: tokens.0 }
}

#[ws_handler("/rooms/{room}", per_connection)]
fn room(tokens: Arc<TokenStore>, clock: Arc<dyn Clock>, missing: Option<Arc<u8>>) -> impl WebSocketHandler + use<> {
    assert!(missing.is_none() && clock.now() == 7);
    Notify { token: tokens.0 }
}

#[ws_handler("/borrowing")]
fn borrowing(_: &TokenStore, context: AppContext) -> impl WebSocketHandler + use<> {
    Notify { token: context.require::<TokenStore>().map(|t| t.0).unwrap_or_default() }
}

pub struct Audit(&'static str);

impl RegistryPlugin for Audit {
    fn name(&self) -> &str {
        self.0
    }
}

#[ws_plugin]
fn audit(tokens: &TokenStore) -> Audit {
    Audit(tokens.0)
}

fn main() {
    let mut beans = Beans::new();
    beans.add(TokenStore("secret")).add_shared::<dyn Clock>(Arc::new(Fixed));
    let context = AppContext::from_beans(beans).unwrap();

    let mut registry = HandlerRegistry::from_annotations();
    assert!(registry.iter().find(|r| r.path() == "/rooms/{room}").unwrap().factory().is_per_connection());
    registry.resolve(&context).unwrap();
    for registration in registry.iter() {
        let handler = registration.factory().handler_for_session();
        assert!(!handler.supports_partial_messages());
    }
    let plugins = annotated_plugins(&context).unwrap();
    assert_eq!(plugins[0].0.name(), "secret");

    let error = HandlerRegistry::from_annotations().resolve(&AppContext::default()).unwrap_err();
    let problems: Vec<&str> = error.problems().iter().map(|p| p.message()).collect();
    assert_eq!(problems.len(), 3, "{problems:?}");
    // The crate's name is trybuild's: match from the `::`.
    assert!(problems[1].starts_with("handler factory `") && problems[1].contains("::notify` (#[ws_handler] at"));
    assert!(problems[1].contains("parameter `tokens: &TokenStore`: no bean of type `"), "{problems:?}");
    assert!(problems[1].contains("::TokenStore` is registered"), "{problems:?}");
    let error = annotated_plugins(&AppContext::default()).unwrap_err().to_string();
    assert!(error.starts_with("plugin factory `") && error.contains("::audit` (#[ws_plugin] at"), "{error}");
}
