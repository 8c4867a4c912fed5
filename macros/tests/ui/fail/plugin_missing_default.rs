use wsboot::{RegistryPlugin, ws_plugin};

#[ws_plugin]
struct NoDefault;
impl RegistryPlugin for NoDefault {
    fn name(&self) -> &str {
        "no-default"
    }
}

fn main() {}
