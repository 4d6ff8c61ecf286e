//! Reservations that the shelf can no longer cover: one path for every use
//! case that finds fewer units than orders hold (a count, a scrap; the short
//! pick of a batch moves single reservation rows itself, `services::picking`)
//! or makes held units unsellable (a quality hold, the expiry run, a
//! correction that rejects the lot).
//!
//! [`release_and_replace`] runs inside the caller's transaction: it takes
//! back, youngest order first, whole orders until every stock row in scope
//! holds no more reserved than it can deliver
//! ([`domain::reservations::orders_to_release`](rules::orders_to_release)),
//! applies the caller's change of the stock, then places the released orders
//! again with the back-order queue, oldest first, whole or back-ordered, and
//! answers which orders moved.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::backend::{self, SkuLock};
use crate::db::schema::{lots, order_lines, orders, reservations, stock};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::reservations::{self as rules, Holding, StockKey};
use crate::domain::time;
use crate::domain::trace::Disposition;
use crate::error::AppError;
use crate::services::orders as order_service;
use crate::services::picking;

/// Ids per `IN (…)` list: well under SQLite's bound-parameter limit.
const CHUNK: usize = 500;

/// Stock that orders may no longer hold (all of it, or above a limit).
#[derive(Debug, Clone, Copy)]
pub enum Shortfall<'a> {
    /// No unit of the lot, anywhere, may stay reserved: a lot-wide hold,
    /// expiry, a correction that rejects the lot.
    Lot { lot_id: &'a str },
    /// At most `keep` units of the lot at this location may stay reserved:
    /// what a count found, what a scrap leaves, 0 for a hold of that bin.
    /// A `keep` above what the bin has on hand (a count that found more)
    /// serves the back-order queue after the change.
    Bin {
        lot_id: &'a str,
        location_id: &'a str,
        keep: i64,
    },
}

impl Shortfall<'_> {
    fn lot_id(&self) -> &str {
        match self {
            Shortfall::Lot { lot_id } | Shortfall::Bin { lot_id, .. } => lot_id,
        }
    }
}

/// An order's state before and after stock was taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderState {
    Reserved,
    Backordered,
}

impl OrderState {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Reserved => "reserved",
            OrderState::Backordered => "backordered",
        }
    }
}

/// One order whose reservation changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OrderMoved {
    pub order_id: String,
    pub merchant_id: String,
    pub channel: String,
    pub external_id: String,
    /// `reserved`: it held units that were taken back; `backordered`: it was
    /// waiting, and units its neighbours gave back now cover it.
    pub from: OrderState,
    /// `reserved`: held again, whole, from sellable stock (FEFO);
    /// `backordered`: waiting for stock, holding nothing.
    pub to: OrderState,
}

/// Takes back the reservations that `shortfalls` say the shelf can no longer
/// cover, runs `change` (the caller's ledger movement or hold), then places
/// the released orders again, in order time, with the back-order queue of
/// their SKUs, and answers `change`'s result with the orders that moved,
/// oldest first.
///
/// Whole orders only: an order gives back everything it holds (its other
/// lots and SKUs too) and is re-reserved whole or back-ordered, never in
/// part. The youngest orders holding a short row give back first, and only
/// as many as that row needs, so the oldest keep their stock. The units of
/// the rows in scope are dissociated from their orders (EPCIS
/// TransactionEvent DELETE) with `disposition`; an order's other units with
/// `sellable_accessible`; every new reservation gets its ADD event.
///
/// Runs inside the caller's `db::write` and opens no transaction. Lock order
/// (docs/ARCHITECTURE.md): it first takes the lots' SKUs, and the other SKUs
/// of the orders holding them, exclusively and in id order
/// (`backend::lock_skus`), so that nothing reserves from or releases to this
/// stock until the commit; the release then locks the stock rows of those
/// SKUs in (lot, location) order. Call it before locking any of these SKUs
/// or their stock, so that its ordered lock is the first.
pub fn release_and_replace<T>(
    c: &mut AnyConnection,
    who: &Principal,
    shortfalls: &[Shortfall],
    disposition: Disposition,
    change: impl FnOnce(&mut AnyConnection) -> Result<T, AppError>,
) -> Result<(T, Vec<OrderMoved>), AppError> {
    let lot_ids: BTreeSet<&str> = shortfalls.iter().map(|s| s.lot_id()).collect();
    let scope_skus: Vec<String> = lots::table
        .filter(lots::id.eq_any(&lot_ids))
        .select(lots::sku_id)
        .distinct()
        .order(lots::sku_id.asc())
        .load(c)?;
    // The lots' SKUs and, as read before any lock, every other SKU of the
    // orders holding them, in one statement in id order: an ingest takes its
    // SKUs the same way, so the two cannot wait on each other in a cycle.
    // An order that arrives between this read and the lock may add a SKU,
    // which the release then locks after these (the rare case of the lock
    // order's 503).
    let holders_skus: Vec<String> = order_lines::table
        .filter(
            order_lines::order_id.eq_any(
                reservations::table
                    .filter(reservations::lot_id.eq_any(&lot_ids))
                    .select(reservations::order_id),
            ),
        )
        .select(order_lines::sku_id)
        .distinct()
        .load(c)?;
    let first_locks: Vec<String> = scope_skus
        .iter()
        .cloned()
        .chain(holders_skus)
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    backend::lock_skus(c, &first_locks, SkuLock::Exclusive)?;

    let (holdings, keep) = holdings_in_scope(c, shortfalls, &lot_ids)?;
    let released = rules::orders_to_release(&holdings, &keep);
    let now = time::now();
    // The queue can be served only from units that become free: what
    // released orders give back, or a count that finds more than on hand.
    let mut skus: BTreeSet<String> = BTreeSet::new();
    if grows(c, shortfalls)? {
        skus.extend(scope_skus);
    }
    if !released.is_empty() {
        refuse_unless_reserved(c, &released)?;
        let in_scope = |lot: &str, location: &str| {
            if keep.contains_key(&(lot.to_string(), location.to_string())) {
                disposition
            } else {
                Disposition::SellableAccessible
            }
        };
        skus.extend(order_service::release_reservations_as(
            c, who, &released, &in_scope, now,
        )?);
        for chunk in released.chunks(CHUNK) {
            diesel::update(
                orders::table
                    .filter(orders::id.eq_any(chunk))
                    .filter(orders::status.eq("reserved")),
            )
            .set((orders::status.eq("backordered"), orders::updated_at.eq(now)))
            .execute(c)?;
        }
    }

    // The pick batches of the released orders follow once they are placed
    // again (services::picking::follow_orders).
    let mut batch_ids: BTreeSet<String> = BTreeSet::new();
    for chunk in released.chunks(CHUNK) {
        batch_ids.extend(
            orders::table
                .filter(orders::id.eq_any(chunk))
                .filter(orders::batch_id.is_not_null())
                .select(orders::batch_id.assume_not_null())
                .load::<String>(c)?,
        );
    }

    let out = change(c)?;

    let skus: Vec<String> = skus.into_iter().collect();
    let served: BTreeSet<String> = order_service::serve_backorders_listed(c, who, &skus)?
        .into_iter()
        .collect();
    for batch_id in &batch_ids {
        picking::follow_orders(c, batch_id)?;
    }
    let moved = describe_moves(c, &released, &served)?;
    Ok((out, moved))
}

/// Whether a bin will hold more than it has on hand now (a count that found
/// more): new units that may serve the back-order queue.
fn grows(c: &mut AnyConnection, shortfalls: &[Shortfall]) -> Result<bool, AppError> {
    for s in shortfalls {
        if let Shortfall::Bin {
            lot_id,
            location_id,
            keep,
        } = s
        {
            let on_hand: i64 = stock::table
                .filter(stock::lot_id.eq(lot_id))
                .filter(stock::location_id.eq(location_id))
                .select(stock::on_hand)
                .first(c)
                .optional()?
                .unwrap_or(0);
            if *keep > on_hand {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Every reservation of the stock rows in scope, and the limit of each row.
/// A lot-wide shortfall puts every row of the lot that holds a reservation
/// at 0; two limits for one row keep the lower.
fn holdings_in_scope(
    c: &mut AnyConnection,
    shortfalls: &[Shortfall],
    lot_ids: &BTreeSet<&str>,
) -> Result<(Vec<Holding>, BTreeMap<StockKey, i64>), AppError> {
    let rows: Vec<(String, String, String, i64)> = reservations::table
        .filter(reservations::lot_id.eq_any(lot_ids))
        .select((
            reservations::order_id,
            reservations::lot_id,
            reservations::location_id,
            reservations::qty,
        ))
        .load(c)?;
    let mut keep: BTreeMap<StockKey, i64> = BTreeMap::new();
    let mut limit = |key: StockKey, units: i64| {
        let entry = keep.entry(key).or_insert(units);
        *entry = (*entry).min(units);
    };
    for s in shortfalls {
        match s {
            Shortfall::Lot { lot_id } => {
                for (_, lot, location, _) in rows.iter().filter(|r| r.1 == *lot_id) {
                    limit((lot.clone(), location.clone()), 0);
                }
            }
            Shortfall::Bin {
                lot_id,
                location_id,
                keep,
            } => limit((lot_id.to_string(), location_id.to_string()), *keep),
        }
    }
    let holdings = rows
        .into_iter()
        .filter(|(_, lot, location, _)| keep.contains_key(&(lot.clone(), location.clone())))
        .map(|(order_id, lot_id, location_id, qty)| Holding {
            order_id,
            lot_id,
            location_id,
            qty,
        })
        .collect();
    Ok((holdings, keep))
}

/// Only a reserved order can be placed again; one further on (in a pick
/// batch, next stage) is that stage's to settle, so the caller gets a 409
/// and nothing changes.
fn refuse_unless_reserved(c: &mut AnyConnection, ids: &[String]) -> Result<(), AppError> {
    let mut other: Vec<(String, String)> = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        other.extend(
            db::fresh(
                orders::table
                    .filter(orders::id.eq_any(chunk))
                    .filter(orders::status.ne("reserved"))
                    .select((orders::id, orders::status)),
            )
            .load::<(String, String)>(c)?,
        );
    }
    match other.first() {
        None => Ok(()),
        Some((id, status)) => Err(AppError::InvalidState(format!(
            "order {id} holds this stock and is {status}; it cannot be re-reserved here"
        ))),
    }
}

/// The orders that moved, oldest first: every released one (re-reserved or
/// back-ordered) and every waiting one the queue served.
fn describe_moves(
    c: &mut AnyConnection,
    released: &[String],
    served: &BTreeSet<String>,
) -> Result<Vec<OrderMoved>, AppError> {
    let released: BTreeSet<&str> = released.iter().map(String::as_str).collect();
    let ids: Vec<&str> = released
        .iter()
        .copied()
        .chain(served.iter().map(String::as_str))
        .collect::<BTreeSet<&str>>()
        .into_iter()
        .collect();
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        rows.extend(
            db::fresh(
                orders::table
                    .filter(orders::id.eq_any(chunk))
                    .order(orders::id.asc())
                    .select((
                        orders::id,
                        orders::merchant_id,
                        orders::channel,
                        orders::external_id,
                    )),
            )
            .load::<(String, String, String, String)>(c)?,
        );
    }
    Ok(rows
        .into_iter()
        .map(|(order_id, merchant_id, channel, external_id)| {
            let from = if released.contains(order_id.as_str()) {
                OrderState::Reserved
            } else {
                OrderState::Backordered
            };
            let to = if served.contains(&order_id) {
                OrderState::Reserved
            } else {
                OrderState::Backordered
            };
            OrderMoved {
                order_id,
                merchant_id,
                channel,
                external_id,
                from,
                to,
            }
        })
        .collect())
}
