//! Return rules: which parcels can come back, which lots a consumer's
//! returned units came from, and the re-inspection's per-line decision.
//! No diesel, no actix: `services::returns` loads the rows and applies these.

use std::collections::BTreeMap;

/// Where a return is: received onto a returns location, then re-inspected
/// once (each line restocked or scrapped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnStatus {
    Received,
    Inspected,
}

impl ReturnStatus {
    pub const ALL: [ReturnStatus; 2] = [ReturnStatus::Received, ReturnStatus::Inspected];

    pub fn as_str(self) -> &'static str {
        match self {
            ReturnStatus::Received => "received",
            ReturnStatus::Inspected => "inspected",
        }
    }

    pub fn parse(raw: &str) -> Option<ReturnStatus> {
        ReturnStatus::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// The parcel states after handover: the parcel's units have left the
/// ledger (a `ship` movement), so they can come back.
pub const SHIPPED_PARCEL_STATES: [&str; 5] = [
    "handed_over",
    "in_transit",
    "delivered",
    "failed_delivery",
    "returned_to_sender",
];

/// The order states a consumer return is taken in.
pub const CONSUMER_RETURN_ORDER_STATES: [&str; 2] = ["dispatched", "delivered"];

/// Whether a parcel in `status` can be received back whole; the reason for
/// the 409 when it cannot.
pub fn parcel_returnable(status: &str) -> Result<(), String> {
    match status {
        s if SHIPPED_PARCEL_STATES.contains(&s) => Ok(()),
        "returned" => Err("it has been returned already".into()),
        "packed" => Err("it has not been handed over to its carrier yet".into()),
        other => Err(format!(
            "it is {other}; only a parcel handed over to its carrier can come back"
        )),
    }
}

/// Units of one order line from one lot in a shipped parcel, in the order
/// the parcels were packed (oldest parcel first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipped {
    pub line_no: i32,
    pub lot_id: String,
    pub qty: i64,
}

/// What of `shipped` has not come back, given what earlier returns took per
/// (order line, lot). Earlier returns are taken from the oldest parcels
/// first, as [`allocate`] takes them, so the remainder is the newest units.
pub fn remaining(shipped: &[Shipped], returned: &BTreeMap<(i32, String), i64>) -> Vec<Shipped> {
    let mut taken = returned.clone();
    shipped
        .iter()
        .filter_map(|s| {
            let already = taken.entry((s.line_no, s.lot_id.clone())).or_default();
            let used = (*already).min(s.qty);
            *already -= used;
            let left = s.qty - used;
            (left > 0).then(|| Shipped {
                line_no: s.line_no,
                lot_id: s.lot_id.clone(),
                qty: left,
            })
        })
        .collect()
}

/// Takes `qty` units from `available` (one SKU's unreturned shipped units,
/// oldest parcel first), merged per (order line, lot) in the order first
/// met; `Err(available total)` when there are fewer.
pub fn allocate(available: &[Shipped], qty: i64) -> Result<Vec<Shipped>, i64> {
    let total: i64 = available.iter().map(|s| s.qty).sum();
    if qty > total {
        return Err(total);
    }
    let mut need = qty;
    let mut out: Vec<Shipped> = Vec::new();
    for s in available {
        if need == 0 {
            break;
        }
        let take = need.min(s.qty);
        need -= take;
        match out
            .iter_mut()
            .find(|o| o.line_no == s.line_no && o.lot_id == s.lot_id)
        {
            Some(o) => o.qty += take,
            None => out.push(Shipped {
                line_no: s.line_no,
                lot_id: s.lot_id.clone(),
                qty: take,
            }),
        }
    }
    Ok(out)
}

/// The re-inspection's decision on one line: every returned unit is either
/// restocked or scrapped. Answers the field (`restock_qty` or `scrap_qty`)
/// and the message for the 422.
pub fn check_decision(
    returned: i64,
    restock_qty: i64,
    scrap_qty: i64,
) -> Result<(), (&'static str, String)> {
    if restock_qty < 0 {
        return Err(("restock_qty", "must not be negative".into()));
    }
    if scrap_qty < 0 {
        return Err(("scrap_qty", "must not be negative".into()));
    }
    if restock_qty + scrap_qty != returned {
        return Err((
            "restock_qty",
            format!(
                "restock_qty + scrap_qty must equal the {returned} unit(s) returned on the line; \
                 {restock_qty} + {scrap_qty} were given"
            ),
        ));
    }
    Ok(())
}

/// An order is `returned` when every unit it shipped has come back.
pub fn order_fully_returned(shipped_units: i64, returned_units: i64) -> bool {
    shipped_units > 0 && returned_units >= shipped_units
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(line_no: i32, lot: &str, qty: i64) -> Shipped {
        Shipped {
            line_no,
            lot_id: lot.into(),
            qty,
        }
    }

    #[test]
    fn only_a_handed_over_parcel_comes_back() {
        for status in SHIPPED_PARCEL_STATES {
            assert!(parcel_returnable(status).is_ok(), "{status}");
        }
        assert!(parcel_returnable("packed")
            .unwrap_err()
            .contains("handed over"));
        assert!(parcel_returnable("returned")
            .unwrap_err()
            .contains("already"));
        assert!(parcel_returnable("removed").is_err());
    }

    #[test]
    fn a_consumer_return_takes_the_oldest_parcels_lots_first() {
        let shipped = [s(1, "lot_a", 2), s(1, "lot_b", 3), s(1, "lot_a", 1)];
        let got = allocate(&shipped, 4).unwrap();
        assert_eq!(got, vec![s(1, "lot_a", 2), s(1, "lot_b", 2)]);
        assert_eq!(allocate(&shipped, 7), Err(6));
        assert_eq!(
            allocate(&shipped, 6).unwrap(),
            vec![s(1, "lot_a", 3), s(1, "lot_b", 3)]
        );
    }

    #[test]
    fn earlier_returns_are_taken_off_the_oldest_units() {
        let shipped = [s(1, "lot_a", 2), s(2, "lot_b", 3), s(1, "lot_a", 1)];
        let returned = BTreeMap::from([((1, "lot_a".to_string()), 2), ((2, "lot_b".into()), 1)]);
        assert_eq!(
            remaining(&shipped, &returned),
            vec![s(2, "lot_b", 2), s(1, "lot_a", 1)]
        );
        assert!(remaining(&shipped, &BTreeMap::new()).len() == 3);
    }

    #[test]
    fn restock_and_scrap_add_up_to_what_was_returned() {
        assert!(check_decision(4, 2, 2).is_ok());
        assert!(check_decision(4, 4, 0).is_ok());
        assert_eq!(check_decision(4, 2, 1).unwrap_err().0, "restock_qty");
        assert_eq!(check_decision(4, -1, 5).unwrap_err().0, "restock_qty");
        assert_eq!(check_decision(4, 5, -1).unwrap_err().0, "scrap_qty");
    }

    #[test]
    fn an_order_is_returned_when_every_shipped_unit_is_back() {
        assert!(order_fully_returned(3, 3));
        assert!(!order_fully_returned(3, 2));
        assert!(!order_fully_returned(0, 0));
    }
}
