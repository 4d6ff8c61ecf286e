//! Dispatch rules: what a handover scan means, which carrier status may
//! follow which, and how each status reads in the trace.

use std::collections::{BTreeSet, HashSet};

use chrono::{Duration, NaiveDateTime};

use super::gs1::validate_sscc;
use super::trace::{BizStep, Disposition};

/// How far ahead of depot's clock a carrier's `at` may be: handhelds'
/// clocks drift, a status from the future is refused beyond this.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);

/// The statuses a carrier reports after handover (`POST /parcels/{sscc}/status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarrierStatus {
    InTransit,
    Delivered,
    FailedDelivery,
    ReturnedToSender,
}

impl CarrierStatus {
    pub const ALL: [CarrierStatus; 4] = [
        CarrierStatus::InTransit,
        CarrierStatus::Delivered,
        CarrierStatus::FailedDelivery,
        CarrierStatus::ReturnedToSender,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CarrierStatus::InTransit => "in_transit",
            CarrierStatus::Delivered => "delivered",
            CarrierStatus::FailedDelivery => "failed_delivery",
            CarrierStatus::ReturnedToSender => "returned_to_sender",
        }
    }

    pub fn parse(raw: &str) -> Option<CarrierStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The CBV 2.0 business step (§7.1) and disposition (§7.2) of the
    /// event that records this status. A delivery is `arriving` with no
    /// disposition: CBV has none for "with the consignee", and EPCIS 2.0
    /// makes the disposition optional (§7.3.5).
    pub fn trace(self) -> (BizStep, Option<Disposition>) {
        match self {
            CarrierStatus::InTransit | CarrierStatus::FailedDelivery => {
                (BizStep::Transporting, Some(Disposition::InTransit))
            }
            CarrierStatus::Delivered => (BizStep::Arriving, None),
            CarrierStatus::ReturnedToSender => (BizStep::Transporting, Some(Disposition::Returned)),
        }
    }
}

/// Whether a parcel in `current` status may take `next` from its carrier.
/// After handover the carrier moves it on (in transit, a failed attempt,
/// again in transit…) until it is delivered or sent back; nothing follows
/// `delivered` or `returned_to_sender` but a return (`POST /returns`).
pub fn may_follow(current: &str, next: CarrierStatus) -> Result<(), String> {
    match current {
        "handed_over" | "in_transit" | "failed_delivery" => Ok(()),
        "delivered" => Err(format!(
            "the parcel is delivered: nothing follows but a return (POST /returns), not {}",
            next.as_str()
        )),
        "returned_to_sender" => Err(format!(
            "the parcel is on its way back to the warehouse: nothing follows but its return (POST /returns), not {}",
            next.as_str()
        )),
        "packed" => Err("the parcel is not handed over yet: its carrier confirms pickup first (POST /manifests/{id}/handover)".into()),
        other => Err(format!("the parcel is {other}: a carrier status cannot follow")),
    }
}

/// Checks a carrier's time for a status: not in the future (beyond the
/// clock skew), not before the parcel's previous status.
pub fn check_status_time(
    at: NaiveDateTime,
    now: NaiveDateTime,
    previous: NaiveDateTime,
) -> Result<(), String> {
    if at > now + CLOCK_SKEW {
        return Err("must not be in the future".into());
    }
    if at < previous {
        return Err(format!(
            "must not be before the parcel's previous status ({})",
            super::time::rfc3339(&previous)
        ));
    }
    Ok(())
}

/// The outcome of a handover scan against a manifest's parcels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Handover {
    /// Scanned and on the manifest, not yet handed over: handed over now.
    pub handed_over: Vec<String>,
    /// On the manifest, not handed over, not scanned.
    pub missing: Vec<String>,
    /// Scanned but not on this manifest waiting for pickup: another
    /// manifest's, already handed over, or not an SSCC at all.
    pub unknown: Vec<String>,
}

/// A scan as the SSCC it names: a GS1-128 reading may carry the symbology
/// identifier `]C1` and the application identifier `00` (GS1 General
/// Specifications §3.2: AI (00) is the SSCC), and a hand-typed one the
/// human-readable form `(00) 0 0614141 000000001 8`.
pub fn normalize_scan(raw: &str) -> String {
    let mut scan = raw.trim();
    scan = scan.strip_prefix("]C1").unwrap_or(scan);
    let compact: String = scan.chars().filter(|c| !c.is_whitespace()).collect();
    let compact = compact.strip_prefix("(00)").unwrap_or(&compact).to_string();
    if compact.len() == 20
        && compact.starts_with("00")
        && compact.bytes().all(|b| b.is_ascii_digit())
    {
        return compact[2..].to_string();
    }
    compact
}

/// Sorts scans against the parcels waiting on a manifest. `scanned: None`
/// hands over every waiting parcel. A scan repeated in one call counts
/// once; a scan that is not a valid SSCC is unknown (never silently
/// dropped), named as it was sent.
pub fn sort_scans(waiting: &[String], scanned: Option<&[String]>) -> Handover {
    let Some(scanned) = scanned else {
        let mut handed_over = waiting.to_vec();
        handed_over.sort();
        return Handover {
            handed_over,
            ..Handover::default()
        };
    };
    let waiting_set: HashSet<&str> = waiting.iter().map(String::as_str).collect();
    let mut handed: BTreeSet<String> = BTreeSet::new();
    let mut unknown: BTreeSet<String> = BTreeSet::new();
    for raw in scanned {
        let scan = normalize_scan(raw);
        match validate_sscc(&scan) {
            Ok(sscc) if waiting_set.contains(sscc) => {
                handed.insert(sscc.to_string());
            }
            Ok(sscc) => {
                unknown.insert(sscc.to_string());
            }
            Err(_) => {
                unknown.insert(raw.trim().to_string());
            }
        }
    }
    let mut missing: Vec<String> = waiting
        .iter()
        .filter(|s| !handed.contains(s.as_str()))
        .cloned()
        .collect();
    missing.sort();
    Handover {
        handed_over: handed.into_iter().collect(),
        missing,
        unknown: unknown.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    /// SSCCs with valid check digits (GS1 General Specifications §7.9.1).
    const A: &str = "006141410000000012";
    const B: &str = "006141410000000029";
    const C: &str = "006141410000000036";

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_scan_hands_over_what_waits_and_names_the_rest() {
        let waiting = strings(&[A, B, C]);
        let scans = strings(&[
            B,
            " 006141410000000012\n",
            B,
            "006141410000000043",
            "garbage",
        ]);
        let h = sort_scans(&waiting, Some(&scans));
        assert_eq!(h.handed_over, strings(&[A, B]));
        assert_eq!(h.missing, strings(&[C]));
        assert_eq!(h.unknown, strings(&["006141410000000043", "garbage"]));
    }

    #[test]
    fn gs1_128_readings_and_printed_forms_name_the_sscc() {
        assert_eq!(normalize_scan("]C100006141410000000012"), A);
        assert_eq!(normalize_scan("00006141410000000012"), A);
        assert_eq!(normalize_scan("(00) 0 0614141 000000001 2"), A);
        assert_eq!(normalize_scan(A), A);
    }

    #[test]
    fn no_scan_list_hands_over_everything() {
        let h = sort_scans(&strings(&[C, A]), None);
        assert_eq!(h.handed_over, strings(&[A, C]));
        assert!(h.missing.is_empty() && h.unknown.is_empty());
    }

    #[test]
    fn a_scan_with_a_wrong_check_digit_is_unknown() {
        let h = sort_scans(&strings(&[A]), Some(&strings(&["006141410000000013"])));
        assert!(h.handed_over.is_empty());
        assert_eq!(h.missing, strings(&[A]));
        assert_eq!(h.unknown, strings(&["006141410000000013"]));
    }

    #[test]
    fn nothing_follows_delivery_or_a_return_to_sender() {
        for next in CarrierStatus::ALL {
            assert!(may_follow("handed_over", next).is_ok());
            assert!(may_follow("in_transit", next).is_ok());
            assert!(may_follow("failed_delivery", next).is_ok());
            assert!(may_follow("delivered", next).is_err());
            assert!(may_follow("returned_to_sender", next).is_err());
            assert!(may_follow("packed", next).is_err());
            assert!(may_follow("removed", next).is_err());
        }
    }

    #[test]
    fn statuses_parse_and_trace_as_cbv_words() {
        for s in CarrierStatus::ALL {
            assert_eq!(CarrierStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(CarrierStatus::parse("handed_over"), None);
        assert_eq!(CarrierStatus::Delivered.trace().0.as_str(), "arriving");
        assert_eq!(
            CarrierStatus::ReturnedToSender
                .trace()
                .1
                .map(|d| d.as_str()),
            Some("returned")
        );
    }

    #[test]
    fn a_status_time_is_neither_future_nor_before_the_last() {
        let t = |h: u32, m: u32| {
            NaiveDate::from_ymd_opt(2026, 12, 2)
                .unwrap()
                .and_hms_opt(h, m, 0)
                .unwrap()
        };
        let now = t(12, 0);
        assert!(check_status_time(t(11, 0), now, t(10, 0)).is_ok());
        assert!(check_status_time(t(12, 4), now, t(10, 0)).is_ok());
        assert!(check_status_time(t(12, 6), now, t(10, 0)).is_err());
        assert!(check_status_time(t(9, 59), now, t(10, 0)).is_err());
    }
}
