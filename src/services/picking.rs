//! Picking a batch: `POST /batches/{id}/picks` confirms what the picker took
//! from each line's lot × bin, in one or several calls.
//!
//! # What a call means
//!
//! `picked_qty` is what this call picked, added to the line's picked
//! quantity: a handheld sends each scan (or each shelf visit) as it happens,
//! and a retried or late call cannot silently undo a count another picker
//! sent. A pick of less than the line still asks, without a reason, leaves
//! the line open: more scans are to come. More than the line still asks is
//! refused, and so is a line given twice in one call; nothing changes then.
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
//! # Short picks
//!
//! A pick with a `reason` says "this is all the line gives": `picked_qty`
//! (0 allowed) is picked as usual and the rest of the line is missing. A
//! reason on a pick that completes the line is a 422. The bin gets an open
//! count task (`count_tasks`); while it is open the reservation engine
//! (`services::orders::sellable_stock`) skips that lot × bin, so its suspect
//! units are reserved again only after a count of that lot × bin, which
//! closes the task. A task rather than a quality hold: nobody has to
//! remember to release it, the count that settles the bin frees it, and the
//! units stay sellable for what the count confirms.
//!
//! The batch's orders still holding unpicked units of that lot × bin lose
//! them. Oldest first, each order's reservation there moves whole to other
//! sellable stock of the SKU (FEFO, [`order_service::move_reservation`]) and the
//! batch gets the line(s) for it; an order that cannot be covered goes back
//! to `backordered` whole ([`order_service::backorder`]): everything it holds is
//! released, units it already had at packing too (they stay on hand there,
//! unreserved), it leaves the batch and the back-order queue serves others
//! from what it gave back. So the youngest orders are the ones back-ordered.
//! Orders outside the batch that hold units of that bin keep them until the
//! count settles the bin (`services::reservations`).
//!
//! # Orders leaving a batch by other paths
//!
//! A cancel, a hold, the expiry run, a count or a scrap that moves a batched
//! order calls [`follow_orders`]: the batch's lines are brought back to what
//! its orders still hold unpicked (lines shrink, go, or appear at the bins an
//! order was re-reserved from), orders that are no longer reserved leave it,
//! a batch with nothing left to pick is `picked`, and one with no orders left
//! is `cancelled`.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::backend::{self, SkuLock};
use crate::db::schema::{
    batch_lines, batch_orders, batches, count_tasks, locations, lots, order_lines, orders,
    reservations, stock,
};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::batching::{follow_lines, LineChange, LineState};
use crate::domain::ids::new_id;
use crate::domain::page::{Page, PageRequest};
use crate::domain::time;
use crate::domain::trace::{Action, BizStep, Disposition};
use crate::error::{validated, AppError, FieldError};
use crate::services::batching::{self, Batch};
use crate::services::ledger::{self, Movement, MovementKind};
use crate::services::lots as lot_service;
use crate::services::orders as order_service;
use crate::services::trace;

/// One line of a pick call, parsed.
#[derive(Debug, Clone)]
pub struct PickLine {
    pub line_id: String,
    /// What this call picked (≥ 1; ≥ 0 with a reason).
    pub picked_qty: i64,
    /// A short pick: the line gives no more than this (trimmed, non-empty).
    pub reason: Option<String>,
}

/// Units of a short pick placed again on the batch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReReserved {
    /// The batch line that now asks for them (new, or grown).
    pub line_id: String,
    pub lot_id: String,
    pub location_code: String,
    pub qty: i64,
}

/// What a short pick did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Short {
    /// The short line (gone from the batch when nothing of it was picked).
    pub line_id: String,
    /// What the line asked and the bin did not give.
    pub missing_qty: i64,
    /// Where the missing units are reserved now, on this batch.
    pub re_reserved: Vec<ReReserved>,
    /// Orders no other sellable stock could cover: back-ordered, out of the batch.
    pub backordered_orders: Vec<String>,
    /// The count task of the short bin (see `GET /count-tasks`).
    pub count_task_id: String,
}

/// The batch after a pick call, and what its short picks did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Picked {
    #[serde(flatten)]
    pub batch: Batch,
    /// One entry per line picked short in this call (empty otherwise).
    pub short: Vec<Short>,
}

type LineRow = (String, String, String, i64, i64);

/// Rows a multi-row statement carries at most (5 parameters a reservation:
/// well under SQLite's 32,766 bound parameters).
const CHUNK: usize = 2_000;

/// Confirms picked quantities of a batch's lines, in one transaction.
pub fn pick(
    conn: &mut AnyConnection,
    who: &Principal,
    batch_id: &str,
    picks: Vec<PickLine>,
) -> Result<Picked, AppError> {
    db::write(conn, |c| {
        let status: Option<String> = batches::table
            .find(batch_id)
            .select(batches::status)
            .first(c)
            .optional()?;
        let Some(status) = status else {
            return Err(AppError::not_found("batch", batch_id));
        };
        if status == "picked" || status == "cancelled" {
            return Err(AppError::InvalidState(format!(
                "batch {batch_id} is already {status}"
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
        let mut shorts: Vec<(&LineRow, i64, String)> = Vec::new();
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
            if let Some(reason) = &p.reason {
                if p.picked_qty == remaining {
                    errors.push(FieldError::new(
                        format!("lines[{i}].reason"),
                        format!(
                            "is only for a short pick; this pick completes the line ({remaining} unit(s) asked)"
                        ),
                    ));
                    continue;
                }
                shorts.push((line, remaining - p.picked_qty, reason.clone()));
            }
            if p.picked_qty > 0 {
                todo.push((line, p.picked_qty));
            }
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
        // The SKUs of the batch's orders first, in id order, before any
        // stock row (the lock order of services::reservations): a short pick
        // re-reserves and releases, and two pickers of one SKU's bins would
        // otherwise take its bin and packing rows in opposite orders
        // (PostgreSQL found that deadlock under `depot bench burst`).
        let skus: Vec<String> = order_lines::table
            .filter(order_lines::order_id.eq_any(&order_ids))
            .select(order_lines::sku_id)
            .distinct()
            .order(order_lines::sku_id.asc())
            .load(c)?;
        backend::lock_skus(c, &skus, SkuLock::Exclusive)?;
        // One lock order for every picker: lot, then bin.
        todo.sort_by(|a, b| (&a.0 .1, &a.0 .2).cmp(&(&b.0 .1, &b.0 .2)));
        for (line, qty) in todo {
            pick_line(c, who, batch_id, &order_ids, &packing, line, qty)?;
        }
        if status == "open" {
            diesel::update(batches::table.find(batch_id))
                .set(batches::status.eq("picking"))
                .execute(c)?;
        }
        shorts.sort_by(|a, b| (&a.0 .1, &a.0 .2).cmp(&(&b.0 .1, &b.0 .2)));
        let mut answers = Vec::new();
        let mut freed_skus: Vec<String> = Vec::new();
        for (line, missing, reason) in shorts {
            let (short, skus) = short_pick(c, who, batch_id, line, missing, &reason)?;
            freed_skus.extend(skus);
            answers.push(short);
        }
        follow_orders(c, batch_id)?;
        if !freed_skus.is_empty() {
            freed_skus.sort();
            freed_skus.dedup();
            order_service::serve_backorders(c, who, &freed_skus)?;
        }
        answers.sort_by(|a, b| a.line_id.cmp(&b.line_id));
        Ok(Picked {
            batch: batching::get(c, batch_id)?,
            short: answers,
        })
    })
}

/// One short line: its count task, the batch's orders that held its missing
/// units re-reserved (oldest first) or back-ordered, the lines following.
/// Answers what happened and the SKUs of the back-ordered orders.
fn short_pick(
    c: &mut AnyConnection,
    who: &Principal,
    batch_id: &str,
    line: &LineRow,
    missing: i64,
    reason: &str,
) -> Result<(Short, Vec<String>), AppError> {
    let (line_id, lot_id, bin, _, _) = line;
    let now = time::now();
    let count_task_id = open_count_task(c, who, batch_id, lot_id, bin, reason, now)?;
    let sku_id: String = lots::table.find(lot_id).select(lots::sku_id).first(c)?;
    let members: Vec<String> = batch_orders::table
        .filter(batch_orders::batch_id.eq(batch_id))
        .select(batch_orders::order_id)
        .load(c)?;
    let held: Vec<(String, i32, i64)> = reservations::table
        .filter(reservations::order_id.eq_any(&members))
        .filter(reservations::lot_id.concat("").eq(lot_id))
        .filter(reservations::location_id.eq(bin))
        .select((
            reservations::order_id,
            reservations::line_no,
            reservations::qty,
        ))
        .order((reservations::order_id.asc(), reservations::line_no.asc()))
        .load(c)?;
    let mut backordered = Vec::new();
    let mut skus = Vec::new();
    for (order_id, line_no, qty) in held {
        let moved = order_service::move_reservation(
            c,
            who,
            &order_id,
            line_no,
            &sku_id,
            (lot_id, bin),
            qty,
            Disposition::NonSellableOther,
        )?;
        if moved.is_none() {
            let short_row = |lot: &str, location: &str| {
                if lot == lot_id && location == bin {
                    Disposition::NonSellableOther
                } else {
                    Disposition::SellableAccessible
                }
            };
            skus.extend(order_service::backorder(
                c,
                who,
                std::slice::from_ref(&order_id),
                &short_row,
            )?);
            backordered.push(order_id);
        }
    }
    let grown = follow_orders(c, batch_id)?;
    let mut re_reserved = Vec::new();
    for (line_id, lot_id, location_id, qty) in grown {
        let location_code: String = locations::table
            .find(&location_id)
            .select(locations::code)
            .first(c)?;
        re_reserved.push(ReReserved {
            line_id,
            lot_id,
            location_code,
            qty,
        });
    }
    Ok((
        Short {
            line_id: line_id.clone(),
            missing_qty: missing,
            re_reserved,
            backordered_orders: backordered,
            count_task_id,
        },
        skus,
    ))
}

/// The open count task of a lot × bin: the one there is, or a new one
/// expecting what depot has on hand there now.
fn open_count_task(
    c: &mut AnyConnection,
    who: &Principal,
    batch_id: &str,
    lot_id: &str,
    location_id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> Result<String, AppError> {
    let open: Option<String> = count_tasks::table
        .filter(count_tasks::lot_id.eq(lot_id))
        .filter(count_tasks::location_id.eq(location_id))
        .filter(count_tasks::status.eq("open"))
        .select(count_tasks::id)
        .first(c)
        .optional()?;
    if let Some(id) = open {
        return Ok(id);
    }
    let on_hand: i64 = stock::table
        .filter(stock::lot_id.eq(lot_id))
        .filter(stock::location_id.eq(location_id))
        .select(stock::on_hand)
        .first(c)
        .optional()?
        .unwrap_or(0);
    let id = new_id("ctk");
    diesel::insert_into(count_tasks::table)
        .values((
            count_tasks::id.eq(&id),
            count_tasks::lot_id.eq(lot_id),
            count_tasks::location_id.eq(location_id),
            count_tasks::batch_id.eq(Some(batch_id)),
            count_tasks::reason.eq(reason),
            count_tasks::expected_qty.eq(on_hand),
            count_tasks::status.eq("open"),
            count_tasks::created_at.eq(now),
            count_tasks::created_by.eq(&who.token_id),
        ))
        .execute(c)?;
    Ok(id)
}

/// Brings a batch back to what its orders hold, inside the caller's
/// transaction: orders no longer reserved (cancelled, back-ordered) leave
/// it; per lot × bin the lines ask for what the remaining orders hold
/// unpicked there (`domain::batching::follow_lines`: lines shrink, go when nothing
/// of them was picked, grow or appear where an order was re-reserved); the batch is `cancelled` when no
/// order is left, `picked` when nothing is left to pick; an order whose
/// units are all at packing is `picked`. Answers the lines that grew or
/// appeared: (line id, lot id, location id, units added).
pub(crate) fn follow_orders(
    c: &mut AnyConnection,
    batch_id: &str,
) -> Result<Vec<(String, String, String, i64)>, AppError> {
    let now = time::now();
    let members: Vec<(String, String)> = batch_orders::table
        .inner_join(orders::table)
        .filter(batch_orders::batch_id.eq(batch_id))
        .select((orders::id, orders::status))
        .order(orders::id.asc())
        .load(c)?;
    let (stay, leave): (Vec<_>, Vec<_>) = members
        .into_iter()
        .partition(|(_, status)| status == "reserved" || status == "picked");
    let leave: Vec<String> = leave.into_iter().map(|(id, _)| id).collect();
    let stay: Vec<String> = stay.into_iter().map(|(id, _)| id).collect();
    if !leave.is_empty() {
        diesel::delete(
            batch_orders::table
                .filter(batch_orders::batch_id.eq(batch_id))
                .filter(batch_orders::order_id.eq_any(&leave)),
        )
        .execute(c)?;
        diesel::update(orders::table.filter(orders::id.eq_any(&leave)))
            .set(orders::batch_id.eq(None::<String>))
            .execute(c)?;
    }
    // What the remaining orders hold unpicked, per lot × bin.
    let held: Vec<(String, String, String, i64, i32)> = reservations::table
        .inner_join(locations::table)
        .filter(reservations::order_id.eq_any(&stay))
        .filter(locations::kind.ne("packing"))
        .select((
            reservations::order_id,
            reservations::lot_id,
            reservations::location_id,
            reservations::qty,
            locations::walk_seq,
        ))
        .load(c)?;
    let mut need: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut walk: BTreeMap<(String, String), i32> = BTreeMap::new();
    let mut unpicked: HashSet<String> = HashSet::new();
    for (order_id, lot, location, qty, walk_seq) in held {
        unpicked.insert(order_id);
        walk.insert((lot.clone(), location.clone()), walk_seq);
        *need.entry((lot, location)).or_insert(0) += qty;
    }
    let lines: Vec<LineState> = batch_lines::table
        .filter(batch_lines::batch_id.eq(batch_id))
        .select((
            batch_lines::id,
            batch_lines::lot_id,
            batch_lines::location_id,
            batch_lines::qty,
            batch_lines::picked_qty,
        ))
        .load::<LineRow>(c)?
        .into_iter()
        .map(|(id, lot, location, qty, picked_qty)| LineState {
            id,
            at: (lot, location),
            qty,
            picked_qty,
        })
        .collect();
    let mut grown = Vec::new();
    for change in follow_lines(&lines, &need) {
        match change {
            LineChange::Grow { id, by } => {
                diesel::update(batch_lines::table.find(&id))
                    .set(batch_lines::qty.eq(batch_lines::qty + by))
                    .execute(c)?;
                let at = &lines
                    .iter()
                    .find(|l| l.id == id)
                    .expect("a line of the batch")
                    .at;
                grown.push((id.clone(), at.0.clone(), at.1.clone(), by));
            }
            LineChange::Shrink { id, by } => {
                diesel::update(batch_lines::table.find(&id))
                    .set(batch_lines::qty.eq(batch_lines::qty - by))
                    .execute(c)?;
            }
            LineChange::Delete { id } => {
                diesel::delete(batch_lines::table.find(&id)).execute(c)?;
            }
            LineChange::New { at, qty } => {
                let id = new_id("bln");
                diesel::insert_into(batch_lines::table)
                    .values((
                        batch_lines::id.eq(&id),
                        batch_lines::batch_id.eq(batch_id),
                        batch_lines::lot_id.eq(&at.0),
                        batch_lines::location_id.eq(&at.1),
                        batch_lines::qty.eq(qty),
                        batch_lines::picked_qty.eq(0),
                        batch_lines::walk_seq.eq(walk.get(&at).copied().unwrap_or(0)),
                    ))
                    .execute(c)?;
                grown.push((id, at.0, at.1, qty));
            }
        }
    }
    let open: i64 = batch_lines::table
        .filter(batch_lines::batch_id.eq(batch_id))
        .filter(batch_lines::picked_qty.lt(batch_lines::qty))
        .count()
        .get_result(c)?;
    let status: String = batches::table
        .find(batch_id)
        .select(batches::status)
        .first(c)?;
    let new_status = if stay.is_empty() {
        "cancelled"
    } else if open == 0 {
        "picked"
    } else if status == "picked" {
        "picking"
    } else {
        status.as_str()
    };
    if new_status != status {
        diesel::update(batches::table.find(batch_id))
            .set(batches::status.eq(new_status))
            .execute(c)?;
    }
    // Orders holding nothing outside packing any more are picked.
    let picked: Vec<&String> = stay.iter().filter(|o| !unpicked.contains(*o)).collect();
    for chunk in picked.chunks(CHUNK) {
        diesel::update(
            orders::table
                .filter(orders::id.eq_any(chunk))
                .filter(orders::status.eq("reserved")),
        )
        .set((orders::status.eq("picked"), orders::updated_at.eq(now)))
        .execute(c)?;
    }
    Ok(grown)
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
    // The batch's rows by the primary key (order id first): `lot_id || ''`
    // keeps the planners off the (lot_id, location_id) index, which would
    // walk every reservation of a hot lot's bin (tens of thousands in a live
    // session) for each line. So in every reservation query here.
    let held: Vec<(String, i32, i64)> = reservations::table
        .filter(reservations::order_id.eq_any(order_ids))
        .filter(reservations::lot_id.concat("").eq(lot_id))
        .filter(reservations::location_id.eq(bin))
        .select((
            reservations::order_id,
            reservations::line_no,
            reservations::qty,
        ))
        .order((reservations::order_id.asc(), reservations::line_no.asc()))
        .load(c)?;
    // The oldest orders' reservations first: the rows taken are a prefix
    // of `held`, all whole but perhaps the last.
    let mut left = qty;
    let mut moved: Vec<(String, i32, i64)> = Vec::new();
    let mut part = false;
    for (order_id, line_no, held_qty) in held {
        if left == 0 {
            break;
        }
        let take = held_qty.min(left);
        left -= take;
        part = take < held_qty;
        moved.push((order_id, line_no, take));
    }
    if left > 0 {
        return Err(AppError::InvalidState(format!(
            "the orders of batch {batch_id} hold {} unit(s) fewer of lot {lot_id} at that bin than line {line_id} asks",
            left
        )));
    }
    let at_bin = || {
        reservations::table
            .filter(reservations::lot_id.concat("").eq(lot_id))
            .filter(reservations::location_id.eq(bin))
    };
    // Set-based, so a batch of a thousand one-line orders is a handful of
    // statements: the whole rows go in one delete, up to the last of them.
    let whole = if part {
        &moved[..moved.len() - 1]
    } else {
        &moved[..]
    };
    if let Some((last_order, last_line, _)) = whole.last() {
        diesel::delete(
            at_bin()
                .filter(reservations::order_id.eq_any(order_ids))
                .filter(
                    reservations::order_id
                        .lt(last_order)
                        .or(reservations::order_id
                            .eq(last_order)
                            .and(reservations::line_no.le(last_line))),
                ),
        )
        .execute(c)?;
    }
    if part {
        let (order_id, line_no, take) = moved.last().expect("a partly taken row");
        diesel::update(
            at_bin()
                .filter(reservations::order_id.eq(order_id))
                .filter(reservations::line_no.eq(line_no)),
        )
        .set(reservations::qty.eq(reservations::qty - take))
        .execute(c)?;
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
    // The same units reserved again at packing: rows the orders hold there
    // already grow (an order picked in several calls), the others are
    // inserted in multi-row statements.
    let moved_orders: Vec<&str> = moved.iter().map(|m| m.0.as_str()).collect();
    let mut at_packing: HashSet<(String, i32)> = HashSet::new();
    for chunk in moved_orders.chunks(CHUNK) {
        at_packing.extend(
            reservations::table
                .filter(reservations::order_id.eq_any(chunk))
                .filter(reservations::lot_id.concat("").eq(lot_id))
                .filter(reservations::location_id.eq(packing))
                .select((reservations::order_id, reservations::line_no))
                .load::<(String, i32)>(c)?,
        );
    }
    let (grow, new): (Vec<_>, Vec<_>) = moved
        .iter()
        .partition(|(order_id, line_no, _)| at_packing.contains(&(order_id.clone(), *line_no)));
    for (order_id, line_no, take) in grow {
        diesel::update(
            reservations::table
                .filter(reservations::order_id.eq(order_id))
                .filter(reservations::line_no.eq(line_no))
                .filter(reservations::lot_id.concat("").eq(lot_id))
                .filter(reservations::location_id.eq(packing)),
        )
        .set(reservations::qty.eq(reservations::qty + take))
        .execute(c)?;
    }
    for chunk in new.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(order_id, line_no, take)| {
                (
                    reservations::order_id.eq(order_id),
                    reservations::line_no.eq(line_no),
                    reservations::lot_id.eq(lot_id),
                    reservations::location_id.eq(packing),
                    reservations::qty.eq(take),
                )
            })
            .collect();
        crate::on_backend!(c, |inner| diesel::insert_into(reservations::table)
            .values(rows)
            .execute(inner))?;
    }
    let lot = lot_service::row(c, who, lot_id)?;
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

/// A bin to count: it gave fewer units than a pick line asked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountTask {
    pub id: String,
    /// open, or done once a count of that lot × bin was recorded.
    pub status: String,
    pub location_code: String,
    pub lot_id: String,
    pub lot_code: String,
    pub sku_code: String,
    /// The batch whose short pick opened it.
    pub batch_id: Option<String>,
    /// The picker's reason.
    pub reason: String,
    /// What depot had on hand there when the task was opened.
    pub expected_qty: i64,
    /// The count that closed it.
    pub count_id: Option<String>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub done_at: Option<NaiveDateTime>,
}

/// Count tasks by id (oldest first), `open` or `done` only when asked.
pub fn list_count_tasks(
    conn: &mut AnyConnection,
    status: Option<String>,
    page: &PageRequest,
) -> Result<Page<CountTask>, AppError> {
    use crate::db::schema::skus;
    let mut query = count_tasks::table
        .inner_join(locations::table)
        .inner_join(lots::table.inner_join(skus::table))
        .select((
            count_tasks::id,
            count_tasks::status,
            locations::code,
            count_tasks::lot_id,
            lots::lot_code,
            skus::code,
            count_tasks::batch_id,
            count_tasks::reason,
            count_tasks::expected_qty,
            count_tasks::count_id,
            count_tasks::created_at,
            count_tasks::created_by,
            count_tasks::done_at,
        ))
        .order(count_tasks::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(count_tasks::id.gt(after.clone()));
    }
    if let Some(status) = status {
        query = query.filter(count_tasks::status.eq(status));
    }
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        String,
        i64,
        Option<String>,
        NaiveDateTime,
        Option<String>,
        Option<NaiveDateTime>,
    )> = query.load(conn)?;
    let tasks = rows
        .into_iter()
        .map(|r| CountTask {
            id: r.0,
            status: r.1,
            location_code: r.2,
            lot_id: r.3,
            lot_code: r.4,
            sku_code: r.5,
            batch_id: r.6,
            reason: r.7,
            expected_qty: r.8,
            count_id: r.9,
            created_at: r.10,
            created_by: r.11,
            done_at: r.12,
        })
        .collect();
    Ok(Page::from_rows(tasks, page, |t| &t.id))
}

/// Closes the open count task of a lot × bin, if there is one, with the
/// count that settled it: the bin's units of that lot are sellable again.
/// Answers whether one was closed.
pub(crate) fn close_count_task(
    c: &mut AnyConnection,
    lot_id: &str,
    location_id: &str,
    count_id: &str,
) -> Result<bool, AppError> {
    let closed = diesel::update(
        count_tasks::table
            .filter(count_tasks::lot_id.eq(lot_id))
            .filter(count_tasks::location_id.eq(location_id))
            .filter(count_tasks::status.eq("open")),
    )
    .set((
        count_tasks::status.eq("done"),
        count_tasks::count_id.eq(Some(count_id)),
        count_tasks::done_at.eq(Some(time::now())),
    ))
    .execute(c)?;
    Ok(closed > 0)
}
