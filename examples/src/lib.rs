//! Shared helpers for the example apps (none yet).
