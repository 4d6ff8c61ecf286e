//! Picking a batch: `POST /batches/{id}/picks` confirms what the picker took
//! from each line's lot × bin, in one or several calls.
//!
//! # What a call means
//!
//! `picked_qty` is what this call picked, added to the line's picked
//! quantity: a handheld sends each scan (or each shelf visit) as it happens,
//! and a retried or late call cannot silently undo a count another picker
//! sent. More than the line still asks is refused, and so is a line given
//! twice in one call; nothing changes then.
//!
//! # Ledger, reservations, states
//!
//! Every picked quantity is a `pick` movement from the bin to the packing
//! location (the default location of kind `packing`). The units stay the
//! batch's orders': their reservations at the bin shrink (order-id order)
//! and the same quantities are reserved again at the packing location, so
//! `stock.reserved` always equals the reservations and never exceeds on
//! hand, before and after the movement (the ledger only takes unreserved
//! units from a bin). A `picking` event (disposition `in_progress`) per line
//! picked. The batch goes `open` → `picking` on its first pick and →
//! `picked` when every line is picked in full; an order is `picked` when
//! all its reservations are at the packing location.
//!
//! Short picks (less than the line asks, with a reason) are not built yet:
//! a `reason` is refused until they are.

use std::collections::HashSet;

use diesel::prelude::*;

use crate::db::schema::{
    batch_lines, batch_orders, batches, locations, orders, reservations, stock,
};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::time;
use crate::domain::trace::{Action, BizStep, Disposition};
use crate::error::{validated, AppError, FieldError};
use crate::services::batching::{self, Batch};
use crate::services::ledger::{self, Movement, MovementKind};
use crate::services::lots;
use crate::services::trace;

/// One line of a pick call, parsed.
#[derive(Debug, Clone)]
pub struct PickLine {
    pub line_id: String,
    /// What this call picked (≥ 1).
    pub picked_qty: i64,
    pub reason: Option<String>,
}

type LineRow = (String, String, String, i64, i64);

/// Confirms picked quantities of a batch's lines, in one transaction.
pub fn pick(
    conn: &mut AnyConnection,
    who: &Principal,
    batch_id: &str,
    picks: Vec<PickLine>,
) -> Result<Batch, AppError> {
    db::write(conn, |c| {
        let status: Option<String> = batches::table
            .find(batch_id)
            .select(batches::status)
            .first(c)
            .optional()?;
        let Some(status) = status else {
            return Err(AppError::not_found("batch", batch_id));
        };
        if status == "picked" {
            return Err(AppError::InvalidState(format!(
                "batch {batch_id} is already picked"
            )));
        }
        let lines: Vec<LineRow> = batch_lines::table
            .filter(batch_lines::batch_id.eq(batch_id))
            .select((
                batch_lines::id,
                batch_lines::lot_id,
                batch_lines::location_id,
                batch_lines::qty,
                batch_lines::picked_qty,
            ))
            .load(c)?;
        let mut errors = Vec::new();
        let mut seen = HashSet::new();
        let mut todo: Vec<(&LineRow, i64)> = Vec::new();
        for (i, p) in picks.iter().enumerate() {
            let Some(line) = lines.iter().find(|l| l.0 == p.line_id) else {
                errors.push(FieldError::new(
                    format!("lines[{i}].line_id"),
                    format!("batch {batch_id} has no line {}", p.line_id),
                ));
                continue;
            };
            if !seen.insert(p.line_id.as_str()) {
                errors.push(FieldError::new(
                    format!("lines[{i}].line_id"),
                    "is given twice in this call",
                ));
                continue;
            }
            let remaining = line.3 - line.4;
            if p.picked_qty > remaining {
                errors.push(FieldError::new(
                    format!("lines[{i}].picked_qty"),
                    format!(
                        "is more than the line still asks: {remaining} of {} unit(s)",
                        line.3
                    ),
                ));
                continue;
            }
            if p.reason.is_some() {
                errors.push(FieldError::new(
                    format!("lines[{i}].reason"),
                    "short picks are not supported yet; send what was picked without a reason",
                ));
                continue;
            }
            todo.push((line, p.picked_qty));
        }
        validated(errors)?;
        let packing: Option<String> = locations::table
            .filter(locations::kind.eq("packing"))
            .filter(locations::is_default.eq(true))
            .select(locations::id)
            .first(c)
            .optional()?;
        let Some(packing) = packing else {
            return Err(AppError::InvalidState(
                "there is no default packing location; create a location of kind packing first"
                    .to_string(),
            ));
        };
        let order_ids: Vec<String> = batch_orders::table
            .filter(batch_orders::batch_id.eq(batch_id))
            .select(batch_orders::order_id)
            .order(batch_orders::order_id.asc())
            .load(c)?;
        // One lock order for every picker: lot, then bin.
        todo.sort_by(|a, b| (&a.0 .1, &a.0 .2).cmp(&(&b.0 .1, &b.0 .2)));
        for (line, qty) in todo {
            pick_line(c, who, batch_id, &order_ids, &packing, line, qty)?;
        }
        let open: i64 = batch_lines::table
            .filter(batch_lines::batch_id.eq(batch_id))
            .filter(batch_lines::picked_qty.lt(batch_lines::qty))
            .count()
            .get_result(c)?;
        let new_status = if open == 0 { "picked" } else { "picking" };
        diesel::update(batches::table.find(batch_id))
            .set(batches::status.eq(new_status))
            .execute(c)?;
        let now = time::now();
        for order_id in &order_ids {
            let elsewhere: i64 = reservations::table
                .filter(reservations::order_id.eq(order_id))
                .filter(reservations::location_id.ne(&packing))
                .count()
                .get_result(c)?;
            if elsewhere == 0 {
                diesel::update(
                    orders::table
                        .find(order_id)
                        .filter(orders::status.eq("reserved")),
                )
                .set((orders::status.eq("picked"), orders::updated_at.eq(now)))
                .execute(c)?;
            }
        }
        batching::get(c, batch_id)
    })
}

/// Picks `qty` units of one line: the guarded line update, the reservations
/// moved from the bin to packing, the `pick` movement, the `picking` event.
fn pick_line(
    c: &mut AnyConnection,
    who: &Principal,
    batch_id: &str,
    order_ids: &[String],
    packing: &str,
    line: &LineRow,
    qty: i64,
) -> Result<(), AppError> {
    let (line_id, lot_id, bin, _, _) = line;
    // Guarded: two pickers confirming the same line at once cannot together
    // pick more than it asks.
    let updated = diesel::update(
        batch_lines::table
            .find(line_id)
            .filter((batch_lines::picked_qty + qty).le(batch_lines::qty)),
    )
    .set(batch_lines::picked_qty.eq(batch_lines::picked_qty + qty))
    .execute(c)?;
    if updated == 0 {
        return Err(AppError::InvalidState(format!(
            "line {line_id} changed while this request ran; read the batch again"
        )));
    }
    let held: Vec<(String, i32, i64)> = reservations::table
        .filter(reservations::order_id.eq_any(order_ids))
        .filter(reservations::lot_id.eq(lot_id))
        .filter(reservations::location_id.eq(bin))
        .select((
            reservations::order_id,
            reservations::line_no,
            reservations::qty,
        ))
        .order((reservations::order_id.asc(), reservations::line_no.asc()))
        .load(c)?;
    let mut left = qty;
    let mut moved: Vec<(String, i32, i64)> = Vec::new();
    for (order_id, line_no, held_qty) in held {
        if left == 0 {
            break;
        }
        let take = held_qty.min(left);
        left -= take;
        let row = reservations::table
            .filter(reservations::order_id.eq(&order_id))
            .filter(reservations::line_no.eq(line_no))
            .filter(reservations::lot_id.eq(lot_id))
            .filter(reservations::location_id.eq(bin));
        if take == held_qty {
            diesel::delete(row).execute(c)?;
        } else {
            diesel::update(row)
                .set(reservations::qty.eq(reservations::qty - take))
                .execute(c)?;
        }
        moved.push((order_id, line_no, take));
    }
    if left > 0 {
        return Err(AppError::InvalidState(format!(
            "the orders of batch {batch_id} hold {} unit(s) fewer of lot {lot_id} at that bin than line {line_id} asks",
            left
        )));
    }
    diesel::update(
        stock::table
            .filter(stock::lot_id.eq(lot_id))
            .filter(stock::location_id.eq(bin)),
    )
    .set(stock::reserved.eq(stock::reserved - qty))
    .execute(c)?;
    ledger::post(
        c,
        &Movement {
            kind: MovementKind::Pick,
            lot_id,
            reference: Some(("batch", batch_id)),
            reason: None,
            actor: Some(&who.token_id),
        },
        &[(bin.as_str(), -qty), (packing, qty)],
    )?;
    // The stock row at packing exists now: the movement put the units there.
    diesel::update(
        stock::table
            .filter(stock::lot_id.eq(lot_id))
            .filter(stock::location_id.eq(packing)),
    )
    .set(stock::reserved.eq(stock::reserved + qty))
    .execute(c)?;
    for (order_id, line_no, take) in moved {
        let row = reservations::table
            .filter(reservations::order_id.eq(&order_id))
            .filter(reservations::line_no.eq(line_no))
            .filter(reservations::lot_id.eq(lot_id))
            .filter(reservations::location_id.eq(packing));
        let updated = diesel::update(row)
            .set(reservations::qty.eq(reservations::qty + take))
            .execute(c)?;
        if updated == 0 {
            diesel::insert_into(reservations::table)
                .values((
                    reservations::order_id.eq(&order_id),
                    reservations::line_no.eq(line_no),
                    reservations::lot_id.eq(lot_id),
                    reservations::location_id.eq(packing),
                    reservations::qty.eq(take),
                ))
                .execute(c)?;
        }
    }
    let lot = lots::row(c, who, lot_id)?;
    trace::record(
        c,
        trace::LotEvent {
            action: Action::Observe,
            biz_step: BizStep::Picking,
            disposition: Disposition::InProgress,
            lot_id,
            what_class: &lot.what_class,
            quantity: Some(qty),
            location_id: Some(bin),
            biz_tx: None,
            actor: Some(&who.token_id),
        },
    )?;
    Ok(())
}
