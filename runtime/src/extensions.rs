//! Negotiating extensions in the opening handshake: parsing the client's
//! `Sec-WebSocket-Extensions` offers (RFC 6455 §9.1) and accepting the first
//! acceptable permessage-deflate offer (RFC 7692 §7.1).
//!
//! An offer with an unknown parameter, a parameter given twice, or a value out of
//! range is declined, and the next offer is tried; so is an offer that does not
//! parse. Declining every offer is not an error: the connection goes on without
//! compression, and the 101 carries no `Sec-WebSocket-Extensions` header.

use http::HeaderMap;
use wsboot_core::__runtime::{is_token, is_token_char};
use wsboot_core::DeflateConfig;

use crate::protocol::{Deflater, Direction, Inflater};

/// The extension's name.
const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// permessage-deflate as agreed with one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AgreedDeflate {
    /// How the server compresses.
    pub(crate) server: Direction,
    /// How the client compresses (what the server inflates).
    pub(crate) client: Direction,
    /// The `Sec-WebSocket-Extensions` value of the 101.
    pub(crate) response: String,
}

impl AgreedDeflate {
    /// The compressor for the server's messages.
    pub(crate) fn deflater(&self, config: &DeflateConfig) -> Deflater {
        Deflater::new(self.server, config.level, config.threshold)
    }

    /// The decompressor for the client's messages.
    pub(crate) fn inflater(&self) -> Inflater {
        Inflater::new(self.client)
    }
}

/// Accepts the first permessage-deflate offer in `headers` that `config` allows,
/// in the client's order of preference; `None` when there is none.
pub(crate) fn negotiate_deflate(headers: &HeaderMap, config: &DeflateConfig) -> Option<AgreedDeflate> {
    for value in headers.get_all(http::header::SEC_WEBSOCKET_EXTENSIONS) {
        let Ok(value) = value.to_str() else {
            tracing::debug!("Sec-WebSocket-Extensions is not ASCII; its offers are declined");
            continue;
        };
        for offer in parse_offers(value) {
            let Some(offer) = offer else {
                tracing::debug!("malformed extension offer in {value:?} declined");
                continue;
            };
            if !offer.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) {
                continue;
            }
            match accept_deflate(&offer, config) {
                Ok(agreed) => return Some(agreed),
                Err(why) => tracing::debug!("permessage-deflate offer declined: {why}"),
            }
        }
    }
    None
}

/// The answer to one permessage-deflate offer, or why it is declined.
fn accept_deflate(offer: &Offer<'_>, config: &DeflateConfig) -> Result<AgreedDeflate, String> {
    let mut server_no_context_takeover = false;
    let mut client_no_context_takeover = false;
    let mut server_max_window_bits: Option<u8> = None;
    // Offered without a value: `Some(None)`.
    let mut client_max_window_bits: Option<Option<u8>> = None;
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in &offer.params {
        if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
            return Err(format!("parameter {name} given twice"));
        }
        seen.push(name);
        match name.to_ascii_lowercase().as_str() {
            "server_no_context_takeover" => {
                no_value(name, value.as_deref())?;
                server_no_context_takeover = true;
            }
            "client_no_context_takeover" => {
                no_value(name, value.as_deref())?;
                client_no_context_takeover = true;
            }
            "server_max_window_bits" => {
                let value = value.as_deref().ok_or("server_max_window_bits needs a value")?;
                server_max_window_bits = Some(window_bits(name, value)?);
            }
            "client_max_window_bits" => {
                client_max_window_bits = Some(value.as_deref().map(|v| window_bits(name, v)).transpose()?);
            }
            _ => return Err(format!("unknown parameter {name}")),
        }
    }
    let max = config.max_window_bits;
    // Without context takeover allowed, both sides are told to reset after every
    // message (a server may add either parameter to its answer, §7.1.1).
    let server = Direction {
        no_context_takeover: server_no_context_takeover || !config.context_takeover,
        max_window_bits: server_max_window_bits.map_or(max, |bits| bits.min(max)),
    };
    let client = Direction {
        no_context_takeover: client_no_context_takeover || !config.context_takeover,
        // The client's window can be limited only if it said it accepts a limit
        // (§7.1.2.2); otherwise it may use the full 32 KiB.
        max_window_bits: match client_max_window_bits {
            None => 15,
            Some(None) => max,
            Some(Some(bits)) => bits.min(max),
        },
    };
    let mut response = String::from(PERMESSAGE_DEFLATE);
    if server.no_context_takeover {
        response.push_str("; server_no_context_takeover");
    }
    if client.no_context_takeover {
        response.push_str("; client_no_context_takeover");
    }
    if server_max_window_bits.is_some() || server.max_window_bits < 15 {
        response.push_str(&format!("; server_max_window_bits={}", server.max_window_bits));
    }
    if matches!(client_max_window_bits, Some(Some(_))) || (client_max_window_bits.is_some() && max < 15) {
        response.push_str(&format!("; client_max_window_bits={}", client.max_window_bits));
    }
    Ok(AgreedDeflate { server, client, response })
}

fn no_value(name: &str, value: Option<&str>) -> Result<(), String> {
    match value {
        None => Ok(()),
        Some(value) => Err(format!("{name} takes no value, got {value:?}")),
    }
}

/// A window size: a decimal 8 to 15 without leading zeros (§7.1.2.1).
fn window_bits(name: &str, value: &str) -> Result<u8, String> {
    match value {
        "8" | "9" | "10" | "11" | "12" | "13" | "14" | "15" => Ok(value.parse().expect("a listed number")),
        _ => Err(format!("{name}={value:?} is not a number from 8 to 15")),
    }
}

/// One offered extension: its name and parameters (quoted values unescaped).
#[derive(Debug, PartialEq, Eq)]
struct Offer<'a> {
    name: &'a str,
    params: Vec<(&'a str, Option<String>)>,
}

/// Splits a header value into offers (`extension-list` of RFC 6455 §9.1); an
/// element that does not parse is `None`, and parsing resumes after its comma.
fn parse_offers(value: &str) -> Vec<Option<Offer<'_>>> {
    let mut parser = Parser { text: value, pos: 0 };
    let mut offers = Vec::new();
    loop {
        parser.skip_space();
        match parser.peek() {
            None => break,
            // Empty list elements are allowed (RFC 9110 §5.6.1).
            Some(b',') => parser.pos += 1,
            Some(_) => {
                let start = parser.pos;
                let offer = parser.offer();
                parser.skip_space();
                match (offer, parser.peek()) {
                    (Some(offer), None | Some(b',')) => offers.push(Some(offer)),
                    _ => {
                        parser.pos = start;
                        parser.skip_element();
                        offers.push(None);
                    }
                }
            }
        }
    }
    offers
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// `token` (RFC 9110 §5.6.2).
    fn token(&mut self) -> Option<&'a str> {
        let start = self.pos;
        while self.peek().is_some_and(is_token_char) {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.text[start..self.pos])
    }

    /// `quoted-string`, unescaped.
    fn quoted(&mut self) -> Option<String> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = self.text[self.pos..].chars().next()?;
            self.pos += c.len_utf8();
            match c {
                '"' => return Some(out),
                '\\' => {
                    let escaped = self.text[self.pos..].chars().next()?;
                    self.pos += escaped.len_utf8();
                    out.push(escaped);
                }
                c => out.push(c),
            }
        }
    }

    /// `extension = extension-token *( ";" extension-param )`.
    fn offer(&mut self) -> Option<Offer<'a>> {
        let name = self.token()?;
        let mut params = Vec::new();
        loop {
            self.skip_space();
            if self.peek() != Some(b';') {
                return Some(Offer { name, params });
            }
            self.pos += 1;
            self.skip_space();
            let param = self.token()?;
            self.skip_space();
            let value = if self.peek() == Some(b'=') {
                self.pos += 1;
                self.skip_space();
                // A quoted value must still be a token once unescaped (§9.1).
                let value = if self.peek() == Some(b'"') { self.quoted()? } else { self.token()?.to_owned() };
                if !is_token(&value) {
                    return None;
                }
                Some(value)
            } else {
                None
            };
            params.push((param, value));
        }
    }

    /// Moves past the next comma that is not inside a quoted string.
    fn skip_element(&mut self) {
        let mut quoted = false;
        let mut escaped = false;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                _ if escaped => escaped = false,
                b'\\' if quoted => escaped = true,
                b'"' => quoted = !quoted,
                b',' if !quoted => return,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(http::header::SEC_WEBSOCKET_EXTENSIONS, value.parse().unwrap());
        }
        headers
    }

    fn answer(values: &[&str], config: &DeflateConfig) -> Option<String> {
        negotiate_deflate(&offers(values), config).map(|agreed| agreed.response)
    }

    fn default_answer(value: &str) -> Option<String> {
        answer(&[value], &DeflateConfig::enabled())
    }

    #[test]
    fn what_browsers_offer_is_accepted_as_is() {
        let agreed =
            negotiate_deflate(&offers(&["permessage-deflate; client_max_window_bits"]), &DeflateConfig::enabled())
                .unwrap();
        assert_eq!(agreed.response, "permessage-deflate");
        assert_eq!(agreed.server, Direction { no_context_takeover: false, max_window_bits: 15 });
        assert_eq!(agreed.client, Direction { no_context_takeover: false, max_window_bits: 15 });
    }

    #[test]
    fn each_parameter_is_answered() {
        assert_eq!(
            default_answer("permessage-deflate; server_no_context_takeover").as_deref(),
            Some("permessage-deflate; server_no_context_takeover")
        );
        assert_eq!(
            default_answer("permessage-deflate; client_no_context_takeover").as_deref(),
            Some("permessage-deflate; client_no_context_takeover")
        );
        assert_eq!(
            default_answer("permessage-deflate; server_max_window_bits=10").as_deref(),
            Some("permessage-deflate; server_max_window_bits=10")
        );
        assert_eq!(
            default_answer("permessage-deflate; client_max_window_bits=9").as_deref(),
            Some("permessage-deflate; client_max_window_bits=9")
        );
        // Quoted values are the same values (RFC 6455 §9.1).
        assert_eq!(
            default_answer("permessage-deflate; server_max_window_bits=\"12\"").as_deref(),
            Some("permessage-deflate; server_max_window_bits=12")
        );
    }

    #[test]
    fn the_server_limits_apply() {
        let mut config = DeflateConfig::enabled();
        config.max_window_bits = 10;
        config.context_takeover = false;
        // The client accepts a window limit: it gets one.
        assert_eq!(
            answer(&["permessage-deflate; client_max_window_bits"], &config).as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=10; client_max_window_bits=10"
            )
        );
        // It does not: its window cannot be limited, the server's still is.
        let agreed = negotiate_deflate(&offers(&["permessage-deflate; server_max_window_bits=12"]), &config).unwrap();
        assert_eq!(agreed.server.max_window_bits, 10);
        assert_eq!(agreed.client.max_window_bits, 15);
        assert!(!agreed.response.contains("client_max_window_bits"), "{}", agreed.response);
        // A smaller request than the server's limit wins.
        let agreed = negotiate_deflate(&offers(&["permessage-deflate; client_max_window_bits=8"]), &config).unwrap();
        assert_eq!(agreed.client.max_window_bits, 8);
    }

    #[test]
    fn invalid_offers_are_declined_and_the_next_one_tried() {
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=abc",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; mystery_parameter",
            "permessage-deflate; server_max_window_bits=\"1 2\"",
            "permessage-deflate; =15",
            "permessage-deflate;; server_no_context_takeover",
            "permessage-deflate server_no_context_takeover",
            "x-webkit-deflate-frame",
        ] {
            assert_eq!(default_answer(bad), None, "{bad}");
        }
        // The client's order of preference is kept, across header lines too.
        assert_eq!(
            default_answer("permessage-deflate; bogus, permessage-deflate; server_max_window_bits=11").as_deref(),
            Some("permessage-deflate; server_max_window_bits=11")
        );
        assert_eq!(
            answer(
                &["foo; a=\"x,y\"; b", "permessage-deflate; server_max_window_bits=\"9,\" , permessage-deflate"],
                &DeflateConfig::enabled()
            )
            .as_deref(),
            Some("permessage-deflate")
        );
    }

    #[test]
    fn offers_parse_per_rfc_6455_syntax() {
        let parsed = parse_offers(" , foo ;a = 1; b=\"q\\\"d\" ,bar,, baz;c ");
        assert_eq!(
            parsed,
            vec![
                None, // the quoted value is not a token once unescaped
                Some(Offer { name: "bar", params: vec![] }),
                Some(Offer { name: "baz", params: vec![("c", None)] }),
            ]
        );
        assert_eq!(
            parse_offers("foo;a=1;b=\"2\""),
            vec![Some(Offer { name: "foo", params: vec![("a", Some("1".into())), ("b", Some("2".into()))] })]
        );
    }
}
