use wsboot::{WebSocketHandler, ws_handler};

#[ws_handler("/enum")]
#[derive(Default)]
enum Mode {
    #[default]
    Echo,
}
impl WebSocketHandler for Mode {}

#[ws_handler("/union")]
union Bits {
    raw: u32,
}

struct Echo;

#[ws_handler("/impl")]
impl WebSocketHandler for Echo {}

#[ws_handler("/trait")]
trait Handlers {}

#[ws_handler("/const")]
const HANDLER: Echo = Echo;

fn main() {}
