//! Helpers shared by the integration tests.
//!
//! Servers and well-behaved clients come from wsboot's own test kit,
//! [`wsboot::test`](mod@wsboot::test), the one users test with. What it does not offer lives
//! here: clients that write bytes by hand ([`raw`]), open-file accounting for
//! the hostile-input tests ([`open_files`]), and handlers several files serve
//! ([`handlers`]).

pub mod h2;
pub mod handlers;
pub mod open_files;
pub mod raw;

pub use handlers::{Closures, Echo, ReportingEcho};
pub use raw::{Frame, HttpResponse, RawClient, encode_frame, http_request, opcode, upgrade_request};
