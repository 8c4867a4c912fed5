//! [`PackedRequest`]: the handshake's client address, request target and
//! headers as a session keeps them for its whole life: packed into one
//! allocation of their exact size, and made into a `Uri` and a `HeaderMap`
//! only if the application asks.
//!
//! A `HeaderMap` of the five headers every WebSocket handshake has costs about
//! 700 bytes on the heap (a table sized to a power of two, each value in an
//! allocation of its own), more than the rest of an idle session's own state;
//! a `Uri` is 88 bytes and an allocation of its own. Packed, the same request
//! takes about 150. Most sessions never read their handshake after it, when
//! interceptors have seen it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::sync::OnceLock;

use http::{HeaderMap, HeaderName, HeaderValue, Uri};

/// The client's address (see [`pack_addr`]), then the request target and the
/// headers, each part preceded by its length as a 4-byte little-endian number:
/// `[address, target length, target, (name length, value length, name,
/// value)*]`; unpacked on first use.
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

/// A socket address as 7 bytes (IPv4: `4`, address, port) or 27 (IPv6: `6`,
/// address, port, flow info, scope id), rather than the 32 of a `SocketAddr`.
fn pack_addr(addr: SocketAddr, out: &mut Vec<u8>) {
    match addr {
        SocketAddr::V4(v4) => {
            out.push(4);
            out.extend_from_slice(&v4.ip().octets());
        }
        SocketAddr::V6(v6) => {
            out.push(6);
            out.extend_from_slice(&v6.ip().octets());
        }
    }
    out.extend_from_slice(&addr.port().to_le_bytes());
    if let SocketAddr::V6(v6) = addr {
        out.extend_from_slice(&v6.flowinfo().to_le_bytes());
        out.extend_from_slice(&v6.scope_id().to_le_bytes());
    }
}

/// Reads what [`pack_addr`] wrote at the start of `bytes`; returns it and the rest.
fn unpack_addr(bytes: &[u8]) -> (SocketAddr, &[u8]) {
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    if bytes[0] == 4 {
        let ip = Ipv4Addr::new(bytes[1], bytes[2], bytes[3], bytes[4]);
        (SocketAddr::new(IpAddr::V4(ip), u16_at(5)), &bytes[7..])
    } else {
        let octets: [u8; 16] = bytes[1..17].try_into().expect("16 bytes");
        let v6 = SocketAddrV6::new(Ipv6Addr::from(octets), u16_at(17), u32_at(19), u32_at(23));
        (SocketAddr::V6(v6), &bytes[27..])
    }
}

impl PackedRequest {
    /// Packs `remote`, `uri` and `headers`, in order, repeated names included.
    pub(crate) fn pack(remote: SocketAddr, uri: &Uri, headers: &HeaderMap) -> Self {
        let target = uri.to_string();
        let size = 27
            + 4
            + target.len()
            + headers.iter().map(|(name, value)| 8 + name.as_str().len() + value.len()).sum::<usize>();
        let mut packed = Vec::with_capacity(size);
        pack_addr(remote, &mut packed);
        packed.extend_from_slice(&(target.len() as u32).to_le_bytes());
        packed.extend_from_slice(target.as_bytes());
        for (name, value) in headers {
            for part in [name.as_str().as_bytes(), value.as_bytes()] {
                packed.extend_from_slice(&(part.len() as u32).to_le_bytes());
            }
            packed.extend_from_slice(name.as_str().as_bytes());
            packed.extend_from_slice(value.as_bytes());
        }
        // Exactly the size of the contents: an IPv4 address takes less than reserved.
        PackedRequest { packed: packed.into_boxed_slice(), unpacked: OnceLock::new() }
    }

    /// The client's address.
    pub(crate) fn remote_addr(&self) -> SocketAddr {
        unpack_addr(&self.packed).0
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
        let (_, mut rest) = unpack_addr(&self.packed);
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
        f.debug_struct("PackedRequest")
            .field("remote_addr", &self.remote_addr())
            .field("uri", self.uri())
            .field("headers", self.headers())
            .finish()
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
        let remote: SocketAddr = "192.0.2.7:40001".parse().unwrap();
        let packed = PackedRequest::pack(remote, &uri, &headers);
        assert_eq!(packed.remote_addr(), remote);
        assert_eq!(packed.uri(), &uri);
        assert_eq!(packed.uri().query(), Some("user=ann%20b&x"));
        assert_eq!(packed.headers(), &headers);
        let protocols: Vec<_> = packed.headers().get_all("sec-websocket-protocol").iter().collect();
        assert_eq!(protocols, ["chat", "superchat"]);
        // The IPv4 address in 7 bytes, four per part besides the text, in an
        // allocation of that size.
        let exact: usize = 7
            + 4
            + uri.to_string().len()
            + headers.iter().map(|(name, value)| 8 + name.as_str().len() + value.len()).sum::<usize>();
        assert_eq!(packed.packed.len(), exact);
    }

    #[test]
    fn an_absolute_form_target_and_an_ipv6_address_round_trip() {
        let uri: Uri = "http://example.com:8080/chat?room=1".parse().unwrap();
        let remote: SocketAddr = "[2001:db8::1%3]:443".parse().unwrap();
        let packed = PackedRequest::pack(remote, &uri, &HeaderMap::new());
        assert_eq!(packed.remote_addr(), remote);
        assert_eq!(packed.uri(), &uri);
        assert_eq!(packed.uri().authority().map(|a| a.as_str()), Some("example.com:8080"));
        assert!(packed.headers().is_empty());
    }
}
