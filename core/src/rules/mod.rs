//! The rules for the values a handler declares besides its path: the origins it
//! allows, the subprotocols it speaks and the sizes of its limits. Each rule is written once, here:
//! `#[ws_handler]` checks its literals with it at compile time and the server
//! checks every registration with it at startup, so a value that compiles
//! never fails to start. (The path rule is [`RoutePattern`](crate::RoutePattern).)

mod origin;
mod size;
mod subprotocol;
mod token;
mod value_error;

pub use origin::check_allowed_origin;
pub use size::parse_size;
pub use subprotocol::check_subprotocol;
pub use token::{is_token, is_token_char};
pub use value_error::OptionValueError;
