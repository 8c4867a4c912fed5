//! What the load programs in `src/bin` share, and the chaos test's harness
//! ([`chaos`]).

pub mod chaos;
pub mod format;
pub mod procfs;
