//! [`Position`]: where a publication sits in its topic's history.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where a publication sits in its topic's history: its offset (1 for the
/// first publication, then one more for each) and the history's epoch.
///
/// The epoch is a random id fixed when the topic's history is created. A
/// history that was lost (a restarted process, a Redis without persistence)
/// starts again under a new epoch, so a position taken from the old one is
/// never mistaken for a valid one: resuming from it reports `recovered: false`.
///
/// Its text form, `EPOCH:OFFSET` (the epoch in 16 hex digits), is what clients
/// keep; [`FromStr`] reads it back. Clients should treat it as opaque.
///
/// ```
/// use wsboot_core::Position;
/// let position: Position = "00000000deadbeef:42".parse().unwrap();
/// assert_eq!(position.offset(), 42);
/// assert_eq!(position.to_string(), "00000000deadbeef:42");
/// assert!("42".parse::<Position>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    epoch: u64,
    offset: u64,
}

impl Position {
    /// The position `offset` of the history with `epoch`. Offset 0 is the
    /// position before the first publication.
    pub const fn new(epoch: u64, offset: u64) -> Self {
        Position { epoch, offset }
    }

    /// The history's epoch.
    pub const fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The offset: how many publications the history has numbered up to and
    /// including this one.
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// A fresh random epoch for a new history (never 0), for brokers that
    /// keep one.
    pub fn random_epoch() -> u64 {
        new_epoch()
    }

    /// The position after this one, in the same history.
    pub const fn next(&self) -> Position {
        Position { epoch: self.epoch, offset: self.offset + 1 }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}:{}", self.epoch, self.offset)
    }
}

/// Why a text is not a [`Position`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionParseError(String);

impl fmt::Display for PositionParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a position: expected EPOCH:OFFSET as this server gave it", self.0)
    }
}

impl std::error::Error for PositionParseError {}

impl FromStr for Position {
    type Err = PositionParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || PositionParseError(text.chars().take(64).collect());
        let (epoch, offset) = text.split_once(':').ok_or_else(invalid)?;
        if epoch.is_empty() || epoch.len() > 16 || !epoch.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        if offset.is_empty() || !offset.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let epoch = u64::from_str_radix(epoch, 16).map_err(|_| invalid())?;
        let offset = offset.parse().map_err(|_| invalid())?;
        Ok(Position { epoch, offset })
    }
}

/// A fresh random epoch, never 0. Random enough to tell histories apart; not a
/// secret.
pub(crate) fn new_epoch() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    hasher.write_u128(now);
    hasher.write_u64(std::process::id().into());
    hasher.finish().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_and_rejects_garbage() {
        let position = Position::new(new_epoch(), 7);
        assert_eq!(position.to_string().parse::<Position>(), Ok(position));
        for bad in ["", ":", "abc", "x:1", "1:", ":1", "1:-1", "1:1.5", "12345678901234567:1", "1:99999999999999999999"]
        {
            assert!(bad.parse::<Position>().is_err(), "{bad:?}");
        }
        assert!("zz".parse::<Position>().unwrap_err().to_string().contains("EPOCH:OFFSET"));
    }

    #[test]
    fn epochs_differ() {
        assert_ne!(new_epoch(), new_epoch());
        assert_eq!(Position::new(1, 1).next(), Position::new(1, 2));
    }
}
