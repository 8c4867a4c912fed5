//! [`Broadcast`]: one published message shared by every recipient's queue.

use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::message::Message;

/// A message published to many sessions at once. Every recipient queues a
/// handle to the same payload (no copy per session); the runtime frames it as
/// it writes. Transformed payloads (a permessage-deflate compression for one set
/// of parameters) are made once and shared by every recipient that asks for the
/// same [`variant`](Self::variant).
#[derive(Clone)]
pub struct Broadcast {
    inner: Arc<Shared>,
}

struct Shared {
    message: Message,
    /// Each variant made so far, by key; `None` when it was not worth making.
    variants: Mutex<Vec<(u32, Option<Bytes>)>>,
}

impl Broadcast {
    /// A broadcast of `message`.
    pub fn new(message: Message) -> Self {
        Broadcast { inner: Arc::new(Shared { message, variants: Mutex::new(Vec::new()) }) }
    }

    /// The message.
    pub fn message(&self) -> &Message {
        &self.inner.message
    }

    /// The payload transformed for one set of extension parameters, named by
    /// `key`: made by `make` for the first recipient that asks, then shared. A
    /// `None` from `make` (not worth it) is remembered too. Recipients asking at
    /// the same time wait for the first one's result.
    pub fn variant(&self, key: u32, make: impl FnOnce(&Message) -> Option<Bytes>) -> Option<Bytes> {
        // Nothing in the critical section can leave the list inconsistent (a
        // panicking `make` adds nothing), so a poisoned lock is still usable.
        let mut variants = self.inner.variants.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, made)) = variants.iter().find(|(k, _)| *k == key) {
            return made.clone();
        }
        let made = make(&self.inner.message);
        variants.push((key, made.clone()));
        made
    }
}

impl fmt::Debug for Broadcast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Broadcast({:?}, {} bytes)", self.inner.message.kind(), self.inner.message.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_are_made_once_per_key_and_shared_by_clones() {
        let broadcast = Broadcast::new(Message::text("hello hello hello"));
        let mut made = 0;
        let mut shrink = |m: &Message| {
            made += 1;
            Some(Bytes::copy_from_slice(&m.payload()[..5]))
        };
        let first = broadcast.variant(1, &mut shrink).unwrap();
        let second = broadcast.clone().variant(1, &mut shrink).unwrap();
        assert_eq!(made, 1);
        assert_eq!(first.as_ptr(), second.as_ptr());
        assert_eq!(&first[..], b"hello");
        // Another key is another variant; "not worth it" is remembered.
        assert_eq!(broadcast.variant(2, |_| None), None);
        assert_eq!(broadcast.variant(2, |_| panic!("made twice")), None);
    }
}
