//! Wiring an application: beans registered on the builder reach `#[ws_handler]`
//! and `#[ws_plugin]` factory fns by parameter type (so a plugin's interceptors
//! use them) and callbacks through `Session::context`; a
//! parameter nobody registered stops the server naming factory, parameter and
//! type; background tasks publish through the hub and are stopped and awaited
//! at shutdown, before plugins' `on_shutdown`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wsboot::test::TestServer;
use wsboot::{
    AdHocPlugin, BoxError, ErrorKind, HandlerRegistry, HandlerResult, HandshakeInterceptor, HandshakeRequest, Hub,
    RegistryPlugin, Rejection, Server, Session, WebSocketHandler, ws_handler, ws_plugin,
};

/// The users allowed in, by token: a bean.
struct TokenStore {
    users: Vec<(&'static str, &'static str)>,
}

/// The message of the day: a bean read from a callback.
struct Motd(&'static str);

/// Greets the user a token names, with the message of the day.
struct Notify {
    user_for_token: Vec<(&'static str, &'static str)>,
    hub: Hub,
}

impl WebSocketHandler for Notify {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        let token = session.query_param("token").unwrap_or_default();
        let user = self.user_for_token.iter().find(|(t, _)| *t == token).map(|(_, user)| *user).ok_or("bad token")?;
        let motd = session.context().require::<Motd>()?;
        session.send(format!("hello {user}: {}", motd.0)).await?;
        session.subscribe("news").await?;
        // The hub the factory got is the server's.
        self.hub.publish("news", format!("{user} is here")).await.unwrap();
        Ok(())
    }
}

#[ws_handler("/notify")]
fn notify(tokens: &TokenStore, hub: Hub) -> Notify {
    Notify { user_for_token: tokens.users.clone(), hub }
}

/// Refuses handshakes whose `?token=` the store does not know.
struct RequireToken(Arc<TokenStore>);

impl HandshakeInterceptor for RequireToken {
    async fn before_handshake(&self, request: &mut HandshakeRequest) -> Result<(), Rejection> {
        let token = request.query_param("token").unwrap_or_default();
        if self.0.users.iter().any(|(known, _)| *known == token) { Ok(()) } else { Err(Rejection::unauthorized()) }
    }
}

/// Puts `RequireToken`, with the token store bean, in front of every route.
struct TokenAuth(Arc<TokenStore>);

impl RegistryPlugin for TokenAuth {
    fn name(&self) -> &str {
        "token-auth"
    }

    fn configure(&self, registry: &mut HandlerRegistry) -> Result<(), BoxError> {
        for registration in registry.iter_mut() {
            registration.interceptor(RequireToken(self.0.clone()));
        }
        Ok(())
    }
}

#[ws_plugin]
fn token_auth(tokens: Arc<TokenStore>) -> TokenAuth {
    TokenAuth(tokens)
}

fn tokens() -> TokenStore {
    TokenStore { users: vec![("t-ada", "ada")] }
}

#[tokio::test]
async fn factory_parameters_and_callbacks_get_the_beans() {
    let builder = Server::builder().registry(HandlerRegistry::from_annotations()).bean(tokens()).bean(Motd("welcome"));
    let server = TestServer::start_with(builder).await;
    let mut client = server.connect("/notify?token=t-ada").await;
    assert_eq!(client.recv_text().await, "hello ada: welcome");
    assert_eq!(client.recv_text().await, "ada is here");
    drop(client);
    server.shutdown().await;
}

#[tokio::test]
async fn a_plugin_factory_hands_a_bean_to_its_interceptors() {
    let builder = Server::builder()
        .registry(HandlerRegistry::from_annotations())
        .annotated_plugins(true)
        .bean(tokens())
        .bean(Motd("welcome"));
    let server = TestServer::start_with(builder).await;
    let refused = server.request("/notify?token=forged").try_connect().await.expect_err("refused");
    assert_eq!(refused.status, 401);
    let mut client = server.connect("/notify?token=t-ada").await;
    assert_eq!(client.recv_text().await, "hello ada: welcome");
    drop(client);
    server.shutdown().await;
}

#[tokio::test]
async fn a_missing_bean_stops_the_server_naming_factory_parameter_and_type() {
    let builder = Server::builder().registry(HandlerRegistry::from_annotations()).bean(Motd("welcome"));
    let error = builder.bind("127.0.0.1:0").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    let message = error.to_string();
    for part in ["handler factory `context::notify`", "parameter `tokens: &TokenStore`", "`context::TokenStore`"] {
        assert!(message.contains(part), "{part} in {message}");
    }
    assert!(message.contains("App::bean"), "says what to do: {message}");
}

#[tokio::test]
async fn two_beans_of_one_type_are_a_startup_error() {
    let builder = Server::builder().registry(HandlerRegistry::new()).bean(Motd("a")).bean(Motd("b"));
    let message = builder.bind("127.0.0.1:0").await.unwrap_err().to_string();
    assert!(message.contains("two beans of type `context::Motd`"), "{message}");
    assert_eq!(message.matches("tests/context.rs:").count(), 2, "names both calls: {message}");
}

/// Subscribes every session to `ticks`.
struct Ticks;

impl WebSocketHandler for Ticks {
    async fn after_connection_established(&self, session: &Session) -> HandlerResult {
        session.subscribe("ticks").await?;
        session.send("subscribed").await?;
        Ok(())
    }
}

/// Sets its flag when dropped: the task owning it ended.
struct Stopped(Arc<AtomicBool>);

impl Drop for Stopped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_background_ticker_reaches_subscribers_and_stops_before_plugins_shut_down() {
    let ticker_stopped = Arc::new(AtomicBool::new(false));
    let spawned_stopped = Arc::new(AtomicBool::new(false));
    let seen_at_plugin_shutdown = Arc::new(Mutex::new(None));

    let mut registry = HandlerRegistry::new();
    registry.add_handler("/ticks", Ticks);
    let flag = ticker_stopped.clone();
    let spawned = spawned_stopped.clone();
    let (flags, seen) = ((ticker_stopped.clone(), spawned_stopped.clone()), seen_at_plugin_shutdown.clone());
    let builder = Server::builder()
        .registry(registry)
        .background("ticker", move |context| async move {
            let _stopped = Stopped(flag);
            loop {
                context.hub().publish("ticks", "tick").await.unwrap();
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        // A plugin spawns through `ServerInfo::background` alike.
        .plugin(AdHocPlugin::on_start("spawner", move |info| {
            let spawned = spawned.clone();
            async move {
                info.background.spawn("idle", async move {
                    let _stopped = Stopped(spawned);
                    std::future::pending::<()>().await
                });
                Ok(())
            }
        }))
        .plugin(AdHocPlugin::on_shutdown("observer", move || {
            let (ticker, spawned) = (flags.0.load(Ordering::SeqCst), flags.1.load(Ordering::SeqCst));
            *seen.lock().unwrap() = Some((ticker, spawned));
            async {}
        }));
    let server = TestServer::start_with(builder).await;
    let mut client = server.connect("/ticks").await;
    assert_eq!(client.recv_text().await, "subscribed");
    assert_eq!(client.recv_text().await, "tick");
    assert_eq!(client.recv_text().await, "tick");
    assert!(!ticker_stopped.load(Ordering::SeqCst) && !spawned_stopped.load(Ordering::SeqCst));

    drop(client);
    server.shutdown().await;
    assert!(ticker_stopped.load(Ordering::SeqCst), "the ticker was cancelled and awaited");
    assert!(spawned_stopped.load(Ordering::SeqCst), "the plugin's task too");
    assert_eq!(*seen_at_plugin_shutdown.lock().unwrap(), Some((true, true)), "before plugins' on_shutdown");
}
