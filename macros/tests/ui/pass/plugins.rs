// `#[ws_plugin]` on structs and factory fns: the runtime collects them in the
// documented order (by `order`, then type path), whatever the link order.
#![deny(warnings)]

use wsboot::{AdHocPlugin, BoxError, HandlerRegistry, RegistryPlugin, WebSocketHandler, ws_plugin};

const EARLY: i32 = -5;

#[derive(Default)]
#[ws_plugin]
struct Zeta;

impl RegistryPlugin for Zeta {
    fn name(&self) -> &str {
        "zeta"
    }
}

#[derive(Default)]
#[ws_plugin(order = EARLY)]
struct Late; // runs first: order -5

impl RegistryPlugin for Late {
    fn name(&self) -> &str {
        "early"
    }

    fn configure(&self, registry: &mut HandlerRegistry) -> Result<(), BoxError> {
        struct Ping;
        impl WebSocketHandler for Ping {}
        registry.add_handler("/ping", Ping);
        Ok(())
    }
}

#[ws_plugin(order = 1)]
fn alpha() -> impl RegistryPlugin {
    AdHocPlugin::configure("alpha", |_| Ok(()))
}

mod nested {
    use wsboot::{RegistryPlugin, ws_plugin};

    #[derive(Default)]
    #[ws_plugin(crate = ::wsboot)]
    pub(crate) struct Beta;

    impl RegistryPlugin for Beta {
        fn name(&self) -> &str {
            "beta"
        }
    }
}

fn main() {
    let plugins = wsboot::annotated_plugins(&wsboot::AppContext::default()).expect("no factory takes a bean");
    let names: Vec<&str> = plugins.iter().map(|(plugin, _)| plugin.name()).collect();
    // -5, then 0 by type path (`plugins::Zeta` < `plugins::nested::Beta`), then 1.
    assert_eq!(names, ["early", "zeta", "beta", "alpha"]);
    let (_, source) = &plugins[0];
    assert!(source.to_string().contains("#[ws_plugin] at"), "{source}");
    let _ = nested::Beta;
}
