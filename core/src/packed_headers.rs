//! [`PackedHeaders`]: the handshake's headers as a session keeps them for its
//! whole life: packed into one allocation of their exact size, and made into a
//! `HeaderMap` only if the application asks for them.
//!
//! A `HeaderMap` of the five headers every WebSocket handshake has costs about
//! 700 bytes on the heap (a table sized to a power of two, each value in an
//! allocation of its own), more than the rest of an idle session's own state;
//! packed, the same headers take about 150. Most sessions never read their
//! handshake's headers after the handshake, when interceptors have seen them.

use std::fmt;
use std::sync::OnceLock;

use http::{HeaderMap, HeaderName, HeaderValue};

/// Headers packed as `[name length, value length, name, value]` per header
/// (lengths as 4-byte little-endian numbers), unpacked on first use.
pub(crate) struct PackedHeaders {
    packed: Box<[u8]>,
    map: OnceLock<Box<HeaderMap>>,
}

impl PackedHeaders {
    /// Packs `headers`, in order, repeated names included.
    pub(crate) fn pack(headers: &HeaderMap) -> Self {
        let size = headers.iter().map(|(name, value)| 8 + name.as_str().len() + value.len()).sum();
        let mut packed = Vec::with_capacity(size);
        for (name, value) in headers {
            for part in [name.as_str().as_bytes(), value.as_bytes()] {
                packed.extend_from_slice(&(part.len() as u32).to_le_bytes());
            }
            packed.extend_from_slice(name.as_str().as_bytes());
            packed.extend_from_slice(value.as_bytes());
        }
        PackedHeaders { packed: packed.into_boxed_slice(), map: OnceLock::new() }
    }

    /// The headers as a map (made on the first call).
    pub(crate) fn map(&self) -> &HeaderMap {
        self.map.get_or_init(|| Box::new(self.unpack()))
    }

    fn unpack(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        let mut rest = &self.packed[..];
        while rest.len() >= 8 {
            let name_len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let value_len = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
            let (name, tail) = rest[8..].split_at(name_len);
            let (value, tail) = tail.split_at(value_len);
            rest = tail;
            // Both were a valid name and value when packed.
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
                map.append(name, value);
            }
        }
        map
    }
}

impl fmt::Debug for PackedHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.map(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_every_header_in_order_repeats_included() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("example.com"));
        headers.append("sec-websocket-protocol", HeaderValue::from_static("chat"));
        headers.append("sec-websocket-protocol", HeaderValue::from_static("superchat"));
        headers.insert("x-empty", HeaderValue::from_static(""));
        headers.insert("x-obs-text", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        let packed = PackedHeaders::pack(&headers);
        assert_eq!(packed.map(), &headers);
        let protocols: Vec<_> = packed.map().get_all("sec-websocket-protocol").iter().collect();
        assert_eq!(protocols, ["chat", "superchat"]);
        // Eight bytes per header besides its name and value, in an allocation of that size.
        let exact: usize = headers.iter().map(|(name, value)| 8 + name.as_str().len() + value.len()).sum();
        assert_eq!(packed.packed.len(), exact);
    }
}
