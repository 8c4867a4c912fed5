//! Code shared by the example apps and their tests.
//!
//! - [`chat`]: the rooms, protocol and page of the `chat` example.

pub mod chat;
