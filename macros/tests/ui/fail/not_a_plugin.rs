use wsboot::ws_plugin;

#[derive(Default)]
#[ws_plugin]
struct NotAPlugin;

#[ws_plugin]
fn returns_a_string() -> String {
    String::new()
}

fn main() {}
