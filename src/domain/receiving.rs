//! Rules for announcing and receiving goods.

use chrono::NaiveDate;

use super::text::parse_code;
use crate::error::FieldError;

/// The largest quantity one receipt line may announce or receive.
pub const MAX_LINE_QTY: i64 = 10_000_000;

/// One announced line, as the merchant sent it.
#[derive(Debug, Clone, Default)]
pub struct RawLine {
    pub sku_code: String,
    pub lot_code: String,
    pub expected_qty: i64,
    pub production_date: Option<String>,
    pub expiry_date: Option<String>,
}

/// One announced line, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncedLine {
    pub sku_code: String,
    pub lot_code: String,
    pub expected_qty: i64,
    pub production_date: Option<NaiveDate>,
    pub expiry_date: Option<NaiveDate>,
}

/// Checks the lines of an announcement as of `today`: codes, quantities, and
/// dates (produced no later than today, expiring after production and not
/// already expired), and no SKU × lot twice.
pub fn check_lines(
    lines: &[RawLine],
    today: NaiveDate,
) -> Result<Vec<AnnouncedLine>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut checked = Vec::new();
    if lines.is_empty() {
        errors.push(FieldError::new("lines", "must have at least one line"));
    }
    if lines.len() > 1000 {
        errors.push(FieldError::new("lines", "must have at most 1000 lines"));
    }
    for (i, line) in lines.iter().enumerate() {
        let field = |name: &str| format!("lines[{i}].{name}");
        let before = errors.len();
        let sku_code = parse_code(&line.sku_code)
            .map_err(|m| errors.push(FieldError::new(field("sku_code"), m)));
        let lot_code = parse_code(&line.lot_code)
            .map_err(|m| errors.push(FieldError::new(field("lot_code"), m)));
        if !(1..=MAX_LINE_QTY).contains(&line.expected_qty) {
            errors.push(FieldError::new(
                field("expected_qty"),
                format!("must be a whole number from 1 to {MAX_LINE_QTY}"),
            ));
        }
        let production = parse_date(&line.production_date)
            .map_err(|m| errors.push(FieldError::new(field("production_date"), m)));
        let expiry = parse_date(&line.expiry_date)
            .map_err(|m| errors.push(FieldError::new(field("expiry_date"), m)));
        if let (Ok(production), Ok(expiry)) = (&production, &expiry) {
            if let Some(p) = production {
                if *p > today {
                    errors.push(FieldError::new(
                        field("production_date"),
                        "must not be in the future",
                    ));
                }
            }
            if let Some(e) = expiry {
                if production.is_some_and(|p| *e <= p) {
                    errors.push(FieldError::new(
                        field("expiry_date"),
                        "must be after the production date",
                    ));
                } else if *e <= today {
                    errors.push(FieldError::new(
                        field("expiry_date"),
                        format!("the lot expired on {e}; it cannot be received"),
                    ));
                }
            }
        }
        if errors.len() == before {
            let line = AnnouncedLine {
                sku_code: sku_code.unwrap_or_default(),
                lot_code: lot_code.unwrap_or_default(),
                expected_qty: line.expected_qty,
                production_date: production.unwrap_or_default(),
                expiry_date: expiry.unwrap_or_default(),
            };
            if checked
                .iter()
                .any(|c: &AnnouncedLine| c.sku_code == line.sku_code && c.lot_code == line.lot_code)
            {
                errors.push(FieldError::new(
                    field("lot_code"),
                    "the same SKU and lot appear on an earlier line",
                ));
            } else {
                checked.push(line);
            }
        }
    }
    if errors.is_empty() {
        Ok(checked)
    } else {
        Err(errors)
    }
}

/// A calendar date in ISO 8601 extended form (`2026-11-25`).
pub fn parse_date(raw: &Option<String>) -> Result<Option<NaiveDate>, String> {
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| format!("{s:?} is not a date of the form YYYY-MM-DD")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    fn line(production: Option<&str>, expiry: Option<&str>) -> RawLine {
        RawLine {
            sku_code: "TEA-1".into(),
            lot_code: "L1".into(),
            expected_qty: 100,
            production_date: production.map(str::to_string),
            expiry_date: expiry.map(str::to_string),
        }
    }

    fn fields(result: Result<Vec<AnnouncedLine>, Vec<FieldError>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_good_line_passes() {
        let lines = check_lines(&[line(Some("2026-10-01"), Some("2027-10-01"))], today()).unwrap();
        assert_eq!(lines[0].expiry_date, NaiveDate::from_ymd_opt(2027, 10, 1));
    }

    #[test]
    fn expiry_must_follow_production_and_not_have_passed() {
        assert_eq!(
            fields(check_lines(
                &[line(Some("2026-10-01"), Some("2026-09-01"))],
                today()
            )),
            ["lines[0].expiry_date"]
        );
        assert_eq!(
            fields(check_lines(&[line(None, Some("2026-11-25"))], today())),
            ["lines[0].expiry_date"]
        );
        assert_eq!(
            fields(check_lines(&[line(Some("2026-12-01"), None)], today())),
            ["lines[0].production_date"]
        );
        assert_eq!(
            fields(check_lines(&[line(Some("yesterday"), None)], today())),
            ["lines[0].production_date"]
        );
    }

    #[test]
    fn quantities_must_be_positive_and_lots_unique() {
        let mut zero = line(None, None);
        zero.expected_qty = 0;
        assert_eq!(
            fields(check_lines(&[zero], today())),
            ["lines[0].expected_qty"]
        );
        assert_eq!(
            fields(check_lines(&[line(None, None), line(None, None)], today())),
            ["lines[1].lot_code"]
        );
        assert_eq!(fields(check_lines(&[], today())), ["lines"]);
    }
}
