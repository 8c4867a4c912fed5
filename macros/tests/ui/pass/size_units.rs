// Sizes written with a unit, as in the TOML file, become their number of bytes.
#![deny(warnings)]

use wsboot::{HandlerRegistry, WebSocketHandler, ws_handler};

#[derive(Default)]
#[ws_handler("/sized", max_message_size = "64KiB", max_frame_size = "16 kB")]
struct Sized;
impl WebSocketHandler for Sized {}

fn main() {
    let registry = HandlerRegistry::from_annotations();
    let sized = registry.iter().next().expect("registered");
    assert_eq!(sized.options().max_message_size, Some(64 * 1024));
    assert_eq!(sized.options().max_frame_size, Some(16_000));
}
