use wsboot::{WebSocketHandler, ws_handler};

#[derive(Default)]
#[ws_handler(42)]
struct Number;
impl WebSocketHandler for Number {}

const PATH: &str = "/constant";

#[derive(Default)]
#[ws_handler(PATH)]
struct Constant;
impl WebSocketHandler for Constant {}

fn main() {}
