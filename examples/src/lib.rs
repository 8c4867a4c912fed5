//! Code shared by the example apps and their tests.
//!
//! - [`chat`]: the rooms, protocol and page of the `chat` example.
//! - [`chat_app`]: its command line, shared with the chaos program.

pub mod chat;
pub mod chat_app;
