//! Close codes and reasons (RFC 6455 §7.4, with Spring's `CloseStatus` names).

use std::borrow::Cow;
use std::fmt;

/// Why a WebSocket connection closed: a status code and an optional reason.
///
/// The constants carry the names Spring's `CloseStatus` uses, with the RFC 6455 /
/// IANA registry meaning in each doc comment.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CloseStatus {
    code: u16,
    reason: Cow<'static, str>,
}

macro_rules! statuses {
    ($($(#[$doc:meta])* $name:ident = $code:literal;)*) => {
        impl CloseStatus {
            $($(#[$doc])* pub const $name: CloseStatus = CloseStatus::new($code);)*
        }
        fn standard_name(code: u16) -> Option<&'static str> {
            match code { $($code => Some(stringify!($name)),)* _ => None }
        }
    };
}

statuses! {
    /// 1000: the purpose of the connection has been fulfilled.
    NORMAL = 1000;
    /// 1001: an endpoint is going away (server shutdown, page navigated away).
    GOING_AWAY = 1001;
    /// 1002: the peer broke the protocol.
    PROTOCOL_ERROR = 1002;
    /// 1003: a type of data the endpoint cannot accept (text to a binary-only
    /// handler, or the reverse).
    NOT_ACCEPTABLE = 1003;
    /// 1005: no status code was present. Never sent in a close frame; reported
    /// when the peer's close frame carried no code.
    NO_STATUS_CODE = 1005;
    /// 1006: the connection dropped without a close frame. Never sent; reported.
    NO_CLOSE_FRAME = 1006;
    /// 1007: message data inconsistent with its type (e.g. invalid UTF-8 in text).
    BAD_DATA = 1007;
    /// 1008: a message violates the endpoint's policy.
    POLICY_VIOLATION = 1008;
    /// 1009: a message too big to process.
    TOO_BIG_TO_PROCESS = 1009;
    /// 1010: the client expected an extension the server did not negotiate.
    REQUIRED_EXTENSION = 1010;
    /// 1011: the server met an unexpected condition (a handler error or panic).
    SERVER_ERROR = 1011;
    /// 1012: the service is restarting.
    SERVICE_RESTARTED = 1012;
    /// 1013: the service is overloaded; try again later.
    SERVICE_OVERLOAD = 1013;
    /// 1014: a gateway or proxy got an invalid response upstream.
    BAD_GATEWAY = 1014;
    /// 1015: the TLS handshake failed. Never sent; reported.
    TLS_HANDSHAKE_FAILURE = 1015;
    /// 4500 (Spring's own): the session can no longer be relied on, e.g. its
    /// outbound queue overflowed.
    SESSION_NOT_RELIABLE = 4500;
}

impl CloseStatus {
    /// A status with the given code and no reason.
    pub const fn new(code: u16) -> Self {
        CloseStatus { code, reason: Cow::Borrowed("") }
    }

    /// The same code with a reason (at most 123 bytes go on the wire; longer
    /// reasons are cut at a character boundary when the frame is written).
    pub fn with_reason(&self, reason: impl Into<Cow<'static, str>>) -> Self {
        CloseStatus { code: self.code, reason: reason.into() }
    }

    /// The numeric code.
    pub const fn code(&self) -> u16 {
        self.code
    }

    /// The reason text; empty when none was given.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Whether this code may appear in a close frame on the wire (RFC 6455 §7.4):
    /// 1000–1003, 1007–1014 and 3000–4999. 1005, 1006 and 1015 are reserved for
    /// reporting and never sent.
    pub const fn is_sendable(&self) -> bool {
        matches!(self.code, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// The Spring-style name of a standard code, such as `"NORMAL"`.
    pub fn name(&self) -> Option<&'static str> {
        standard_name(self.code)
    }
}

impl fmt::Debug for CloseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for CloseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(name) = self.name() {
            write!(f, " {name}")?;
        }
        if !self.reason.is_empty() {
            write!(f, " ({:?})", self.reason)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_codes_are_not_sendable() {
        for code in [1004, 1005, 1006, 1015, 999, 2999, 5000] {
            assert!(!CloseStatus::new(code).is_sendable(), "{code}");
        }
        for code in [1000, 1003, 1011, 1014, 3000, 4500, 4999] {
            assert!(CloseStatus::new(code).is_sendable(), "{code}");
        }
    }

    #[test]
    fn display_names_the_code() {
        let status = CloseStatus::NOT_ACCEPTABLE.with_reason("Binary messages not supported");
        assert_eq!(status.to_string(), "1003 NOT_ACCEPTABLE (\"Binary messages not supported\")");
        assert_eq!(CloseStatus::new(4001).to_string(), "4001");
    }
}
