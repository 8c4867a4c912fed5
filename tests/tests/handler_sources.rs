//! Annotated and programmatic handlers in one server, and a path claimed twice:
//! a startup error that names both sources (the `#[ws_handler]` and its place,
//! the `add_handler` call, or the plugin that added it).

use wsboot::test::TestServer;
use wsboot::{AdHocPlugin, ErrorKind, HandlerRegistry, HandlerResult, Server, Session, WebSocketHandler, ws_handler};
use wsboot_tests::{Echo, connect_with_headers as connect};

/// Annotated handlers of this test binary.
#[derive(Default)]
#[ws_handler("/annotated")]
struct Annotated;

impl WebSocketHandler for Annotated {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        Ok(session.send("annotated").await?)
    }
}

struct Programmatic;

impl WebSocketHandler for Programmatic {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        Ok(session.send("programmatic").await?)
    }
}

#[tokio::test]
async fn annotated_and_programmatic_handlers_serve_side_by_side() {
    let mut registry = HandlerRegistry::from_annotations();
    registry.add_handler("/programmatic", Programmatic);
    let server = TestServer::start_with(Server::builder().registry(registry)).await;
    let (mut annotated, _) = connect(&server, "/annotated", &[]).await;
    assert_eq!(annotated.recv_text().await, "annotated");
    let (mut programmatic, _) = connect(&server, "/programmatic", &[]).await;
    assert_eq!(programmatic.recv_text().await, "programmatic");
    drop((annotated, programmatic));
    server.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_path_is_a_startup_error_naming_both_sources() {
    let mut registry = HandlerRegistry::from_annotations();
    registry.add_handler("/annotated", Programmatic);
    let error = Server::builder().registry(registry).bind("127.0.0.1:0").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    let message = error.to_string();
    assert!(message.contains("two handlers for path `/annotated`"), "{message}");
    assert!(message.contains("#[ws_handler] at") && message.contains("::Annotated"), "{message}");
    assert!(message.contains("added at") && message.contains("::Programmatic"), "{message}");

    // A plugin's duplicate is reported with the plugin's name.
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/chat", Echo);
    let rogue = AdHocPlugin::configure("rogue", |registry: &mut HandlerRegistry| {
        registry.add_handler("/chat", Programmatic);
        Ok(())
    });
    let error = Server::builder().registry(registry).plugin(rogue).bind("127.0.0.1:0").await.unwrap_err();
    assert!(error.to_string().contains("by plugin `rogue`"), "{error}");
}
