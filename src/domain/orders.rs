//! Orders from live sessions: what a valid order is, the key and hash that
//! make ingest idempotent, and the all-or-nothing reservation of its lines.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime, SubsecRound};
use sha2::{Digest, Sha256};

use super::storage::{fefo, Allocation, StockCandidate};
use super::text::{parse_code, parse_name, parse_text};
use crate::error::FieldError;

/// Units of one line: 1 to this many.
pub const MAX_LINE_QTY: i64 = 10_000;
/// Lines of one order.
pub const MAX_LINES: usize = 50;
/// Orders of one bulk request.
pub const MAX_BULK: usize = 1_000;

/// The live-commerce channels depot takes orders from.
pub const CHANNELS: [&str; 5] = [
    "douyin",
    "kuaishou",
    "taobao_live",
    "wechat_channels",
    "other",
];

/// An order as pushed, before depot has looked anything up.
#[derive(Debug, Clone, Default)]
pub struct RawOrder {
    pub channel: String,
    pub external_id: String,
    pub live_session: Option<String>,
    pub carrier_code: Option<String>,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub city: String,
    pub province: String,
    pub postcode: Option<String>,
    /// (sku code, qty).
    pub lines: Vec<(String, i64)>,
    /// The merchant's reference of each line (`line_ref`), if it gave one.
    pub line_refs: Vec<Option<String>>,
    /// The ship-by deadline the merchant sent (RFC 3339 with an offset).
    pub ship_by: Option<String>,
}

/// An order whose fields are valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedOrder {
    pub channel: String,
    pub external_id: String,
    pub live_session: Option<String>,
    pub carrier_code: Option<String>,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub city: String,
    pub province: String,
    pub postcode: Option<String>,
    /// One line per SKU, in the order each SKU first appears: (sku code, qty).
    /// Lines that named the same SKU are merged (a gift and a paid item).
    pub lines: Vec<(String, i64)>,
    /// Per merged line: the merchant's references of the lines merged into it.
    pub line_refs: Vec<Vec<String>>,
    /// Per merged line: the index of the first pushed line it came from, so
    /// that an error about it names the line the caller sent.
    pub line_inputs: Vec<usize>,
    /// The ship-by deadline the merchant sent, in UTC; None: the channel's
    /// promise ([`ShipByHours`]) applies at ingest.
    pub ship_by: Option<NaiveDateTime>,
}

impl CheckedOrder {
    pub fn units(&self) -> i64 {
        self.lines.iter().map(|(_, q)| q).sum()
    }

    /// The hash that tells a retry from a different order under the same
    /// key: SHA-256 of the order as depot understood it — normalized phone
    /// and postcode, trimmed text, absent and blank optional fields alike,
    /// merged lines sorted by SKU code with their references sorted — so a
    /// retry that spells the same order differently (`+86 139 0000 0001`
    /// for `13900000001`, the two lines of one SKU the other way round) is
    /// a duplicate, while any change of meaning is not. A ship-by deadline
    /// the merchant sent is part of the meaning, as the instant it names (so
    /// `+08:00` and `Z` spellings of one instant agree); an order without one
    /// hashes exactly as before deadlines existed, so that a retry of an
    /// order stored then is still a duplicate. One small JSON array
    /// serialized and hashed per order: cheap next to the insert.
    pub fn meaning_hash(&self) -> String {
        let mut lines: Vec<(&str, i64, Vec<&str>)> = self
            .lines
            .iter()
            .zip(&self.line_refs)
            .map(|((code, qty), refs)| {
                let mut refs: Vec<&str> = refs.iter().map(String::as_str).collect();
                refs.sort_unstable();
                (code.as_str(), *qty, refs)
            })
            .collect();
        lines.sort_unstable();
        let mut canonical = serde_json::json!([
            1, // the version of this layout
            self.channel,
            self.external_id,
            self.live_session,
            self.carrier_code,
            self.name,
            self.phone,
            self.address,
            self.city,
            self.province,
            self.postcode,
            lines,
        ]);
        if let (Some(t), Some(fields)) = (self.ship_by, canonical.as_array_mut()) {
            fields.push(serde_json::json!({
                "ship_by": t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
            }));
        }
        let digest = Sha256::digest(canonical.to_string().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Checks every field of an order; the errors name each bad field, prefixed
/// with `prefix` (`orders[3].` in a bulk request).
pub fn check_order(raw: RawOrder, prefix: &str) -> Result<CheckedOrder, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut field = |name: &str, message: String| {
        errors.push(FieldError::new(format!("{prefix}{name}"), message));
    };
    if !CHANNELS.contains(&raw.channel.as_str()) {
        field("channel", format!("must be one of {}", CHANNELS.join(", ")));
    }
    let external_id = raw.external_id.trim().to_string();
    if external_id.is_empty()
        || external_id.chars().count() > 64
        || external_id.chars().any(char::is_control)
    {
        field(
            "external_id",
            "must be 1 to 64 characters without control characters".into(),
        );
    }
    let live_session = match raw.live_session.filter(|s| !s.trim().is_empty()) {
        Some(s) => match parse_text(&s, 64) {
            Ok(s) => Some(s),
            Err(m) => {
                field("live_session", m);
                None
            }
        },
        None => None,
    };
    let carrier_code = match raw.carrier_code.filter(|s| !s.trim().is_empty()) {
        Some(c) => match parse_code(&c) {
            Ok(c) => Some(c),
            Err(m) => {
                field("carrier_code", m);
                None
            }
        },
        None => None,
    };
    let mut text = |name: &str, value: &str, max: usize| match parse_text(value, max) {
        Ok(v) => v,
        Err(m) => {
            field(name, m);
            String::new()
        }
    };
    let address = text("ship_to.address", &raw.address, 300);
    let city = text("ship_to.city", &raw.city, 60);
    let province = text("ship_to.province", &raw.province, 60);
    let name = match parse_name(&raw.name) {
        Ok(n) => n,
        Err(m) => {
            field("ship_to.name", m);
            String::new()
        }
    };
    let phone = match parse_phone(&raw.phone) {
        Ok(p) => p,
        Err(m) => {
            field("ship_to.phone", m);
            String::new()
        }
    };
    let postcode = match raw.postcode.filter(|p| !p.trim().is_empty()) {
        Some(p) => match parse_postcode(&p) {
            Ok(p) => Some(p),
            Err(m) => {
                field("ship_to.postcode", m);
                None
            }
        },
        None => None,
    };
    // RFC 3339 (section 5.6: date-time with a time offset); a bare date or
    // a local time without offset is refused, not guessed at.
    let ship_by = match raw.ship_by.filter(|s| !s.trim().is_empty()) {
        Some(s) => match chrono::DateTime::parse_from_rfc3339(s.trim()) {
            Ok(t) => Some(t.naive_utc().trunc_subsecs(6)),
            Err(_) => {
                field(
                    "ship_by",
                    "must be an RFC 3339 time with an offset, e.g. 2026-11-13T20:00:00+08:00"
                        .into(),
                );
                None
            }
        },
        None => None,
    };
    if raw.lines.is_empty() || raw.lines.len() > MAX_LINES {
        field("lines", format!("must have 1 to {MAX_LINES} lines"));
    }
    let mut lines: Vec<(String, i64)> = Vec::with_capacity(raw.lines.len());
    let mut line_refs: Vec<Vec<String>> = Vec::with_capacity(raw.lines.len());
    let mut line_inputs: Vec<usize> = Vec::with_capacity(raw.lines.len());
    let mut refs_seen: Vec<String> = Vec::new();
    for (i, (sku, qty)) in raw.lines.iter().enumerate() {
        let qty_ok = (1..=MAX_LINE_QTY).contains(qty);
        if !qty_ok {
            field(
                &format!("lines[{i}].qty"),
                format!("must be a whole number from 1 to {MAX_LINE_QTY}"),
            );
        }
        let line_ref = match raw.line_refs.get(i).cloned().flatten() {
            Some(r) => match parse_text(&r, 64) {
                Ok(r) if refs_seen.contains(&r) => {
                    field(
                        &format!("lines[{i}].line_ref"),
                        format!("{r} names another line of this order too"),
                    );
                    None
                }
                Ok(r) => {
                    refs_seen.push(r.clone());
                    Some(r)
                }
                Err(m) => {
                    field(&format!("lines[{i}].line_ref"), m);
                    None
                }
            },
            None => None,
        };
        let code = match parse_code(sku) {
            Ok(code) => code,
            Err(m) => {
                field(&format!("lines[{i}].sku_code"), m);
                continue;
            }
        };
        // Live-commerce platforms send a gift and the paid item as two lines
        // of one SKU: they are one line to pick, with both references kept.
        match lines.iter().position(|(c, _)| *c == code) {
            Some(at) => {
                let merged = lines[at].1 + qty;
                if qty_ok && merged > MAX_LINE_QTY {
                    field(
                        &format!("lines[{i}].qty"),
                        format!(
                            "with lines[{}] of the same SKU makes {merged} units; \
                             at most {MAX_LINE_QTY} of one SKU",
                            line_inputs[at]
                        ),
                    );
                }
                lines[at].1 = merged;
                line_refs[at].extend(line_ref);
            }
            None => {
                lines.push((code, *qty));
                line_refs.push(line_ref.into_iter().collect());
                line_inputs.push(i);
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CheckedOrder {
        channel: raw.channel,
        external_id,
        live_session,
        carrier_code,
        name,
        phone,
        address,
        city,
        province,
        postcode,
        lines,
        line_refs,
        line_inputs,
        ship_by,
    })
}

/// The hours after the order time by which each channel promises dispatch:
/// `DEPOT_SHIP_BY_HOURS`, e.g. `douyin=24,kuaishou=36,*=48`; `*` is every
/// channel not named (48 when not given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipByHours {
    channels: Vec<(String, u32)>,
    default: u32,
}

/// The longest promise a channel may be configured with: 30 days.
pub const MAX_SHIP_BY_HOURS: u32 = 720;

impl Default for ShipByHours {
    fn default() -> Self {
        ShipByHours {
            channels: Vec::new(),
            default: super::batching::DEFAULT_SHIP_BY_HOURS,
        }
    }
}

impl ShipByHours {
    /// Reads `channel=hours` pairs separated by commas; a channel is one of
    /// [`CHANNELS`] or `*`, named once; hours a whole number from 1 to
    /// [`MAX_SHIP_BY_HOURS`].
    pub fn parse(raw: &str) -> Result<ShipByHours, String> {
        let mut out = ShipByHours::default();
        let mut star = false;
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((channel, hours)) = part.split_once('=') else {
                return Err(format!("{part:?} is not channel=hours"));
            };
            let (channel, hours) = (channel.trim(), hours.trim());
            let hours = match hours.parse::<u32>() {
                Ok(h) if (1..=MAX_SHIP_BY_HOURS).contains(&h) => h,
                _ => {
                    return Err(format!(
                        "{channel}: hours must be a whole number from 1 to {MAX_SHIP_BY_HOURS}"
                    ))
                }
            };
            if channel == "*" {
                if star {
                    return Err("* is named twice".into());
                }
                star = true;
                out.default = hours;
            } else if !CHANNELS.contains(&channel) {
                return Err(format!(
                    "{channel:?} is not a channel; use one of {} or *",
                    CHANNELS.join(", ")
                ));
            } else if out.channels.iter().any(|(c, _)| c == channel) {
                return Err(format!("{channel} is named twice"));
            } else {
                out.channels.push((channel.to_string(), hours));
            }
        }
        Ok(out)
    }

    /// The promise of `channel`, in hours.
    pub fn hours(&self, channel: &str) -> u32 {
        self.channels
            .iter()
            .find(|(c, _)| c == channel)
            .map_or(self.default, |(_, h)| *h)
    }

    /// The deadline of an order of `channel` placed at `ordered_at`: the
    /// merchant's own when it sent one, else the channel's promise.
    pub fn ship_by(
        &self,
        channel: &str,
        ordered_at: NaiveDateTime,
        given: Option<NaiveDateTime>,
    ) -> NaiveDateTime {
        given.unwrap_or_else(|| ordered_at + Duration::hours(i64::from(self.hours(channel))))
    }
}

/// A phone number in mainland China: a mobile (`1[3-9]` + 9 digits) or a
/// landline (area code `0` + 2–3 digits, then 7–8 digits, optionally
/// separated by `-`), with an optional `+86` / `86` country code. Spaces and
/// dashes are dropped; the digits are kept.
pub fn parse_phone(raw: &str) -> Result<String, String> {
    let compact: String = raw.chars().filter(|c| *c != ' ' && *c != '-').collect();
    let national = compact
        .strip_prefix("+86")
        .or_else(|| compact.strip_prefix("0086"))
        .or_else(|| compact.strip_prefix("86").filter(|rest| rest.len() == 11))
        .unwrap_or(&compact);
    let digits = national.chars().all(|c| c.is_ascii_digit());
    let bytes = national.as_bytes();
    let mobile =
        digits && bytes.len() == 11 && bytes[0] == b'1' && (b'3'..=b'9').contains(&bytes[1]);
    let landline = digits && bytes.first() == Some(&b'0') && (10..=12).contains(&bytes.len());
    if mobile || landline {
        Ok(national.to_string())
    } else {
        Err("must be a mainland China mobile (1[3-9] and 9 digits) or landline (0 + area code + number)".into())
    }
}

/// A postcode of mainland China: six digits.
pub fn parse_postcode(raw: &str) -> Result<String, String> {
    let p = raw.trim();
    if p.len() == 6 && p.bytes().all(|b| b.is_ascii_digit()) {
        Ok(p.to_string())
    } else {
        Err("must be six digits".into())
    }
}

/// Reserves an order's lines against the stock left in `stock` (sellable
/// candidates per SKU id), FEFO per line: all lines or none. On success the
/// allocations are taken out of `stock` and returned per line (line index,
/// allocation); on failure `stock` is unchanged.
pub fn reserve_order(
    lines: &[(String, i64)],
    stock: &mut HashMap<String, Vec<StockCandidate>>,
) -> Option<Vec<(usize, Allocation)>> {
    let mut taken: Vec<(usize, Allocation)> = Vec::new();
    for (i, (sku_id, qty)) in lines.iter().enumerate() {
        let candidates = stock.get(sku_id)?;
        // Two lines never name the same SKU (check_order merges them), so each line plans
        // against the SKU's stock as it stands.
        match fefo(candidates, *qty) {
            Ok(allocations) => taken.extend(allocations.into_iter().map(|a| (i, a))),
            Err(_) => return None,
        }
    }
    for (i, allocation) in &taken {
        if let Some(candidates) = stock.get_mut(&lines[*i].0) {
            if let Some(c) = candidates
                .iter_mut()
                .find(|c| c.lot_id == allocation.lot_id && c.location_id == allocation.location_id)
            {
                c.available -= allocation.qty;
            }
        }
    }
    Some(taken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn raw() -> RawOrder {
        RawOrder {
            channel: "douyin".into(),
            external_id: "DY-1".into(),
            live_session: Some("evening".into()),
            carrier_code: None,
            name: "Li Lei".into(),
            phone: "138 0013 8000".into(),
            address: "1 Tea Road".into(),
            city: "Hangzhou".into(),
            province: "Zhejiang".into(),
            postcode: Some("310000".into()),
            lines: vec![("TEA".into(), 1)],
            line_refs: vec![],
            ship_by: None,
        }
    }

    #[test]
    fn ship_by_hours_name_channels_and_a_default() {
        let h = ShipByHours::parse("douyin=24, kuaishou=36,*=72").unwrap();
        assert_eq!(h.hours("douyin"), 24);
        assert_eq!(h.hours("kuaishou"), 36);
        assert_eq!(h.hours("taobao_live"), 72);
        assert_eq!(ShipByHours::parse("").unwrap(), ShipByHours::default());
        assert_eq!(ShipByHours::default().hours("douyin"), 48);
        let t = NaiveDate::from_ymd_opt(2026, 11, 11)
            .and_then(|d| d.and_hms_opt(20, 0, 0))
            .unwrap();
        assert_eq!(h.ship_by("douyin", t, None), t + Duration::hours(24));
        assert_eq!(h.ship_by("douyin", t, Some(t)), t);
        for bad in [
            "douyin",
            "douyin=0",
            "douyin=721",
            "douyin=1.5",
            "tiktok=24",
            "douyin=24,douyin=36",
            "*=24,*=36",
        ] {
            assert!(ShipByHours::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_given_ship_by_is_an_instant_and_part_of_the_meaning() {
        let plain = check_order(raw(), "").unwrap();
        let at = |s: &str| {
            check_order(
                RawOrder {
                    ship_by: Some(s.into()),
                    ..raw()
                },
                "",
            )
        };
        let east = at("2026-11-13T20:00:00+08:00").unwrap();
        let utc = at("2026-11-13T12:00:00Z").unwrap();
        let later = at("2026-11-13T13:00:00Z").unwrap();
        assert_eq!(east.ship_by, utc.ship_by);
        assert_eq!(east.meaning_hash(), utc.meaning_hash());
        assert_ne!(east.meaning_hash(), later.meaning_hash());
        assert_ne!(east.meaning_hash(), plain.meaning_hash());
        for bad in ["2026-11-13", "2026-11-13T20:00:00", "tomorrow"] {
            let fields: Vec<String> = at(bad).unwrap_err().into_iter().map(|e| e.field).collect();
            assert_eq!(fields, ["ship_by"], "{bad}");
        }
    }

    #[test]
    fn a_valid_order_is_checked_and_normalised() {
        let order = check_order(raw(), "").unwrap();
        assert_eq!(order.phone, "13800138000");
        assert_eq!(order.units(), 1);
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = RawOrder {
            channel: "tiktok".into(),
            external_id: " ".into(),
            phone: "12345".into(),
            postcode: Some("31000".into()),
            lines: vec![("TEA".into(), 0), ("TEA".into(), 20_000)],
            ..raw()
        };
        let fields: Vec<String> = check_order(bad, "orders[2].")
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "orders[2].channel",
                "orders[2].external_id",
                "orders[2].ship_to.phone",
                "orders[2].ship_to.postcode",
                "orders[2].lines[0].qty",
                "orders[2].lines[1].qty",
            ]
        );
    }

    #[test]
    fn phones_are_mainland_mobiles_or_landlines() {
        assert_eq!(parse_phone("+86 139-1234-5678").unwrap(), "13912345678");
        assert_eq!(parse_phone("8613912345678").unwrap(), "13912345678");
        assert_eq!(parse_phone("0571-87654321").unwrap(), "057187654321");
        assert!(
            parse_phone("12912345678").is_err(),
            "1 then 2 is no mobile prefix"
        );
        assert!(parse_phone("1391234567").is_err());
        assert!(parse_phone("phone").is_err());
    }

    #[test]
    fn lines_of_one_sku_are_merged_keeping_their_references() {
        let gift_and_paid = RawOrder {
            lines: vec![("TEA".into(), 1), ("CUP".into(), 2), ("TEA".into(), 1)],
            line_refs: vec![Some("paid-1".into()), None, Some("gift-1".into())],
            ..raw()
        };
        let order = check_order(gift_and_paid, "").unwrap();
        assert_eq!(order.lines, vec![("TEA".into(), 2), ("CUP".into(), 2)]);
        assert_eq!(
            order.line_refs,
            vec![vec!["paid-1".to_string(), "gift-1".to_string()], vec![]]
        );
        assert_eq!(order.line_inputs, vec![0, 1]);
        assert_eq!(order.units(), 4);
    }

    #[test]
    fn a_merged_line_is_bounded_and_references_are_unique() {
        let too_many = RawOrder {
            lines: vec![("TEA".into(), MAX_LINE_QTY), ("TEA".into(), 1)],
            ..raw()
        };
        let errors = check_order(too_many, "").unwrap_err();
        assert_eq!(errors[0].field, "lines[1].qty");
        assert!(errors[0].message.contains("with lines[0]"), "{errors:?}");
        let same_ref = RawOrder {
            lines: vec![("TEA".into(), 1), ("CUP".into(), 1)],
            line_refs: vec![Some("L1".into()), Some("L1".into())],
            ..raw()
        };
        let errors = check_order(same_ref, "").unwrap_err();
        assert_eq!(errors[0].field, "lines[1].line_ref");
    }

    #[test]
    fn the_hash_is_of_the_meaning_not_the_spelling() {
        let first = check_order(
            RawOrder {
                phone: "+86 139 0000 0001".into(),
                address: " 1 Tea Road ".into(),
                live_session: Some(" ".into()),
                lines: vec![("TEA".into(), 1), ("CUP".into(), 1), ("TEA".into(), 1)],
                line_refs: vec![Some("a".into()), None, Some("b".into())],
                ..raw()
            },
            "",
        )
        .unwrap();
        let retry = check_order(
            RawOrder {
                phone: "13900000001".into(),
                address: "1 Tea Road".into(),
                live_session: None,
                lines: vec![("CUP".into(), 1), ("TEA".into(), 2)],
                line_refs: vec![None, Some("b".into())],
                ..raw()
            },
            "",
        )
        .unwrap();
        // The refs differ (a is missing): another order.
        assert_ne!(first.meaning_hash(), retry.meaning_hash());
        let retry = check_order(
            RawOrder {
                phone: "13900000001".into(),
                address: "1 Tea Road".into(),
                live_session: None,
                lines: vec![("CUP".into(), 1), ("TEA".into(), 1), ("TEA".into(), 1)],
                line_refs: vec![None, Some("b".into()), Some("a".into())],
                ..raw()
            },
            "",
        )
        .unwrap();
        assert_eq!(first.meaning_hash(), retry.meaning_hash());
        assert_eq!(first.meaning_hash().len(), 64);
        let more = check_order(
            RawOrder {
                lines: vec![("TEA".into(), 3), ("CUP".into(), 1)],
                ..raw()
            },
            "",
        )
        .unwrap();
        assert_ne!(first.meaning_hash(), more.meaning_hash());
    }

    fn candidate(lot: &str, expiry: u32, available: i64) -> StockCandidate {
        StockCandidate {
            lot_id: lot.into(),
            location_id: "bin".into(),
            location_code: "A".into(),
            expiry_date: NaiveDate::from_ymd_opt(2027, 1, expiry),
            received_at: NaiveDate::from_ymd_opt(2026, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            walk_seq: 0,
            available,
        }
    }

    #[test]
    fn an_order_reserves_all_its_lines_or_none() {
        let mut stock = HashMap::from([
            (
                "tea".to_string(),
                vec![candidate("t1", 5, 3), candidate("t2", 1, 2)],
            ),
            ("cup".to_string(), vec![candidate("c1", 1, 1)]),
        ]);
        // Tea 4 (FEFO: t2 first, then t1) and cup 1: covered.
        let taken = reserve_order(&[("tea".into(), 4), ("cup".into(), 1)], &mut stock).unwrap();
        assert_eq!(taken.len(), 3);
        assert_eq!(taken[0].1.lot_id, "t2");
        assert_eq!(stock["tea"][0].available, 1);
        assert_eq!(stock["cup"][0].available, 0);
        // Tea 1 is there but the cup is gone: nothing is taken.
        assert!(reserve_order(&[("tea".into(), 1), ("cup".into(), 1)], &mut stock).is_none());
        assert_eq!(stock["tea"][0].available, 1);
        // An unknown SKU has no stock.
        assert!(reserve_order(&[("mug".into(), 1)], &mut stock).is_none());
    }
}
