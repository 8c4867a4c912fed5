//! [`PackedRequest`]: the handshake's request target and headers as a session
//! keeps them for its whole life: packed into one allocation of their exact
//! size, and made into a `Uri` and a `HeaderMap` only if the application asks.
//!
//! A `HeaderMap` of the five headers every WebSocket handshake has costs about
//! 700 bytes on the heap (a table sized to a power of two, each value in an
//! allocation of its own), more than the rest of an idle session's own state;
//! a `Uri` is 88 bytes and an allocation of its own. Packed, the same request
//! takes about 150. Most sessions never read their handshake after it, when
//! interceptors have seen it.

use std::fmt;
use std::sync::OnceLock;

use http::{HeaderMap, HeaderName, HeaderValue, Uri};

/// The request target, then the headers, each part preceded by its length as a
/// 4-byte little-endian number: `[target length, target, (name length, value
/// length, name, value)*]`; unpacked on first use.
pub(crate) struct PackedRequest {
    packed: Box<[u8]>,
    unpacked: OnceLock<Box<Unpacked>>,
}

struct Unpacked {
    uri: Uri,
    headers: HeaderMap,
}

/// Takes a 4-byte length off the front of `bytes`.
fn take_len(bytes: &mut &[u8]) -> usize {
    let (len, rest) = bytes.split_at(4);
    *bytes = rest;
    u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize
}

impl PackedRequest {
    /// Packs `uri` and `headers`, in order, repeated names included.
    pub(crate) fn pack(uri: &Uri, headers: &HeaderMap) -> Self {
        let target = uri.to_string();
        let size =
            4 + target.len() + headers.iter().map(|(name, value)| 8 + name.as_str().len() + value.len()).sum::<usize>();
        let mut packed = Vec::with_capacity(size);
        packed.extend_from_slice(&(target.len() as u32).to_le_bytes());
        packed.extend_from_slice(target.as_bytes());
        for (name, value) in headers {
            for part in [name.as_str().as_bytes(), value.as_bytes()] {
                packed.extend_from_slice(&(part.len() as u32).to_le_bytes());
            }
            packed.extend_from_slice(name.as_str().as_bytes());
            packed.extend_from_slice(value.as_bytes());
        }
        PackedRequest { packed: packed.into_boxed_slice(), unpacked: OnceLock::new() }
    }

    /// The request target (made on the first call, with the headers).
    pub(crate) fn uri(&self) -> &Uri {
        &self.unpacked().uri
    }

    /// The headers as a map (made on the first call, with the target).
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.unpacked().headers
    }

    fn unpacked(&self) -> &Unpacked {
        self.unpacked.get_or_init(|| Box::new(self.unpack()))
    }

    fn unpack(&self) -> Unpacked {
        let mut rest = &self.packed[..];
        let target_len = take_len(&mut rest);
        let (target, tail) = rest.split_at(target_len);
        rest = tail;
        // It was a valid URI when packed, and a URI's text parses back to it.
        let uri = Uri::try_from(target).unwrap_or_default();
        let mut headers = HeaderMap::new();
        while rest.len() >= 8 {
            let name_len = take_len(&mut rest);
            let value_len = take_len(&mut rest);
            let (name, tail) = rest.split_at(name_len);
            let (value, tail) = tail.split_at(value_len);
            rest = tail;
            // Both were a valid name and value when packed.
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
                headers.append(name, value);
            }
        }
        Unpacked { uri, headers }
    }
}

impl fmt::Debug for PackedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackedRequest").field("uri", self.uri()).field("headers", self.headers()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_the_target_and_every_header_in_order_repeats_included() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("example.com"));
        headers.append("sec-websocket-protocol", HeaderValue::from_static("chat"));
        headers.append("sec-websocket-protocol", HeaderValue::from_static("superchat"));
        headers.insert("x-empty", HeaderValue::from_static(""));
        headers.insert("x-obs-text", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        let uri: Uri = "/rooms/7?user=ann%20b&x".parse().unwrap();
        let packed = PackedRequest::pack(&uri, &headers);
        assert_eq!(packed.uri(), &uri);
        assert_eq!(packed.uri().query(), Some("user=ann%20b&x"));
        assert_eq!(packed.headers(), &headers);
        let protocols: Vec<_> = packed.headers().get_all("sec-websocket-protocol").iter().collect();
        assert_eq!(protocols, ["chat", "superchat"]);
        // Four bytes per part besides the text, in an allocation of that size.
        let exact: usize = 4
            + uri.to_string().len()
            + headers.iter().map(|(name, value)| 8 + name.as_str().len() + value.len()).sum::<usize>();
        assert_eq!(packed.packed.len(), exact);
    }

    #[test]
    fn an_absolute_form_target_round_trips() {
        let uri: Uri = "http://example.com:8080/chat?room=1".parse().unwrap();
        let packed = PackedRequest::pack(&uri, &HeaderMap::new());
        assert_eq!(packed.uri(), &uri);
        assert_eq!(packed.uri().authority().map(|a| a.as_str()), Some("example.com:8080"));
        assert!(packed.headers().is_empty());
    }
}
