use wsboot::{WebSocketHandler, ws_handler};

#[derive(Default)]
#[ws_handler("/a", max_message_size = "64 kilobytes")]
struct UnknownUnit;
impl WebSocketHandler for UnknownUnit {}

#[derive(Default)]
#[ws_handler("/b", max_frame_size = "")]
struct Empty;
impl WebSocketHandler for Empty {}

fn main() {}
