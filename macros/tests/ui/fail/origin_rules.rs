// Every origin the server would refuse at startup is refused here, by the same rule.
use wsboot::{WebSocketHandler, ws_handler};

#[derive(Default)]
#[ws_handler("/a", allowed_origins = ["app.example"])]
struct NoScheme;
impl WebSocketHandler for NoScheme {}

#[derive(Default)]
#[ws_handler("/b", allowed_origins = ["https://"])]
struct NoHost;
impl WebSocketHandler for NoHost {}

#[derive(Default)]
#[ws_handler("/c", allowed_origins = ["https://app.example?x=1", "https://bücher.example", ""])]
struct QueryNonAsciiEmpty;
impl WebSocketHandler for QueryNonAsciiEmpty {}

#[derive(Default)]
#[ws_handler("/d", allowed_origins = ["*", "null", "https://*.example.com", "http://localhost:8080"])]
struct Accepted;
impl WebSocketHandler for Accepted {}

fn main() {}
