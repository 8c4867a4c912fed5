// `crate = path` for a crate that re-exports wsboot: the expansion's paths are
// rooted there.
#![deny(warnings)]

mod framework {
    pub use wsboot as ws;
}

use framework::ws;

#[derive(Default)]
#[ws::ws_handler("/reexported", crate = framework::ws)]
struct Reexported;
impl ws::WebSocketHandler for Reexported {}

#[ws::ws_handler("/absolute", crate = ::wsboot)]
fn absolute() -> impl ws::WebSocketHandler {
    Reexported
}

fn main() {}
