//! The size rule: a number of bytes written with a unit, as the TOML file's
//! size settings (`limits.max_message_size = "64KiB"`) and `#[ws_handler]`'s
//! size options (`max_message_size = "64KiB"`) both take it.

/// The bytes `text` stands for: digits (`_` allowed between them) and a unit,
/// `B` (or none), `KiB`/`K`, `MiB`/`M`, `GiB`/`G`, or the decimal `kB`/`KB`,
/// `MB`, `GB`. `None` when malformed or too large for 64 bits.
pub fn parse_size(text: &str) -> Option<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '_').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.replace('_', "").parse().ok()?;
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_with_and_without_units() {
        assert_eq!(parse_size("65_536"), Some(65_536));
        assert_eq!(parse_size("64KiB"), Some(64 << 10));
        assert_eq!(parse_size("1 MiB"), Some(1 << 20));
        assert_eq!(parse_size("2kB"), Some(2_000));
        assert_eq!(parse_size("64 KB"), Some(64_000));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("1 TiB"), None);
        assert_eq!(parse_size("99999999999999999999"), None);
    }
}
