// What the runtime reads back: every annotated handler, sorted by path, with
// its options applied through `HandlerRegistration` and its source location.
#![deny(warnings)]

use wsboot::{HandlerRegistry, HandshakeInterceptor, HandshakeRequest, Rejection, WebSocketHandler, ws_handler};

struct Allow;

impl HandshakeInterceptor for Allow {
    async fn before_handshake(&self, _request: &mut HandshakeRequest) -> Result<(), Rejection> {
        Ok(())
    }
}

#[derive(Default)]
#[ws_handler(
    "/b/chat/{room}",
    per_connection,
    allowed_origins = ["https://a.example", "https://*.example.com"],
    subprotocols = ["chat.v2", "chat.v1"],
    interceptors = [Allow, Allow],
    max_message_size = 1 << 20,
    max_frame_size = 4096,
    deflate,
)]
struct Chat; // line 26

#[ws_handler("/a/made")]
fn made() -> impl WebSocketHandler {
    Chat
}

impl WebSocketHandler for Chat {}

fn main() {
    let registry = HandlerRegistry::from_annotations();
    registry.validate().expect("no conflicts");
    let registrations: Vec<_> = registry.iter().collect();
    assert_eq!(registrations.len(), 2);

    let made = registrations[0];
    assert_eq!(made.path(), "/a/made");
    assert!(made.source().type_name().ends_with("::made"), "{}", made.source());
    assert!(!made.factory().is_per_connection());
    let options = made.options();
    assert!(options.allowed_origins.is_none() && options.subprotocols.is_empty() && options.interceptors.is_empty());
    assert!(options.max_message_size.is_none() && options.max_frame_size.is_none() && options.deflate.is_none());

    let chat = registrations[1];
    assert_eq!(chat.path(), "/b/chat/{room}");
    assert!(chat.source().type_name().ends_with("::Chat"), "{}", chat.source());
    let location = chat.source().location();
    assert!(location.file.ends_with("registry.rs"), "{location}");
    assert_eq!((location.line, location.column), (26, 8), "points at the struct name");
    assert!(chat.factory().is_per_connection());
    let options = chat.options();
    assert_eq!(
        options.allowed_origins.as_deref(),
        Some(&["https://a.example".to_owned(), "https://*.example.com".to_owned()][..])
    );
    assert_eq!(options.subprotocols, ["chat.v2", "chat.v1"]);
    assert_eq!(options.interceptors.len(), 2);
    assert_eq!(options.max_message_size, Some(1 << 20));
    assert_eq!(options.max_frame_size, Some(4096));
    assert_eq!(options.deflate, Some(true));
}
