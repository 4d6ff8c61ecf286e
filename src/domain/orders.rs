//! Orders from live sessions: what a valid order is, the key and hash that
//! make ingest idempotent, and the all-or-nothing reservation of its lines.

use std::collections::HashMap;

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
    pub lines: Vec<(String, i64)>,
}

impl CheckedOrder {
    pub fn units(&self) -> i64 {
        self.lines.iter().map(|(_, q)| q).sum()
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
    if raw.lines.is_empty() || raw.lines.len() > MAX_LINES {
        field("lines", format!("must have 1 to {MAX_LINES} lines"));
    }
    let mut lines = Vec::with_capacity(raw.lines.len());
    for (i, (sku, qty)) in raw.lines.iter().enumerate() {
        match parse_code(sku) {
            Ok(code) if lines.iter().any(|(c, _)| *c == code) => {
                field(&format!("lines[{i}].sku_code"), "appears twice".into())
            }
            Ok(code) => lines.push((code, *qty)),
            Err(m) => field(&format!("lines[{i}].sku_code"), m),
        }
        if !(1..=MAX_LINE_QTY).contains(qty) {
            field(
                &format!("lines[{i}].qty"),
                format!("must be a whole number from 1 to {MAX_LINE_QTY}"),
            );
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
    })
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

/// The hash that tells a retry from a different order under the same key:
/// SHA-256 of the order's JSON with object keys sorted (serde_json's map is
/// ordered), so whitespace and key order do not matter but every value does.
pub fn body_hash(order: &serde_json::Value) -> String {
    let canonical = serde_json::to_string(order).unwrap_or_default();
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
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
        // Two lines never name the same SKU (check_order), so each line plans
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
                "orders[2].lines[1].sku_code",
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
    fn the_hash_ignores_key_order_and_space_but_not_values() {
        let a: serde_json::Value = serde_json::from_str(r#"{"a": 1, "b": [1, 2]}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"b":[1,2],"a":1}"#).unwrap();
        let c: serde_json::Value = serde_json::from_str(r#"{"b":[2,1],"a":1}"#).unwrap();
        assert_eq!(body_hash(&a), body_hash(&b));
        assert_ne!(body_hash(&a), body_hash(&c));
        assert_eq!(body_hash(&a).len(), 64);
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
