//! What the runtime (the `wsboot` crate) and the attribute macros need from
//! this crate and nothing else does: creating and draining sessions, running
//! the hub, the descriptors the macros register at link time, and the value
//! rules the macros check at compile time and the server at startup. Not public
//! API: applications and plugins never need it, and it changes without notice.

pub use crate::decorator::{builtin_decorator_names, with_builtin_decorators};
pub use crate::outbound::{Broadcast, Outgoing};
pub use crate::plugin::PluginDescriptor;
pub use crate::registry::HandlerDescriptor;
pub use crate::rules::{OptionValueError, check_allowed_origin, check_subprotocol, is_token, is_token_char};
pub use crate::session::{MessageLimits, SessionConfig};
pub use crate::transport::Transport;

use crate::broker::SharedBroker;
use crate::error::Error;
use crate::hub::Hub;
use crate::session::Session;

/// A hub whose topics travel through `broker`.
pub fn new_hub(broker: SharedBroker) -> Hub {
    Hub::new(broker)
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
pub fn register_session(hub: &Hub, session: &Session) {
    hub.register(session)
}

/// Removes a session and its subscriptions as it closes, before
/// `after_connection_closed`.
pub async fn unregister_session(hub: &Hub, session: &Session) {
    hub.unregister(session).await
}
