use wsboot::ws_handler;

struct Plain;

#[ws_handler("/plain")]
fn plain() -> Plain {
    Plain
}

fn main() {}
