//! Code 128 for GS1-128 symbols of all-digit element strings (ISO/IEC 15417;
//! GS1 General Specifications §5.4, GS1-128).
//!
//! A GS1-128 symbol is a Code 128 symbol whose first data character is FNC1:
//! Start C, FNC1, the digits two by two in code set C, the mod-103 check
//! symbol and Stop. An SSCC label's element string (AI (00) + 18 digits) has
//! 20 digits, so code set C carries it whole; an odd count ends with a switch
//! to code set B for the last digit (two symbols, as a shift back would need
//! too, and simpler to read).
//!
//! The output is the symbol values and the module pattern; a renderer draws
//! one module per X-dimension and leaves a quiet zone of at least
//! [`QUIET_ZONE_MODULES`] on each side (ISO/IEC 15417; GS1 §5.4), which the
//! pattern here does not include.

/// Minimum light margin each side of the symbol, in modules (10X).
pub const QUIET_ZONE_MODULES: usize = 10;
/// Start character for code set C.
pub const START_C: u8 = 105;
/// FNC1: first data character of every GS1-128 symbol.
pub const FNC1: u8 = 102;
/// Switch to code set B (from code set C).
pub const CODE_B: u8 = 100;
/// Most data characters a GS1-128 symbol may encode (GS1 General
/// Specifications §5.4, GS1-128 symbol characteristics); FNC1 not counted.
pub const MAX_DATA_CHARACTERS: usize = 48;
/// Stop character (13 modules: the 11 of its pattern and the final bar of 2).
pub const STOP: u8 = 106;

/// Bar and space widths (in modules) of each symbol value, bar first
/// (the ISO/IEC 15417 character set table). Each has 3 bars and 3 spaces over 11 modules;
/// the stop has 4 bars and 3 spaces over 13.
const PATTERNS: [&[u8]; 107] = [
    b"212222", b"222122", b"222221", b"121223", b"121322", b"131222", b"122213", b"122312",
    b"132212", b"221213", b"221312", b"231212", b"112232", b"122132", b"122231", b"113222",
    b"123122", b"123221", b"223211", b"221132", b"221231", b"213212", b"223112", b"312131",
    b"311222", b"321122", b"321221", b"312212", b"322112", b"322211", b"212123", b"212321",
    b"232121", b"111323", b"131123", b"131321", b"112313", b"132113", b"132311", b"211313",
    b"231113", b"231311", b"112133", b"112331", b"132131", b"113123", b"113321", b"133121",
    b"313121", b"211331", b"231131", b"213113", b"213311", b"213131", b"311123", b"311321",
    b"331121", b"312113", b"312311", b"332111", b"314111", b"221411", b"431111", b"111224",
    b"111422", b"121124", b"121421", b"141122", b"141221", b"112214", b"112412", b"122114",
    b"122411", b"142112", b"142211", b"241211", b"221114", b"413111", b"241112", b"134111",
    b"111242", b"121142", b"121241", b"114212", b"124112", b"124211", b"411212", b"421112",
    b"421211", b"212141", b"214121", b"412121", b"111143", b"111341", b"131141", b"114113",
    b"114311", b"411113", b"411311", b"113141", b"114131", b"311141", b"411131", b"211412",
    b"211214", b"211232", b"2331112",
];

/// A GS1-128 symbol: its symbol values from Start to Stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gs1_128 {
    symbols: Vec<u8>,
}

impl Gs1_128 {
    /// The GS1-128 symbol of an element string made of digits only (such as
    /// `00` + an SSCC). Refuses an empty string or any other character: an
    /// element string with a variable-length AI before another AI would need
    /// a FNC1 separator, which this encoder does not place.
    pub fn numeric(element_string: &str) -> Result<Gs1_128, String> {
        if element_string.is_empty() {
            return Err("a GS1-128 element string must not be empty".into());
        }
        if !element_string.bytes().all(|b| b.is_ascii_digit()) {
            return Err("this GS1-128 encoder takes digits only".into());
        }
        if element_string.len() > MAX_DATA_CHARACTERS {
            return Err(format!(
                "a GS1-128 symbol holds at most {MAX_DATA_CHARACTERS} characters, not {}",
                element_string.len()
            ));
        }
        let digits = element_string.as_bytes();
        let mut symbols = vec![START_C, FNC1];
        let mut pairs = digits.chunks_exact(2);
        for pair in &mut pairs {
            symbols.push((pair[0] - b'0') * 10 + (pair[1] - b'0'));
        }
        if let [last] = pairs.remainder() {
            // Code set B encodes ASCII 32..=127 as value − 32.
            symbols.push(CODE_B);
            symbols.push(last - b' ');
        }
        symbols.push(check_symbol(&symbols));
        symbols.push(STOP);
        Ok(Gs1_128 { symbols })
    }

    /// Start, FNC1, data, check symbol and Stop, as symbol values.
    pub fn symbols(&self) -> &[u8] {
        &self.symbols
    }

    /// The mod-103 check symbol (the value just before Stop).
    pub fn check_symbol(&self) -> u8 {
        self.symbols[self.symbols.len() - 2]
    }

    /// The widths, in modules, of the bars and spaces from the first bar of
    /// Start to the last bar of Stop, alternating bar, space, bar…
    pub fn module_widths(&self) -> Vec<u8> {
        self.symbols
            .iter()
            .flat_map(|&s| PATTERNS[usize::from(s)].iter().map(|w| w - b'0'))
            .collect()
    }

    /// One entry per module, `true` for a dark module (bar), without the
    /// quiet zones.
    pub fn modules(&self) -> Vec<bool> {
        self.module_widths()
            .iter()
            .enumerate()
            .flat_map(|(i, &w)| std::iter::repeat_n(i % 2 == 0, usize::from(w)))
            .collect()
    }
}

/// ISO/IEC 15417: the start value plus each following value times its
/// position (1, 2, …), modulo 103.
fn check_symbol(symbols: &[u8]) -> u8 {
    let sum: u32 = symbols
        .iter()
        .enumerate()
        .map(|(i, &s)| u32::from(s) * (i as u32).max(1))
        .sum();
    (sum % 103) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decoder written for the test from the standard's table: modules back
    /// to symbol values, the check symbol verified, and the data read in code
    /// sets C and B. FNC1 reads as `]C1`, the GS1-128 symbology identifier a
    /// scanner sends ahead of the element string.
    fn decode(modules: &[bool]) -> Result<String, String> {
        let mut widths = Vec::new();
        let mut run = 0u8;
        for (i, &dark) in modules.iter().enumerate() {
            run += 1;
            if modules.get(i + 1) != Some(&dark) {
                widths.push(run);
                run = 0;
            }
        }
        let (data, stop) = widths.split_at(widths.len() - 7);
        if stop != [2, 3, 3, 1, 1, 1, 2] || data.len() % 6 != 0 {
            return Err("no stop pattern".into());
        }
        let values: Vec<u8> = data
            .chunks(6)
            .map(|w| {
                let text: Vec<u8> = w.iter().map(|d| d + b'0').collect();
                PATTERNS
                    .iter()
                    .position(|p| *p == text.as_slice())
                    .map(|v| v as u8)
            })
            .collect::<Option<_>>()
            .ok_or("unknown symbol")?;
        let (body, check) = values.split_at(values.len() - 1);
        if check_symbol(body) != check[0] {
            return Err("bad check symbol".into());
        }
        if body[0] != START_C {
            return Err("not Start C".into());
        }
        let mut text = String::new();
        let mut set_b = false;
        for &v in &body[1..] {
            match (set_b, v) {
                (_, FNC1) => text.push_str("]C1"),
                (false, CODE_B) => set_b = true,
                (false, 0..=99) => text.push_str(&format!("{v:02}")),
                (true, _) => text.push(char::from(v + b' ')),
                _ => return Err(format!("unexpected symbol {v}")),
            }
        }
        Ok(text)
    }

    #[test]
    fn the_sscc_of_the_issue_encodes_as_computed_by_hand() {
        // AI (00) + SSCC 006141411234567890 = 00 00 61 41 41 12 34 56 78 90.
        // Check: 105 + 102·1 + 0·2 + 0·3 + 61·4 + 41·5 + 41·6 + 12·7 + 34·8
        //        + 56·9 + 78·10 + 90·11
        //      = 105 + 102 + 244 + 205 + 246 + 84 + 272 + 504 + 780 + 990
        //      = 3532 = 34·103 + 30 → check symbol 30.
        let symbol = Gs1_128::numeric("00006141411234567890").unwrap();

        assert_eq!(
            symbol.symbols(),
            [105, 102, 0, 0, 61, 41, 41, 12, 34, 56, 78, 90, 30, 106]
        );
        assert_eq!(symbol.check_symbol(), 30);
        // 13 symbols of 11 modules and the stop of 13.
        assert_eq!(symbol.modules().len(), 13 * 11 + 13);
    }

    #[test]
    fn every_pattern_has_eleven_modules_and_the_stop_thirteen() {
        for (value, pattern) in PATTERNS.iter().enumerate() {
            let widths: Vec<u32> = pattern.iter().map(|w| u32::from(w - b'0')).collect();
            let total: u32 = widths.iter().sum();
            let bars: u32 = widths.iter().step_by(2).sum();
            assert_eq!(total, if value == 106 { 13 } else { 11 }, "{value}");
            // ISO/IEC 15417: bar modules of a symbol character are even in number,
            // a property that catches a mistyped width.
            assert_eq!(bars % 2, 0, "{value}");
        }
        let mut unique = PATTERNS.to_vec();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 107);
    }

    #[test]
    fn the_module_pattern_decodes_back_to_the_digits() {
        for digits in ["00006141411234567890", "00106141411234567897", "01"] {
            let symbol = Gs1_128::numeric(digits).unwrap();

            assert_eq!(decode(&symbol.modules()), Ok(format!("]C1{digits}")));
        }
    }

    #[test]
    fn an_odd_count_ends_in_code_set_b() {
        let symbol = Gs1_128::numeric("123").unwrap();

        // 12, then Code B and "3" (ASCII 51 − 32 = 19);
        // check: 105 + 102·1 + 12·2 + 100·3 + 19·4 = 607 = 5·103 + 92.
        assert_eq!(symbol.symbols(), [105, 102, 12, 100, 19, 92, 106]);
        assert_eq!(decode(&symbol.modules()), Ok("]C1123".to_string()));
    }

    #[test]
    fn the_symbol_starts_and_ends_with_a_bar() {
        let modules = Gs1_128::numeric("00006141411234567890").unwrap().modules();

        assert_eq!(modules.first(), Some(&true));
        assert_eq!(modules.last(), Some(&true));
    }

    #[test]
    fn letters_an_empty_string_or_more_than_48_digits_are_refused() {
        assert!(Gs1_128::numeric("").is_err());
        assert!(Gs1_128::numeric("00A1")
            .unwrap_err()
            .contains("digits only"));
        assert!(Gs1_128::numeric("００").is_err());
        assert!(Gs1_128::numeric(&"0".repeat(48)).is_ok());
        assert!(Gs1_128::numeric(&"0".repeat(49))
            .unwrap_err()
            .contains("at most 48"));
    }
}
