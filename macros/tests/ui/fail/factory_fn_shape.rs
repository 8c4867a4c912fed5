use wsboot::{WebSocketHandler, ws_handler};

struct Echo;
impl WebSocketHandler for Echo {}

#[ws_handler("/arguments")]
fn with_arguments(prefix: &mut String) -> impl WebSocketHandler {
    drop(prefix);
    Echo
}

#[ws_handler("/generic")]
fn generic<H: WebSocketHandler + Default>() -> impl WebSocketHandler {
    H::default()
}

#[ws_handler("/async")]
async fn asynchronous() -> impl WebSocketHandler {
    Echo
}

#[ws_handler("/unit")]
fn no_return_type() {}

impl Echo {
    #[ws_handler("/method")]
    fn method(&self) -> impl WebSocketHandler {
        Echo
    }
}

fn main() {}
