//! Rules for announcing and receiving goods.

use chrono::NaiveDate;

use serde::Serialize;

use super::inspection::LotStatus;
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

/// Where a receipt is. A receipt may arrive in several deliveries:
/// `announced` (nothing came yet) → `partially_received` (something came, a
/// line still misses units) → `received` (every line has its expected
/// quantity; more may still come, as an over-delivery) → `closed` (staff
/// closed it: no more arrivals; what is missing stays short).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptProgress {
    Announced,
    PartiallyReceived,
    Received,
    Closed,
}

impl ReceiptProgress {
    pub const ALL: [ReceiptProgress; 4] = [
        ReceiptProgress::Announced,
        ReceiptProgress::PartiallyReceived,
        ReceiptProgress::Received,
        ReceiptProgress::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptProgress::Announced => "announced",
            ReceiptProgress::PartiallyReceived => "partially_received",
            ReceiptProgress::Received => "received",
            ReceiptProgress::Closed => "closed",
        }
    }

    pub fn parse(raw: &str) -> Option<ReceiptProgress> {
        ReceiptProgress::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    /// The progress of an open receipt whose lines have had `(expected,
    /// received)` units so far.
    pub fn of_lines(lines: &[(i64, i64)]) -> ReceiptProgress {
        if lines.iter().all(|(_, received)| *received == 0) {
            ReceiptProgress::Announced
        } else if lines
            .iter()
            .all(|(expected, received)| received >= expected)
        {
            ReceiptProgress::Received
        } else {
            ReceiptProgress::PartiallyReceived
        }
    }
}

/// A receipt line's standing: what is missing, what came in excess, and
/// whether the line is complete (its expected quantity came, or the receipt
/// was closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineStanding {
    pub short_qty: i64,
    pub over_qty: i64,
    pub complete: bool,
}

pub fn line_standing(expected: i64, received: i64, closed: bool) -> LineStanding {
    LineStanding {
        short_qty: (expected - received).max(0),
        over_qty: (received - expected).max(0),
        complete: closed || received >= expected,
    }
}

/// Checks the counts of one delivery against the receipt's line ids: each
/// line named at most once, known, counted from 0 to [`MAX_LINE_QTY`]; lines
/// not named brought nothing this time; the delivery brings at least one unit.
pub fn check_arrival(line_ids: &[&str], counts: &[(String, i64)]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if counts.is_empty() {
        errors.push(FieldError::new(
            "lines",
            "must name at least one line of the receipt",
        ));
    }
    for (i, (line_id, qty)) in counts.iter().enumerate() {
        if !line_ids.contains(&line_id.as_str()) {
            errors.push(FieldError::new(
                format!("lines[{i}].line_id"),
                "is not a line of this receipt",
            ));
        } else if counts[..i].iter().any(|(other, _)| other == line_id) {
            errors.push(FieldError::new(
                format!("lines[{i}].line_id"),
                "appears twice",
            ));
        }
        if !(0..=MAX_LINE_QTY).contains(qty) {
            errors.push(FieldError::new(
                format!("lines[{i}].received_qty"),
                format!("must be a whole number from 0 to {MAX_LINE_QTY}"),
            ));
        }
    }
    if errors.is_empty() && counts.iter().all(|(_, q)| *q == 0) {
        errors.push(FieldError::new(
            "lines",
            "a delivery brings at least one unit; nothing to record when every count is 0",
        ));
    }
    errors
}

/// The production and expiry dates an ASN line gives must be the lot's: one
/// lot is one production batch. A date the line leaves out takes the lot's.
/// Answers (field, message) per disagreeing date, the field being
/// `production_date` or `expiry_date`.
pub fn date_conflicts(
    line: (Option<NaiveDate>, Option<NaiveDate>),
    lot: (Option<NaiveDate>, Option<NaiveDate>),
) -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    for (field, given, known) in [
        ("production_date", line.0, lot.0),
        ("expiry_date", line.1, lot.1),
    ] {
        if let Some(given) = given {
            if Some(given) != known {
                let known = known.map_or("none".to_string(), |d| d.to_string());
                found.push((
                    field,
                    format!(
                        "{given} disagrees with the existing lot of this SKU and lot code, whose {field} is {known}"
                    ),
                ));
            }
        }
    }
    found
}

/// What units of a second delivery do when their SKU and lot code name an
/// existing lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddedUnits {
    /// The lot is not inspected yet: the units simply join it, and the coming
    /// inspection samples the whole lot.
    JoinLot,
    /// The lot's inspection has begun or ended with acceptance: the units
    /// wait in receiving as the lot's uninspected quantity until an
    /// inspection of their own (scope `added_units`) accepts them; until
    /// then they cannot be put away, so they can never become sellable.
    AwaitOwnInspection,
    /// The lot is quarantined: the units join it in quarantine, and its
    /// disposition (return, scrap, or 100% screening) decides for them too.
    JoinQuarantine,
}

/// The rule per lot state; a returned or scrapped lot is finished and takes
/// no units (the message is for the 409).
pub fn added_units(status: LotStatus) -> Result<AddedUnits, String> {
    match status {
        LotStatus::Received => Ok(AddedUnits::JoinLot),
        LotStatus::Inspecting | LotStatus::Accepted => Ok(AddedUnits::AwaitOwnInspection),
        LotStatus::Quarantined => Ok(AddedUnits::JoinQuarantine),
        LotStatus::Returned | LotStatus::Scrapped => Err(format!(
            "the lot with this SKU and lot code was {status} after a failed inspection; \
             it takes no new units (announce them under another lot code)"
        )),
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

    fn date(s: &str) -> Option<NaiveDate> {
        Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    #[test]
    fn a_receipt_progresses_from_announced_to_received() {
        assert_eq!(
            ReceiptProgress::of_lines(&[(10, 0), (5, 0)]),
            ReceiptProgress::Announced
        );
        assert_eq!(
            ReceiptProgress::of_lines(&[(10, 4), (5, 0)]),
            ReceiptProgress::PartiallyReceived
        );
        assert_eq!(
            ReceiptProgress::of_lines(&[(10, 10), (5, 7)]),
            ReceiptProgress::Received,
            "an over-delivered line is complete too"
        );
        assert_eq!(
            ReceiptProgress::parse("partially_received"),
            Some(ReceiptProgress::PartiallyReceived)
        );
        assert_eq!(ReceiptProgress::parse("arrived"), None);
    }

    #[test]
    fn a_line_shows_its_shortage_or_excess_and_closing_completes_it() {
        assert_eq!(
            line_standing(100, 96, false),
            LineStanding {
                short_qty: 4,
                over_qty: 0,
                complete: false
            }
        );
        assert_eq!(
            line_standing(100, 96, true),
            LineStanding {
                short_qty: 4,
                over_qty: 0,
                complete: true
            }
        );
        assert_eq!(
            line_standing(50, 55, false),
            LineStanding {
                short_qty: 0,
                over_qty: 5,
                complete: true
            }
        );
    }

    #[test]
    fn a_delivery_names_known_lines_once_and_brings_something() {
        let ids = ["rcl_a", "rcl_b"];
        let fields = |counts: &[(&str, i64)]| -> Vec<String> {
            let counts: Vec<(String, i64)> =
                counts.iter().map(|(id, q)| (id.to_string(), *q)).collect();
            check_arrival(&ids, &counts)
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert!(
            fields(&[("rcl_a", 3)]).is_empty(),
            "one line of two is fine"
        );
        assert_eq!(fields(&[]), ["lines"]);
        assert_eq!(fields(&[("rcl_a", 0), ("rcl_b", 0)]), ["lines"]);
        assert_eq!(fields(&[("rcl_a", 1), ("rcl_a", 1)]), ["lines[1].line_id"]);
        assert_eq!(fields(&[("rcl_x", 1)]), ["lines[0].line_id"]);
        assert_eq!(fields(&[("rcl_b", -1)]), ["lines[0].received_qty"]);
    }

    #[test]
    fn dates_that_disagree_with_the_lot_are_named_and_missing_ones_take_the_lot_s() {
        let lot = (date("2026-11-01"), date("2027-11-01"));
        assert!(date_conflicts((None, None), lot).is_empty());
        assert!(date_conflicts(lot, lot).is_empty());
        let found = date_conflicts((date("2026-11-02"), None), lot);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "production_date");
        assert!(found[0].1.contains("2026-11-01"), "{}", found[0].1);
        let found = date_conflicts((None, date("2027-12-01")), (None, None));
        assert_eq!(
            found.iter().map(|f| f.0).collect::<Vec<_>>(),
            ["expiry_date"]
        );
    }

    #[test]
    fn added_units_never_skip_an_inspection() {
        assert_eq!(added_units(LotStatus::Received), Ok(AddedUnits::JoinLot));
        assert_eq!(
            added_units(LotStatus::Inspecting),
            Ok(AddedUnits::AwaitOwnInspection)
        );
        assert_eq!(
            added_units(LotStatus::Accepted),
            Ok(AddedUnits::AwaitOwnInspection)
        );
        assert_eq!(
            added_units(LotStatus::Quarantined),
            Ok(AddedUnits::JoinQuarantine)
        );
        assert!(added_units(LotStatus::Returned).is_err());
        assert!(added_units(LotStatus::Scrapped).is_err());
    }
}
