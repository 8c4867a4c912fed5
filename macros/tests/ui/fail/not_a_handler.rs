use wsboot::ws_handler;

#[derive(Default)]
#[ws_handler("/plain")]
struct Plain;

fn main() {}
