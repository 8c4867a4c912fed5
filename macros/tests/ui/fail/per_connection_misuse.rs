use wsboot::{WebSocketHandler, ws_handler};

#[derive(Default)]
#[ws_handler("/a", per_connection, per_connection)]
struct Twice;
impl WebSocketHandler for Twice {}

#[derive(Default)]
#[ws_handler("/b", per_connection = "yes")]
struct Valued;
impl WebSocketHandler for Valued {}

#[derive(Default)]
#[ws_handler(per_connection)]
struct NoPath;
impl WebSocketHandler for NoPath {}

fn main() {}
