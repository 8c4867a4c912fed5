//! The allowed-origin rule: what a handler's `allowed_origins` may contain so
//! that some `Origin` header (RFC 6454 §7) can match it.

use super::value_error::OptionValueError;

/// Checks one allowed origin: `*` (any), `null`, or `scheme://host[:port]`
/// where `*` stands for one or more characters, as in `https://*.example.com`.
/// A browser's `Origin` header is visible ASCII and carries a scheme and a host
/// but never a path, so a value without them, or with one, would match nothing.
#[doc(hidden)]
pub fn check_allowed_origin(origin: &str) -> Result<(), OptionValueError> {
    if origin == "*" || origin.eq_ignore_ascii_case("null") {
        return Ok(());
    }
    if origin.is_empty() {
        return Err(OptionValueError::new(
            "an empty allowed origin matches nothing",
            "write e.g. \"https://app.example\", or \"*\" for any origin",
        ));
    }
    if !origin.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(OptionValueError::new(
            format!("allowed origin {origin:?} contains whitespace or non-ASCII characters"),
            "write it as a browser sends it, e.g. \"https://app.example\", with an internationalized host in its \
             xn-- form",
        ));
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Err(OptionValueError::new(
            format!("allowed origin {origin:?} has no scheme, so no `Origin` header can match it"),
            format!("write \"https://{origin}\""),
        ));
    };
    if let Some((host, _)) = rest.split_once(['/', '?', '#']) {
        return Err(OptionValueError::new(
            format!("allowed origin {origin:?} has a path, which an `Origin` header never carries"),
            format!("write \"{scheme}://{host}\""),
        ));
    }
    if rest.is_empty() {
        return Err(OptionValueError::new(
            format!("allowed origin {origin:?} has no host"),
            format!("write e.g. \"{scheme}://app.example\""),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_that_can_match() {
        for ok in ["*", "null", "NULL", "https://*.example.com", "http://localhost:8080", "https://[::1]:443"] {
            assert!(check_allowed_origin(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn origins_that_cannot_say_what_to_write() {
        let help = |origin: &str| check_allowed_origin(origin).unwrap_err().help().to_owned();
        let message = |origin: &str| check_allowed_origin(origin).unwrap_err().message().to_owned();
        assert_eq!(help("https://app.example/"), "write \"https://app.example\"");
        assert_eq!(help("https://app.example?x#y"), "write \"https://app.example\"");
        assert_eq!(help("app.example"), "write \"https://app.example\"");
        assert!(message("app.example").contains("no scheme"));
        assert!(message("").contains("empty"));
        assert!(message("https://app example").contains("whitespace"));
        assert!(message("https://bücher.example").contains("non-ASCII"));
        assert!(message("https://").contains("no host"));
    }
}
