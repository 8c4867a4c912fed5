use wsboot::{RegistryPlugin, ws_plugin};

#[ws_plugin]
enum Mode {
    On,
}

#[derive(Default)]
#[ws_plugin]
struct Generic<T>(T);

#[ws_plugin]
fn with_args(name: &str) -> impl RegistryPlugin {
    wsboot::AdHocPlugin::configure(name.to_owned(), |_| Ok(()))
}

#[ws_plugin]
async fn asynchronous() -> impl RegistryPlugin {
    wsboot::AdHocPlugin::configure("async", |_| Ok(()))
}

fn main() {}
