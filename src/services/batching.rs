//! Pick batches (waves) of reserved orders: [`build`] loads the reserved,
//! unbatched orders with their reservations, lets
//! [`crate::domain::batching`] group them, and stores the batches and their
//! walk-ordered pick lists; [`list`] and [`get`] read them back.
//!
//! # One order, one batch — a guarded claim
//!
//! Every order is claimed with `UPDATE orders SET batch_id = ? WHERE id = ?
//! AND batch_id IS NULL AND status = 'reserved'` in the transaction that
//! creates its batch, counting the rows, in order-id order (one lock order
//! for every builder). An order another depot instance
//! claimed in the meantime (or cancelled) answers 0 rows and drops out of the
//! batch with its pick lines; a batch left with no order is not created. A
//! guarded update rather than `SELECT … FOR UPDATE` row locks: SQLite has no
//! row locks (its one writer already serialises builds), and on PostgreSQL,
//! under READ COMMITTED, the second updater waits for the first to commit and
//! then re-checks `batch_id IS NULL` on the new row version, so exactly one
//! claim wins — the same code, the same guarantee on both backends. A batch
//! that lost orders keeps its strategy, even when fewer than
//! [`crate::domain::batching::MIN_GROUP`] orders are left.
//!
//! # Ship-by
//!
//! Read as stored (`orders.ship_by`): set at ingest from the merchant's
//! deadline or the channel's promise (`DEPOT_SHIP_BY_HOURS`), so batches take
//! the most urgent orders first across channels.
//!
//! # Trace
//!
//! Building a batch writes no trace event: it moves no unit and changes no
//! lot's disposition, and CBV has no business step for planning a pick wave.
//! The `picking` events come when units leave their bins.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{
    batch_lines, batch_orders, batches, carriers, locations, lots, order_lines, orders,
    reservations, skus,
};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::batching::{self as plan, BatchOrder, OrderLine, Pick};
use crate::domain::ids::new_id;
use crate::domain::page::{Page, PageRequest};
use crate::domain::time;
use crate::error::AppError;

/// Orders whose lines and reservations one query loads (bound as one array
/// on PostgreSQL; well under SQLite's 32,766 bound parameters).
const LOAD_CHUNK: usize = 2_000;

/// What to batch, parsed.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub max_orders: usize,
    pub max_units: i64,
    /// Only orders of this carrier (its code).
    pub carrier_code: Option<String>,
    /// Answer the batches without creating them.
    pub dry_run: bool,
}

/// A batch as built.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BuiltBatch {
    /// Null on a dry run: nothing was created.
    pub id: Option<String>,
    /// hot_sku, identical or cluster.
    pub strategy: String,
    /// Null for orders that name no carrier.
    pub carrier_code: Option<String>,
    pub order_count: usize,
}

/// The answer of a build: the batches, most urgent first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Built {
    pub batches: Vec<BuiltBatch>,
}

/// One line of a pick list: a lot at a bin.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchLine {
    pub id: String,
    pub sku_code: String,
    pub lot_id: String,
    pub location_code: String,
    pub qty: i64,
    pub picked_qty: i64,
    pub walk_seq: i64,
}

/// A stored batch with its orders and its pick list in walk order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Batch {
    pub id: String,
    /// hot_sku, identical or cluster.
    pub strategy: String,
    pub carrier_code: Option<String>,
    /// open, picking, picked, or cancelled (every order left it).
    pub status: String,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    /// Order ids, in order time.
    pub orders: Vec<String>,
    /// In walk order (walk sequence, then location code).
    pub lines: Vec<BatchLine>,
}

type BatchRow = (String, String, Option<String>, String, NaiveDateTime);

/// Builds batches of the reserved, unbatched orders, in one transaction.
pub fn build(
    conn: &mut AnyConnection,
    who: &Principal,
    options: BuildOptions,
) -> Result<Built, AppError> {
    db::write(conn, |c| {
        let code_of: HashMap<String, String> = carriers::table
            .select((carriers::id, carriers::code))
            .load::<(String, String)>(c)?
            .into_iter()
            .collect();
        if let Some(code) = &options.carrier_code {
            if !code_of.values().any(|v| v == code) {
                return Err(AppError::field(
                    "carrier_code",
                    format!("no carrier with code {code}"),
                ));
            }
        }
        let (orders, carrier_ids, location_ids) = load_open(c, &code_of)?;
        let planned = plan::build_batches(
            &orders,
            &plan::Options {
                max_orders: options.max_orders,
                max_units: options.max_units,
                carrier_code: options.carrier_code.clone(),
                cut_off: None,
            },
        );
        if options.dry_run {
            let batches = planned
                .into_iter()
                .map(|b| BuiltBatch {
                    id: None,
                    strategy: b.strategy.as_str().to_string(),
                    carrier_code: b.carrier_code,
                    order_count: b.order_ids.len(),
                })
                .collect();
            return Ok(Built { batches });
        }
        let index: HashMap<&str, usize> = orders
            .iter()
            .enumerate()
            .map(|(i, o)| (o.id.as_str(), i))
            .collect();
        let now = time::now();
        let planned: Vec<(String, plan::Batch)> =
            planned.into_iter().map(|b| (new_id("bat"), b)).collect();
        // Claimed in order-id order, whatever the batch: two instances
        // building at once lock the rows in one order (PostgreSQL: SELECT …
        // ORDER BY id FOR UPDATE, which also re-checks a row another
        // instance claimed meanwhile; SQLite writes one at a time), so the
        // second waits for the first instead of deadlocking with it. Then
        // each batch takes its orders in one UPDATE: set-based, not a round
        // trip per order.
        let mut claims: Vec<&str> = planned
            .iter()
            .flat_map(|(_, b)| b.order_ids.iter().map(String::as_str))
            .collect();
        claims.sort_unstable();
        let mut won: HashSet<String> = HashSet::with_capacity(claims.len());
        for chunk in claims.chunks(LOAD_CHUNK) {
            let free = orders::table
                .filter(orders::id.eq_any(chunk))
                .filter(orders::batch_id.is_null())
                .filter(orders::status.eq("reserved"))
                .select(orders::id)
                .order(orders::id.asc());
            won.extend(match c {
                AnyConnection::Postgresql(pg) => free.for_update().load::<String>(pg)?,
                AnyConnection::Sqlite(lite) => free.load::<String>(lite)?,
            });
        }
        let mut built = Vec::new();
        for (id, batch) in planned {
            let claimed: Vec<usize> = batch
                .order_ids
                .iter()
                .filter(|o| won.contains(o.as_str()))
                .filter_map(|o| index.get(o.as_str()).copied())
                .collect();
            let batch = if claimed.len() == batch.order_ids.len() {
                batch
            } else {
                match plan::batch_of(&orders, batch.strategy, &claimed) {
                    Some(smaller) => smaller,
                    None => continue,
                }
            };
            let carrier_id = carrier_ids[claimed[0]].clone();
            diesel::insert_into(batches::table)
                .values((
                    batches::id.eq(&id),
                    batches::strategy.eq(batch.strategy.as_str()),
                    batches::carrier_id.eq(&carrier_id),
                    batches::status.eq("open"),
                    batches::created_at.eq(now),
                    batches::created_by.eq(&who.token_id),
                ))
                .execute(c)?;
            for chunk in batch.order_ids.chunks(LOAD_CHUNK) {
                diesel::update(orders::table.filter(orders::id.eq_any(chunk)))
                    .set((orders::batch_id.eq(&id), orders::updated_at.eq(now)))
                    .execute(c)?;
                let members: Vec<_> = chunk
                    .iter()
                    .map(|order_id| {
                        (
                            batch_orders::batch_id.eq(&id),
                            batch_orders::order_id.eq(order_id),
                        )
                    })
                    .collect();
                crate::on_backend!(c, |inner| diesel::insert_into(batch_orders::table)
                    .values(members)
                    .execute(inner))?;
            }
            let mut lines = Vec::with_capacity(batch.lines.len());
            for line in &batch.lines {
                let location_id = location_ids.get(&line.location_code).ok_or_else(|| {
                    AppError::Internal(format!("pick location {} vanished", line.location_code))
                })?;
                let walk_seq = i32::try_from(line.walk_seq)
                    .map_err(|_| AppError::Internal("walk sequence out of range".into()))?;
                lines.push((
                    batch_lines::id.eq(new_id("bln")),
                    batch_lines::batch_id.eq(&id),
                    batch_lines::lot_id.eq(&line.lot_id),
                    batch_lines::location_id.eq(location_id),
                    batch_lines::qty.eq(line.qty),
                    batch_lines::walk_seq.eq(walk_seq),
                ));
            }
            for chunk in lines.chunks(LOAD_CHUNK) {
                crate::on_backend!(c, |inner| diesel::insert_into(batch_lines::table)
                    .values(chunk)
                    .execute(inner))?;
            }
            built.push(BuiltBatch {
                id: Some(id),
                strategy: batch.strategy.as_str().to_string(),
                carrier_code: batch.carrier_code,
                order_count: batch.order_ids.len(),
            });
        }
        Ok(Built { batches: built })
    })
}

/// The reserved, unbatched orders as [`build`] loads them, with their
/// lines and reservations: what `depot bench burst` batches again with the
/// FIFO baseline on the same orders. Reads only.
pub fn open_orders(conn: &mut AnyConnection) -> Result<Vec<BatchOrder>, AppError> {
    let code_of: HashMap<String, String> = carriers::table
        .select((carriers::id, carriers::code))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    Ok(load_open(conn, &code_of)?.0)
}

/// The reserved, unbatched orders with their lines and current reservations
/// (the hold rules have already moved them off held, expired or quarantined
/// stock); beside them each order's carrier id, and the ids of the pick
/// locations by code.
#[allow(clippy::type_complexity)]
fn load_open(
    c: &mut AnyConnection,
    code_of: &HashMap<String, String>,
) -> Result<
    (
        Vec<BatchOrder>,
        Vec<Option<String>>,
        HashMap<String, String>,
    ),
    AppError,
> {
    let rows: Vec<(String, NaiveDateTime, NaiveDateTime, Option<String>)> = orders::table
        .filter(orders::status.eq("reserved"))
        .filter(orders::batch_id.is_null())
        .select((
            orders::id,
            orders::created_at,
            orders::ship_by,
            orders::carrier_id,
        ))
        .order(orders::id.asc())
        .load(c)?;
    // Lines and reservations by chunks of ids (index probes on the primary
    // keys, which start with the order id), not joined to a subquery of the
    // open orders: right after a burst PostgreSQL has no statistics on the
    // new rows yet, and the plan it chose for that join took 25 s for
    // 95,000 orders in `depot bench burst`.
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let mut lines: Vec<(String, String, i64)> = Vec::with_capacity(ids.len());
    #[allow(clippy::type_complexity)]
    let mut held: Vec<(
        String,
        String,
        String,
        String,
        String,
        i32,
        Option<String>,
        i64,
    )> = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(LOAD_CHUNK) {
        lines.extend(
            db::fresh(
                order_lines::table
                    .inner_join(skus::table)
                    .filter(order_lines::order_id.eq_any(chunk))
                    .select((order_lines::order_id, skus::code, order_lines::qty))
                    .order((order_lines::order_id.asc(), order_lines::line_no.asc())),
            )
            .load::<(String, String, i64)>(c)?,
        );
        held.extend(
            db::fresh(
                reservations::table
                    .inner_join(lots::table.inner_join(skus::table))
                    .inner_join(locations::table)
                    .filter(reservations::order_id.eq_any(chunk))
                    .select((
                        reservations::order_id,
                        reservations::lot_id,
                        skus::code,
                        locations::id,
                        locations::code,
                        locations::walk_seq,
                        locations::zone,
                        reservations::qty,
                    ))
                    .order((
                        reservations::order_id.asc(),
                        reservations::line_no.asc(),
                        reservations::lot_id.asc(),
                        reservations::location_id.asc(),
                    )),
            )
            .load(c)?,
        );
    }
    let mut lines_of: HashMap<String, Vec<OrderLine>> = HashMap::new();
    for (order_id, sku_code, qty) in lines {
        lines_of
            .entry(order_id)
            .or_default()
            .push(OrderLine { sku_code, qty });
    }
    let mut picks_of: HashMap<String, Vec<Pick>> = HashMap::new();
    let mut location_ids = HashMap::new();
    for (order_id, lot_id, sku_code, location_id, location_code, walk_seq, zone, qty) in held {
        location_ids.insert(location_code.clone(), location_id);
        picks_of.entry(order_id).or_default().push(Pick {
            lot_id,
            sku_code,
            location_code,
            walk_seq: i64::from(walk_seq),
            // The zone is the aisle until locations carry one of their own.
            aisle: zone.unwrap_or_default(),
            qty,
        });
    }
    let mut orders = Vec::with_capacity(rows.len());
    let mut carrier_ids = Vec::with_capacity(rows.len());
    for (id, created_at, ship_by, carrier_id) in rows {
        orders.push(BatchOrder {
            lines: lines_of.remove(&id).unwrap_or_default(),
            picks: picks_of.remove(&id).unwrap_or_default(),
            carrier_code: carrier_id.as_ref().and_then(|c| code_of.get(c)).cloned(),
            ordered_at: created_at,
            ship_by,
            id,
        });
        carrier_ids.push(carrier_id);
    }
    Ok((orders, carrier_ids, location_ids))
}

/// Batches, oldest first, optionally of one status.
pub fn list(
    conn: &mut AnyConnection,
    status: Option<String>,
    page: &PageRequest,
) -> Result<Page<Batch>, AppError> {
    let mut query = batches::table
        .select((
            batches::id,
            batches::strategy,
            batches::carrier_id,
            batches::status,
            batches::created_at,
        ))
        .order(batches::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(batches::id.gt(after));
    }
    if let Some(status) = status {
        query = query.filter(batches::status.eq(status));
    }
    let rows: Vec<BatchRow> = query.load(conn)?;
    let found = details(conn, rows)?;
    Ok(Page::from_rows(found, page, |b| &b.id))
}

/// One batch with its orders and pick list.
pub fn get(conn: &mut AnyConnection, id: &str) -> Result<Batch, AppError> {
    let rows: Vec<BatchRow> = batches::table
        .filter(batches::id.eq(id))
        .select((
            batches::id,
            batches::strategy,
            batches::carrier_id,
            batches::status,
            batches::created_at,
        ))
        .load(conn)?;
    details(conn, rows)?
        .pop()
        .ok_or_else(|| AppError::not_found("batch", id))
}

/// The batches of `rows` with their orders and lines: three queries.
fn details(c: &mut AnyConnection, rows: Vec<BatchRow>) -> Result<Vec<Batch>, AppError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let code_of: HashMap<String, String> = carriers::table
        .select((carriers::id, carriers::code))
        .load::<(String, String)>(c)?
        .into_iter()
        .collect();
    let members: Vec<(String, String)> = batch_orders::table
        .filter(batch_orders::batch_id.eq_any(&ids))
        .select((batch_orders::batch_id, batch_orders::order_id))
        .order((batch_orders::batch_id.asc(), batch_orders::order_id.asc()))
        .load(c)?;
    #[allow(clippy::type_complexity)]
    let lines: Vec<(String, String, String, String, String, i64, i64, i32)> = batch_lines::table
        .inner_join(lots::table.inner_join(skus::table))
        .inner_join(locations::table)
        .filter(batch_lines::batch_id.eq_any(&ids))
        .select((
            batch_lines::batch_id,
            batch_lines::id,
            skus::code,
            batch_lines::lot_id,
            locations::code,
            batch_lines::qty,
            batch_lines::picked_qty,
            batch_lines::walk_seq,
        ))
        .order((
            batch_lines::batch_id.asc(),
            batch_lines::walk_seq.asc(),
            locations::code.asc(),
            batch_lines::lot_id.asc(),
        ))
        .load(c)?;
    let mut orders_of: HashMap<String, Vec<String>> = HashMap::new();
    for (batch_id, order_id) in members {
        orders_of.entry(batch_id).or_default().push(order_id);
    }
    let mut lines_of: HashMap<String, Vec<BatchLine>> = HashMap::new();
    for (batch_id, id, sku_code, lot_id, location_code, qty, picked_qty, walk_seq) in lines {
        lines_of.entry(batch_id).or_default().push(BatchLine {
            id,
            sku_code,
            lot_id,
            location_code,
            qty,
            picked_qty,
            walk_seq: i64::from(walk_seq),
        });
    }
    Ok(rows
        .into_iter()
        .map(|(id, strategy, carrier_id, status, created_at)| Batch {
            orders: orders_of.remove(&id).unwrap_or_default(),
            lines: lines_of.remove(&id).unwrap_or_default(),
            carrier_code: carrier_id.and_then(|c| code_of.get(&c).cloned()),
            id,
            strategy,
            status,
            created_at,
        })
        .collect())
}
