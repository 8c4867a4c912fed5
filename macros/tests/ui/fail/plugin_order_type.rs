use wsboot::{RegistryPlugin, ws_plugin};

const LATE: u64 = 10;

#[derive(Default)]
#[ws_plugin(order = LATE)]
struct Late;
impl RegistryPlugin for Late {
    fn name(&self) -> &str {
        "late"
    }
}

fn main() {}
