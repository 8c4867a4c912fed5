//! `#[bean]` providers: values built at startup from other beans, in
//! dependency order, reaching handler factories like beans registered in code.

use std::sync::Arc;

use wsboot::test::TestServer;
use wsboot::{ErrorKind, HandlerRegistry, HandlerResult, Server, Session, WebSocketHandler, bean, ws_handler};

/// Registered in code.
struct Settings {
    greeting: &'static str,
}

/// Made by a provider from another provider's bean.
struct Punctuation(&'static str);

/// Made from `Settings` (code) and `Punctuation` (provider).
struct Greeter {
    text: String,
}

// `greeter` sorts before `punctuation`: the order comes from the parameters.
#[bean]
fn greeter(settings: &Settings, punctuation: Arc<Punctuation>) -> Greeter {
    Greeter { text: format!("{}{}", settings.greeting, punctuation.0) }
}

#[bean]
fn punctuation() -> Punctuation {
    Punctuation("!")
}

struct Greet(Arc<Greeter>);

impl WebSocketHandler for Greet {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        Ok(session.send(self.0.text.clone()).await?)
    }
}

#[ws_handler("/greet")]
fn greet(greeter: Arc<Greeter>) -> Greet {
    Greet(greeter)
}

#[tokio::test]
async fn providers_run_after_the_providers_of_what_they_take() {
    let builder = Server::builder()
        .registry(HandlerRegistry::from_annotations())
        .annotated_beans(true)
        .bean(Settings { greeting: "hello" });
    let server = TestServer::start_with(builder).await;
    let mut client = server.connect("/greet").await;
    assert_eq!(client.recv_text().await, "hello!");
    drop(client);
    server.shutdown().await;
}

#[tokio::test]
async fn a_provider_without_its_bean_stops_the_server_naming_it() {
    let builder = Server::builder().registry(HandlerRegistry::new()).annotated_beans(true);
    let error = builder.bind("127.0.0.1:0").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    let message = error.to_string();
    for part in ["bean provider `beans::greeter` (#[bean] at", "parameter `settings: &Settings`", "`beans::Settings`"] {
        assert!(message.contains(part), "{part} in {message}");
    }
}

#[tokio::test]
async fn explicit_registries_leave_the_providers_out_unless_asked() {
    let server = Server::builder().registry(HandlerRegistry::new()).bind("127.0.0.1:0").await.unwrap();
    assert!(server.context().get::<Punctuation>().is_none());
}
