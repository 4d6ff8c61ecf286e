//! Orders from live sessions: bulk, idempotent ingest with all-or-nothing
//! reservation against sellable stock (FEFO), the backorder queue, cancel.
//!
//! Ingest is set-based: one request is one transaction whose statements do
//! not grow with its orders (only with chunks of 500 rows) — one lookup each
//! for merchants, SKUs, carriers and existing keys; one multi-row insert each
//! for orders, lines, reservations and trace events; one guarded update of
//! the stock rows touched (two statements on PostgreSQL) — placed first on a
//! snapshot of the stock and, if that misses, again under row locks from a
//! savepoint.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::backend::{self, SkuLock};
use crate::db::schema::{
    carriers, count_tasks, locations, lots, merchants, order_lines, orders, reservations, skus,
    stock, stock_holds,
};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::gs1::Gtin;
use crate::domain::ids::new_id;
use crate::domain::orders::{reserve_order, CheckedOrder, ShipByHours};
use crate::domain::page::{Page, PageRequest, CURSOR_ERROR};
use crate::domain::storage::{is_expired, Allocation, StockCandidate};
use crate::domain::time;
use crate::domain::trace::{biz_tx, lot_class, Action, BizStep, Disposition};
use crate::error::{AppError, FieldError, Problem};
use crate::on_backend;
use crate::services::trace::{insert_events, tx_uri, EventDraft};

/// Rows per multi-row INSERT: well under SQLite's 32,766 bound parameters.
const CHUNK: usize = 500;

/// One order of a push, as the HTTP layer checked it.
pub struct Incoming {
    pub external_id: String,
    /// `orders[i].` in a bulk request, empty for a single order.
    pub prefix: String,
    pub order: Result<Valid, Vec<FieldError>>,
}

/// An order whose fields are valid, with its merchant and body hash.
pub struct Valid {
    pub merchant_id: String,
    pub order: CheckedOrder,
    pub body_hash: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// New, and every line is reserved.
    Reserved,
    /// New, and waiting for stock (no line is reserved).
    Backordered,
    /// Already known with the same body: `order_id` is the existing order.
    Duplicate,
    /// Refused: `error` says why (a field, or a different body for a known key).
    Rejected,
}

/// The answer for one order of a push, in input order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IngestResult {
    pub external_id: String,
    pub order_id: Option<String>,
    pub status: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
    /// The error as an AppError, for the single-order endpoint's status.
    #[serde(skip)]
    pub cause: Option<AppError>,
}

impl IngestResult {
    fn rejected(external_id: String, cause: AppError) -> IngestResult {
        IngestResult {
            external_id,
            order_id: None,
            status: Outcome::Rejected,
            error: Some(cause.to_problem()),
            cause: Some(cause),
        }
    }

    fn done(external_id: String, order_id: String, status: Outcome) -> IngestResult {
        IngestResult {
            external_id,
            order_id: Some(order_id),
            status,
            error: None,
            cause: None,
        }
    }
}

/// A new order on its way into the database.
struct NewOrder {
    index: usize,
    id: String,
    merchant_id: String,
    carrier_id: Option<String>,
    order: CheckedOrder,
    body_hash: String,
    /// The merchant's deadline, else the order time plus the channel's hours.
    ship_by: NaiveDateTime,
    /// SKU id per line.
    sku_ids: Vec<String>,
}

type Key = (String, String, String);

/// A reservation row: ((order id, line no, lot id, location id), qty).
type ReservationRow<'a> = ((&'a str, i32, &'a str, &'a str), i64);

/// Sellable candidates per SKU id, and the EPC class of each lot.
type SellableStock = (
    HashMap<String, Vec<StockCandidate>>,
    HashMap<String, String>,
);

/// Ingests a push of orders: validates what needs the database, answers
/// duplicates and conflicts, inserts the new orders and reserves each one
/// whole or back-orders it, in input order, in one transaction. Each new
/// order's ship-by deadline is the one it sent (not before its order time,
/// the time of this transaction) or its order time plus its channel's
/// hours in `ship_by_hours`; stored with the order in the same multi-row
/// insert, so the ingest stays set-based.
pub fn ingest(
    conn: &mut AnyConnection,
    who: &Principal,
    incoming: &[Incoming],
    ship_by_hours: &ShipByHours,
) -> Result<Vec<IngestResult>, AppError> {
    db::write(conn, |c| {
        let now = time::now();
        let mut results: Vec<Option<IngestResult>> = (0..incoming.len()).map(|_| None).collect();
        let valid: Vec<(usize, &Incoming, &Valid)> = incoming
            .iter()
            .enumerate()
            .filter_map(|(i, inc)| inc.order.as_ref().ok().map(|v| (i, inc, v)))
            .collect();
        for (i, inc) in incoming.iter().enumerate() {
            if let Err(fields) = &inc.order {
                results[i] = Some(IngestResult::rejected(
                    inc.external_id.clone(),
                    AppError::Validation(fields.clone()),
                ));
            }
        }

        // One lookup each: merchants, SKUs, carriers, known keys.
        let merchant_ids: BTreeSet<&str> = valid.iter().map(|v| v.2.merchant_id.as_str()).collect();
        let merchant_rows: Vec<(String, bool)> = merchants::table
            .filter(merchants::id.eq_any(&merchant_ids))
            .select((merchants::id, merchants::active))
            .load(c)?;
        let inactive_merchants: BTreeSet<String> = merchant_rows
            .iter()
            .filter(|(_, active)| !active)
            .map(|(m, _)| m.clone())
            .collect();
        let known_merchants: BTreeSet<String> = merchant_rows
            .into_iter()
            .map(|(m, _)| m)
            .filter(|m| who.sees_merchant(m))
            .collect();
        let sku_codes: BTreeSet<&str> = valid
            .iter()
            .flat_map(|v| v.2.order.lines.iter().map(|(code, _)| code.as_str()))
            .collect();
        let sku_rows: Vec<(String, String, String)> = skus::table
            .filter(skus::merchant_id.eq_any(&merchant_ids))
            .filter(skus::code.eq_any(&sku_codes))
            .select((skus::merchant_id, skus::code, skus::id))
            .load(c)?;
        let sku_by_code: HashMap<(&str, &str), &str> = sku_rows
            .iter()
            .map(|(m, code, id)| ((m.as_str(), code.as_str()), id.as_str()))
            .collect();
        let carrier_codes: BTreeSet<&str> = valid
            .iter()
            .filter_map(|v| v.2.order.carrier_code.as_deref())
            .collect();
        let carrier_rows: Vec<(String, String, bool)> = carriers::table
            .filter(carriers::code.eq_any(&carrier_codes))
            .select((carriers::code, carriers::id, carriers::active))
            .load(c)?;
        let carrier_by_code: HashMap<&str, (&str, bool)> = carrier_rows
            .iter()
            .map(|(code, id, active)| (code.as_str(), (id.as_str(), *active)))
            .collect();
        let external_ids: BTreeSet<&str> = valid
            .iter()
            .map(|v| v.2.order.external_id.as_str())
            .collect();
        let channels: BTreeSet<&str> = valid.iter().map(|v| v.2.order.channel.as_str()).collect();
        let mut known = known_keys(c, &merchant_ids, &channels, &external_ids)?;

        let mut new_orders: Vec<NewOrder> = Vec::new();
        for (i, inc, v) in &valid {
            let p = &inc.prefix;
            if !known_merchants.contains(&v.merchant_id) {
                results[*i] = Some(IngestResult::rejected(
                    inc.external_id.clone(),
                    AppError::field(
                        format!("{p}merchant_id"),
                        format!("no merchant with id {}", v.merchant_id),
                    ),
                ));
                continue;
            }
            if inactive_merchants.contains(&v.merchant_id) {
                results[*i] = Some(IngestResult::rejected(
                    inc.external_id.clone(),
                    AppError::field(
                        format!("{p}merchant_id"),
                        format!(
                            "merchant {} is inactive; it takes no new orders",
                            v.merchant_id
                        ),
                    ),
                ));
                continue;
            }
            let mut errors = Vec::new();
            let mut sku_ids = Vec::new();
            for (l, (code, _)) in v.order.lines.iter().enumerate() {
                match sku_by_code.get(&(v.merchant_id.as_str(), code.as_str())) {
                    Some(id) => sku_ids.push(id.to_string()),
                    None => errors.push(FieldError::new(
                        format!("{p}lines[{}].sku_code", v.order.line_inputs[l]),
                        format!("this merchant has no SKU with code {code}"),
                    )),
                }
            }
            let carrier_id = match &v.order.carrier_code {
                Some(code) => match carrier_by_code.get(code.as_str()) {
                    Some((id, true)) => Some(id.to_string()),
                    Some((_, false)) => {
                        errors.push(FieldError::new(
                            format!("{p}carrier_code"),
                            format!("carrier {code} is inactive; it takes no new orders"),
                        ));
                        None
                    }
                    None => {
                        errors.push(FieldError::new(
                            format!("{p}carrier_code"),
                            format!("no carrier with code {code}"),
                        ));
                        None
                    }
                },
                None => None,
            };
            if !errors.is_empty() {
                results[*i] = Some(IngestResult::rejected(
                    inc.external_id.clone(),
                    AppError::Validation(errors),
                ));
                continue;
            }
            let key = (
                v.merchant_id.clone(),
                v.order.channel.clone(),
                v.order.external_id.clone(),
            );
            // A key seen before (in the database, or earlier in this push).
            if let Some((existing, hash)) = known.get(&key) {
                results[*i] = Some(if *hash == v.body_hash {
                    IngestResult::done(
                        inc.external_id.clone(),
                        existing.clone(),
                        Outcome::Duplicate,
                    )
                } else {
                    conflict(inc.external_id.clone(), &key, existing)
                });
                continue;
            }
            // Checked for new orders only: a retry of a stored order whose
            // deadline has passed since is still its duplicate.
            if let Some(given) = v.order.ship_by.filter(|t| *t < now) {
                results[*i] = Some(IngestResult::rejected(
                    inc.external_id.clone(),
                    AppError::field(
                        format!("{p}ship_by"),
                        format!(
                            "{} is before the order time {}; a deadline cannot have passed already",
                            time::rfc3339(&given),
                            time::rfc3339(&now)
                        ),
                    ),
                ));
                continue;
            }
            let id = new_id("ord");
            known.insert(key, (id.clone(), v.body_hash.clone()));
            new_orders.push(NewOrder {
                index: *i,
                id,
                merchant_id: v.merchant_id.clone(),
                carrier_id,
                ship_by: ship_by_hours.ship_by(&v.order.channel, now, v.order.ship_by),
                order: v.order.clone(),
                body_hash: v.body_hash.clone(),
                sku_ids,
            });
        }

        // First on a snapshot of the stock, which keeps the hot SKU's rows
        // locked only for the last statement and the commit; if another
        // push took the units meanwhile, again from the savepoint under
        // row locks, which cannot miss.
        let skus: Vec<String> = new_orders
            .iter()
            .flat_map(|o| o.sku_ids.iter().cloned())
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        backend::lock_skus(c, &skus, SkuLock::Shared)?;
        let placed = db::savepoint(c, |c| {
            place_on_snapshot(c, who, incoming, &mut new_orders, &skus, now)
        })?;
        let placed = match placed {
            Some(placed) => placed,
            None => place_under_lock(c, who, incoming, new_orders, &skus, now)?,
        };
        for (index, result) in placed {
            results[index] = Some(result);
        }

        results
            .into_iter()
            .map(|r| r.ok_or_else(|| AppError::Internal("an order got no answer".into())))
            .collect()
    })
}

/// Answers for orders of a push, by input index.
type Placed = Vec<(usize, IngestResult)>;

/// Plans every new order against the sellable stock as the snapshot shows
/// it (in order time, all lines or none), inserts the orders with their
/// final status, their lines, reservations and trace events, and adds to
/// `stock.reserved` last with guarded updates. None — and the caller rolls
/// back to its savepoint and places the push under lock — when a guard
/// found less than the snapshot showed (a concurrent push took it), or when
/// another push stored one of the keys first (the plan counted that order).
/// On SQLite the snapshot is the current state (the writer lock is held)
/// and no key race can happen, so it never misses.
fn place_on_snapshot(
    c: &mut AnyConnection,
    who: &Principal,
    incoming: &[Incoming],
    new_orders: &mut [NewOrder],
    skus: &[String],
    now: NaiveDateTime,
) -> Result<Option<Placed>, AppError> {
    let (stock, classes) = sellable_stock(c, skus, now.date(), false)?;
    let planned = plan_in_order_time(new_orders.iter(), stock);
    let reserved: BTreeSet<&str> = planned.iter().map(|p| p.order_id.as_str()).collect();
    let inserted = insert_orders(c, who, new_orders, &reserved, now)?;
    if inserted.len() != new_orders.len() {
        return Ok(None);
    }
    let winners: Vec<&NewOrder> = new_orders.iter().collect();
    insert_lines(c, &winners)?;
    let rows = write_reservations(c, who, &planned, &classes, now)?;
    if !backend::add_reserved(c, &stock_totals(&rows))? {
        return Ok(None);
    }
    Ok(Some(answer_winners(incoming, &winners, &reserved)))
}

/// The fallback: inserts the orders back-ordered (answering those whose key
/// another push stored first), then locks the stock rows of their SKUs,
/// reads them, plans and reserves; nothing can take the units between the
/// read and the update.
fn place_under_lock(
    c: &mut AnyConnection,
    who: &Principal,
    incoming: &[Incoming],
    mut new_orders: Vec<NewOrder>,
    skus: &[String],
    now: NaiveDateTime,
) -> Result<Placed, AppError> {
    let inserted = insert_orders(c, who, &mut new_orders, &BTreeSet::new(), now)?;
    let (winners, losers): (Vec<&NewOrder>, Vec<&NewOrder>) =
        new_orders.iter().partition(|o| inserted.contains(&o.id));
    let mut placed = answer_losers(c, incoming, &losers)?;
    insert_lines(c, &winners)?;
    let (stock, classes) = sellable_stock(c, skus, now.date(), true)?;
    let planned = plan_in_order_time(winners.iter().copied(), stock);
    apply_reservations(c, who, &planned, &classes, now)?;
    let reserved: BTreeSet<&str> = planned.iter().map(|p| p.order_id.as_str()).collect();
    placed.extend(answer_winners(incoming, &winners, &reserved));
    Ok(placed)
}

/// The answers for the orders this push stored: reserved if planned, else
/// back-ordered.
fn answer_winners(
    incoming: &[Incoming],
    winners: &[&NewOrder],
    reserved: &BTreeSet<&str>,
) -> Placed {
    winners
        .iter()
        .map(|o| {
            let outcome = if reserved.contains(o.id.as_str()) {
                Outcome::Reserved
            } else {
                Outcome::Backordered
            };
            let external = incoming[o.index].external_id.clone();
            (o.index, IngestResult::done(external, o.id.clone(), outcome))
        })
        .collect()
}

/// Reserves orders whole or not at all, oldest first (ids sort by time).
fn plan_in_order_time<'a>(
    orders: impl Iterator<Item = &'a NewOrder>,
    mut stock: HashMap<String, Vec<StockCandidate>>,
) -> Vec<Planned> {
    let mut by_time: Vec<&NewOrder> = orders.collect();
    by_time.sort_by(|a, b| a.id.cmp(&b.id));
    by_time
        .into_iter()
        .filter_map(|o| {
            let lines: Vec<(String, i64)> = o
                .sku_ids
                .iter()
                .zip(&o.order.lines)
                .map(|(sku, (_, qty))| (sku.clone(), *qty))
                .collect();
            reserve_order(&lines, &mut stock).map(|allocations| Planned {
                order_id: o.id.clone(),
                allocations,
            })
        })
        .collect()
}

/// Orders whose key another push stored while this one ran: a duplicate
/// when that push had the same body, else a conflict.
fn answer_losers(
    c: &mut AnyConnection,
    incoming: &[Incoming],
    losers: &[&NewOrder],
) -> Result<Placed, AppError> {
    if losers.is_empty() {
        return Ok(Vec::new());
    }
    let merchants: BTreeSet<&str> = losers.iter().map(|o| o.merchant_id.as_str()).collect();
    let channels: BTreeSet<&str> = losers.iter().map(|o| o.order.channel.as_str()).collect();
    let externals: BTreeSet<&str> = losers
        .iter()
        .map(|o| o.order.external_id.as_str())
        .collect();
    let stored = known_keys(c, &merchants, &channels, &externals)?;
    Ok(losers
        .iter()
        .map(|o| {
            let key = (
                o.merchant_id.clone(),
                o.order.channel.clone(),
                o.order.external_id.clone(),
            );
            let external = incoming[o.index].external_id.clone();
            let result = match stored.get(&key) {
                Some((id, hash)) if *hash == o.body_hash => {
                    IngestResult::done(external, id.clone(), Outcome::Duplicate)
                }
                Some((id, _)) => conflict(external, &key, id),
                None => IngestResult::rejected(
                    external,
                    AppError::Unavailable("a concurrent push got in the way; retry".into()),
                ),
            };
            (o.index, result)
        })
        .collect())
}

fn conflict(external_id: String, key: &Key, existing: &str) -> IngestResult {
    IngestResult::rejected(
        external_id,
        AppError::Conflict(format!(
            "order {} of channel {} was pushed before with a different body (order {existing}); \
             a retry must repeat the same order (the same lines, quantities and address)",
            key.2, key.1
        )),
    )
}

/// Orders already stored under these merchants, channels and external ids:
/// key → (id, body hash).
fn known_keys(
    c: &mut AnyConnection,
    merchant_ids: &BTreeSet<&str>,
    channels: &BTreeSet<&str>,
    external_ids: &BTreeSet<&str>,
) -> Result<HashMap<Key, (String, String)>, AppError> {
    let mut known = HashMap::new();
    let externals: Vec<&str> = external_ids.iter().copied().collect();
    let merchants: Vec<&str> = merchant_ids.iter().copied().collect();
    let channels: Vec<&str> = channels.iter().copied().collect();
    for chunk in externals.chunks(CHUNK) {
        for row in backend::find_order_keys(c, &merchants, &channels, chunk)? {
            known.insert(
                (row.merchant_id, row.channel, row.external_id),
                (row.id, row.body_hash),
            );
        }
    }
    Ok(known)
}

/// Inserts the orders with their status (in key order, so that concurrent
/// pushes take the keys in the same order) and answers the ids actually
/// inserted: a key another transaction inserted meanwhile is skipped.
fn insert_orders(
    c: &mut AnyConnection,
    who: &Principal,
    new_orders: &mut [NewOrder],
    reserved: &BTreeSet<&str>,
    now: NaiveDateTime,
) -> Result<BTreeSet<String>, AppError> {
    new_orders.sort_by(|a, b| {
        (&a.merchant_id, &a.order.channel, &a.order.external_id).cmp(&(
            &b.merchant_id,
            &b.order.channel,
            &b.order.external_id,
        ))
    });
    let mut inserted = BTreeSet::new();
    for chunk in new_orders.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|o| {
                (
                    orders::id.eq(&o.id),
                    orders::merchant_id.eq(&o.merchant_id),
                    orders::channel.eq(&o.order.channel),
                    orders::external_id.eq(&o.order.external_id),
                    orders::live_session.eq(&o.order.live_session),
                    orders::carrier_id.eq(&o.carrier_id),
                    orders::ship_name.eq(&o.order.name),
                    orders::ship_phone.eq(&o.order.phone),
                    orders::ship_address.eq(&o.order.address),
                    orders::ship_city.eq(&o.order.city),
                    orders::ship_province.eq(&o.order.province),
                    orders::ship_postcode.eq(&o.order.postcode),
                    (
                        orders::status.eq(if reserved.contains(o.id.as_str()) {
                            "reserved"
                        } else {
                            "backordered"
                        }),
                        orders::units.eq(o.order.units()),
                        orders::body_hash.eq(&o.body_hash),
                        orders::created_at.eq(now),
                        orders::created_by.eq(&who.token_id),
                        orders::updated_at.eq(now),
                        orders::ship_by.eq(o.ship_by),
                    ),
                )
            })
            .collect();
        let ids: Vec<String> = on_backend!(c, |inner| diesel::insert_into(orders::table)
            .values(rows)
            .on_conflict_do_nothing()
            .returning(orders::id)
            .get_results(inner))?;
        inserted.extend(ids);
    }
    Ok(inserted)
}

fn insert_lines(c: &mut AnyConnection, new_orders: &[&NewOrder]) -> Result<(), AppError> {
    let lines: Vec<(&str, i32, &str, i64, Option<String>)> = new_orders
        .iter()
        .flat_map(|o| {
            o.sku_ids
                .iter()
                .zip(&o.order.lines)
                .zip(&o.order.line_refs)
                .enumerate()
                .map(move |(i, ((sku, (_, qty)), refs))| {
                    let refs =
                        (!refs.is_empty()).then(|| serde_json::to_string(refs).unwrap_or_default());
                    (o.id.as_str(), i as i32 + 1, sku.as_str(), *qty, refs)
                })
        })
        .collect();
    for chunk in lines.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(order, line, sku, qty, refs)| {
                (
                    order_lines::order_id.eq(*order),
                    order_lines::line_no.eq(*line),
                    order_lines::sku_id.eq(*sku),
                    order_lines::qty.eq(*qty),
                    order_lines::line_refs.eq(refs.as_deref()),
                )
            })
            .collect();
        on_backend!(c, |inner| diesel::insert_into(order_lines::table)
            .values(rows)
            .execute(inner))?;
    }
    Ok(())
}

/// One order's reservation: per line index, what it takes from where.
struct Planned {
    order_id: String,
    allocations: Vec<(usize, Allocation)>,
}

/// Sellable stock of the SKUs — with `lock`, its rows locked for the rest of
/// the transaction (PostgreSQL) — as candidates per SKU for FEFO, and the
/// EPC class of each lot for the trace.
fn sellable_stock(
    c: &mut AnyConnection,
    sku_ids: &[String],
    today: NaiveDate,
    lock: bool,
) -> Result<SellableStock, AppError> {
    let mut by_sku: HashMap<String, Vec<StockCandidate>> = HashMap::new();
    let mut classes: HashMap<String, String> = HashMap::new();
    if sku_ids.is_empty() {
        return Ok((by_sku, classes));
    }
    if lock {
        backend::lock_stock_of_skus(c, sku_ids)?;
    }
    type Row = (
        String,
        String,
        String,
        i32,
        i64,
        i64,
        String,
        String,
        Option<NaiveDate>,
        NaiveDateTime,
        Option<String>,
    );
    let rows: Vec<Row> = stock::table
        .inner_join(locations::table)
        .inner_join(lots::table.inner_join(skus::table))
        .filter(lots::sku_id.eq_any(sku_ids))
        .filter(locations::kind.eq("storage"))
        .filter(lots::status.eq("accepted"))
        .filter((stock::on_hand - stock::reserved).gt(0))
        .select((
            stock::lot_id,
            stock::location_id,
            locations::code,
            locations::walk_seq,
            stock::on_hand,
            stock::reserved,
            lots::sku_id,
            lots::lot_code,
            lots::expiry_date,
            lots::created_at,
            skus::gtin,
        ))
        .load(c)?;
    let lot_ids: BTreeSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let holds: Vec<(String, Option<String>)> = stock_holds::table
        .filter(stock_holds::lot_id.eq_any(&lot_ids))
        .filter(stock_holds::released_at.is_null())
        .select((stock_holds::lot_id, stock_holds::location_id))
        .load(c)?;
    // A bin that came up short at a pick is suspect until it is counted: its
    // units of that lot are reserved again only after the count closes the
    // task (services::picking).
    let to_count: BTreeSet<(String, String)> = count_tasks::table
        .filter(count_tasks::lot_id.eq_any(&lot_ids))
        .filter(count_tasks::status.eq("open"))
        .select((count_tasks::lot_id, count_tasks::location_id))
        .load::<(String, String)>(c)?
        .into_iter()
        .collect();
    for r in &rows {
        let held = holds
            .iter()
            .any(|(lot, loc)| *lot == r.0 && loc.as_ref().is_none_or(|l| *l == r.1));
        let suspect = to_count.contains(&(r.0.clone(), r.1.clone()));
        if held || suspect || is_expired(r.8, today) {
            continue;
        }
        let gtin14 =
            r.10.as_deref()
                .and_then(|g| Gtin::parse(g).ok())
                .map(|g| g.to_gtin14());
        classes
            .entry(r.0.clone())
            .or_insert_with(|| lot_class(gtin14.as_deref(), &r.7, &r.0));
        by_sku.entry(r.6.clone()).or_default().push(StockCandidate {
            lot_id: r.0.clone(),
            location_id: r.1.clone(),
            location_code: r.2.clone(),
            expiry_date: r.8,
            received_at: r.9,
            walk_seq: r.3,
            available: r.4 - r.5,
        });
    }
    Ok((by_sku, classes))
}

/// Writes planned reservations whole: the rows, `stock.reserved` (guarded),
/// the orders' status, and one trace event per reservation. For orders that
/// were stored back-ordered; a guard that finds less than planned is a 503,
/// which cannot happen under the lock the caller holds.
fn apply_reservations(
    c: &mut AnyConnection,
    who: &Principal,
    planned: &[Planned],
    classes: &HashMap<String, String>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if planned.is_empty() {
        return Ok(());
    }
    let rows = write_reservations(c, who, planned, classes, now)?;
    if !backend::add_reserved(c, &stock_totals(&rows))? {
        return Err(AppError::Unavailable(
            "stock changed while the orders were reserved; retry the push".into(),
        ));
    }
    let ids: Vec<&str> = planned.iter().map(|p| p.order_id.as_str()).collect();
    let mut marked = 0;
    for chunk in ids.chunks(CHUNK) {
        marked += diesel::update(
            orders::table
                .filter(orders::id.eq_any(chunk))
                .filter(orders::status.eq("backordered")),
        )
        .set((orders::status.eq("reserved"), orders::updated_at.eq(now)))
        .execute(c)?;
    }
    if marked != ids.len() {
        // An order changed (cancelled, served) after it was read: the locks
        // should make that impossible; refuse rather than revive it.
        return Err(AppError::Unavailable(
            "an order changed while back-orders were served; retry".into(),
        ));
    }
    Ok(())
}

/// Inserts the reservation rows of planned orders and their trace events
/// (EPCIS TransactionEvent ADD, disposition reserved); answers the rows.
fn write_reservations<'a>(
    c: &mut AnyConnection,
    who: &Principal,
    planned: &'a [Planned],
    classes: &HashMap<String, String>,
    now: NaiveDateTime,
) -> Result<Vec<ReservationRow<'a>>, AppError> {
    // Lines of one order take from one lot × bin at most once each.
    let mut rows: BTreeMap<(&str, i32, &str, &str), i64> = BTreeMap::new();
    for p in planned {
        for (line, a) in &p.allocations {
            *rows
                .entry((
                    p.order_id.as_str(),
                    *line as i32 + 1,
                    a.lot_id.as_str(),
                    a.location_id.as_str(),
                ))
                .or_insert(0) += a.qty;
        }
    }
    let rows: Vec<ReservationRow> = rows.into_iter().collect();
    for chunk in rows.chunks(CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|((order, line, lot, loc), qty)| {
                (
                    reservations::order_id.eq(*order),
                    reservations::line_no.eq(*line),
                    reservations::lot_id.eq(*lot),
                    reservations::location_id.eq(*loc),
                    reservations::qty.eq(*qty),
                )
            })
            .collect();
        on_backend!(c, |inner| diesel::insert_into(reservations::table)
            .values(values)
            .execute(inner))?;
    }
    record_reservation_events(c, who, &rows, classes, Action::Add, None, now)?;
    Ok(rows)
}

/// Units to add to each stock row (lot, location), in that order.
fn stock_totals<'a>(rows: &[ReservationRow<'a>]) -> Vec<(&'a str, &'a str, i64)> {
    let mut per_stock: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for ((_, _, lot, loc), qty) in rows {
        *per_stock.entry((*lot, *loc)).or_insert(0) += qty;
    }
    per_stock
        .into_iter()
        .map(|((lot, loc), qty)| (lot, loc, qty))
        .collect()
}

/// EPCIS 2.0 TransactionEvents, many at once: each associates (ADD) or
/// dissociates (DELETE) a lot quantity at a bin with the order, a CBV `po`
/// business transaction.
fn record_reservation_events(
    c: &mut AnyConnection,
    who: &Principal,
    rows: &[ReservationRow],
    classes: &HashMap<String, String>,
    action: Action,
    disposition: Option<Disposition>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let drafts: Vec<EventDraft> = rows
        .iter()
        .map(|((order, _, lot, loc), qty)| EventDraft {
            event_type: "TransactionEvent",
            action: action.as_str(),
            event_time: now,
            biz_step: BizStep::Other.as_str(),
            disposition: disposition.map_or("", Disposition::as_str),
            lot_id: Some(*lot),
            what_class: match classes.get(*lot) {
                Some(class) => Cow::Borrowed(class.as_str()),
                None => Cow::Owned(format!("urn:depot:lot:{lot}")),
            },
            quantity: Some(*qty),
            location_id: Some(*loc),
            biz_tx_type: Some(biz_tx::PURCHASE_ORDER),
            biz_tx_id: Some(tx_uri("order", order)),
            actor: Some(&who.token_id),
            details: None,
            parent_id: None,
        })
        .collect();
    insert_events(c, &drafts, now)?;
    Ok(())
}

/// Serves back-ordered orders that need any of these SKUs, oldest first,
/// from the sellable stock there is now: each is reserved whole if it can be;
/// one that cannot waits, and younger ones may still be served. Called in the
/// transaction that made stock sellable (putaway, a released hold, a cancel).
pub fn serve_backorders(
    c: &mut AnyConnection,
    who: &Principal,
    sku_ids: &[String],
) -> Result<usize, AppError> {
    Ok(serve_backorders_listed(c, who, sku_ids)?.len())
}

/// [`serve_backorders`], answering the ids of the orders it reserved, oldest first.
pub(crate) fn serve_backorders_listed(
    c: &mut AnyConnection,
    who: &Principal,
    sku_ids: &[String],
) -> Result<Vec<String>, AppError> {
    if sku_ids.is_empty() {
        return Ok(Vec::new());
    }
    // The caller took these first, before any stock row; taking them again
    // is a no-op that keeps this function safe to call on its own.
    backend::lock_skus(c, sku_ids, SkuLock::Exclusive)?;
    let waiting: Vec<String> = db::fresh(
        orders::table
            .filter(orders::status.eq("backordered"))
            .filter(
                orders::id.eq_any(
                    order_lines::table
                        .filter(order_lines::sku_id.eq_any(sku_ids))
                        .select(order_lines::order_id),
                ),
            )
            .order(orders::id.asc())
            .select(orders::id),
    )
    .load(c)?;
    if waiting.is_empty() {
        return Ok(Vec::new());
    }
    let mut lines_of: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for chunk in waiting.chunks(CHUNK) {
        let lines: Vec<(String, String, i64)> = db::fresh(
            order_lines::table
                .filter(order_lines::order_id.eq_any(chunk))
                .order((order_lines::order_id.asc(), order_lines::line_no.asc()))
                .select((order_lines::order_id, order_lines::sku_id, order_lines::qty)),
        )
        .load(c)?;
        for (order, sku, qty) in lines {
            lines_of.entry(order).or_default().push((sku, qty));
        }
    }
    let skus: Vec<String> = lines_of
        .values()
        .flat_map(|l| l.iter().map(|(s, _)| s.clone()))
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    // The other SKUs of multi-line orders: two back-order runs that need
    // each other's SKUs can deadlock here, and one of them answers 503.
    backend::lock_skus(c, &skus, SkuLock::Exclusive)?;
    let now = time::now();
    let (mut stock_left, classes) = sellable_stock(c, &skus, now.date(), true)?;
    let mut planned = Vec::new();
    for (order_id, lines) in &lines_of {
        if let Some(allocations) = reserve_order(lines, &mut stock_left) {
            planned.push(Planned {
                order_id: order_id.clone(),
                allocations,
            });
        }
    }
    apply_reservations(c, who, &planned, &classes, now)?;
    Ok(planned.into_iter().map(|p| p.order_id).collect())
}

// ------------------------------------------------------------------ reading

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderLine {
    pub line_no: i32,
    pub sku_code: String,
    pub qty: i64,
    /// The merchant's references of the pushed lines merged into this one
    /// (two lines of one SKU, such as a gift and the paid item, are one line).
    pub line_refs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reservation {
    pub line_no: i32,
    pub lot_id: String,
    pub lot_code: String,
    pub location_code: String,
    pub qty: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShipTo {
    pub name: String,
    pub phone: String,
    pub address: String,
    pub city: String,
    pub province: String,
    pub postcode: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Order {
    pub id: String,
    pub merchant_id: String,
    pub channel: String,
    pub external_id: String,
    pub live_session: Option<String>,
    pub carrier_id: Option<String>,
    pub ship_to: ShipTo,
    /// reserved, backordered, cancelled, picked, packed, dispatched, delivered or returned.
    pub status: String,
    pub units: i64,
    pub lines: Vec<OrderLine>,
    /// What is held for the order, lot by lot and bin by bin (FEFO).
    pub reservations: Vec<Reservation>,
    /// Units of the order that came back, oldest return first.
    pub returns: Vec<crate::services::returns::ReturnSummary>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: NaiveDateTime,
    /// The deadline the order must leave by: the one the merchant sent, else
    /// the order time plus its channel's promise (`DEPOT_SHIP_BY_HOURS`).
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub ship_by: NaiveDateTime,
    /// Its parcels with their status history (one order's view; lists
    /// leave it out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parcels: Option<Vec<crate::services::dispatch::OrderParcel>>,
}

#[derive(Queryable)]
struct OrderRow {
    id: String,
    merchant_id: String,
    channel: String,
    external_id: String,
    live_session: Option<String>,
    carrier_id: Option<String>,
    ship_name: String,
    ship_phone: String,
    ship_address: String,
    ship_city: String,
    ship_province: String,
    ship_postcode: Option<String>,
    status: String,
    units: i64,
    _body_hash: String,
    created_at: NaiveDateTime,
    created_by: Option<String>,
    updated_at: NaiveDateTime,
    _batch_id: Option<String>,
    ship_by: NaiveDateTime,
}

/// Orders with their lines and reservations: two queries per 500 orders.
fn to_orders(c: &mut AnyConnection, rows: Vec<OrderRow>) -> Result<Vec<Order>, AppError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut lines_of: HashMap<String, Vec<OrderLine>> = HashMap::new();
    let mut held_of: HashMap<String, Vec<Reservation>> = HashMap::new();
    let mut returns_of = crate::services::returns::summaries_for_orders(c, &ids)?;
    for chunk in ids.chunks(CHUNK) {
        let lines: Vec<(String, i32, String, i64, Option<String>)> = db::fresh(
            order_lines::table
                .inner_join(skus::table)
                .filter(order_lines::order_id.eq_any(chunk))
                .order((order_lines::order_id.asc(), order_lines::line_no.asc()))
                .select((
                    order_lines::order_id,
                    order_lines::line_no,
                    skus::code,
                    order_lines::qty,
                    order_lines::line_refs,
                )),
        )
        .load(c)?;
        for (order_id, line_no, sku_code, qty, refs) in lines {
            let line_refs = refs
                .and_then(|r| serde_json::from_str(&r).ok())
                .unwrap_or_default();
            lines_of.entry(order_id).or_default().push(OrderLine {
                line_no,
                sku_code,
                qty,
                line_refs,
            });
        }
        let held: Vec<(String, i32, String, String, String, i64)> = db::fresh(
            reservations::table
                .inner_join(lots::table)
                .inner_join(locations::table)
                .filter(reservations::order_id.eq_any(chunk))
                .order((
                    reservations::order_id.asc(),
                    reservations::line_no.asc(),
                    reservations::lot_id.asc(),
                ))
                .select((
                    reservations::order_id,
                    reservations::line_no,
                    reservations::lot_id,
                    lots::lot_code,
                    locations::code,
                    reservations::qty,
                )),
        )
        .load(c)?;
        for (order_id, line_no, lot_id, lot_code, location_code, qty) in held {
            held_of.entry(order_id).or_default().push(Reservation {
                line_no,
                lot_id,
                lot_code,
                location_code,
                qty,
            });
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| Order {
            lines: lines_of.remove(&r.id).unwrap_or_default(),
            reservations: held_of.remove(&r.id).unwrap_or_default(),
            returns: returns_of.remove(&r.id).unwrap_or_default(),
            id: r.id,
            merchant_id: r.merchant_id,
            channel: r.channel,
            external_id: r.external_id,
            live_session: r.live_session,
            carrier_id: r.carrier_id,
            ship_to: ShipTo {
                name: r.ship_name,
                phone: r.ship_phone,
                address: r.ship_address,
                city: r.ship_city,
                province: r.ship_province,
                postcode: r.ship_postcode,
            },
            status: r.status,
            units: r.units,
            created_at: r.created_at,
            created_by: r.created_by,
            updated_at: r.updated_at,
            ship_by: r.ship_by,
            parcels: None,
        })
        .collect())
}

/// The orders with these ids that the caller may see, by id; others are
/// left out (as if they did not exist).
pub fn get_many(
    conn: &mut AnyConnection,
    who: &Principal,
    ids: &[String],
) -> Result<HashMap<String, Order>, AppError> {
    let mut rows: Vec<OrderRow> = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let found: Vec<OrderRow> = db::fresh(
            orders::table
                .filter(orders::id.eq_any(chunk))
                .select(orders::all_columns),
        )
        .load(conn)?;
        rows.extend(
            found
                .into_iter()
                .filter(|r| who.sees_merchant(&r.merchant_id)),
        );
    }
    Ok(to_orders(conn, rows)?
        .into_iter()
        .map(|o| (o.id.clone(), o))
        .collect())
}

/// One order; another merchant's is a 404.
pub fn get(conn: &mut AnyConnection, who: &Principal, id: &str) -> Result<Order, AppError> {
    let row: Option<OrderRow> = orders::table
        .find(id)
        .select(orders::all_columns)
        .first(conn)
        .optional()?;
    match row {
        Some(r) if who.sees_merchant(&r.merchant_id) => {
            let mut order = to_orders(conn, vec![r])?
                .pop()
                .ok_or_else(|| AppError::Internal("an order row read back as nothing".into()))?;
            order.parcels = Some(crate::services::dispatch::order_parcels(conn, id)?);
            Ok(order)
        }
        _ => Err(AppError::not_found("order", id)),
    }
}

pub struct OrderFilter {
    pub status: Option<String>,
    pub live_session: Option<String>,
    pub external_id: Option<String>,
    pub channel: Option<String>,
    /// Arrived at or after.
    pub from: Option<NaiveDateTime>,
    /// Arrived before.
    pub to: Option<NaiveDateTime>,
    /// Still to leave (reserved, back-ordered or picked) with a deadline
    /// before this: listed most urgent first.
    pub ship_by_before: Option<NaiveDateTime>,
}

/// The statuses of orders that have still to leave the warehouse.
pub const TO_LEAVE: [&str; 3] = ["reserved", "backordered", "picked"];

/// The cursor key of an order in the ship-by listing:
/// `<ship_by as YYYYMMDDHHMMSSffffff>_<id>`, which sorts as (ship_by, id).
fn ship_by_key(ship_by: &NaiveDateTime, id: &str) -> String {
    format!("{}_{id}", ship_by.format("%Y%m%d%H%M%S%6f"))
}

fn parse_ship_by_key(key: &str) -> Option<(NaiveDateTime, &str)> {
    let (at, id) = key.split_once('_')?;
    let at = NaiveDateTime::parse_from_str(at, "%Y%m%d%H%M%S%6f").ok()?;
    Some((at, id))
}

/// Orders by id (= time of ingest); a merchant's own. With
/// `ship_by_before`, the orders still to leave whose deadline is before it,
/// most urgent first (ship-by, then id; the cursor is [`ship_by_key`]).
pub fn list(
    conn: &mut AnyConnection,
    who: &Principal,
    filter: OrderFilter,
    page: &PageRequest,
) -> Result<Page<Order>, AppError> {
    let mut query = orders::table
        .select(orders::all_columns)
        .limit(page.fetch())
        .into_boxed();
    let urgent = filter.ship_by_before.is_some();
    if let Some(before) = filter.ship_by_before {
        query = query
            .filter(orders::status.eq_any(TO_LEAVE))
            .filter(orders::ship_by.lt(before))
            .order((orders::ship_by.asc(), orders::id.asc()));
        if let Some(after) = &page.after {
            // A cursor of the id listing does not name a place here.
            let (at, id) = parse_ship_by_key(after).ok_or_else(|| {
                AppError::BadRequestFields(
                    format!("the query string is not valid: cursor {CURSOR_ERROR}"),
                    vec![FieldError::new("cursor", CURSOR_ERROR)],
                )
            })?;
            query = query.filter(
                orders::ship_by
                    .gt(at)
                    .or(orders::ship_by.eq(at).and(orders::id.gt(id.to_string()))),
            );
        }
    } else {
        query = query.order(orders::id.asc());
        if let Some(after) = &page.after {
            query = query.filter(orders::id.gt(after.clone()));
        }
    }
    if let Some(own) = &who.merchant_id {
        query = query.filter(orders::merchant_id.eq(own.clone()));
    }
    if let Some(status) = filter.status {
        query = query.filter(orders::status.eq(status));
    }
    if let Some(session) = filter.live_session {
        query = query.filter(orders::live_session.eq(session));
    }
    if let Some(external_id) = filter.external_id {
        query = query.filter(orders::external_id.eq(external_id));
    }
    if let Some(channel) = filter.channel {
        query = query.filter(orders::channel.eq(channel));
    }
    if let Some(from) = filter.from {
        query = query.filter(orders::created_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(orders::created_at.lt(to));
    }
    let rows: Vec<OrderRow> = query.load(conn)?;
    let items = to_orders(conn, rows)?;
    if !urgent {
        return Ok(Page::from_rows(items, page, |o| &o.id));
    }
    let keyed: Vec<(String, Order)> = items
        .into_iter()
        .map(|o| (ship_by_key(&o.ship_by, &o.id), o))
        .collect();
    let keyed = Page::from_rows(keyed, page, |(k, _)| k);
    Ok(Page {
        items: keyed.items.into_iter().map(|(_, o)| o).collect(),
        next_cursor: keyed.next_cursor,
    })
}

/// Cancels an order that is reserved or back-ordered (not yet picked): its
/// reservations are released (those at the packing location of a partly
/// picked order too: the units stay there, unreserved), back-ordered orders
/// of its SKUs are served from what it gave back, and a batch it was in
/// follows (`services::picking::follow_orders`). Cancelling twice is a 409 naming the state.
pub fn cancel(conn: &mut AnyConnection, who: &Principal, id: &str) -> Result<Order, AppError> {
    db::write(conn, |c| cancel_in(c, who, id))
}

/// [`cancel`] inside the caller's write transaction (a recall cancels the
/// orders it took stock from in its own).
pub(crate) fn cancel_in(
    c: &mut AnyConnection,
    who: &Principal,
    id: &str,
) -> Result<Order, AppError> {
    {
        // Another merchant's order is a 404 before anything is locked.
        let owner: Option<String> = orders::table
            .find(id)
            .select(orders::merchant_id)
            .first(c)
            .optional()?;
        if !owner.is_some_and(|m| who.sees_merchant(&m)) {
            return Err(AppError::not_found("order", id));
        }
        // First: the units it gives back serve the back-order queue.
        let order_skus: Vec<String> = order_lines::table
            .filter(order_lines::order_id.eq(id))
            .select(order_lines::sku_id)
            .load(c)?;
        backend::lock_skus(c, &order_skus, SkuLock::Exclusive)?;
        let status: String = orders::table.find(id).select(orders::status).first(c)?;
        if status == "cancelled" {
            return Err(AppError::InvalidState(format!(
                "order {id} is already cancelled"
            )));
        }
        // The brief's "until picked": its units are at the packing location.
        // Once picked (or packed, or further), it can only be returned.
        if status != "reserved" && status != "backordered" {
            return Err(AppError::InvalidState(format!(
                "order {id} is {status}; it can no longer be cancelled"
            )));
        }
        let now = time::now();
        let updated = diesel::update(orders::table.find(id).filter(orders::status.eq(&status)))
            .set((orders::status.eq("cancelled"), orders::updated_at.eq(now)))
            .execute(c)?;
        if updated == 0 {
            return Err(AppError::InvalidState(format!(
                "order {id} changed while this request ran; read it again"
            )));
        }
        let batch_id: Option<String> = orders::table.find(id).select(orders::batch_id).first(c)?;
        // Units it already picked are released at the packing location too.
        let skus = release_reservations(
            c,
            who,
            &[id.to_string()],
            Disposition::SellableAccessible,
            now,
        )?;
        serve_backorders(c, who, &skus)?;
        // Its batch follows: its unpicked units leave the pick list.
        if let Some(batch_id) = batch_id {
            crate::services::picking::follow_orders(c, &batch_id)?;
        }
        get(c, who, id)
    }
}

/// Takes back everything these orders hold: `stock.reserved` goes down by
/// their reservations, the rows are deleted, and each gets an EPCIS
/// TransactionEvent DELETE (the lot quantity dissociated from the order)
/// with `disposition` for the units. Answers the SKUs of the orders, for
/// the caller to serve back-orders once the stock is where it belongs.
///
/// The stock rows of those SKUs are locked first, in (lot, location) order,
/// as every reservation takes them, so a release and a push cannot wait on
/// each other in a cycle.
fn release_reservations(
    c: &mut AnyConnection,
    who: &Principal,
    order_ids: &[String],
    disposition: Disposition,
    now: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    release_reservations_as(c, who, order_ids, &|_, _| disposition, now)
}

/// [`release_reservations`], with the disposition of each stock row's units
/// (lot id, location id) told apart: `services::reservations` marks the
/// units of the stock it takes back differently from the rest of an order.
pub(crate) fn release_reservations_as(
    c: &mut AnyConnection,
    who: &Principal,
    order_ids: &[String],
    disposition_of: &dyn Fn(&str, &str) -> Disposition,
    now: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    let mut skus: BTreeSet<String> = BTreeSet::new();
    let mut held: Vec<(String, i32, String, String, i64)> = Vec::new();
    for chunk in order_ids.chunks(CHUNK) {
        skus.extend(
            db::fresh(
                order_lines::table
                    .filter(order_lines::order_id.eq_any(chunk))
                    .select(order_lines::sku_id),
            )
            .load::<String>(c)?,
        );
        held.extend(
            db::fresh(
                reservations::table
                    .filter(reservations::order_id.eq_any(chunk))
                    .select((
                        reservations::order_id,
                        reservations::line_no,
                        reservations::lot_id,
                        reservations::location_id,
                        reservations::qty,
                    )),
            )
            .load::<(String, i32, String, String, i64)>(c)?,
        );
    }
    let skus: Vec<String> = skus.into_iter().collect();
    if held.is_empty() {
        return Ok(skus);
    }
    // Every SKU the orders hold, not only the one that prompted the release.
    backend::lock_skus(c, &skus, SkuLock::Exclusive)?;
    backend::lock_stock_of_skus(c, &skus)?;
    let rows: Vec<ReservationRow> = held
        .iter()
        .map(|(order, line, lot, loc, qty)| {
            ((order.as_str(), *line, lot.as_str(), loc.as_str()), *qty)
        })
        .collect();
    for (lot, loc, qty) in stock_totals(&rows) {
        let updated = diesel::update(
            stock::table
                .filter(stock::lot_id.eq(lot))
                .filter(stock::location_id.eq(loc))
                .filter(stock::reserved.ge(qty)),
        )
        .set(stock::reserved.eq(stock::reserved - qty))
        .execute(c)?;
        if updated == 0 {
            return Err(AppError::Internal(format!(
                "stock of lot {lot} at {loc} holds less reserved than its reservations"
            )));
        }
    }
    for chunk in order_ids.chunks(CHUNK) {
        diesel::delete(reservations::table.filter(reservations::order_id.eq_any(chunk)))
            .execute(c)?;
    }
    let lot_ids: Vec<&str> = held.iter().map(|h| h.2.as_str()).collect();
    let classes = lot_classes(c, &lot_ids)?;
    let mut by_disposition: Vec<(Disposition, Vec<ReservationRow>)> = Vec::new();
    for row in rows {
        let disposition = disposition_of(row.0 .2, row.0 .3);
        match by_disposition.iter_mut().find(|(d, _)| *d == disposition) {
            Some((_, group)) => group.push(row),
            None => by_disposition.push((disposition, vec![row])),
        }
    }
    for (disposition, group) in &by_disposition {
        record_reservation_events(
            c,
            who,
            group,
            &classes,
            Action::Delete,
            Some(*disposition),
            now,
        )?;
    }
    Ok(skus)
}

fn lot_classes(
    c: &mut AnyConnection,
    lot_ids: &[&str],
) -> Result<HashMap<String, String>, AppError> {
    let rows: Vec<(String, String, Option<String>)> = lots::table
        .inner_join(skus::table)
        .filter(lots::id.eq_any(lot_ids))
        .select((lots::id, lots::lot_code, skus::gtin))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|(id, code, gtin)| {
            let gtin14 = gtin
                .as_deref()
                .and_then(|g| Gtin::parse(g).ok())
                .map(|g| g.to_gtin14());
            let class = lot_class(gtin14.as_deref(), &code, &id);
            (id, class)
        })
        .collect())
}

/// Moves one reservation row of an order (its units of a lot at a bin) to
/// other sellable stock of the same SKU, FEFO (a short pick: the bin gave
/// fewer units than the pick list asked). The row is taken back whole, its
/// units dissociated from the order with `from_disposition`; the new rows
/// are reserved with their ADD events. None, and nothing changes, when the
/// sellable stock cannot cover `qty`. The caller holds the SKU lock
/// (`backend::lock_skus`, exclusive) and has made the bin unsellable (an open
/// count task), so the plan cannot take it again.
#[allow(clippy::too_many_arguments)]
pub(crate) fn move_reservation(
    c: &mut AnyConnection,
    who: &Principal,
    order_id: &str,
    line_no: i32,
    sku_id: &str,
    from: (&str, &str),
    qty: i64,
    from_disposition: Disposition,
) -> Result<Option<Vec<Allocation>>, AppError> {
    let (lot_id, location_id) = from;
    let now = time::now();
    let skus = vec![sku_id.to_string()];
    let (mut stock_left, mut classes) = sellable_stock(c, &skus, now.date(), true)?;
    let Some(allocations) = reserve_order(&[(sku_id.to_string(), qty)], &mut stock_left) else {
        return Ok(None);
    };
    let released = diesel::update(
        stock::table
            .filter(stock::lot_id.eq(lot_id))
            .filter(stock::location_id.eq(location_id))
            .filter(stock::reserved.ge(qty)),
    )
    .set(stock::reserved.eq(stock::reserved - qty))
    .execute(c)?;
    if released == 0 {
        return Err(AppError::Internal(format!(
            "stock of lot {lot_id} at {location_id} holds less reserved than its reservations"
        )));
    }
    let row = reservations::table
        .filter(reservations::order_id.eq(order_id))
        .filter(reservations::line_no.eq(line_no))
        .filter(reservations::lot_id.eq(lot_id))
        .filter(reservations::location_id.eq(location_id));
    let held: i64 = row.select(reservations::qty).first(c)?;
    if held == qty {
        diesel::delete(row).execute(c)?;
    } else {
        diesel::update(row)
            .set(reservations::qty.eq(reservations::qty - qty))
            .execute(c)?;
    }
    classes.extend(lot_classes(c, &[lot_id])?);
    record_reservation_events(
        c,
        who,
        &[((order_id, line_no, lot_id, location_id), qty)],
        &classes,
        Action::Delete,
        Some(from_disposition),
        now,
    )?;
    let rows: Vec<ReservationRow> = allocations
        .iter()
        .map(|(_, a)| {
            (
                (order_id, line_no, a.lot_id.as_str(), a.location_id.as_str()),
                a.qty,
            )
        })
        .collect();
    for ((order, line, lot, loc), units) in &rows {
        let existing = reservations::table
            .filter(reservations::order_id.eq(*order))
            .filter(reservations::line_no.eq(*line))
            .filter(reservations::lot_id.eq(*lot))
            .filter(reservations::location_id.eq(*loc));
        let updated = diesel::update(existing)
            .set(reservations::qty.eq(reservations::qty + *units))
            .execute(c)?;
        if updated == 0 {
            diesel::insert_into(reservations::table)
                .values((
                    reservations::order_id.eq(*order),
                    reservations::line_no.eq(*line),
                    reservations::lot_id.eq(*lot),
                    reservations::location_id.eq(*loc),
                    reservations::qty.eq(*units),
                ))
                .execute(c)?;
        }
    }
    if !backend::add_reserved(c, &stock_totals(&rows))? {
        return Err(AppError::Unavailable(
            "stock changed while the short pick was re-reserved; retry".into(),
        ));
    }
    record_reservation_events(c, who, &rows, &classes, Action::Add, None, now)?;
    Ok(Some(allocations.into_iter().map(|(_, a)| a).collect()))
}

/// Back-orders reserved orders: everything they hold is taken back (see
/// [`release_reservations_as`]) and they wait in the back-order queue.
/// Answers their SKUs, for the caller to serve the queue.
pub(crate) fn backorder(
    c: &mut AnyConnection,
    who: &Principal,
    order_ids: &[String],
    disposition_of: &dyn Fn(&str, &str) -> Disposition,
) -> Result<Vec<String>, AppError> {
    let now = time::now();
    let skus = release_reservations_as(c, who, order_ids, disposition_of, now)?;
    for chunk in order_ids.chunks(CHUNK) {
        diesel::update(
            orders::table
                .filter(orders::id.eq_any(chunk))
                .filter(orders::status.eq("reserved")),
        )
        .set((orders::status.eq("backordered"), orders::updated_at.eq(now)))
        .execute(c)?;
    }
    Ok(skus)
}
