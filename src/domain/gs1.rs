//! GS1 identification keys: the mod-10 check digit, GTINs (and, later, SSCCs).

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
}
