//! `#[bean]` providers that take each other's beans: a startup error that
//! lists the cycle.

use wsboot::{ErrorKind, HandlerRegistry, Server, bean};

struct Left;
struct Right;

#[bean]
fn left(_: &Right) -> Left {
    Left
}

#[bean]
fn right(_: &Left) -> Right {
    Right
}

#[tokio::test]
async fn a_cycle_of_providers_is_named_in_order() {
    let builder = Server::builder().registry(HandlerRegistry::new()).annotated_beans(true);
    let error = builder.bind("127.0.0.1:0").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    let message = error.to_string();
    let cycle = "bean providers form a cycle: `bean_cycle::left` takes `bean_cycle::Right`, made by \
                 `bean_cycle::right`, which takes `bean_cycle::Left`, made by `bean_cycle::left`";
    assert!(message.contains(cycle), "{message}");
}
