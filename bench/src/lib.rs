//! What the load programs in `src/bin` share.

pub mod format;
pub mod procfs;
