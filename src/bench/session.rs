//! A realistic live session: the SKUs of one merchant with Zipf popularity
//! and one hot SKU, the orders its broadcast sells, and the stock that covers
//! them — set up through the HTTP API of the server under test, so the stock
//! is received, inspected and put away by the real services.
//!
//! The generation is pure (a seeded RNG in, orders out) and unit tested; the
//! set-up is the HTTP calls a warehouse would make.

use chrono::{Duration as Days, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::client::{text, Api};
use super::stats::Zipf;

/// What the live session looks like.
#[derive(Debug, Clone)]
pub struct SessionShape {
    /// SKUs of the merchant; SKU 0 is the hot one.
    pub skus: usize,
    /// Share of order lines that are the hot SKU.
    pub hot_share: f64,
    /// Zipf exponent of the other SKUs' popularity.
    pub zipf_s: f64,
    /// Share of orders that have 2 or 3 lines (the rest: one unit of one SKU).
    pub multi_line_share: f64,
    /// The hot SKU's stock as a share of what the session asks of it: below 1
    /// it sells out and the rest is back-ordered.
    pub hot_cover: f64,
    pub seed: u64,
}

impl Default for SessionShape {
    fn default() -> Self {
        SessionShape {
            skus: 50,
            hot_share: 0.4,
            zipf_s: 1.1,
            multi_line_share: 0.1,
            hot_cover: 0.9,
            seed: 20261201,
        }
    }
}

impl SessionShape {
    /// The wide-assortment session of `depot bench burst --wide`: 500 SKUs
    /// equally popular, no hot SKU; otherwise as the default.
    pub fn wide() -> SessionShape {
        SessionShape {
            skus: 500,
            hot_share: 0.0,
            zipf_s: 0.0,
            ..SessionShape::default()
        }
    }

    /// The shape in words, for the report.
    pub fn describe(&self) -> String {
        let popularity = if self.zipf_s == 0.0 {
            "equally popular".to_string()
        } else {
            format!("Zipf s = {}", self.zipf_s)
        };
        let hot = if self.hot_share > 0.0 {
            format!("one hot SKU with {:.0}% of lines", self.hot_share * 100.0)
        } else {
            "no hot SKU".to_string()
        };
        format!(
            "{} SKUs, {hot}, the others {popularity}; {:.0}% of orders 2-3 lines",
            self.skus,
            self.multi_line_share * 100.0
        )
    }
}

/// One generated order: its external id and (SKU index, qty) per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOrder {
    pub external_id: String,
    pub lines: Vec<(usize, i64)>,
}

pub fn sku_code(index: usize) -> String {
    format!("LIVE-{:03}", index + 1)
}

/// The orders of a session, in the order they are sold.
pub fn generate_orders(shape: &SessionShape, count: usize, prefix: &str) -> Vec<SessionOrder> {
    let mut rng = StdRng::seed_from_u64(shape.seed);
    let others = Zipf::new(shape.skus.saturating_sub(1).max(1), shape.zipf_s);
    let pick_sku = |rng: &mut StdRng| -> usize {
        if shape.skus == 1 || rng.random::<f64>() < shape.hot_share {
            0
        } else {
            1 + others.rank(rng.random::<f64>())
        }
    };
    (0..count)
        .map(|i| {
            let lines = if rng.random::<f64>() < shape.multi_line_share && shape.skus >= 3 {
                let n = rng.random_range(2..=3);
                let mut lines: Vec<(usize, i64)> = Vec::with_capacity(n);
                while lines.len() < n {
                    let sku = pick_sku(&mut rng);
                    if lines.iter().all(|(s, _)| *s != sku) {
                        lines.push((sku, rng.random_range(1..=2)));
                    }
                }
                lines
            } else {
                vec![(pick_sku(&mut rng), 1)]
            };
            SessionOrder {
                external_id: format!("{prefix}{:07}", i + 1),
                lines,
            }
        })
        .collect()
}

/// Units the orders ask of each SKU.
pub fn demand(skus: usize, orders: &[SessionOrder]) -> Vec<i64> {
    let mut units = vec![0; skus];
    for o in orders {
        for (sku, qty) in &o.lines {
            units[*sku] += qty;
        }
    }
    units
}

/// Stock to receive per SKU for this demand: the hot SKU short of it by
/// `hot_cover`, every other SKU with a fifth more than it sells (and at
/// least 20 units).
pub fn stock_for(shape: &SessionShape, demand: &[i64]) -> Vec<i64> {
    demand
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if i == 0 {
                ((*d as f64) * shape.hot_cover).floor().max(1.0) as i64
            } else {
                (d + d / 5).max(20)
            }
        })
        .collect()
}

/// The JSON of an order as a live channel's system pushes it.
pub fn order_json(order: &SessionOrder, session: &str, carrier: &str) -> Value {
    // A buyer per order: the phone and the address vary as they would.
    let n = order
        .external_id
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    json!({
        "channel": "douyin",
        "external_id": order.external_id,
        "live_session": session,
        "carrier_code": carrier,
        "ship_to": {
            "name": format!("Buyer {}", n % 100_000),
            "phone": format!("139{:08}", n % 100_000_000),
            "address": format!("{} Wensan Road, Building {}", n % 997, n % 31),
            "city": "Hangzhou",
            "province": "Zhejiang",
            "postcode": "310000",
        },
        "lines": order.lines.iter()
            .map(|(sku, qty)| json!({"sku_code": sku_code(*sku), "qty": qty}))
            .collect::<Vec<_>>(),
    })
}

/// Bins of one aisle: the bins are numbered along the pick walk
/// (`walk_seq` = bin number), and every [`BINS_PER_AISLE`] consecutive bins
/// are one aisle, kept as the bins' zone (which batching takes as the
/// aisle): B-0001–B-0020 are `AISLE-01`, B-0021–B-0040 `AISLE-02`, …
pub const BINS_PER_AISLE: usize = 20;

/// The aisle of bin number `bin` (from 1).
pub fn aisle_of(bin: usize) -> String {
    format!("AISLE-{:02}", (bin.max(1) - 1) / BINS_PER_AISLE + 1)
}

/// The tokens and codes of a warehouse set up for a session.
#[derive(Debug, Clone)]
pub struct Floor {
    pub merchant_token: String,
    pub staff_token: String,
    pub carrier_code: String,
    /// Lots put away, and stock rows (lot × bin) they fill.
    pub lots: usize,
    pub bins: usize,
}

/// Sets up the merchant, a carrier, tokens, storage bins and the SKUs with
/// their stock: per SKU a receipt of two lots (the first expiring sooner, so
/// FEFO has a choice), both inspected and accepted, each put away into a
/// bin of the SKU's own (the hot SKU's lots into two bins each).
pub async fn set_up(api: &Api, admin: &str, stock: &[i64]) -> Result<Floor, String> {
    let merchant = api
        .post(
            "/api/v1/merchants",
            admin,
            &json!({"code": "LIVESHOP", "name": "Live shop of the bench"}),
            201,
        )
        .await?;
    let carrier_code = "SFEXPRESS".to_string();
    api.post(
        "/api/v1/carriers",
        admin,
        &json!({"code": carrier_code, "name": "SF Express"}),
        201,
    )
    .await?;
    let merchant_id = text(&merchant, "id")?;
    let merchant_token = text(
        &api.post(
            "/api/v1/tokens",
            admin,
            &json!({"role": "merchant", "merchant_id": merchant_id, "label": "bench merchant"}),
            201,
        )
        .await?,
        "token",
    )?;
    let staff_token = text(
        &api.post(
            "/api/v1/tokens",
            admin,
            &json!({"role": "staff", "label": "bench staff"}),
            201,
        )
        .await?,
        "token",
    )?;
    let today = Utc::now().date_naive();
    let mut bins = 0usize;
    let mut lots = 0usize;
    for (i, units) in stock.iter().enumerate() {
        let code = sku_code(i);
        api.post(
            "/api/v1/skus",
            &merchant_token,
            &json!({"code": code, "name": format!("Live item {}", i + 1), "shelf_life_days": 365}),
            201,
        )
        .await?;
        let first = units - units / 2;
        let quantities = [first, units / 2];
        let lines: Vec<Value> = quantities
            .iter()
            .enumerate()
            .filter(|(_, q)| **q > 0)
            .map(|(l, q)| {
                json!({
                    "sku_code": code,
                    "lot_code": format!("{code}-L{}", l + 1),
                    "expected_qty": q,
                    "production_date": (today - Days::days(10)).to_string(),
                    "expiry_date": (today + Days::days(120 * (l as i64 + 1))).to_string(),
                })
            })
            .collect();
        let receipt = api
            .post(
                "/api/v1/receipts",
                &merchant_token,
                &json!({"reference": format!("ASN-{code}"), "lines": lines}),
                201,
            )
            .await?;
        let counts: Vec<Value> = receipt["lines"]
            .as_array()
            .ok_or("a receipt without lines")?
            .iter()
            .map(|l| json!({"line_id": l["id"], "received_qty": l["expected_qty"]}))
            .collect();
        let arrival = api
            .post(
                &format!("/api/v1/receipts/{}/arrival", text(&receipt, "id")?),
                &staff_token,
                &json!({"lines": counts}),
                200,
            )
            .await?;
        for lot in arrival["lots"]
            .as_array()
            .ok_or("an arrival without lots")?
        {
            let lot_id = text(lot, "id")?;
            let qty = lot["quantity"].as_i64().ok_or("a lot without quantity")?;
            let inspection = api
                .post(
                    &format!("/api/v1/lots/{lot_id}/inspections"),
                    &staff_token,
                    &json!({}),
                    201,
                )
                .await?;
            api.post(
                &format!("/api/v1/inspections/{}/results", text(&inspection, "id")?),
                &staff_token,
                &json!({"inspected_qty": inspection["required_units"], "findings": [], "evidence": []}),
                200,
            )
            .await?;
            let parts = if i == 0 {
                vec![qty - qty / 2, qty / 2]
            } else {
                vec![qty]
            };
            for part in parts.into_iter().filter(|q| *q > 0) {
                bins += 1;
                let bin = format!("B-{bins:04}");
                api.post(
                    "/api/v1/locations",
                    admin,
                    &json!({"code": bin, "kind": "storage", "zone": aisle_of(bins), "walk_seq": bins}),
                    201,
                )
                .await?;
                api.post(
                    &format!("/api/v1/lots/{lot_id}/putaway"),
                    &staff_token,
                    &json!({"qty": part, "location_code": bin}),
                    200,
                )
                .await?;
            }
            lots += 1;
        }
    }
    Ok(Floor {
        merchant_token,
        staff_token,
        carrier_code,
        lots,
        bins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> SessionShape {
        SessionShape {
            skus: 20,
            ..SessionShape::default()
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_session() {
        assert_eq!(
            generate_orders(&shape(), 500, "A-"),
            generate_orders(&shape(), 500, "A-")
        );
        let other = SessionShape { seed: 7, ..shape() };
        assert_ne!(
            generate_orders(&shape(), 500, "A-"),
            generate_orders(&other, 500, "A-")
        );
    }

    #[test]
    fn most_orders_are_one_unit_and_the_rest_two_or_three_distinct_lines() {
        let orders = generate_orders(&shape(), 20_000, "A-");
        let single = orders
            .iter()
            .filter(|o| o.lines.len() == 1 && o.lines[0].1 == 1)
            .count();
        let share = single as f64 / orders.len() as f64;
        assert!((0.88..0.92).contains(&share), "single-unit share {share}");
        for o in orders.iter().filter(|o| o.lines.len() > 1) {
            assert!((2..=3).contains(&o.lines.len()));
            let mut skus: Vec<usize> = o.lines.iter().map(|l| l.0).collect();
            skus.dedup();
            skus.sort_unstable();
            skus.dedup();
            assert_eq!(skus.len(), o.lines.len(), "one line per SKU: {o:?}");
            assert!(o.lines.iter().all(|(_, q)| (1..=2).contains(q)));
        }
    }

    #[test]
    fn the_hot_sku_takes_its_share_and_the_tail_falls_off() {
        let orders = generate_orders(&shape(), 20_000, "A-");
        let units = demand(20, &orders);
        let lines: usize = orders.iter().map(|o| o.lines.len()).sum();
        let hot_lines = orders
            .iter()
            .flat_map(|o| &o.lines)
            .filter(|(s, _)| *s == 0)
            .count();
        let hot = hot_lines as f64 / lines as f64;
        // Multi-line orders pick distinct SKUs, which nudges the share down.
        assert!((0.36..0.42).contains(&hot), "hot share {hot}");
        assert!(units[1] > units[5] && units[5] > units[19]);
    }

    #[test]
    fn external_ids_are_unique_and_prefixed() {
        let orders = generate_orders(&shape(), 1_000, "S9-");
        let mut ids: Vec<&str> = orders.iter().map(|o| o.external_id.as_str()).collect();
        assert!(ids.iter().all(|id| id.starts_with("S9-")));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 1_000);
    }

    #[test]
    fn twenty_bins_along_the_walk_make_an_aisle() {
        assert_eq!(aisle_of(1), "AISLE-01");
        assert_eq!(aisle_of(20), "AISLE-01");
        assert_eq!(aisle_of(21), "AISLE-02");
        assert_eq!(aisle_of(1000), "AISLE-50");
    }

    #[test]
    fn the_hot_sku_is_short_and_the_others_covered() {
        let stock = stock_for(&shape(), &[1000, 100, 3]);
        assert_eq!(stock, vec![900, 120, 20]);
    }

    #[test]
    fn an_order_json_names_skus_by_code() {
        let order = SessionOrder {
            external_id: "A-0000001".into(),
            lines: vec![(0, 1), (4, 2)],
        };
        let json = order_json(&order, "night", "SF");
        assert_eq!(json["lines"][0]["sku_code"], "LIVE-001");
        assert_eq!(json["lines"][1]["sku_code"], "LIVE-005");
        assert_eq!(json["lines"][1]["qty"], 2);
        assert_eq!(json["carrier_code"], "SF");
        let phone = json["ship_to"]["phone"].as_str().unwrap();
        assert!(crate::domain::orders::parse_phone(phone).is_ok(), "{phone}");
    }
}
