//! The HTTP `token` (RFC 9110 §5.6.2): what a subprotocol name and an extension
//! name or parameter are made of.

/// Whether `byte` may appear in a token: a letter, a digit or one of
/// ``!#$%&'*+-.^_`|~``.
#[doc(hidden)]
pub fn is_token_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Whether `text` is a token: one or more token characters.
#[doc(hidden)]
pub fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(is_token_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        for token in ["chat.v1", "v2", "permessage-deflate", "a!#$%&'*+-.^_`|~z"] {
            assert!(is_token(token), "{token}");
        }
        for not in ["", "chat v1", "v1,v2", "a/b", "\"q\"", "é", "v1\r\n"] {
            assert!(!is_token(not), "{not:?}");
        }
    }
}
