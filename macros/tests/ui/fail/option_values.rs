use wsboot::{WebSocketHandler, ws_handler};

#[derive(Default)]
#[ws_handler("/a", max_message_size)]
struct SizeWithoutValue;
impl WebSocketHandler for SizeWithoutValue {}

#[derive(Default)]
#[ws_handler("/b", interceptors = TokenAuth)]
struct InterceptorsNotArray;
impl WebSocketHandler for InterceptorsNotArray {}

#[derive(Default)]
#[ws_handler("/c", crate = "wsboot")]
struct CrateNotPath;
impl WebSocketHandler for CrateNotPath {}

fn main() {}
