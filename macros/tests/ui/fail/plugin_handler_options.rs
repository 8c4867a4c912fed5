use wsboot::{RegistryPlugin, WebSocketHandler, ws_handler, ws_plugin};

#[derive(Default)]
#[ws_plugin(allowed_origins = ["https://a.example"], subprotocols = ["v1"])]
struct Origins;
impl RegistryPlugin for Origins {
    fn name(&self) -> &str {
        "origins"
    }
}

#[derive(Default)]
#[ws_plugin(decorators = [Audit])]
struct Decorators;
impl RegistryPlugin for Decorators {
    fn name(&self) -> &str {
        "decorators"
    }
}

#[derive(Default)]
#[ws_handler("/ordered", order = -1)]
struct Ordered;
impl WebSocketHandler for Ordered {}

fn main() {}
