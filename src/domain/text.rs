//! Parsing of the short texts every stage names things with.

use unicode_normalization::UnicodeNormalization;

/// Characters a code may have besides letters and digits.
const CODE_PUNCTUATION: &str = "-_./";
/// The longest code, in characters (after NFC normalization).
pub const MAX_CODE_CHARS: usize = 64;
/// The rule every code error states, so a caller learns it from any refusal.
pub const CODE_RULE: &str = "a code is 1 to 64 characters: letters or digits of any script \
     (such as C-冷-01), '-', '_', '.' or '/'; no spaces or control characters";

/// A business code (merchant, carrier, SKU, lot, location, receipt reference,
/// template category…): 1–64 characters of Unicode letters and digits plus
/// `-`, `_`, `.` and `/`, normalized to NFC so that the same text typed on two
/// keyboards (a precomposed or a combining accent) is one code.
///
/// Leading or trailing space is refused, not trimmed: a code is matched
/// exactly later (a bin label, a delivery note), and a silently trimmed code
/// would not be the one the caller sent.
pub fn parse_code(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Err(format!("must not be empty; {CODE_RULE}"));
    }
    if raw.starts_with(char::is_whitespace) || raw.ends_with(char::is_whitespace) {
        return Err(format!("must not begin or end with a space; {CODE_RULE}"));
    }
    let code: String = raw.nfc().collect();
    let chars = code.chars().count();
    if chars > MAX_CODE_CHARS {
        return Err(format!(
            "has {chars} characters, more than {MAX_CODE_CHARS}; {CODE_RULE}"
        ));
    }
    if let Some(bad) = code
        .chars()
        .find(|c| !(c.is_alphanumeric() || CODE_PUNCTUATION.contains(*c)))
    {
        let what = if bad.is_control() {
            format!("a control character (U+{:04X})", bad as u32)
        } else if bad.is_whitespace() {
            "a space".to_string()
        } else {
            format!("{bad:?}")
        };
        return Err(format!("must not contain {what}; {CODE_RULE}"));
    }
    Ok(code)
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
    fn codes_of_any_script_are_accepted() {
        for ok in [
            "ACME-01",
            "C-冷-01",
            "入库单-1202",
            "蜂蜜",
            "a_b.c/d",
            "١٢٣",
            &"码".repeat(64),
        ] {
            assert_eq!(parse_code(ok), Ok(ok.to_string()), "{ok:?}");
        }
    }

    #[test]
    fn codes_are_normalized_to_nfc() {
        // "é" as e + COMBINING ACUTE ACCENT becomes the precomposed U+00E9.
        assert_eq!(parse_code("caf\u{65}\u{301}"), Ok("caf\u{e9}".to_string()));
        // 64 characters after normalization, though 65 before.
        let long = format!("{}e\u{301}", "x".repeat(63));
        assert_eq!(parse_code(&long).map(|c| c.chars().count()), Ok(64));
    }

    #[test]
    fn every_refusal_states_the_rule() {
        let cases = [
            ("", "must not be empty"),
            (" ACME", "must not begin or end with a space"),
            ("ACME\u{3000}", "must not begin or end with a space"),
            ("has space", "must not contain a space"),
            ("a\u{7}b", "must not contain a control character (U+0007)"),
            ("a#b", "must not contain '#'"),
        ];
        for (raw, start) in cases {
            let message = parse_code(raw).unwrap_err();
            assert_eq!(message, format!("{start}; {CODE_RULE}"), "{raw:?}");
        }
        assert_eq!(
            parse_code(&"码".repeat(65)).unwrap_err(),
            format!("has 65 characters, more than 64; {CODE_RULE}")
        );
    }

    #[test]
    fn names_refuse_blank_long_and_control_text() {
        assert_eq!(parse_name("  Acme Foods "), Ok("Acme Foods".into()));
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"n".repeat(201)).is_err());
        assert!(parse_name("a\u{0}b").is_err());
    }
}
