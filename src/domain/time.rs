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

#[cfg(test)]
mod tests {
    use super::*;

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
