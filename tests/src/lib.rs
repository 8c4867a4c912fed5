//! Helpers shared by the integration tests.
//!
//! Servers and well-behaved clients come from wsboot's own test kit,
//! [`wsboot::test`](mod@wsboot::test), the one users test with. What it does not offer lives
//! here: clients that write bytes by hand ([`raw`]), open-file accounting for
//! the hostile-input tests ([`open_files`]), handlers several files serve
//! ([`handlers`]), a STOMP client ([`stomp`]), and a certificate with a
//! rustls client that trusts it ([`tls`]).

pub mod deflate;
pub mod h2;
pub mod handlers;
pub mod open_files;
pub mod raw;
pub mod stomp;
pub mod tls;

pub use handlers::{Closures, Echo, ReportingEcho};
pub use raw::{Frame, HttpResponse, RawClient, encode_frame, http_request, opcode, upgrade_request};

use wsboot::test::{TestClient, TestServer};

/// Opens a WebSocket to `path` with extra request headers; returns the client
/// and the subprotocol the server selected.
pub async fn connect_with_headers(
    server: &TestServer,
    path: &str,
    headers: &[(&str, &str)],
) -> (TestClient, Option<String>) {
    let request = headers.iter().fold(server.request(path), |request, (name, value)| request.header(name, value));
    let client = request.connect().await;
    let protocol = client.accepted_protocol().map(str::to_owned);
    (client, protocol)
}
