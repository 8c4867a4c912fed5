use super::*;

struct A;
impl WebSocketHandler for A {}
struct B;
impl WebSocketHandler for B {}

#[test]
fn duplicate_paths_name_both_handlers() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/x", A);
    registry.add_handler("/x", B);
    let err = registry.validate().unwrap_err().to_string();
    assert!(err.contains("two handlers for path `/x`"), "{err}");
    assert!(err.contains("registry::tests::A") && err.contains("registry::tests::B"), "{err}");
    assert!(err.contains("registry/tests.rs:"), "{err}");
}

#[test]
fn same_shape_patterns_conflict_and_bad_paths_are_reported() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/rooms/{room}", A);
    registry.add_handler("/rooms/{id}", B);
    registry.add_handler("nope", B);
    let err = registry.validate().unwrap_err().to_string();
    assert!(err.contains("match the same requests"), "{err}");
    assert!(err.contains("must start with `/`"), "{err}");
}

#[test]
fn pages_are_validated_and_merged() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/", A);
    registry.add_page("/", "text/html", "<p>a page and a handler may share a path</p>");
    assert!(registry.validate().is_ok());
    let mut other = HandlerRegistry::new();
    other.add_page("/", "text/plain", "again").cache_control("max-age=60");
    other.add_page("/x/{y}", "text/plain", "");
    registry.merge(other);
    assert_eq!(registry.pages().count(), 3);
    let err = registry.validate().unwrap_err().to_string();
    assert!(err.contains("two pages for path `/`: added at"), "{err}");
    assert!(err.contains("one exact path"), "{err}");
}

#[test]
fn options_chain() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/a", A).allowed_origins(["https://x"]).subprotocols(["v1"]).max_message_size(10);
    let registration = registry.iter().next().unwrap();
    assert_eq!(registration.options().allowed_origins.as_deref(), Some(&["https://x".to_owned()][..]));
    assert_eq!(registration.options().max_message_size, Some(10));
    assert_eq!(registry.remove("/a"), 1);
    assert!(registry.is_empty());
}

#[test]
fn origins_and_subprotocols_follow_the_macro_rules_and_each_problem_stays_apart() {
    let mut registry = HandlerRegistry::new();
    registry.add_handler("/a", A).allowed_origins(["app.example"]);
    registry.add_handler("/b", B).subprotocols(["v 1"]);
    let err = registry.validate().unwrap_err();
    let problems: Vec<&str> = err.problems().iter().map(|p| p.message()).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("registry::tests::A") && problems[0].contains("app.example"), "{problems:?}");
    assert!(problems[1].contains("registry::tests::B") && problems[1].contains("v 1"), "{problems:?}");
}

#[test]
fn handlers_built_from_the_context_name_what_is_missing() {
    use crate::context::{AppContext, Beans};

    struct Tokens(&'static str);
    struct Notify(&'static str);
    impl WebSocketHandler for Notify {
        fn supports_partial_messages(&self) -> bool {
            self.0 == "secret"
        }
    }

    let mut registry = HandlerRegistry::new();
    registry.add_handler_with("/notify", |context: &AppContext| Ok(Notify(context.require::<Tokens>()?.0)));
    assert!(!registry.iter().next().unwrap().factory().is_per_connection());
    let error = registry.clone().resolve(&AppContext::default()).unwrap_err().to_string();
    assert!(error.starts_with("handler factory `"), "{error}");
    assert!(error.contains("Notify` (added at") && error.contains("no bean of type `"), "{error}");
    assert!(error.contains("registry::tests::handlers_built_from_the_context_name_what_is_missing::Tokens`"));

    let mut beans = Beans::new();
    beans.add(Tokens("secret"));
    registry.resolve(&AppContext::from_beans(beans).unwrap()).unwrap();
    let handler = registry.iter().next().unwrap().factory().handler_for_session();
    assert!(handler.supports_partial_messages());
}
