use wsboot::{WebSocketHandler, ws_handler};

const ORIGIN: &str = "https://a.example";

#[derive(Default)]
#[ws_handler("/a", allowed_origins = "https://a.example")]
struct OriginNotArray;
impl WebSocketHandler for OriginNotArray {}

#[derive(Default)]
#[ws_handler("/b", allowed_origins = ["https://b.example", ORIGIN])]
struct OriginNotLiteral;
impl WebSocketHandler for OriginNotLiteral {}

#[derive(Default)]
#[ws_handler("/c", allowed_origins = ["https://c.example/app"])]
struct OriginWithPath;
impl WebSocketHandler for OriginWithPath {}

#[derive(Default)]
#[ws_handler("/d", subprotocols = PROTOCOLS)]
struct SubprotocolsNotArray;
impl WebSocketHandler for SubprotocolsNotArray {}

#[derive(Default)]
#[ws_handler("/e", subprotocols = ["chat.v1", 2, "chat v3"])]
struct BadSubprotocols;
impl WebSocketHandler for BadSubprotocols {}

fn main() {}
