use wsboot::{WebSocketHandler, ws_handler};

#[derive(Default)]
#[ws_handler("myHandler")]
struct NoSlash;
impl WebSocketHandler for NoSlash {}

#[derive(Default)]
#[ws_handler("/rooms/{}")]
struct UnnamedParameter;
impl WebSocketHandler for UnnamedParameter {}

#[derive(Default)]
#[ws_handler("/rooms/x{room}")]
struct PartialSegment;
impl WebSocketHandler for PartialSegment {}

#[derive(Default)]
#[ws_handler("/rooms//{room}")]
struct EmptySegment;
impl WebSocketHandler for EmptySegment {}

#[derive(Default)]
#[ws_handler("/chat?room=1")]
struct Query;
impl WebSocketHandler for Query {}

fn main() {}
