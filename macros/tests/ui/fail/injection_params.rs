use std::sync::Arc;

use wsboot::{WebSocketHandler, ws_handler};

struct Echo;
impl WebSocketHandler for Echo {}

struct Config;

#[ws_handler("/mutable")]
fn mutable(config: &mut Config) -> Echo {
    let _ = config;
    Echo
}

#[ws_handler("/borrowed")]
fn borrowed(config: &Config) -> impl WebSocketHandler {
    let _ = config;
    Echo
}

#[ws_handler("/implicit")]
fn implicit(config: impl Send, shared: Arc<Config>) -> Echo {
    let _ = (config, shared);
    Echo
}

fn main() {}
