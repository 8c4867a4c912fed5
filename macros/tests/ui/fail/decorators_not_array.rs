use wsboot::{HandlerDecorator, WebSocketHandler, ws_handler};

struct Audit;
impl HandlerDecorator for Audit {}

#[derive(Default)]
#[ws_handler("/a", decorators = Audit)]
struct NotArray;
impl WebSocketHandler for NotArray {}

fn main() {}
