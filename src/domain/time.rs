//! Time as depot keeps it: UTC, to the microsecond (PostgreSQL's precision),
//! stored without a zone and shown as RFC 3339 with `Z`.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use serde::Serializer;

/// Now, in UTC, truncated to microseconds so that what is written reads back equal.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// The RFC 3339 form of a stored UTC time, e.g. `2026-11-25T06:31:25.123456Z`.
pub fn rfc3339(t: &NaiveDateTime) -> String {
    DateTime::<Utc>::from_naive_utc_and_offset(*t, Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// serde `serialize_with` for a stored UTC time.
pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(t))
}

/// serde `serialize_with` for an optional stored UTC time.
pub fn serialize_opt<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339(t)),
        None => s.serialize_none(),
    }
}

/// Parses an instant given in a query: RFC 3339 (`2026-11-25T08:00:00Z`, any
/// offset, turned into UTC) or a date (`2026-11-25`, its start in UTC).
pub fn parse_instant(raw: &str) -> Result<NaiveDateTime, String> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.naive_utc().trunc_subsecs(6));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN));
    }
    Err("must be an RFC 3339 time (2026-11-25T08:00:00Z) or a date (2026-11-25)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_rfc3339_or_dates_in_utc() {
        let t = parse_instant("2026-11-25T10:00:00+02:00").unwrap();
        assert_eq!(rfc3339(&t), "2026-11-25T08:00:00Z");
        assert_eq!(
            rfc3339(&parse_instant("2026-11-25").unwrap()),
            "2026-11-25T00:00:00Z"
        );
        assert!(parse_instant("25/11/2026").is_err());
        assert!(parse_instant("2026-13-01").is_err());
    }

    #[test]
    fn formats_as_utc_rfc3339() {
        let t =
            NaiveDateTime::parse_from_str("2026-11-25 06:31:25.5", "%Y-%m-%d %H:%M:%S%.f").unwrap();
        assert_eq!(rfc3339(&t), "2026-11-25T06:31:25.500Z");
    }

    #[test]
    fn now_has_microsecond_precision() {
        assert_eq!(now().and_utc().timestamp_subsec_nanos() % 1_000, 0);
    }
}
