//! What `#[message_mapping]` and `#[subscribe_mapping]` functions take and
//! return: arguments extracted from the inbound message by type (destination
//! variables by name), and return values turned into a [`Reply`].

use std::str::FromStr;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wsboot_core::{Error, ErrorKind, Principal, Session};

use crate::mapping::{HandlerResult, Inbound, Reply, Target};
use crate::payload::Payload;

/// A JSON body: as an argument, the body deserialized; as a return value, the
/// reply serialized (`application/json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Json<T>(pub T);

/// An argument of a mapped function, taken from the inbound message.
pub trait FromInbound: Sized {
    /// Takes it from `inbound`.
    ///
    /// # Errors
    /// Why it cannot (the client gets an ERROR with it).
    fn from_inbound(inbound: &Inbound) -> Result<Self, Error>;
}

impl FromInbound for Inbound {
    fn from_inbound(inbound: &Inbound) -> Result<Self, Error> {
        Ok(inbound.clone())
    }
}

impl FromInbound for Session {
    fn from_inbound(inbound: &Inbound) -> Result<Self, Error> {
        Ok(inbound.session().clone())
    }
}

impl FromInbound for Option<Principal> {
    fn from_inbound(inbound: &Inbound) -> Result<Self, Error> {
        Ok(inbound.principal().cloned())
    }
}

impl FromInbound for Principal {
    fn from_inbound(inbound: &Inbound) -> Result<Self, Error> {
        inbound.principal().cloned().ok_or_else(|| {
            Error::new(ErrorKind::Protocol, format!("{} needs an authenticated user", inbound.destination()))
        })
    }
}

/// The body as text.
impl FromInbound for String {
    fn from_inbound(inbound: &Inbound) -> Result<Self, Error> {
        inbound.text().map(str::to_owned)
    }
}

/// The body's bytes.
impl FromInbound for Bytes {
    fn from_inbound(inbound: &Inbound) -> Result<Self, Error> {
        Ok(inbound.body().clone())
    }
}

impl<T: DeserializeOwned> FromInbound for Json<T> {
    fn from_inbound(inbound: &Inbound) -> Result<Self, Error> {
        inbound.json().map(Json)
    }
}

/// What a mapped function returns.
pub trait IntoReply {
    /// The reply, if any.
    ///
    /// # Errors
    /// The function's own error, or one serializing the reply.
    fn into_reply(self) -> HandlerResult;
}

/// Nothing to send.
impl IntoReply for () {
    fn into_reply(self) -> HandlerResult {
        Ok(None)
    }
}

impl IntoReply for Reply {
    fn into_reply(self) -> HandlerResult {
        Ok(Some(self))
    }
}

impl IntoReply for Payload {
    fn into_reply(self) -> HandlerResult {
        Ok(Some(Reply::new(self)))
    }
}

impl IntoReply for String {
    fn into_reply(self) -> HandlerResult {
        Ok(Some(Reply::new(self)))
    }
}

impl IntoReply for &'static str {
    fn into_reply(self) -> HandlerResult {
        Ok(Some(Reply::new(self)))
    }
}

impl<T: Serialize> IntoReply for Json<T> {
    fn into_reply(self) -> HandlerResult {
        Ok(Some(Reply::new(Payload::json(&self.0)?)))
    }
}

impl<R: IntoReply> IntoReply for Option<R> {
    fn into_reply(self) -> HandlerResult {
        self.map_or(Ok(None), IntoReply::into_reply)
    }
}

impl<R: IntoReply, E: Into<Error>> IntoReply for Result<R, E> {
    fn into_reply(self) -> HandlerResult {
        self.map_err(Into::into)?.into_reply()
    }
}

/// What the macros' expansions call; not public API.
#[doc(hidden)]
pub mod __private {
    use super::*;
    pub use inventory;
    pub use wsboot_core::BoxFuture;

    /// The destination variable `name`, parsed.
    pub fn var<T: FromStr>(inbound: &Inbound, name: &str) -> Result<T, Error>
    where
        T::Err: std::fmt::Display,
    {
        let text = inbound.var(name).ok_or_else(|| {
            Error::new(ErrorKind::Protocol, format!("{} has no variable {{{name}}}", inbound.destination()))
        })?;
        text.parse().map_err(|e| {
            Error::new(ErrorKind::Protocol, format!("{{{name}}} of {} is {text:?}: {e}", inbound.destination()))
        })
    }

    /// A default reply sent where the attribute says.
    pub fn target(result: HandlerResult, send_to: Option<&str>, send_to_user: Option<&str>) -> HandlerResult {
        Ok(result?.map(|mut reply| {
            if reply.target == Target::Default {
                if let Some(destination) = send_to {
                    reply.target = Target::Destination(destination.to_owned());
                } else if let Some(destination) = send_to_user {
                    reply.target = Target::User(destination.to_owned());
                }
            }
            reply
        }))
    }

    /// SEND or SUBSCRIBE.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum MappingKind {
        /// `#[message_mapping]`.
        Send,
        /// `#[subscribe_mapping]`.
        Subscribe,
    }

    /// A mapping an attribute registered at link time.
    #[derive(Debug)]
    pub struct AnnotatedMapping {
        /// Which frames it answers.
        pub kind: MappingKind,
        /// Its destination pattern.
        pub pattern: &'static str,
        /// The function, wrapped.
        pub handler: fn(Inbound) -> BoxFuture<'static, HandlerResult>,
        /// Where it is written, for errors.
        pub location: &'static str,
    }

    inventory::collect!(AnnotatedMapping);

    /// Every annotated mapping of the program.
    pub fn annotated() -> impl Iterator<Item = &'static AnnotatedMapping> {
        inventory::iter::<AnnotatedMapping>.into_iter()
    }
}
