//! [`BoxFuture`]: the future type of the object-safe trait forms.

use std::future::Future;
use std::pin::Pin;

/// A boxed future, the object-safe form of the traits' `async fn`s: what
/// [`Broker`](crate::Broker) methods return, and what a [`Next`](crate::Next)
/// call gives a decorator.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
