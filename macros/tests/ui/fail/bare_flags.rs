use wsboot::{WebSocketHandler, ws_handler};

#[derive(Default)]
#[ws_handler("/a", per_connection = true)]
struct PerConnectionValue;
impl WebSocketHandler for PerConnectionValue {}

#[derive(Default)]
#[ws_handler("/b", per_connection(false))]
struct PerConnectionCall;
impl WebSocketHandler for PerConnectionCall {}

#[derive(Default)]
#[ws_handler("/c", deflate = false)]
struct DeflateValue;
impl WebSocketHandler for DeflateValue {}

fn main() {}
