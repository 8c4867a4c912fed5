use super::*;
use crate::WebSocketHandler;
use crate::decorator::HandlerDecorator;
use crate::handshake::{HandshakeInterceptor, HandshakeRequest, Rejection};
use crate::registry::PluginAction;
use crate::test_support::block_on;

struct Chat;
impl WebSocketHandler for Chat {}

struct Audit;
impl HandlerDecorator for Audit {}

struct Deny;
impl HandshakeInterceptor for Deny {
    async fn before_handshake(&self, _request: &mut HandshakeRequest) -> Result<(), Rejection> {
        Err(Rejection::forbidden())
    }
}

fn actions(registry: &HandlerRegistry, path: &str) -> Vec<String> {
    let registration = registry.iter().find(|r| r.path() == path).expect("registered");
    registration.plugin_marks().iter().map(ToString::to_string).collect()
}

#[test]
fn configure_as_records_what_a_plugin_did() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/chat", Chat);
    registry.add_handler("/old", Chat);
    registry.add_handler("/gone", Chat);
    registry.configure_as("auth", |registry| {
        registry.add_handler("/health", Chat);
        let chat = registry.get_mut("/chat").unwrap();
        chat.interceptor(Deny).subprotocols(["v1"]).decorator(Audit).max_message_size(10);
        registry.get_mut("/old").unwrap().set_path("/new");
        registry.remove("/gone");
    });
    assert_eq!(actions(&registry, "/health"), ["auth: added it"]);
    let chat = actions(&registry, "/chat");
    assert_eq!(chat.len(), 1, "{chat:?}");
    for change in
        ["set subprotocols [v1]", "added interceptor `", "Deny`", "added decorator `", "set max_message_size to 10"]
    {
        assert!(chat[0].contains(change), "{change} in {chat:?}");
    }
    assert_eq!(actions(&registry, "/new"), ["auth: moved it from /old"]);
    assert_eq!(registry.len(), 3);
    let health = registry.iter().find(|r| r.path() == "/health").unwrap();
    assert_eq!(health.added_by(), Some("auth"));
    assert!(health.plugin_marks()[0].action == PluginAction::Added);
}

#[test]
fn a_plugin_that_changes_nothing_leaves_no_mark() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/chat", Chat);
    registry.configure_as("idle", |registry| {
        let _ = registry.iter_mut().count();
    });
    assert!(actions(&registry, "/chat").is_empty());
}

#[test]
fn conflicts_name_the_plugin_that_added_a_handler() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/chat", Chat);
    registry.configure_as("rogue", |registry| {
        registry.add_handler("/chat", Chat);
    });
    let error = registry.validate().unwrap_err().to_string();
    assert!(error.contains("two handlers for path `/chat`"), "{error}");
    assert!(error.contains("by plugin `rogue`"), "{error}");
}

#[test]
fn ad_hoc_plugins_run_only_their_hook() {
    let configure = AdHocPlugin::configure("add", |registry: &mut HandlerRegistry| {
        registry.add_handler("/added", Chat);
        Ok(())
    });
    let mut registry = HandlerRegistry::new();
    RegistryPlugin::configure(&configure, &mut registry).unwrap();
    assert_eq!(registry.len(), 1);
    assert_eq!(RegistryPlugin::name(&configure), "add");

    let (started, seen) = std::sync::mpsc::channel();
    let start = AdHocPlugin::on_start("start", move |info: ServerInfo| {
        let started = started.clone();
        async move {
            started.send(info.local_addr).unwrap();
            Ok(())
        }
    });
    let info = ServerInfo::new("127.0.0.1:9".parse().unwrap(), vec!["/added".into()]);
    block_on(RegistryPlugin::on_start(&start, &info)).unwrap();
    RegistryPlugin::configure(&start, &mut registry).unwrap();
    assert_eq!(registry.len(), 1, "an on_start plugin configures nothing");
    assert_eq!(seen.try_recv().unwrap(), info.local_addr);
    block_on(RegistryPlugin::on_shutdown(&configure));

    let failing = AdHocPlugin::on_start("fails", |_| async { Err("redis is down".into()) });
    let error = block_on(RegistryPlugin::on_start(&failing, &info)).unwrap_err();
    assert_eq!(error.to_string(), "redis is down");
}
