//! Routes found at link time: a server that collects `#[ws_handler]`s and
//! finds none refuses to start, saying why that happens and what to write.
//!
//! `#[ws_handler]` registers through a static constructor in the object code
//! of the crate that declares the handler, and Rust hands a library to the
//! linker only when the program names it. Handlers in a library that `main.rs`
//! (or a test file) never names are silently left out: without this check the
//! server would start and answer every path with 404.

use wsboot_core::{Error, ErrorKind, HandlerRegistry};

/// What to do when the link-time collection (plugins applied) found nothing.
pub(crate) const NO_ROUTES: &str = "no routes: this program has no #[ws_handler] and no page, so every request \
would be answered 404. Handlers register when the program is linked, and Rust links a library crate only into \
programs that name it. If the handlers are in this package's library, put #[wsboot::main] on `fn main` (and \
#[wsboot::test] on tests): it names the library for you. If they are in another crate, name it once in main.rs \
(or the test file): `use my_handlers as _;`. To serve handlers added in code, give the server its registry: \
`Server::builder().registry(registry)`";

/// Fails when a registry collected from the annotations serves nothing.
pub(crate) fn require_routes(registry: &HandlerRegistry) -> Result<(), Error> {
    if registry.iter().next().is_none() && registry.pages().next().is_none() {
        return Err(Error::new(ErrorKind::Config, NO_ROUTES));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Quiet;
    impl wsboot_core::WebSocketHandler for Quiet {}

    #[test]
    fn nothing_found_is_an_error_that_names_the_fix() {
        let error = require_routes(&HandlerRegistry::new()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        let message = error.to_string();
        assert!(message.contains("#[wsboot::main]") && message.contains("use my_handlers as _;"), "{message}");

        let mut one_route = HandlerRegistry::new();
        one_route.add_handler("/a", Quiet);
        assert!(require_routes(&one_route).is_ok());
    }
}
