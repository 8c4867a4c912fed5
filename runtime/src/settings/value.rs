//! Reading one setting's value, whether it came from TOML (typed) or from an
//! environment variable or a flag (text). Each reader returns `None` when the
//! value does not have the setting's form; the caller names the key and the form.

use std::time::Duration;

use wsboot_core::__runtime::parse_size;
use wsboot_core::{CloseStatus, OverflowPolicy};

/// A value as it arrived.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    /// From a TOML document.
    Toml(&'a toml::Value),
    /// From an environment variable or the command line.
    Text(&'a str),
}

impl Raw<'_> {
    /// The value as the user wrote it, for error messages.
    pub(crate) fn shown(&self) -> String {
        match self {
            Raw::Toml(value) => value.to_string(),
            Raw::Text(text) => format!("{text:?}"),
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Raw::Toml(toml::Value::String(text)) => Some(text.trim()),
            Raw::Toml(_) => None,
            Raw::Text(text) => Some(text.trim()),
        }
    }

    fn integer(&self) -> Option<i64> {
        match self {
            Raw::Toml(toml::Value::Integer(n)) => Some(*n),
            Raw::Toml(_) => None,
            Raw::Text(text) => text.trim().replace('_', "").parse().ok(),
        }
    }

    /// Whether the value switches the setting off (`"off"`, `"none"`, `false`).
    fn is_off(&self) -> bool {
        match self {
            Raw::Toml(toml::Value::Boolean(false)) => true,
            _ => self.text().is_some_and(|t| t.eq_ignore_ascii_case("off") || t.eq_ignore_ascii_case("none")),
        }
    }
}

/// A whole number, at least zero.
pub(crate) fn count(raw: Raw<'_>) -> Option<usize> {
    raw.integer().and_then(|n| usize::try_from(n).ok())
}

/// A number of bytes: a whole number, or a string with a unit (`B`, `KiB`,
/// `MiB`, `GiB`, or the decimal `kB`, `MB`, `GB`).
pub(crate) fn size(raw: Raw<'_>) -> Option<usize> {
    if let Some(n) = raw.integer() {
        return usize::try_from(n).ok();
    }
    usize::try_from(parse_size(raw.text()?)?).ok()
}

/// A duration: a whole number with a unit, `ms`, `s`, `m` or `h` (`"500ms"`,
/// `"10s"`). A bare number is refused: its unit would be a guess.
pub(crate) fn duration(raw: Raw<'_>) -> Option<Duration> {
    let text = raw.text()?;
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '_')?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.replace('_', "").parse().ok()?;
    let millis = match unit.trim() {
        "ms" => number,
        "s" => number.checked_mul(1_000)?,
        "m" | "min" => number.checked_mul(60_000)?,
        "h" => number.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(millis))
}

/// `read`'s form, or `"off"` for none.
pub(crate) fn optional<T>(raw: Raw<'_>, read: fn(Raw<'_>) -> Option<T>) -> Option<Option<T>> {
    if raw.is_off() { Some(None) } else { read(raw).map(Some) }
}

/// `true` or `false` (text also takes `1`/`0`, `yes`/`no`, `on`/`off`).
pub(crate) fn boolean(raw: Raw<'_>) -> Option<bool> {
    match raw {
        Raw::Toml(toml::Value::Boolean(b)) => Some(*b),
        Raw::Toml(_) => None,
        Raw::Text(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" => Some(false),
            _ => None,
        },
    }
}

/// Any non-empty string.
pub(crate) fn string(raw: Raw<'_>) -> Option<String> {
    raw.text().filter(|t| !t.is_empty()).map(str::to_owned)
}

/// A list of non-empty strings: a TOML array, or comma-separated text.
pub(crate) fn strings(raw: Raw<'_>) -> Option<Vec<String>> {
    let items: Vec<String> = match raw {
        Raw::Toml(toml::Value::Array(items)) => {
            items.iter().map(|item| item.as_str().map(|s| s.trim().to_owned())).collect::<Option<_>>()?
        }
        Raw::Toml(_) => return None,
        Raw::Text(text) => text.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
    };
    items.iter().all(|s| !s.is_empty()).then_some(items)
}

/// What [`close_code`] accepts, for messages.
pub(crate) const CLOSE_CODE_FORM: &str = "a close code a server may send: 1012 or \"service_restart\" (the default), \
     1001 or \"going_away\", or another of 1000-1003, 1007-1014, 3000-4999";

/// Whether a server may send `code` in a close frame.
pub(crate) fn is_shutdown_code(code: u16) -> bool {
    CloseStatus::new(code).is_sendable()
}

/// A close code by number or by name.
pub(crate) fn close_code(raw: Raw<'_>) -> Option<u16> {
    let code = match raw.integer() {
        Some(n) => u16::try_from(n).ok()?,
        None => match raw.text()?.to_ascii_lowercase().replace('-', "_").as_str() {
            "going_away" => 1001,
            "service_restart" | "service_restarted" => 1012,
            _ => return None,
        },
    };
    is_shutdown_code(code).then_some(code)
}

/// What a publish does for a full queue: `"terminate"`, `"drop_oldest"`,
/// `"drop_newest"`.
pub(crate) fn overflow(raw: Raw<'_>) -> Option<OverflowPolicy> {
    match raw.text()?.to_ascii_lowercase().replace('-', "_").as_str() {
        "terminate" => Some(OverflowPolicy::default()),
        "drop_oldest" => Some(OverflowPolicy::DropOldest),
        "drop_newest" => Some(OverflowPolicy::DropNewest),
        _ => None,
    }
}

/// `HOST:PORT`: an IP socket address, or a host name and a port.
pub(crate) fn is_host_port(addr: &str) -> bool {
    if addr.parse::<std::net::SocketAddr>().is_ok() {
        return true;
    }
    match addr.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
                && port.parse::<u16>().is_ok()
        }
        None => false,
    }
}

/// A path an HTTP request can carry: starts with `/`, no query, no spaces.
pub(crate) fn is_route_path(path: &str) -> bool {
    path.starts_with('/') && !path.contains(['?', '#']) && !path.chars().any(char::is_whitespace)
}

/// `scheme://rest`, the scheme made of letters, digits, `+`, `-`, `.`.
pub(crate) fn is_url(url: &str) -> bool {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
                && !rest.is_empty()
                && !url.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toml(text: &str) -> toml::Value {
        text.parse::<toml::Table>().unwrap().remove("v").unwrap()
    }

    #[test]
    fn sizes_take_numbers_and_units() {
        assert_eq!(size(Raw::Toml(&toml("v = 65536"))), Some(65536));
        assert_eq!(size(Raw::Toml(&toml("v = \"64KiB\""))), Some(64 << 10));
        assert_eq!(size(Raw::Text("16MiB")), Some(16 << 20));
        assert_eq!(size(Raw::Text("2 GB")), Some(2_000_000_000));
        assert_eq!(size(Raw::Text("1_024")), Some(1024));
        assert_eq!(size(Raw::Text("lots")), None);
        assert_eq!(size(Raw::Text("12 parsecs")), None);
        assert_eq!(size(Raw::Toml(&toml("v = -1"))), None);
        assert_eq!(size(Raw::Toml(&toml("v = true"))), None);
    }

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(duration(Raw::Text("500ms")), Some(Duration::from_millis(500)));
        assert_eq!(duration(Raw::Toml(&toml("v = \"10s\""))), Some(Duration::from_secs(10)));
        assert_eq!(duration(Raw::Text("2m")), Some(Duration::from_secs(120)));
        assert_eq!(duration(Raw::Text("1h")), Some(Duration::from_secs(3600)));
        assert_eq!(duration(Raw::Text("10")), None);
        assert_eq!(duration(Raw::Toml(&toml("v = 10"))), None);
        assert_eq!(optional(Raw::Text("off"), duration), Some(None));
        assert_eq!(optional(Raw::Toml(&toml("v = false")), duration), Some(None));
    }

    #[test]
    fn close_codes_by_number_or_name() {
        assert_eq!(close_code(Raw::Toml(&toml("v = 1012"))), Some(1012));
        assert_eq!(close_code(Raw::Text("service_restart")), Some(1012));
        assert_eq!(close_code(Raw::Text("going-away")), Some(1001));
        assert_eq!(close_code(Raw::Text("1006")), None);
        assert_eq!(close_code(Raw::Text("70000")), None);
    }

    #[test]
    fn lists_booleans_and_addresses() {
        assert_eq!(strings(Raw::Text("a, b")), Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(strings(Raw::Toml(&toml("v = [\"x\", 1]"))), None);
        assert_eq!(boolean(Raw::Text("off")), Some(false));
        assert_eq!(boolean(Raw::Toml(&toml("v = \"true\""))), None);
        assert!(is_host_port("0.0.0.0:8080") && is_host_port("[::1]:9") && is_host_port("localhost:80"));
        assert!(!is_host_port("8080") && !is_host_port("host:99999") && !is_host_port(":80"));
        assert!(is_url("redis://127.0.0.1:6379") && !is_url("127.0.0.1:6379"));
    }
}
