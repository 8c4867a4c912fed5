use wsboot::{RegistryPlugin, ws_plugin};

#[derive(Default)]
#[ws_plugin(per_connection)]
struct PerConnection;
impl RegistryPlugin for PerConnection {
    fn name(&self) -> &str {
        "per-connection"
    }
}

#[derive(Default)]
#[ws_plugin(ordr = 1)]
struct Misspelt;
impl RegistryPlugin for Misspelt {
    fn name(&self) -> &str {
        "misspelt"
    }
}

#[derive(Default)]
#[ws_plugin(order = 1, order = 2)]
struct Twice;
impl RegistryPlugin for Twice {
    fn name(&self) -> &str {
        "twice"
    }
}

#[derive(Default)]
#[ws_plugin(order = "first")]
struct OrderNotNumber;
impl RegistryPlugin for OrderNotNumber {
    fn name(&self) -> &str {
        "order"
    }
}

#[derive(Default)]
#[ws_plugin("/auth")]
struct WithPath;
impl RegistryPlugin for WithPath {
    fn name(&self) -> &str {
        "with-path"
    }
}

fn main() {}
