//! [`Messaging`]: sending to STOMP destinations from anywhere in the
//! application (Spring's `SimpMessagingTemplate`).

use wsboot_core::{Error, Hub};

use crate::destination::Prefixes;
use crate::payload::{Payload, publication, topic};
use crate::relay::BrokerRelay;

/// Sends to broker destinations and to users' destinations, from any task:
/// a scheduled job, an HTTP handler, another session's handler. Cheap to
/// clone. Goes through the hub, so with the Redis broker every node's
/// subscribers get it.
///
/// ```no_run
/// # async fn example(hub: wsboot_core::Hub) -> Result<(), wsboot_core::Error> {
/// use wsboot_stomp::{Messaging, Payload};
///
/// let messaging = Messaging::new(hub);
/// messaging.convert_and_send("/topic/prices", Payload::json(&[("ACME", 12.5)])?).await?;
/// messaging.convert_and_send_to_user("ann", "/queue/notices", "your export is ready").await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Messaging {
    hub: Hub,
    prefixes: Prefixes,
    relay: Option<BrokerRelay>,
}

impl Messaging {
    /// Sends through `hub`, with the default prefixes.
    pub fn new(hub: Hub) -> Messaging {
        Messaging { hub, prefixes: Prefixes::default(), relay: None }
    }

    /// Sends to broker destinations through `relay`'s system connection (the
    /// relay the endpoint was given), not the hub.
    pub fn relay(mut self, relay: BrokerRelay) -> Messaging {
        self.relay = Some(relay);
        self
    }

    /// With `prefixes` (those the endpoint was given).
    pub fn with_prefixes(hub: Hub, prefixes: Prefixes) -> Messaging {
        Messaging { hub, prefixes, relay: None }
    }

    /// Sends `payload` to every subscriber of the broker destination
    /// `destination`, on every node.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](wsboot_core::ErrorKind::Config) for a destination
    /// without a broker prefix; the hub's error if it could not be published.
    pub async fn convert_and_send(&self, destination: &str, payload: impl Into<Payload>) -> Result<(), Error> {
        if !self.prefixes.is_broker(destination) {
            return Err(Error::new(
                wsboot_core::ErrorKind::Config,
                format!(
                    "{destination} is not a broker destination (it must start with one of {:?})",
                    self.prefixes.broker
                ),
            ));
        }
        let payload = payload.into();
        if let Some(relay) = &self.relay {
            return relay.send(destination, &payload).await;
        }
        let message = publication(destination, &payload, &[]);
        self.hub.publish(&topic(destination), message).await.map(|_| ())
    }

    /// Sends `payload` to user `user`'s `destination` (`/queue/notices`): to
    /// every session of that user subscribed to `/user/queue/notices`, on
    /// every node. Returns how many sessions of this node took it.
    pub async fn convert_and_send_to_user(&self, user: &str, destination: &str, payload: impl Into<Payload>) -> usize {
        let message = publication(&self.prefixes.user_destination(destination), &payload.into(), &[]);
        self.hub.send_to_user(user, message).await
    }
}
