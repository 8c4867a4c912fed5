//! The subprotocol rule: a subprotocol a handler speaks is an HTTP token (RFC
//! 6455 §4.1), since it is echoed in the `Sec-WebSocket-Protocol` header of the
//! 101 response. A name with a comma or a space could never be offered by a
//! client, and one with a line break would split the response.

use super::token::{is_token, is_token_char};
use super::value_error::OptionValueError;

/// Checks one subprotocol a handler declares.
#[doc(hidden)]
pub fn check_subprotocol(protocol: &str) -> Result<(), OptionValueError> {
    if protocol.is_empty() {
        return Err(OptionValueError::new("an empty subprotocol cannot be negotiated", "write e.g. \"chat.v1\""));
    }
    if is_token(protocol) {
        return Ok(());
    }
    let bad = protocol.chars().find(|c| !c.is_ascii() || !is_token_char(*c as u8)).unwrap_or(' ');
    Err(OptionValueError::new(
        format!("subprotocol {protocol:?} contains {bad:?}"),
        "a subprotocol is a token of letters, digits and !#$%&'*+-.^_`|~, e.g. \"chat.v1\"",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subprotocols_are_tokens() {
        assert!(check_subprotocol("chat.v1").is_ok());
        assert!(check_subprotocol("").unwrap_err().message().contains("empty"));
        let error = check_subprotocol("chat v1").unwrap_err();
        assert_eq!(error.message(), "subprotocol \"chat v1\" contains ' '");
        assert!(error.help().contains("token"));
        assert!(check_subprotocol("v1, v2").is_err());
        assert!(check_subprotocol("v1\r\nX-Injected: 1").unwrap_err().message().contains("'\\r'"));
        assert!(check_subprotocol("чат").unwrap_err().message().contains("'ч'"));
    }
}
