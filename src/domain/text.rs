//! Parsing of the short texts every stage names things with.

/// A business code (merchant, carrier, SKU, location…): 1–40 characters of
/// letters, digits, `-`, `_` and `.`, starting with a letter or digit.
pub fn parse_code(raw: &str) -> Result<String, String> {
    let code = raw.trim();
    if code.is_empty() {
        return Err("must not be empty".into());
    }
    if code.chars().count() > 40 {
        return Err("must be at most 40 characters".into());
    }
    let mut chars = code.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(
            "may contain only letters, digits, '-', '_' and '.', starting with a letter or digit"
                .into(),
        );
    }
    Ok(code.to_string())
}

/// A human name: 1–200 characters after trimming, no control characters.
pub fn parse_name(raw: &str) -> Result<String, String> {
    parse_text(raw, 200)
}

/// Free text of at most `max` characters, trimmed, with no control characters.
pub fn parse_text(raw: &str, max: usize) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("must not be empty".into());
    }
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_trimmed_and_checked() {
        assert_eq!(parse_code(" ACME-01 "), Ok("ACME-01".into()));
        assert!(parse_code("").is_err());
        assert!(parse_code("-lead").is_err());
        assert!(parse_code("has space").is_err());
        assert!(parse_code(&"x".repeat(41)).is_err());
    }

    #[test]
    fn names_refuse_blank_long_and_control_text() {
        assert_eq!(parse_name("  Acme Foods "), Ok("Acme Foods".into()));
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"n".repeat(201)).is_err());
        assert!(parse_name("a\u{0}b").is_err());
    }
}
