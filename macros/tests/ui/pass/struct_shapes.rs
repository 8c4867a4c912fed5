// Unit, named and tuple structs, any visibility, attribute before or after the
// derive, at module level or inside a fn body; no warning from the expansion.
#![deny(warnings)]
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use wsboot::{HandlerResult, Session, WebSocketHandler, ws_handler};

#[derive(Default)]
#[ws_handler("/unit")]
struct Unit;
impl WebSocketHandler for Unit {}

#[derive(Default)]
#[ws_handler("/named/{room}", per_connection)]
pub struct Named {
    opened: AtomicUsize,
}
impl WebSocketHandler for Named {
    async fn after_connection_established(&self, _session: &Session) -> HandlerResult {
        self.opened.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[ws_handler("/tuple")]
#[derive(Default)]
pub(crate) struct Tuple(AtomicUsize);
impl WebSocketHandler for Tuple {
    async fn after_connection_established(&self, _session: &Session) -> HandlerResult {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

mod nested {
    #[derive(Default)]
    #[wsboot::ws_handler("/nested")]
    pub struct Nested;
    impl wsboot::WebSocketHandler for Nested {}
}

fn main() {
    #[derive(Default)]
    #[ws_handler("/local")]
    struct Local;
    impl WebSocketHandler for Local {}
}
