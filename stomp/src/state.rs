//! One connection's STOMP state: its decoder, the version it agreed on, its
//! subscriptions and open transactions. Shared by the handler and the rewrite
//! that frames the hub's deliveries for this connection's subscriptions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::decode::Decoder;
use crate::frame::{Frame, Version};

/// How a subscription's messages are acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckMode {
    /// No acknowledgement.
    Auto,
    /// An ACK acknowledges every message up to it.
    Client,
    /// An ACK acknowledges one message.
    ClientIndividual,
}

impl AckMode {
    /// From the `ack` header.
    pub fn parse(value: Option<&str>) -> Option<AckMode> {
        match value {
            None | Some("auto") => Some(AckMode::Auto),
            Some("client") => Some(AckMode::Client),
            Some("client-individual") => Some(AckMode::ClientIndividual),
            Some(_) => None,
        }
    }
}

/// A subscription of this connection.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub(crate) destination: String,
    pub(crate) ack: AckMode,
}

/// The state of one connection.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) decoder: Decoder,
    /// Set by CONNECT.
    pub(crate) version: Option<Version>,
    /// By subscription id.
    pub(crate) subscriptions: HashMap<String, Subscription>,
    /// Frames of each open transaction, applied on COMMIT.
    pub(crate) transactions: HashMap<String, Vec<Frame>>,
    /// Numbers this connection's `message-id`s.
    pub(crate) next_message: u64,
    /// When the client last sent anything (frames or heart-beats).
    pub(crate) last_heard: Instant,
    /// The session's own connection to the message broker, with a relay.
    pub(crate) relay: Option<crate::relay::Link>,
}

impl Connection {
    /// The subscription ids of `destination`.
    pub(crate) fn subscribed_to<'a>(
        &'a self,
        destination: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Subscription)> {
        self.subscriptions.iter().filter(move |(_, s)| s.destination == destination).map(|(id, s)| (id.as_str(), s))
    }

    /// A new `message-id`.
    pub(crate) fn message_id(&mut self) -> String {
        self.next_message += 1;
        format!("m-{}", self.next_message)
    }
}

/// The state, shared.
#[derive(Debug, Clone)]
pub(crate) struct Shared(Arc<Mutex<Connection>>);

impl Shared {
    pub(crate) fn new(decoder: Decoder) -> Shared {
        Shared(Arc::new(Mutex::new(Connection {
            decoder,
            version: None,
            subscriptions: HashMap::new(),
            transactions: HashMap::new(),
            next_message: 0,
            last_heard: Instant::now(),
            relay: None,
        })))
    }

    /// The state, locked (never across an await).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        // Each change is a single step: a poisoned lock's state is sound.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
