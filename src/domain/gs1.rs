//! GS1 identification keys: the mod-10 check digit, GTINs, GS1 company
//! prefixes and SSCCs.

/// The GS1 check digit of `digits` (all digits but the check digit itself).
///
/// GS1 General Specifications §7.9.1: from the rightmost digit leftwards,
/// multiply alternately by 3 and 1, sum, and take the amount that brings the
/// sum up to the next multiple of ten.
pub fn check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(*d) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// A Global Trade Item Number: GTIN-8, -12, -13 or -14 with a valid check digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gtin(String);

impl Gtin {
    pub fn parse(raw: &str) -> Result<Gtin, String> {
        let raw = raw.trim();
        if !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must contain digits only".into());
        }
        if ![8, 12, 13, 14].contains(&raw.len()) {
            return Err(format!(
                "must have 8, 12, 13 or 14 digits, not {}",
                raw.len()
            ));
        }
        let digits: Vec<u8> = raw.bytes().map(|b| b - b'0').collect();
        let (body, check) = digits.split_at(digits.len() - 1);
        let expected = check_digit(body);
        if check[0] != expected {
            return Err(format!(
                "check digit should be {expected}, not {}",
                check[0]
            ));
        }
        Ok(Gtin(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 14-digit form (left-padded with zeros), as used in GS1 Digital
    /// Link URIs and EPCIS class identifiers.
    pub fn to_gtin14(&self) -> String {
        format!("{:0>14}", self.0)
    }
}

/// A GS1 company prefix as the warehouse is configured with: 7 to 10 digits.
///
/// GS1 allocates prefixes of other lengths too; 7–10 is the range whose SSCCs
/// keep a serial reference of 6 to 9 digits, which is what a warehouse that
/// numbers its own parcels needs (GS1 General Specifications §2.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyPrefix(String);

impl CompanyPrefix {
    pub const MIN_DIGITS: usize = 7;
    pub const MAX_DIGITS: usize = 10;

    pub fn parse(raw: &str) -> Result<CompanyPrefix, String> {
        let raw = raw.trim();
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err("a GS1 company prefix must contain digits only".into());
        }
        if !(Self::MIN_DIGITS..=Self::MAX_DIGITS).contains(&raw.len()) {
            return Err(format!(
                "a GS1 company prefix must have {} to {} digits, not {}",
                Self::MIN_DIGITS,
                Self::MAX_DIGITS,
                raw.len()
            ));
        }
        Ok(CompanyPrefix(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The digits of an SSCC before its check digit: extension digit, company
/// prefix and serial reference (GS1 General Specifications §2.2.1).
const SSCC_BODY_DIGITS: usize = 17;

/// A Serial Shipping Container Code: the 18-digit GS1 key of a parcel, carried
/// in a GS1-128 barcode under Application Identifier (00) (GS1 General
/// Specifications §2.2.1 for the key, §3.2 for AI (00)).
///
/// Its digits are: one extension digit (0–9, chosen by the company), the GS1
/// company prefix, a serial reference zero-padded so that these three make 17
/// digits, and the mod-10 check digit of §7.9.1. The digits alone do not say
/// where the company prefix ends (only GS1's allocation does), so the type
/// keeps the prefix length: the human-readable line and the EPC URI need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sscc {
    digits: String,
    prefix_len: usize,
}

impl Sscc {
    /// The SSCC of `serial` under `company_prefix`, with `extension_digit`.
    ///
    /// A serial that needs more digits than the prefix leaves (16 minus the
    /// prefix length) is refused, not truncated: a truncated serial would
    /// repeat an SSCC already given, and GS1 forbids reusing one (§2.2.1).
    pub fn new(
        extension_digit: u8,
        company_prefix: &CompanyPrefix,
        serial: u64,
    ) -> Result<Sscc, String> {
        if extension_digit > 9 {
            return Err(format!(
                "the SSCC extension digit must be 0 to 9, not {extension_digit}"
            ));
        }
        let prefix = company_prefix.as_str();
        let serial_digits = SSCC_BODY_DIGITS - 1 - prefix.len();
        let serial_text = serial.to_string();
        if serial_text.len() > serial_digits {
            return Err(format!(
                "the serial reference {serial} does not fit the {serial_digits} digits \
                 that the company prefix {prefix} leaves in an SSCC"
            ));
        }
        let body = format!("{extension_digit}{prefix}{serial_text:0>serial_digits$}");
        let check = check_digit(&ascii_digits(&body));
        Ok(Sscc {
            digits: format!("{body}{check}"),
            prefix_len: prefix.len(),
        })
    }

    /// An SSCC read back (from a path, a scan, the database) that must carry
    /// `company_prefix`: 18 digits, the right check digit, and the prefix
    /// after the extension digit. Only an SSCC of a known prefix can be
    /// grouped for print, hence the argument; [`validate_sscc`] checks the
    /// digits alone.
    pub fn parse(raw: &str, company_prefix: &CompanyPrefix) -> Result<Sscc, String> {
        let digits = validate_sscc(raw)?;
        let prefix = company_prefix.as_str();
        if &digits[1..1 + prefix.len()] != prefix {
            return Err(format!(
                "this SSCC does not carry the company prefix {prefix}"
            ));
        }
        Ok(Sscc {
            digits: digits.to_string(),
            prefix_len: prefix.len(),
        })
    }

    /// The 18 digits.
    pub fn as_str(&self) -> &str {
        &self.digits
    }

    pub fn extension_digit(&self) -> &str {
        &self.digits[..1]
    }

    pub fn company_prefix(&self) -> &str {
        &self.digits[1..1 + self.prefix_len]
    }

    pub fn serial_reference(&self) -> &str {
        &self.digits[1 + self.prefix_len..SSCC_BODY_DIGITS]
    }

    pub fn check_digit(&self) -> &str {
        &self.digits[SSCC_BODY_DIGITS..]
    }

    /// The GS1 element string: AI (00) followed by the 18 digits, as a
    /// GS1-128 barcode encodes it after FNC1 (§3.2). AI (00) is of fixed
    /// length, so no separator follows it.
    pub fn element_string(&self) -> String {
        format!("00{}", self.digits)
    }

    /// The line printed under the barcode, grouped as GS1 prints it:
    /// `(00) 0 0614141 123456789 0` — AI, extension digit, company prefix,
    /// serial reference, check digit.
    pub fn human_readable(&self) -> String {
        format!(
            "(00) {} {} {} {}",
            self.extension_digit(),
            self.company_prefix(),
            self.serial_reference(),
            self.check_digit()
        )
    }

    /// The EPC pure identity URI, as EPCIS events name the parcel
    /// (GS1 EPC Tag Data Standard §6.3.2): `urn:epc:id:sscc:` + company
    /// prefix + `.` + extension digit and serial reference; no check digit.
    pub fn epc_uri(&self) -> String {
        format!(
            "urn:epc:id:sscc:{}.{}{}",
            self.company_prefix(),
            self.extension_digit(),
            self.serial_reference()
        )
    }
}

impl std::fmt::Display for Sscc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.digits)
    }
}

/// Checks that `raw` is an SSCC by its digits alone: 18 digits whose last is
/// the §7.9.1 check digit of the others. Answers the trimmed digits.
pub fn validate_sscc(raw: &str) -> Result<&str, String> {
    let raw = raw.trim();
    if !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err("an SSCC must contain digits only".into());
    }
    if raw.len() != SSCC_BODY_DIGITS + 1 {
        return Err(format!("an SSCC must have 18 digits, not {}", raw.len()));
    }
    let digits = ascii_digits(raw);
    let expected = check_digit(&digits[..SSCC_BODY_DIGITS]);
    if digits[SSCC_BODY_DIGITS] != expected {
        return Err(format!(
            "the SSCC check digit should be {expected}, not {}",
            digits[SSCC_BODY_DIGITS]
        ));
    }
    Ok(raw)
}

/// The values of an all-ASCII-digit string (callers have checked it).
fn ascii_digits(text: &str) -> Vec<u8> {
    text.bytes().map(|b| b - b'0').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digit_matches_gs1_examples() {
        // GS1 General Specifications §7.9.1 worked example: GTIN-13 629104150021 → 3.
        assert_eq!(check_digit(&[6, 2, 9, 1, 0, 4, 1, 5, 0, 0, 2, 1]), 3);
        // A GTIN-8 example: 9638507 → 4 (96385074).
        assert_eq!(check_digit(&[9, 6, 3, 8, 5, 0, 7]), 4);
    }

    #[test]
    fn gtins_of_every_length_parse() {
        for gtin in [
            "96385074",
            "036000291452",
            "6291041500213",
            "10614141000415",
        ] {
            assert!(Gtin::parse(gtin).is_ok(), "{gtin}");
        }
        assert_eq!(
            Gtin::parse("6291041500213").unwrap().to_gtin14(),
            "06291041500213"
        );
    }

    #[test]
    fn a_wrong_check_digit_or_length_is_refused() {
        assert!(Gtin::parse("6291041500214")
            .unwrap_err()
            .contains("should be 3"));
        assert!(Gtin::parse("123456789").is_err());
        assert!(Gtin::parse("62910415002a3").is_err());
    }

    fn prefix() -> CompanyPrefix {
        CompanyPrefix::parse("0614141").unwrap()
    }

    #[test]
    fn an_sscc_is_built_as_gs1s_example() {
        // GS1 General Specifications §2.2.1 example SSCC: 1 0614141 123456789 + check.
        // §7.9.1 by hand, from the right, weights 3,1,3,…:
        //   9·3 8·1 7·3 6·1 5·3 4·1 3·3 2·1 1·3 1·1 4·3 1·1 4·3 1·1 6·3 0·1 1·3
        //   = 27+8+21+6+15+4+9+2+3+1+12+1+12+1+18+0+3 = 143 → check digit 7.
        let sscc = Sscc::new(1, &prefix(), 123_456_789).unwrap();

        assert_eq!(sscc.to_string(), "106141411234567897");
        assert_eq!(sscc.human_readable(), "(00) 1 0614141 123456789 7");
        assert_eq!(sscc.element_string(), "00106141411234567897");
        assert_eq!(sscc.epc_uri(), "urn:epc:id:sscc:0614141.1123456789");
    }

    #[test]
    fn the_issues_example_has_check_digit_zero() {
        // Extension digit 0 instead of 1 takes 1·3 off the sum: 140 → check digit 0.
        let sscc = Sscc::new(0, &prefix(), 123_456_789).unwrap();

        assert_eq!(sscc.as_str(), "006141411234567890");
        assert_eq!(sscc.human_readable(), "(00) 0 0614141 123456789 0");
        assert_eq!(sscc.epc_uri(), "urn:epc:id:sscc:0614141.0123456789");
    }

    #[test]
    fn the_epc_uri_matches_the_tag_data_standards_example() {
        // EPC TDS §6.3.2: urn:epc:id:sscc:0614141.1234567890 is the SSCC
        // (00) 1 0614141 234567890 8. By hand: from the right,
        //   0·3 9·1 8·3 7·1 6·3 5·1 4·3 3·1 2·3 1·1 4·3 1·1 4·3 1·1 6·3 0·1 1·3
        //   = 0+9+24+7+18+5+12+3+6+1+12+1+12+1+18+0+3 = 132 → check digit 8.
        let sscc = Sscc::new(1, &prefix(), 234_567_890).unwrap();

        assert_eq!(sscc.as_str(), "106141412345678908");
        assert_eq!(sscc.epc_uri(), "urn:epc:id:sscc:0614141.1234567890");
    }

    #[test]
    fn the_serial_is_zero_padded_to_what_the_prefix_leaves() {
        let ten = CompanyPrefix::parse("6901234567").unwrap();

        let sscc = Sscc::new(3, &ten, 42).unwrap();

        assert_eq!(sscc.serial_reference(), "000042");
        assert_eq!(sscc.as_str().len(), 18);
        assert_eq!(
            sscc.human_readable(),
            format!("(00) 3 6901234567 000042 {}", sscc.check_digit())
        );
        assert!(validate_sscc(sscc.as_str()).is_ok());
    }

    #[test]
    fn a_serial_too_long_for_the_prefix_is_refused() {
        let ten = CompanyPrefix::parse("6901234567").unwrap();

        assert!(Sscc::new(0, &ten, 999_999).is_ok());
        let err = Sscc::new(0, &ten, 1_000_000).unwrap_err();
        assert!(err.contains("does not fit the 6 digits"), "{err}");
        assert!(Sscc::new(0, &prefix(), 1_000_000_000).is_err());
    }

    #[test]
    fn an_extension_digit_above_nine_is_refused() {
        assert!(Sscc::new(10, &prefix(), 1).unwrap_err().contains("0 to 9"));
    }

    #[test]
    fn company_prefixes_have_seven_to_ten_digits() {
        assert!(CompanyPrefix::parse("0614141").is_ok());
        assert!(CompanyPrefix::parse("6901234567").is_ok());
        assert!(CompanyPrefix::parse("061414")
            .unwrap_err()
            .contains("not 6"));
        assert!(CompanyPrefix::parse("69012345678").is_err());
        assert!(CompanyPrefix::parse("061414a")
            .unwrap_err()
            .contains("digits only"));
        assert!(CompanyPrefix::parse("六九〇一二三四").is_err());
        assert!(CompanyPrefix::parse("").is_err());
    }

    #[test]
    fn an_sscc_parses_back_with_its_prefix() {
        let sscc = Sscc::parse("106141411234567897", &prefix()).unwrap();

        assert_eq!(sscc, Sscc::new(1, &prefix(), 123_456_789).unwrap());
        assert_eq!(sscc.serial_reference(), "123456789");
    }

    #[test]
    fn a_wrong_sscc_is_refused_with_the_reason() {
        assert!(validate_sscc("106141411234567898")
            .unwrap_err()
            .contains("should be 7"));
        assert!(validate_sscc("10614141123456789")
            .unwrap_err()
            .contains("not 17"));
        assert!(validate_sscc("1061414112345678９7").is_err());
        let other = CompanyPrefix::parse("6901234").unwrap();
        assert!(Sscc::parse("106141411234567897", &other)
            .unwrap_err()
            .contains("6901234"));
    }
}
