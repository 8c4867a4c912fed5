//! [`NodeId`]: who published a message, so a node can recognise (and skip) its own
//! publishes when Redis hands them back.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The identity of one broker, random per broker instance (so per server, and per
/// process in the usual one-server-per-process deployment). 128 bits: two nodes
/// drawing the same id is not a practical concern.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(u128);

impl NodeId {
    /// The length of an id on the wire.
    pub(crate) const LEN: usize = 16;

    /// A new random id.
    pub fn random() -> Self {
        // `RandomState` draws its keys from the operating system's random source
        // (then steps them per instance), which is all the randomness an id needs;
        // mixing in the time, the process and a counter keeps ids apart even where
        // that source were weak.
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let half = || {
            let mut hasher = RandomState::new().build_hasher();
            hasher.write_u128(nanos);
            hasher.write_u32(std::process::id());
            hasher.write_u64(count);
            hasher.finish()
        };
        NodeId((u128::from(half()) << 64) | u128::from(half()))
    }

    /// The id as bytes (big-endian).
    pub(crate) fn to_bytes(self) -> [u8; Self::LEN] {
        self.0.to_be_bytes()
    }

    /// The id from its bytes.
    pub(crate) fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        NodeId(u128::from_be_bytes(bytes))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_and_survive_the_wire() {
        let ids: Vec<NodeId> = (0..1000).map(|_| NodeId::random()).collect();
        let mut unique = ids.clone();
        unique.sort_by_key(|id| id.0);
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "no id repeats");
        let id = ids[0];
        assert_eq!(NodeId::from_bytes(id.to_bytes()), id);
        assert_eq!(id.to_string().len(), 32, "shown as 32 hex digits");
    }
}
