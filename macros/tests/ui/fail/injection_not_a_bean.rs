use wsboot::{WebSocketHandler, ws_handler};

struct Echo;
impl WebSocketHandler for Echo {}

struct Config;

#[ws_handler("/by-value")]
fn by_value(config: Config) -> Echo {
    let _ = config;
    Echo
}

fn main() {}
