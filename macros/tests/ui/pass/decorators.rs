// `decorators = [...]` on a handler: the same `HandlerRegistration::decorator`
// calls a programmatic registration makes, in the order written.
#![deny(warnings)]

use wsboot::{HandlerDecorator, HandlerRegistry, WebSocketHandler, ws_handler};

struct Audit;
impl HandlerDecorator for Audit {}

#[derive(Default)]
struct Timing;
impl HandlerDecorator for Timing {
    fn name(&self) -> &'static str {
        "timing"
    }
}

#[derive(Default)]
#[ws_handler("/audited", decorators = [Audit, Timing::default()])]
struct Audited;

impl WebSocketHandler for Audited {}

fn main() {
    let registry = HandlerRegistry::from_annotations();
    let registration = registry.iter().next().expect("one handler");
    let names: Vec<&str> = registration.options().decorators.iter().map(|d| d.name()).collect();
    assert_eq!(names.len(), 2);
    assert!(names[0].ends_with("Audit"), "{names:?}");
    assert_eq!(names[1], "timing");
}
