use wsboot::{RegistryPlugin, ws_plugin};

#[derive(Default)]
#[ws_plugin(allowed_origins = ["https://a.example"], subprotocols = ["v1"])]
struct Origins;
impl RegistryPlugin for Origins {
    fn name(&self) -> &str {
        "origins"
    }
}

fn main() {}
