//! What the runtime (the `wsboot` crate) and the attribute macros need from
//! this crate and nothing else does: creating and draining sessions, running
//! the hub, the descriptors the macros register at link time, and the value
//! rules the macros check at compile time and the server at startup. Not public
//! API: applications and plugins never need it, and it changes without notice.

pub use crate::decorator::{builtin_decorator_names, with_builtin_decorators};
pub use crate::outbound::{Broadcast, Outgoing, Queued};
pub use crate::plugin::PluginDescriptor;
pub use crate::providers::{BeanDescriptor, BeanType, ProvidedBean};
pub use crate::registry::HandlerDescriptor;
pub use crate::rules::{
    OptionValueError, check_allowed_origin, check_subprotocol, is_token, is_token_char, parse_size,
};
pub use crate::session::{MessageLimits, RouteSettings, SessionConfig};
pub use crate::transport::Transport;

use crate::broker::SharedBroker;
use crate::context::{AppContext, Beans};
use crate::error::Error;
use crate::history::TopicHistory;
use crate::hub::Hub;
use crate::session::Session;

/// A hub whose topics travel through `broker`.
pub fn new_hub(broker: SharedBroker) -> Hub {
    Hub::new(broker)
}

/// Turns history on for the topics `histories` match, before the hub starts.
/// Fails on a history whose bounds cannot work, or if called twice.
pub fn set_topic_histories(hub: &Hub, histories: Vec<TopicHistory>) -> Result<(), Error> {
    hub.set_histories(histories)
}

/// Starts the hub's broker (once, at server startup).
pub async fn start_hub(hub: &Hub) -> Result<(), Error> {
    hub.start().await
}

/// Stops the hub's broker (at server shutdown).
pub async fn shutdown_hub(hub: &Hub) {
    hub.shutdown().await
}

/// Adds an open session to the hub, before `after_connection_established`.
pub async fn register_session(hub: &Hub, session: &Session) {
    if hub.register(session) {
        if let Some(principal) = session.principal() {
            hub.user_arrived(principal.name()).await;
        }
    }
}

/// Removes a session and its subscriptions as it closes, before
/// `after_connection_closed`.
pub async fn unregister_session(hub: &Hub, session: &Session) {
    hub.unregister(session).await
}

/// The context of a server: its `beans` and its `hub`. Fails if two beans
/// share a type.
pub fn new_context(beans: Beans, hub: Hub) -> Result<AppContext, Error> {
    AppContext::build(beans, hub)
}

/// Gives a new session its server's context, before any callback runs.
pub fn set_session_context(session: &Session, context: &AppContext) {
    let _ = session.inner.context.set(context.clone());
}

/// `context` with every `#[bean]` provider's value, built in dependency order.
/// Fails on a cycle (listing it), a type made twice, or a missing parameter.
pub fn provide_beans(context: AppContext) -> Result<AppContext, Error> {
    crate::providers::provide(context)
}
