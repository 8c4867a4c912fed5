// One attribute, every mistake reported at once, each on its own token.
use wsboot::ws_handler;

#[ws_handler("rooms", colour = "red", deflate = yes, , per_connection max_frame_size = 1)]
enum Rooms {}

fn main() {}
