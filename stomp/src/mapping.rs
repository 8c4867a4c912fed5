//! Application handlers: async functions mapped to application destinations
//! (`/app/chat.{room}`), called with the inbound message and answering with
//! a reply for a broker destination, for the sender's user, or nothing.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use wsboot_core::{BoxFuture, Error, ErrorKind, Principal, Session};

use crate::destination::Pattern;
use crate::frame::Frame;
use crate::payload::Payload;

/// A message a client sent to an application destination (or a subscription
/// to one), as a handler sees it.
#[derive(Debug, Clone)]
pub struct Inbound {
    destination: String,
    mapped: String,
    vars: HashMap<String, String>,
    frame: Frame,
    session: Session,
}

impl Inbound {
    pub(crate) fn new(
        destination: &str,
        mapped: &str,
        vars: HashMap<String, String>,
        frame: Frame,
        session: &Session,
    ) -> Self {
        Inbound {
            destination: destination.to_owned(),
            mapped: mapped.to_owned(),
            vars,
            frame,
            session: session.clone(),
        }
    }

    /// The destination as the client wrote it (`/app/chat.lobby`).
    pub fn destination(&self) -> &str {
        &self.destination
    }

    /// The destination without its application prefix (`/chat.lobby`), as
    /// the pattern matched it.
    pub fn mapped_destination(&self) -> &str {
        &self.mapped
    }

    /// A variable of the pattern (`{room}` → `lobby`).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// A header of the frame (its first value).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.frame.get(name)
    }

    /// The body's bytes.
    pub fn body(&self) -> &Bytes {
        &self.frame.body
    }

    /// The body as text.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] naming the problem when it is not UTF-8.
    pub fn text(&self) -> Result<&str, Error> {
        std::str::from_utf8(&self.frame.body).map_err(|_| {
            Error::new(ErrorKind::Protocol, format!("the body sent to {} is not UTF-8 text", self.destination))
        })
    }

    /// The body as JSON, deserialized into `T`.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] naming the problem when it is not JSON of that shape.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.frame.body).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!("the body sent to {} is not the JSON expected: {e}", self.destination),
            )
        })
    }

    /// The session that sent it.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The sender's principal, if the handshake set one.
    pub fn principal(&self) -> Option<&Principal> {
        self.session.principal()
    }
}

/// Where a handler's reply goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The first broker prefix and the mapped destination (`/app/chat.lobby`
    /// → `/topic/chat.lobby`), as Spring's `@SendTo` does without a value.
    Default,
    /// A broker destination.
    Destination(String),
    /// The sender's user destination (`/queue/reply` → the sender's
    /// subscriptions to `/user/queue/reply`, on every session of its user;
    /// only this session for a session without a principal).
    User(String),
}

/// A handler's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// What to send.
    pub payload: Payload,
    /// Where.
    pub target: Target,
}

impl Reply {
    /// `payload` to the default destination.
    pub fn new(payload: impl Into<Payload>) -> Reply {
        Reply { payload: payload.into(), target: Target::Default }
    }

    /// Sends it to the broker destination `destination` instead.
    pub fn to(mut self, destination: impl Into<String>) -> Reply {
        self.target = Target::Destination(destination.into());
        self
    }

    /// Sends it to the sender only, at its user destination `destination`
    /// (Spring's `@SendToUser`).
    pub fn to_user(mut self, destination: impl Into<String>) -> Reply {
        self.target = Target::User(destination.into());
        self
    }
}

/// What a handler returns.
pub type HandlerResult = Result<Option<Reply>, Error>;

/// A handler, type-erased.
pub(crate) type Handler = Arc<dyn Fn(Inbound) -> BoxFuture<'static, HandlerResult> + Send + Sync>;

/// Erases `handler`'s type.
pub(crate) fn handler<F, Fut>(handler: F) -> Handler
where
    F: Fn(Inbound) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    Arc::new(move |inbound| Box::pin(handler(inbound)))
}

/// A pattern and its handler.
#[derive(Clone)]
pub(crate) struct Mapping {
    pub(crate) pattern: Pattern,
    pub(crate) handler: Handler,
}

/// The mappings of an endpoint, first match wins.
#[derive(Clone, Default)]
pub(crate) struct Mappings {
    pub(crate) sends: Vec<Mapping>,
    pub(crate) subscribes: Vec<Mapping>,
}

impl Mappings {
    /// The handler for `destination` among `mappings`, with its variables.
    pub(crate) fn find<'a>(
        mappings: &'a [Mapping],
        destination: &str,
    ) -> Option<(&'a Handler, HashMap<String, String>)> {
        mappings.iter().find_map(|m| m.pattern.matches(destination).map(|vars| (&m.handler, vars)))
    }
}
