//! Which orders give their reservation back when stock they hold is found
//! short (a count, a scrap, a short pick) or stops being sellable (a hold,
//! expiry, a rejecting correction).
//!
//! The shelf is the truth: a stock row (lot × location) may keep reserved
//! no more than it can still deliver. Orders are reserved whole or not at
//! all, so the units above that are taken back order by order, and the
//! youngest orders give theirs back first: the oldest keep their stock, and
//! the released ones are placed again in order time, whole or back-ordered.

use std::collections::{BTreeMap, BTreeSet};

/// A stock row: (lot id, location id).
pub type StockKey = (String, String);

/// What one order holds at one stock row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub order_id: String,
    pub lot_id: String,
    pub location_id: String,
    pub qty: i64,
}

/// The orders to release, youngest first, so that every stock row in `keep`
/// holds no more reserved than its limit (rows not named keep what they hold).
///
/// Orders are taken in descending id (ids sort by the time of ingest); an
/// order is released only when it holds units of a row that is still over its
/// limit, so an order that would not help keeps its stock. A negative limit
/// counts as 0. `holdings` must list every reservation of the rows in `keep`
/// and may list more (an order's other rows: releasing the order frees them too).
pub fn orders_to_release(holdings: &[Holding], keep: &BTreeMap<StockKey, i64>) -> Vec<String> {
    let mut reserved: BTreeMap<StockKey, i64> = BTreeMap::new();
    let mut held_by: BTreeMap<&str, Vec<&Holding>> = BTreeMap::new();
    for h in holdings {
        *reserved
            .entry((h.lot_id.clone(), h.location_id.clone()))
            .or_insert(0) += h.qty;
        held_by.entry(h.order_id.as_str()).or_default().push(h);
    }
    let over = |reserved: &BTreeMap<StockKey, i64>, key: &StockKey| -> bool {
        keep.get(key)
            .is_some_and(|limit| reserved.get(key).copied().unwrap_or(0) > (*limit).max(0))
    };
    let mut released = Vec::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for (order, held) in held_by.iter().rev() {
        if !keep.keys().any(|key| over(&reserved, key)) {
            break;
        }
        let helps = held
            .iter()
            .any(|h| over(&reserved, &(h.lot_id.clone(), h.location_id.clone())));
        if !helps || !done.insert(order) {
            continue;
        }
        for h in held {
            if let Some(r) = reserved.get_mut(&(h.lot_id.clone(), h.location_id.clone())) {
                *r -= h.qty;
            }
        }
        released.push(order.to_string());
    }
    released
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(order: &str, lot: &str, location: &str, qty: i64) -> Holding {
        Holding {
            order_id: order.into(),
            lot_id: lot.into(),
            location_id: location.into(),
            qty,
        }
    }

    fn limit(rows: &[(&str, &str, i64)]) -> BTreeMap<StockKey, i64> {
        rows.iter()
            .map(|(lot, loc, n)| ((lot.to_string(), loc.to_string()), *n))
            .collect()
    }

    #[test]
    fn nothing_is_released_while_the_row_still_covers_its_reservations() {
        let holdings = [held("ord_1", "L1", "A", 3), held("ord_2", "L1", "A", 2)];
        assert!(orders_to_release(&holdings, &limit(&[("L1", "A", 5)])).is_empty());
        assert!(orders_to_release(&holdings, &limit(&[("L1", "A", 9)])).is_empty());
    }

    #[test]
    fn the_youngest_orders_give_back_first_and_only_as_many_as_needed() {
        let holdings = [
            held("ord_1", "L1", "A", 2),
            held("ord_2", "L1", "A", 2),
            held("ord_3", "L1", "A", 2),
        ];
        // 6 reserved, 3 left on the shelf: ord_3 and ord_2 go, ord_1 keeps its 2.
        assert_eq!(
            orders_to_release(&holdings, &limit(&[("L1", "A", 3)])),
            ["ord_3", "ord_2"]
        );
        // One unit short: the youngest alone covers it.
        assert_eq!(
            orders_to_release(&holdings, &limit(&[("L1", "A", 5)])),
            ["ord_3"]
        );
    }

    #[test]
    fn a_limit_of_zero_releases_every_order_holding_the_row() {
        let holdings = [
            held("ord_1", "L1", "A", 1),
            held("ord_2", "L1", "B", 4),
            held("ord_3", "L1", "A", 1),
        ];
        assert_eq!(
            orders_to_release(&holdings, &limit(&[("L1", "A", 0), ("L1", "B", 0)])),
            ["ord_3", "ord_2", "ord_1"]
        );
        // A negative limit is zero.
        assert_eq!(
            orders_to_release(&holdings, &limit(&[("L1", "B", -3)])),
            ["ord_2"]
        );
    }

    #[test]
    fn a_younger_order_elsewhere_keeps_its_stock() {
        // ord_9 holds only another row: releasing it would not help row A.
        let holdings = [
            held("ord_1", "L1", "A", 2),
            held("ord_2", "L1", "A", 2),
            held("ord_9", "L2", "A", 5),
        ];
        assert_eq!(
            orders_to_release(&holdings, &limit(&[("L1", "A", 2)])),
            ["ord_2"]
        );
    }

    #[test]
    fn releasing_an_order_frees_all_of_its_rows_at_once() {
        // ord_2 holds both short rows; releasing it covers both, ord_1 keeps.
        let holdings = [
            held("ord_1", "L1", "A", 1),
            held("ord_1", "L1", "B", 1),
            held("ord_2", "L1", "A", 3),
            held("ord_2", "L1", "B", 3),
        ];
        assert_eq!(
            orders_to_release(&holdings, &limit(&[("L1", "A", 1), ("L1", "B", 2)])),
            ["ord_2"]
        );
    }

    #[test]
    fn a_large_young_order_is_released_whole_even_for_one_unit() {
        let holdings = [held("ord_1", "L1", "A", 1), held("ord_2", "L1", "A", 50)];
        assert_eq!(
            orders_to_release(&holdings, &limit(&[("L1", "A", 50)])),
            ["ord_2"]
        );
    }
}
