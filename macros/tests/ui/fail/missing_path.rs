use wsboot::{WebSocketHandler, ws_handler};

#[derive(Default)]
#[ws_handler]
struct NoArguments;
impl WebSocketHandler for NoArguments {}

#[derive(Default)]
#[ws_handler(per_connection)]
struct OptionsOnly;
impl WebSocketHandler for OptionsOnly {}

fn main() {}
