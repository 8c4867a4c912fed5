//! Typed per-session attributes and the authenticated principal.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A typed map of values attached to a session during the handshake (Spring's
/// session attributes): a [`HandshakeInterceptor`](crate::HandshakeInterceptor)
/// inserts them, handlers read them with [`Session::attributes`](crate::Session::attributes).
///
/// Keys are types: one value per type. Wrap plain values in a newtype to give them
/// a meaning (`struct UserId(u64)`), as with `http::Extensions`.
#[derive(Default)]
pub struct Attributes {
    // Boxed and lazily created: most sessions carry no attributes, and an empty
    // `Option<Box<_>>` costs one word per connection where a `HashMap` costs six.
    #[allow(clippy::box_collection)]
    map: Option<Box<HashMap<TypeId, Box<dyn Any + Send + Sync>>>>,
}

impl Attributes {
    /// An empty map.
    pub fn new() -> Self {
        Attributes::default()
    }

    /// Inserts a value, returning the previous value of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        self.map
            .get_or_insert_with(Default::default)
            .insert(TypeId::of::<T>(), Box::new(value))
            .and_then(|old| old.downcast().ok().map(|old| *old))
    }

    /// The value of type `T`, if one was inserted.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.map.as_ref()?.get(&TypeId::of::<T>())?.downcast_ref()
    }

    /// A mutable reference to the value of type `T`.
    pub fn get_mut<T: Send + Sync + 'static>(&mut self) -> Option<&mut T> {
        self.map.as_mut()?.get_mut(&TypeId::of::<T>())?.downcast_mut()
    }

    /// Removes and returns the value of type `T`.
    pub fn remove<T: Send + Sync + 'static>(&mut self) -> Option<T> {
        self.map.as_mut()?.remove(&TypeId::of::<T>())?.downcast().ok().map(|v| *v)
    }

    /// Whether a value of type `T` is present.
    pub fn contains<T: Send + Sync + 'static>(&self) -> bool {
        self.get::<T>().is_some()
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.map.as_ref().map_or(0, |m| m.len())
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attributes").field("len", &self.len()).finish()
    }
}

/// The authenticated user of a session (Spring's `Principal`), set by a handshake
/// interceptor. Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    name: Arc<str>,
}

impl Principal {
    /// A principal with the given name.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Principal { name: name.into() }
    }

    /// The principal's name: the key for per-user addressing.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Principal({:?})", self.name)
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct UserId(u64);

    #[test]
    fn typed_values_round_trip() {
        let mut attrs = Attributes::new();
        assert!(attrs.is_empty());
        assert_eq!(attrs.insert(UserId(7)), None);
        assert_eq!(attrs.insert(UserId(8)), Some(UserId(7)));
        attrs.insert("label");
        assert_eq!(attrs.get::<UserId>(), Some(&UserId(8)));
        assert_eq!(attrs.get::<&str>(), Some(&"label"));
        assert_eq!(attrs.remove::<UserId>(), Some(UserId(8)));
        assert!(!attrs.contains::<UserId>());
        assert_eq!(attrs.len(), 1);
    }
}
