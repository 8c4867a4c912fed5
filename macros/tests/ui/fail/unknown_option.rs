use wsboot::{WebSocketHandler, ws_handler};

#[derive(Default)]
#[ws_handler("/a", per_conection)]
struct Misspelt;
impl WebSocketHandler for Misspelt {}

#[derive(Default)]
#[ws_handler("/b", compression = true)]
struct Unknown;
impl WebSocketHandler for Unknown {}

fn main() {}
