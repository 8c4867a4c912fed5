//! Startup validation: an invalid registry makes `bind` fail with an error that
//! names the problem, before anything listens.

use wsboot::test::within;
use wsboot::{ErrorKind, HandlerRegistry, Server, WebSocketHandler};
use wsboot_tests::Echo;

struct First;
impl WebSocketHandler for First {}

struct Second;
impl WebSocketHandler for Second {}

async fn bind_error(registry: HandlerRegistry) -> wsboot::Error {
    let bound = within("bind", Server::builder().registry(registry).bind("127.0.0.1:0")).await;
    match bound {
        Ok(server) => panic!("the registry is invalid, yet the server bound to {}", server.local_addr()),
        Err(error) => error,
    }
}

#[tokio::test]
async fn two_handlers_on_one_path_fail_naming_both() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/chat", First);
    registry.add_handler("/chat", Second);
    let error = bind_error(registry).await;
    let message = error.to_string();
    assert_eq!(error.kind(), ErrorKind::Config, "{message}");
    assert!(message.contains("/chat"), "names the path: {message}");
    assert!(message.contains(std::any::type_name::<First>()), "names the first handler: {message}");
    assert!(message.contains(std::any::type_name::<Second>()), "names the second handler: {message}");
    assert!(message.contains("startup.rs"), "says where they were registered: {message}");
}

#[tokio::test]
async fn patterns_matching_the_same_requests_fail_naming_both() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/rooms/{room}", First);
    registry.add_handler("/rooms/{id}", Second);
    let error = bind_error(registry).await;
    let message = error.to_string();
    assert_eq!(error.kind(), ErrorKind::Config, "{message}");
    assert!(message.contains("/rooms/{room}") && message.contains("/rooms/{id}"), "names both paths: {message}");
    assert!(message.contains(std::any::type_name::<First>()), "{message}");
    assert!(message.contains(std::any::type_name::<Second>()), "{message}");
}

#[tokio::test]
async fn an_invalid_path_fails_naming_it() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("nope", First);
    let error = bind_error(registry).await;
    let message = error.to_string();
    assert_eq!(error.kind(), ErrorKind::Config, "{message}");
    assert!(message.contains("nope"), "names the path: {message}");
    assert!(message.contains("must start with `/`"), "says what is wrong: {message}");
    assert!(message.contains(std::any::type_name::<First>()), "names the handler: {message}");
}

#[tokio::test]
async fn every_problem_is_reported_at_once() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("nope", First);
    registry.add_handler("/dup", Echo);
    registry.add_handler("/dup", Second);
    let message = bind_error(registry).await.to_string();
    assert!(message.contains("nope"), "{message}");
    assert!(message.contains("/dup"), "{message}");
}

#[tokio::test]
async fn a_valid_registry_binds_and_lists_its_routes() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/chat", First);
    registry.add_handler("/rooms/{room}", Second);
    let server = within("bind", Server::builder().registry(registry).bind("127.0.0.1:0")).await.expect("binds");
    assert!(server.local_addr().ip().is_loopback());
    assert_ne!(server.local_addr().port(), 0, "port 0 is resolved to a real port");
    let routes = server.routes();
    assert!(routes.contains(&("/chat".to_owned(), std::any::type_name::<First>())), "{routes:?}");
    assert!(routes.contains(&("/rooms/{room}".to_owned(), std::any::type_name::<Second>())), "{routes:?}");
}

#[tokio::test]
async fn an_address_in_use_fails_with_an_io_error() {
    let taken = within("bind", Server::builder().registry(HandlerRegistry::new()).bind("127.0.0.1:0")).await.unwrap();
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/chat", First);
    let error = bind_error_at(registry, taken.local_addr()).await;
    assert_eq!(error.kind(), ErrorKind::Io, "{error}");
}

async fn bind_error_at(registry: HandlerRegistry, addr: std::net::SocketAddr) -> wsboot::Error {
    match within("bind", Server::builder().registry(registry).bind(addr)).await {
        Ok(server) => panic!("bound to an address already in use: {}", server.local_addr()),
        Err(error) => error,
    }
}

#[tokio::test]
async fn a_program_with_no_handlers_linked_in_refuses_to_start_and_says_why() {
    // This test program declares no #[ws_handler] and names no crate that does:
    // what a `main.rs` that names nothing from its library looks like.
    let error = within("bind", Server::builder().bind("127.0.0.1:0")).await.unwrap_err();
    let message = error.to_string();
    assert_eq!(error.kind(), ErrorKind::Config, "{message}");
    assert!(message.starts_with("no routes:"), "the cause first: {message}");
    assert!(message.contains("#[wsboot::main]") && message.contains("use my_handlers as _;"), "the fix: {message}");
    let listing = Server::builder().routes().unwrap_err().to_string();
    assert_eq!(listing, message, "--print-routes says the same");
    // A server given its handlers in code is not collecting, so no refusal.
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/echo", Echo);
    assert!(Server::builder().registry(registry).routes().is_ok());
}
