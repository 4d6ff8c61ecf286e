//! Packing: picked orders into parcels, each named by an SSCC, on its
//! carrier's open manifest.
//!
//! # One parcel
//!
//! `POST /orders/{id}/parcels` packs a picked order whole, or the units
//! `lines` names (several parcels per order). The parcel gets:
//!
//! - an **SSCC** (GS1 General Specifications §2.2.1): the configured
//!   extension digit and company prefix, a serial reference from a number
//!   series unique across depot instances (a PostgreSQL sequence; a counter
//!   row under SQLite's single writer), and the §7.9.1 check digit;
//! - a **tracking number**: the caller's, unique per carrier, or the
//!   carrier's code followed by ten digits of a second such series;
//! - the order's carrier, and that carrier's **open manifest**, created when
//!   there is none (a partial unique index keeps it to one per carrier).
//!
//! The units move from the packing location to the dispatch location (a
//! `pack` movement per parcel and lot, referencing the SSCC), and so do the
//! order's reservations: packed units stay promised to the order until they
//! are handed over. An `AggregationEvent` (action ADD, parentID the SSCC's
//! EPC URI, step `packing`) per parcel and lot records what went in. The
//! order is `packed` when no unit of it is left at packing.
//!
//! # A whole batch at once
//!
//! `POST /batches/{id}/parcels` packs every order of a picked `hot_sku` or
//! `identical` batch, one parcel each with the same weight, in one
//! transaction whose statements are set-based (one multi-row insert per
//! table, one update per stock row), so that a live session's hot SKU is
//! packed in a few calls.
//!
//! # Concurrency
//!
//! Packing an order first takes its row with a guarded update (`… WHERE
//! status = 'picked'`), so two packers of one order (two instances, or a
//! parcel and a batch call) run one after the other, the second seeing what
//! the first packed. Serial numbers come from the series, never from a
//! `max()+1`.

use std::collections::{BTreeMap, HashMap, HashSet};

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::Warehouse;
use crate::db::backend::{self, Serial};
use crate::db::schema::{
    batch_orders, batches, carriers, locations, lots, order_lines, orders, parcel_lines,
    parcel_statuses, parcels, recalls, reservations, skus, stock, stock_holds,
};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::gs1::{CompanyPrefix, Gtin, Sscc};
use crate::domain::ids::new_id;
use crate::domain::labels::{ParcelLabel, ShipTo, SkuLine};
use crate::domain::time;
use crate::domain::trace::{biz_tx, lot_class, Action, BizStep, Disposition};
use crate::error::{validated, AppError, FieldError};
use crate::services::ledger::{self, Entry, MovementKind};
use crate::services::trace::{self, Aggregation};
use crate::services::webhooks;

/// The lightest and heaviest parcel depot takes, in grams: parcel carriers'
/// usual limit for one piece is 70 kg.
pub const MIN_WEIGHT_G: i64 = 1;
pub const MAX_WEIGHT_G: i64 = 70_000;
/// Digits of a generated tracking number after the carrier's code.
const TRACKING_DIGITS: usize = 10;
/// Rows per multi-row INSERT (the widest table here has 13 columns): well
/// under SQLite's 32,766 bound parameters.
const CHUNK: usize = 1_000;

/// What to pack into one parcel, as parsed by the HTTP layer.
#[derive(Debug, Clone)]
pub struct PackRequest {
    pub weight_g: i64,
    /// The carrier's tracking number, when the caller has one.
    pub tracking_no: Option<String>,
    /// (SKU code, units) for a part of the order; `None` packs what is left.
    pub lines: Option<Vec<(String, i64)>>,
}

/// A parcel as packing answers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Packed {
    /// The parcel's SSCC: 18 digits.
    #[schema(example = "006141410000000012")]
    pub sscc: String,
    pub tracking_no: String,
    pub carrier_code: String,
    /// The carrier's open manifest the parcel joined.
    pub manifest_id: String,
    pub order_id: String,
    /// `picked` while units are left to pack, `packed` when none is.
    pub order_status: String,
    pub weight_g: i64,
    /// What went in, per SKU and lot.
    pub lines: Vec<PackedLine>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackedLine {
    pub sku_code: String,
    pub lot_id: String,
    pub qty: i64,
}

/// A batch packed at once.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchPacked {
    pub batch_id: String,
    /// One parcel per order, in the batch's order-id order.
    pub parcels: Vec<BatchParcel>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchParcel {
    pub order_id: String,
    pub sscc: String,
    pub tracking_no: String,
    pub manifest_id: String,
}

/// One parcel as `GET /parcels/{sscc}` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParcelView {
    pub sscc: String,
    /// The SSCC as printed under its barcode: `(00) 0 0614141 000000001 8`.
    pub sscc_human_readable: String,
    /// The SSCC as EPCIS events name it.
    pub epc_uri: String,
    pub status: String,
    pub order_id: String,
    /// The merchant's order reference (its `external_id`) and channel.
    pub order_reference: String,
    pub channel: String,
    pub merchant_id: String,
    pub carrier_code: String,
    pub tracking_no: String,
    pub weight_g: i64,
    pub manifest_id: Option<String>,
    pub batch_id: Option<String>,
    /// What went in; not shown to carriers (the merchant's goods are the
    /// merchant's business).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<PackedLine>>,
    /// Oldest first.
    pub status_history: Vec<StatusEntry>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusEntry {
    pub status: String,
    pub at: String,
}

/// The packing and dispatch locations packing moves units between.
pub(crate) struct Floor {
    pub(crate) packing: String,
    pub(crate) dispatch: String,
}

pub(crate) fn floor(c: &mut AnyConnection) -> Result<Floor, AppError> {
    let mut default_of = |kind: &str| -> Result<String, AppError> {
        let found: Option<String> = locations::table
            .filter(locations::kind.eq(kind))
            .filter(locations::is_default.eq(true))
            .select(locations::id)
            .first(c)
            .optional()?;
        found.ok_or_else(|| {
            AppError::InvalidState(format!(
                "there is no default {kind} location; create a location of kind {kind} first"
            ))
        })
    };
    Ok(Floor {
        packing: default_of("packing")?,
        dispatch: default_of("dispatch")?,
    })
}

/// One parcel to create: its order and what goes in.
struct Plan {
    order_id: String,
    merchant_id: String,
    /// (order line, lot, units), at the packing location.
    contents: Vec<(i32, String, i64)>,
    tracking_no: Option<String>,
    /// Whether these contents are all the order has left at packing.
    completes_order: bool,
}

struct Created {
    order_id: String,
    sscc: Sscc,
    tracking_no: String,
    manifest_id: String,
}

type OrderHead = (String, String, Option<String>, String);

/// Packs one parcel of a picked order.
pub fn pack_order(
    conn: &mut AnyConnection,
    who: &Principal,
    warehouse: &Warehouse,
    order_id: &str,
    request: PackRequest,
) -> Result<Packed, AppError> {
    check_weight(request.weight_g)?;
    db::write(conn, |c| {
        let now = time::now();
        // The guarded update takes the order's row: packers of one order
        // queue here (PostgreSQL), the second seeing what the first packed.
        let locked = diesel::update(
            orders::table
                .find(order_id)
                .filter(orders::status.eq("picked")),
        )
        .set(orders::updated_at.eq(now))
        .execute(c)?;
        let head: Option<OrderHead> = orders::table
            .find(order_id)
            .select((
                orders::id,
                orders::merchant_id,
                orders::carrier_id,
                orders::status,
            ))
            .first(c)
            .optional()?;
        let Some((_, merchant_id, carrier_id, status)) = head else {
            return Err(AppError::not_found("order", order_id));
        };
        if locked == 0 {
            return Err(AppError::InvalidState(match status.as_str() {
                "packed" => format!("order {order_id} is already packed"),
                other => format!(
                    "order {order_id} is {other}: only a picked order can be packed (pick its batch first)"
                ),
            }));
        }
        let carrier = carrier_of(c, order_id, carrier_id.as_deref())?;
        let floor = floor(c)?;
        let left = left_at_packing(c, &[order_id.to_string()], &floor.packing)?;
        let left = left.get(order_id).cloned().unwrap_or_default();
        let sku_of_line = line_skus(c, order_id)?;
        let (contents, completes_order) = match &request.lines {
            None => (left.clone(), true),
            Some(wanted) => choose(wanted, &left, &sku_of_line)?,
        };
        if contents.is_empty() {
            return Err(AppError::InvalidState(format!(
                "order {order_id} has no units left to pack"
            )));
        }
        if let Some(t) = &request.tracking_no {
            tracking_free(c, &carrier.0, t)?;
        }
        let plan = Plan {
            order_id: order_id.to_string(),
            merchant_id,
            contents: contents.clone(),
            tracking_no: request.tracking_no.clone(),
            completes_order,
        };
        let created = create(
            c,
            who,
            warehouse,
            &floor,
            &carrier,
            vec![plan],
            request.weight_g,
            None,
        )?;
        let created = created
            .into_iter()
            .next()
            .ok_or_else(|| AppError::Internal("packing created no parcel".into()))?;
        let order_status: String = orders::table
            .find(order_id)
            .select(orders::status)
            .first(c)?;
        let mut lines: BTreeMap<(String, String), i64> = BTreeMap::new();
        for (line_no, lot_id, qty) in &contents {
            let sku = sku_of_line.get(line_no).cloned().unwrap_or_default();
            *lines.entry((sku, lot_id.clone())).or_default() += qty;
        }
        Ok(Packed {
            sscc: created.sscc.to_string(),
            tracking_no: created.tracking_no,
            carrier_code: carrier.1,
            manifest_id: created.manifest_id,
            order_id: created.order_id,
            order_status,
            weight_g: request.weight_g,
            lines: lines
                .into_iter()
                .map(|((sku_code, lot_id), qty)| PackedLine {
                    sku_code,
                    lot_id,
                    qty,
                })
                .collect(),
        })
    })
}

/// Packs every order of a picked `hot_sku` or `identical` batch, one parcel
/// each with the same weight.
pub fn pack_batch(
    conn: &mut AnyConnection,
    who: &Principal,
    warehouse: &Warehouse,
    batch_id: &str,
    weight_g: i64,
) -> Result<BatchPacked, AppError> {
    check_weight(weight_g)?;
    db::write(conn, |c| {
        // Packers of one batch queue on its row.
        let locked = diesel::update(
            batches::table
                .find(batch_id)
                .filter(batches::status.eq("picked")),
        )
        .set(batches::status.eq("picked"))
        .execute(c)?;
        let head: Option<(String, String, Option<String>)> = batches::table
            .find(batch_id)
            .select((batches::status, batches::strategy, batches::carrier_id))
            .first(c)
            .optional()?;
        let Some((status, strategy, carrier_id)) = head else {
            return Err(AppError::not_found("batch", batch_id));
        };
        if locked == 0 {
            return Err(AppError::InvalidState(format!(
                "batch {batch_id} is {status}: pick every line before packing it"
            )));
        }
        if strategy == "cluster" {
            return Err(AppError::InvalidState(format!(
                "batch {batch_id} is a cluster batch: its orders differ, so pack them one by one (POST /orders/{{id}}/parcels)"
            )));
        }
        let now = time::now();
        let order_ids: Vec<String> = batch_orders::table
            .filter(batch_orders::batch_id.eq(batch_id))
            .select(batch_orders::order_id)
            .order(batch_orders::order_id.asc())
            .load(c)?;
        // Take the orders' rows (one lock per order, as a single parcel takes).
        let mut heads: Vec<(String, String, String)> = Vec::new();
        for chunk in order_ids.chunks(CHUNK) {
            diesel::update(
                orders::table
                    .filter(orders::id.eq_any(chunk))
                    .filter(orders::status.eq("picked")),
            )
            .set(orders::updated_at.eq(now))
            .execute(c)?;
            heads.extend(
                orders::table
                    .filter(orders::id.eq_any(chunk))
                    .select((orders::id, orders::merchant_id, orders::status))
                    .load::<(String, String, String)>(c)?,
            );
        }
        heads.sort();
        let to_pack: Vec<&(String, String, String)> =
            heads.iter().filter(|h| h.2 == "picked").collect();
        if to_pack.is_empty() {
            return Err(AppError::InvalidState(format!(
                "batch {batch_id} has no picked order left to pack"
            )));
        }
        let ids: Vec<String> = to_pack.iter().map(|h| h.0.clone()).collect();
        let mut started: Vec<String> = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            started.extend(
                parcels::table
                    .filter(parcels::order_id.eq_any(chunk))
                    .select(parcels::order_id)
                    .distinct()
                    .load::<String>(c)?,
            );
        }
        if !started.is_empty() {
            started.sort();
            return Err(AppError::InvalidState(format!(
                "order(s) {} of batch {batch_id} are partly packed already; pack the rest of them one by one",
                started.join(", ")
            )));
        }
        let first = &ids[0];
        let carrier = carrier_of(c, first, carrier_id.as_deref())?;
        let floor = floor(c)?;
        let left = left_at_packing(c, &ids, &floor.packing)?;
        let plans: Vec<Plan> = to_pack
            .iter()
            .map(|(id, merchant_id, _)| Plan {
                order_id: id.clone(),
                merchant_id: merchant_id.clone(),
                contents: left.get(id).cloned().unwrap_or_default(),
                tracking_no: None,
                completes_order: true,
            })
            .collect();
        if let Some(empty) = plans.iter().find(|p| p.contents.is_empty()) {
            return Err(AppError::Internal(format!(
                "order {} is picked but holds nothing at packing",
                empty.order_id
            )));
        }
        let created = create(
            c,
            who,
            warehouse,
            &floor,
            &carrier,
            plans,
            weight_g,
            Some(batch_id),
        )?;
        Ok(BatchPacked {
            batch_id: batch_id.to_string(),
            parcels: created
                .into_iter()
                .map(|p| BatchParcel {
                    order_id: p.order_id,
                    sscc: p.sscc.to_string(),
                    tracking_no: p.tracking_no,
                    manifest_id: p.manifest_id,
                })
                .collect(),
        })
    })
}

fn check_weight(weight_g: i64) -> Result<(), AppError> {
    if (MIN_WEIGHT_G..=MAX_WEIGHT_G).contains(&weight_g) {
        Ok(())
    } else {
        Err(AppError::field(
            "weight_g",
            format!("must be from {MIN_WEIGHT_G} g to {MAX_WEIGHT_G} g (70 kg)"),
        ))
    }
}

/// The order's carrier (id, code): a parcel cannot go on a manifest without one.
fn carrier_of(
    c: &mut AnyConnection,
    order_id: &str,
    carrier_id: Option<&str>,
) -> Result<(String, String), AppError> {
    let Some(carrier_id) = carrier_id else {
        return Err(AppError::InvalidState(format!(
            "order {order_id} names no carrier: a parcel goes on a carrier's manifest, so the order needs one"
        )));
    };
    let code: String = carriers::table
        .find(carrier_id)
        .select(carriers::code)
        .first(c)?;
    Ok((carrier_id.to_string(), code))
}

/// Per order, (line, lot, units) at the packing location.
type LeftAtPacking = HashMap<String, Vec<(i32, String, i64)>>;

/// What each order still holds at the packing location: (line, lot, units),
/// in line then lot order.
fn left_at_packing(
    c: &mut AnyConnection,
    order_ids: &[String],
    packing: &str,
) -> Result<LeftAtPacking, AppError> {
    let mut left: LeftAtPacking = HashMap::new();
    for chunk in order_ids.chunks(CHUNK) {
        let rows: Vec<(String, i32, String, i64)> = reservations::table
            .filter(reservations::order_id.eq_any(chunk))
            .filter(reservations::location_id.eq(packing))
            .select((
                reservations::order_id,
                reservations::line_no,
                reservations::lot_id,
                reservations::qty,
            ))
            .order((
                reservations::order_id.asc(),
                reservations::line_no.asc(),
                reservations::lot_id.asc(),
            ))
            .load(c)?;
        for (order_id, line_no, lot_id, qty) in rows {
            left.entry(order_id)
                .or_default()
                .push((line_no, lot_id, qty));
        }
    }
    refuse_recalled(c, &left)?;
    Ok(left)
}

/// A recalled lot (`services::recall`) is not packed: its picked units
/// wait on the packing location for staff to take them off (409).
fn refuse_recalled(c: &mut AnyConnection, left: &LeftAtPacking) -> Result<(), AppError> {
    let lots: std::collections::BTreeSet<&str> = left
        .values()
        .flatten()
        .map(|(_, lot, _)| lot.as_str())
        .collect();
    let lots: Vec<&str> = lots.into_iter().collect();
    for chunk in lots.chunks(CHUNK) {
        let recalled: Option<String> = recalls::table
            .inner_join(stock_holds::table.on(stock_holds::id.eq(recalls::hold_id)))
            .filter(recalls::lot_id.eq_any(chunk))
            .filter(stock_holds::released_at.is_null())
            .select(recalls::lot_id)
            .first(c)
            .optional()?;
        if let Some(lot) = recalled {
            return Err(AppError::InvalidState(format!(
                "lot {lot} is recalled: its units are not packed; take them off the packing table"
            )));
        }
    }
    Ok(())
}

/// The SKU code of each of the order's lines.
fn line_skus(c: &mut AnyConnection, order_id: &str) -> Result<HashMap<i32, String>, AppError> {
    Ok(order_lines::table
        .inner_join(skus::table)
        .filter(order_lines::order_id.eq(order_id))
        .select((order_lines::line_no, skus::code))
        .load::<(i32, String)>(c)?
        .into_iter()
        .collect())
}

/// The units of `wanted` (SKU code, units) taken from what is left at
/// packing, lot by lot in lot-id order; and whether that is all of it.
#[allow(clippy::type_complexity)]
fn choose(
    wanted: &[(String, i64)],
    left: &[(i32, String, i64)],
    sku_of_line: &HashMap<i32, String>,
) -> Result<(Vec<(i32, String, i64)>, bool), AppError> {
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    let mut contents = Vec::new();
    for (i, (sku, qty)) in wanted.iter().enumerate() {
        if !seen.insert(sku.as_str()) {
            errors.push(FieldError::new(
                format!("lines[{i}].sku_code"),
                "is given twice; give each SKU once with its total",
            ));
            continue;
        }
        if !sku_of_line.values().any(|s| s == sku) {
            errors.push(FieldError::new(
                format!("lines[{i}].sku_code"),
                format!("the order has no line of SKU {sku}"),
            ));
            continue;
        }
        let rows: Vec<&(i32, String, i64)> = left
            .iter()
            .filter(|(line, _, _)| sku_of_line.get(line) == Some(sku))
            .collect();
        let available: i64 = rows.iter().map(|r| r.2).sum();
        if *qty > available {
            errors.push(FieldError::new(
                format!("lines[{i}].qty"),
                format!("is more than the {available} unit(s) of {sku} left to pack"),
            ));
            continue;
        }
        let mut need = *qty;
        for (line, lot, units) in rows {
            if need == 0 {
                break;
            }
            let take = need.min(*units);
            contents.push((*line, lot.clone(), take));
            need -= take;
        }
    }
    validated(errors)?;
    let total_left: i64 = left.iter().map(|r| r.2).sum();
    let total: i64 = contents.iter().map(|r| r.2).sum();
    Ok((contents, total == total_left))
}

fn tracking_free(
    c: &mut AnyConnection,
    carrier_id: &str,
    tracking_no: &str,
) -> Result<(), AppError> {
    let taken: i64 = parcels::table
        .filter(parcels::carrier_id.eq(carrier_id))
        .filter(parcels::tracking_no.eq(tracking_no))
        .count()
        .get_result(c)?;
    if taken > 0 {
        return Err(AppError::ConflictFields(
            "the tracking number is already used".into(),
            vec![FieldError::new(
                "tracking_no",
                format!("{tracking_no} is already on another parcel of this carrier"),
            )],
        ));
    }
    Ok(())
}

/// The carrier's open manifest, created when there is none. Two packers
/// creating it at once: the partial unique index lets one INSERT in, the
/// other's `ON CONFLICT DO NOTHING` waits for it and then finds its row.
///
/// On PostgreSQL the row is read `FOR SHARE`: packers share it, and a
/// dispatcher closing it (an UPDATE) waits for them to commit, so a closed
/// manifest never gains a parcel and a close counts every parcel packed
/// before it. A packer that waited on a close finds no open row (the lock
/// re-reads it) and opens the next manifest. SQLite's single writer gives
/// the same order.
fn open_manifest(
    c: &mut AnyConnection,
    who: &Principal,
    carrier_id: &str,
) -> Result<String, AppError> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let find = |c: &mut AnyConnection| -> Result<Option<String>, AppError> {
        let found: Vec<Found> = match c {
            AnyConnection::Postgresql(pg) => diesel::sql_query(
                "SELECT id FROM manifests WHERE carrier_id = $1 AND status = 'open' FOR SHARE",
            )
            .bind::<diesel::sql_types::Text, _>(carrier_id)
            .load(pg)?,
            AnyConnection::Sqlite(lite) => diesel::sql_query(
                "SELECT id FROM manifests WHERE carrier_id = $1 AND status = 'open'",
            )
            .bind::<diesel::sql_types::Text, _>(carrier_id)
            .load(lite)?,
        };
        Ok(found.into_iter().next().map(|f| f.id))
    };
    if let Some(id) = find(c)? {
        return Ok(id);
    }
    let id = new_id("man");
    let now = time::now();
    crate::on_backend!(c, |inner| diesel::sql_query(
        "INSERT INTO manifests (id, carrier_id, status, created_at, created_by) \
         VALUES ($1, $2, 'open', $3, $4) \
         ON CONFLICT (carrier_id) WHERE status = 'open' DO NOTHING"
    )
    .bind::<diesel::sql_types::Text, _>(&id)
    .bind::<diesel::sql_types::Text, _>(carrier_id)
    .bind::<diesel::sql_types::Timestamp, _>(now)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(Some(&who.token_id))
    .execute(inner))?;
    find(c)?.ok_or_else(|| AppError::Internal("the open manifest vanished".into()))
}

/// Creates the parcels of `plans` with set-based statements: SSCCs and
/// tracking numbers, manifest, parcel rows, reservations and stock moved
/// from packing to dispatch, the ledger's `pack` movements, the
/// aggregation events, and the orders' states.
#[allow(clippy::too_many_arguments)]
fn create(
    c: &mut AnyConnection,
    who: &Principal,
    warehouse: &Warehouse,
    floor: &Floor,
    carrier: &(String, String),
    plans: Vec<Plan>,
    weight_g: i64,
    batch_id: Option<&str>,
) -> Result<Vec<Created>, AppError> {
    let now = time::now();
    let (carrier_id, carrier_code) = carrier;
    let serials = backend::next_serials(c, Serial::Sscc, plans.len())?;
    let generated = plans.iter().filter(|p| p.tracking_no.is_none()).count();
    let mut tracking_serials = backend::next_serials(c, Serial::TrackingNo, generated)?.into_iter();
    let manifest_id = open_manifest(c, who, carrier_id)?;
    let mut created = Vec::with_capacity(plans.len());
    let mut parcel_ids = Vec::with_capacity(plans.len());
    for (plan, serial) in plans.iter().zip(serials) {
        let sscc = sscc_of(warehouse, serial)?;
        let tracking_no = match &plan.tracking_no {
            Some(t) => t.clone(),
            None => format!(
                "{carrier_code}{:0width$}",
                tracking_serials.next().unwrap_or_default(),
                width = TRACKING_DIGITS
            ),
        };
        parcel_ids.push(new_id("pcl"));
        created.push(Created {
            order_id: plan.order_id.clone(),
            sscc,
            tracking_no,
            manifest_id: manifest_id.clone(),
        });
    }
    let prefix_len = warehouse.company_prefix.as_str().len() as i32;
    let ssccs: Vec<String> = created.iter().map(|p| p.sscc.to_string()).collect();

    for (i, chunk) in plans.chunks(CHUNK).enumerate() {
        let base = i * CHUNK;
        let rows: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(j, plan)| {
                let k = base + j;
                (
                    parcels::id.eq(&parcel_ids[k]),
                    parcels::sscc.eq(&ssccs[k]),
                    parcels::company_prefix_len.eq(prefix_len),
                    parcels::order_id.eq(&plan.order_id),
                    parcels::merchant_id.eq(&plan.merchant_id),
                    parcels::carrier_id.eq(carrier_id),
                    parcels::manifest_id.eq(Some(&manifest_id)),
                    parcels::batch_id.eq(batch_id),
                    parcels::tracking_no.eq(&created[k].tracking_no),
                    parcels::weight_g.eq(weight_g),
                    parcels::status.eq("packed"),
                    parcels::created_at.eq(now),
                    parcels::created_by.eq(Some(&who.token_id)),
                )
            })
            .collect();
        crate::on_backend!(c, |inner| diesel::insert_into(parcels::table)
            .values(rows)
            .execute(inner))?;
        let statuses: Vec<_> = (base..base + chunk.len())
            .map(|k| {
                (
                    parcel_statuses::parcel_id.eq(&parcel_ids[k]),
                    parcel_statuses::seq.eq(1),
                    parcel_statuses::status.eq("packed"),
                    parcel_statuses::at.eq(now),
                    parcel_statuses::recorded_at.eq(now),
                    parcel_statuses::recorded_by.eq(Some(&who.token_id)),
                )
            })
            .collect();
        crate::on_backend!(c, |inner| diesel::insert_into(parcel_statuses::table)
            .values(statuses)
            .execute(inner))?;
    }

    // What goes in, per parcel and lot (order lines of one lot merged).
    let mut contents: Vec<(usize, i32, &str, i64)> = Vec::new();
    for (k, plan) in plans.iter().enumerate() {
        for (line_no, lot_id, qty) in &plan.contents {
            contents.push((k, *line_no, lot_id.as_str(), *qty));
        }
    }
    for chunk in contents.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(k, line_no, lot_id, qty)| {
                (
                    parcel_lines::parcel_id.eq(&parcel_ids[*k]),
                    parcel_lines::line_no.eq(*line_no),
                    parcel_lines::lot_id.eq(*lot_id),
                    parcel_lines::qty.eq(*qty),
                )
            })
            .collect();
        crate::on_backend!(c, |inner| diesel::insert_into(parcel_lines::table)
            .values(rows)
            .execute(inner))?;
    }

    move_reservations(c, floor, &plans)?;
    move_stock(c, floor, &contents)?;

    // The ledger: one `pack` movement per parcel and lot.
    let mut per_parcel_lot: BTreeMap<(usize, &str), i64> = BTreeMap::new();
    for (k, _, lot_id, qty) in &contents {
        *per_parcel_lot.entry((*k, lot_id)).or_default() += qty;
    }
    let movement_ids: Vec<String> = per_parcel_lot.keys().map(|_| new_id("mov")).collect();
    let mut entries = Vec::with_capacity(per_parcel_lot.len() * 2);
    for (((k, lot_id), qty), movement_id) in per_parcel_lot.iter().zip(&movement_ids) {
        for (location_id, delta) in [(&floor.packing, -qty), (&floor.dispatch, *qty)] {
            entries.push(Entry {
                movement_id,
                lot_id,
                location_id,
                delta,
                reference: ("parcel", &ssccs[*k]),
            });
        }
    }
    ledger::append(c, MovementKind::Pack, Some(&who.token_id), &entries)?;

    // The trace: an AggregationEvent per parcel and lot.
    let lot_ids: Vec<&str> = {
        let set: std::collections::BTreeSet<&str> = contents.iter().map(|r| r.2).collect();
        set.into_iter().collect()
    };
    let classes = lot_classes(c, &lot_ids)?;
    let parents: Vec<String> = created.iter().map(|p| p.sscc.epc_uri()).collect();
    let order_txs: Vec<String> = plans
        .iter()
        .map(|p| trace::tx_uri("order", &p.order_id))
        .collect();
    let events: Vec<Aggregation> = per_parcel_lot
        .iter()
        .map(|((k, lot_id), qty)| Aggregation {
            action: Action::Add,
            biz_step: BizStep::Packing,
            disposition: Disposition::InProgress,
            parent_id: &parents[*k],
            lot_id,
            what_class: classes.get(*lot_id).map_or("", String::as_str),
            quantity: *qty,
            location_id: &floor.packing,
            biz_tx: (biz_tx::PURCHASE_ORDER, order_txs[*k].clone()),
            actor: Some(&who.token_id),
        })
        .collect();
    trace::record_aggregations(c, &events)?;

    // Orders with nothing left at packing are packed.
    let done: Vec<&str> = plans
        .iter()
        .filter(|p| p.completes_order)
        .map(|p| p.order_id.as_str())
        .collect();
    for chunk in done.chunks(CHUNK) {
        diesel::update(
            orders::table
                .filter(orders::id.eq_any(chunk))
                .filter(orders::status.eq("picked")),
        )
        .set((orders::status.eq("packed"), orders::updated_at.eq(now)))
        .execute(c)?;
    }

    // Webhooks: parcel.packed per parcel, order.packed per order that is now
    // packed; queued in this transaction (the outbox).
    let packed_at = time::rfc3339(&now);
    let mut notices = Vec::with_capacity(created.len() + done.len());
    for (plan, parcel) in plans.iter().zip(&created) {
        notices.push(webhooks::Notice {
            merchant_id: plan.merchant_id.clone(),
            event: "parcel.packed",
            data: serde_json::json!({
                "sscc": parcel.sscc.to_string(), "order_id": parcel.order_id,
                "tracking_no": parcel.tracking_no, "carrier_code": carrier_code,
                "manifest_id": parcel.manifest_id, "weight_g": weight_g,
                "status": "packed", "packed_at": packed_at,
            }),
        });
        if plan.completes_order {
            notices.push(webhooks::Notice {
                merchant_id: plan.merchant_id.clone(),
                event: "order.packed",
                data: serde_json::json!({
                    "order_id": plan.order_id, "status": "packed", "packed_at": packed_at,
                }),
            });
        }
    }
    webhooks::enqueue(c, &notices)?;
    Ok(created)
}

/// The SSCC of `serial` under the configured prefix and extension digit.
fn sscc_of(warehouse: &Warehouse, serial: i64) -> Result<Sscc, AppError> {
    let serial = u64::try_from(serial)
        .map_err(|_| AppError::Internal(format!("serial {serial} is negative")))?;
    Sscc::new(
        warehouse.sscc_extension_digit,
        &warehouse.company_prefix,
        serial,
    )
    .map_err(|reason| {
        AppError::InvalidState(format!(
            "no SSCC is left under company prefix {} and extension digit {}: {reason}; configure another extension digit (DEPOT_SSCC_EXTENSION_DIGIT) or prefix",
            warehouse.company_prefix.as_str(),
            warehouse.sscc_extension_digit
        ))
    })
}

/// The plans' reservations, from the packing location to dispatch.
fn move_reservations(c: &mut AnyConnection, floor: &Floor, plans: &[Plan]) -> Result<(), AppError> {
    // Packing: an order packed whole loses all its rows there in one
    // statement; a part takes row by row.
    let whole: Vec<&str> = plans
        .iter()
        .filter(|p| p.completes_order)
        .map(|p| p.order_id.as_str())
        .collect();
    for chunk in whole.chunks(CHUNK) {
        diesel::delete(
            reservations::table
                .filter(reservations::order_id.eq_any(chunk))
                .filter(reservations::location_id.eq(&floor.packing)),
        )
        .execute(c)?;
    }
    for plan in plans.iter().filter(|p| !p.completes_order) {
        for (line_no, lot_id, qty) in &plan.contents {
            let row = reservations::table
                .filter(reservations::order_id.eq(&plan.order_id))
                .filter(reservations::line_no.eq(*line_no))
                .filter(reservations::lot_id.eq(lot_id))
                .filter(reservations::location_id.eq(&floor.packing));
            let updated = diesel::update(row.filter(reservations::qty.gt(*qty)))
                .set(reservations::qty.eq(reservations::qty - *qty))
                .execute(c)?;
            if updated == 0 {
                diesel::delete(row).execute(c)?;
            }
        }
    }
    // Dispatch: rows that exist (an order packed in parts) grow, the others
    // are inserted together.
    let order_ids: Vec<&str> = plans.iter().map(|p| p.order_id.as_str()).collect();
    let mut existing: HashSet<(String, i32, String)> = HashSet::new();
    for chunk in order_ids.chunks(CHUNK) {
        existing.extend(
            reservations::table
                .filter(reservations::order_id.eq_any(chunk))
                .filter(reservations::location_id.eq(&floor.dispatch))
                .select((
                    reservations::order_id,
                    reservations::line_no,
                    reservations::lot_id,
                ))
                .load::<(String, i32, String)>(c)?,
        );
    }
    let mut fresh: Vec<(&str, i32, &str, i64)> = Vec::new();
    for plan in plans {
        for (line_no, lot_id, qty) in &plan.contents {
            if existing.contains(&(plan.order_id.clone(), *line_no, lot_id.clone())) {
                diesel::update(
                    reservations::table
                        .filter(reservations::order_id.eq(&plan.order_id))
                        .filter(reservations::line_no.eq(*line_no))
                        .filter(reservations::lot_id.eq(lot_id))
                        .filter(reservations::location_id.eq(&floor.dispatch)),
                )
                .set(reservations::qty.eq(reservations::qty + *qty))
                .execute(c)?;
            } else {
                fresh.push((&plan.order_id, *line_no, lot_id, *qty));
            }
        }
    }
    for chunk in fresh.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(order_id, line_no, lot_id, qty)| {
                (
                    reservations::order_id.eq(*order_id),
                    reservations::line_no.eq(*line_no),
                    reservations::lot_id.eq(*lot_id),
                    reservations::location_id.eq(&floor.dispatch),
                    reservations::qty.eq(*qty),
                )
            })
            .collect();
        crate::on_backend!(c, |inner| diesel::insert_into(reservations::table)
            .values(rows)
            .execute(inner))?;
    }
    Ok(())
}

/// Stock of each lot, from packing to dispatch: reserved units move with
/// their reservations, so `on_hand - reserved` is unchanged at both.
fn move_stock(
    c: &mut AnyConnection,
    floor: &Floor,
    contents: &[(usize, i32, &str, i64)],
) -> Result<(), AppError> {
    let mut per_lot: BTreeMap<&str, i64> = BTreeMap::new();
    for (_, _, lot_id, qty) in contents {
        *per_lot.entry(lot_id).or_default() += qty;
    }
    // Location order (dispatch and packing ids compared) is the ledger's
    // lock order; per lot, in lot order.
    for (lot_id, qty) in per_lot {
        let mut legs = [(&floor.packing, -qty), (&floor.dispatch, qty)];
        legs.sort_by(|a, b| a.0.cmp(b.0));
        for (location_id, delta) in legs {
            let row = stock::table
                .filter(stock::lot_id.eq(lot_id))
                .filter(stock::location_id.eq(location_id));
            if delta < 0 {
                let updated = diesel::update(row.filter(stock::reserved.ge(-delta)))
                    .set((
                        stock::on_hand.eq(stock::on_hand + delta),
                        stock::reserved.eq(stock::reserved + delta),
                    ))
                    .execute(c)?;
                if updated == 0 {
                    return Err(AppError::Internal(format!(
                        "lot {lot_id} holds fewer than {} reserved unit(s) at packing",
                        -delta
                    )));
                }
            } else {
                let updated = diesel::update(row)
                    .set((
                        stock::on_hand.eq(stock::on_hand + delta),
                        stock::reserved.eq(stock::reserved + delta),
                    ))
                    .execute(c)?;
                if updated == 0 {
                    diesel::insert_into(stock::table)
                        .values((
                            stock::lot_id.eq(lot_id),
                            stock::location_id.eq(location_id),
                            stock::on_hand.eq(delta),
                            stock::reserved.eq(delta),
                        ))
                        .execute(c)?;
                }
            }
        }
    }
    Ok(())
}

/// The EPC class of each lot (see `domain::trace::lot_class`).
pub(crate) fn lot_classes(
    c: &mut AnyConnection,
    lot_ids: &[&str],
) -> Result<HashMap<String, String>, AppError> {
    let mut classes = HashMap::new();
    for chunk in lot_ids.chunks(CHUNK) {
        let rows: Vec<(String, String, Option<String>)> = lots::table
            .inner_join(skus::table)
            .filter(lots::id.eq_any(chunk))
            .select((lots::id, lots::lot_code, skus::gtin))
            .load(c)?;
        for (id, lot_code, gtin) in rows {
            let gtin14 = gtin
                .and_then(|g| Gtin::parse(&g).ok())
                .map(|g| g.to_gtin14());
            let class = lot_class(gtin14.as_deref(), &lot_code, &id);
            classes.insert(id, class);
        }
    }
    Ok(classes)
}

type ParcelRow = (
    String,
    String,
    i32,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    String,
    chrono::NaiveDateTime,
);

/// The columns of a [`ParcelRow`], in its order.
type ParcelColumns = (
    parcels::id,
    parcels::sscc,
    parcels::company_prefix_len,
    parcels::order_id,
    parcels::merchant_id,
    parcels::carrier_id,
    parcels::manifest_id,
    parcels::batch_id,
    parcels::tracking_no,
    parcels::weight_g,
    parcels::status,
    parcels::created_at,
);
const PARCEL_COLUMNS: ParcelColumns = (
    parcels::id,
    parcels::sscc,
    parcels::company_prefix_len,
    parcels::order_id,
    parcels::merchant_id,
    parcels::carrier_id,
    parcels::manifest_id,
    parcels::batch_id,
    parcels::tracking_no,
    parcels::weight_g,
    parcels::status,
    parcels::created_at,
);

/// A parcel the caller may see (staff; the merchant of its order; its
/// carrier), by SSCC; anything else is a 404.
fn parcel_row(c: &mut AnyConnection, who: &Principal, sscc: &str) -> Result<ParcelRow, AppError> {
    let row: Option<ParcelRow> = parcels::table
        .filter(parcels::sscc.eq(sscc))
        .select(PARCEL_COLUMNS)
        .first(c)
        .optional()?;
    match row {
        Some(r) if who.sees_merchant(&r.4) || who.carrier_id.as_deref() == Some(r.5.as_str()) => {
            Ok(r)
        }
        _ => Err(AppError::not_found("parcel", sscc)),
    }
}

/// The SSCC of a stored parcel, with its prefix length.
pub(crate) fn stored_sscc(digits: &str, prefix_len: i32) -> Result<Sscc, AppError> {
    let prefix = digits
        .get(1..1 + prefix_len as usize)
        .ok_or_else(|| AppError::Internal(format!("stored SSCC {digits} is too short")))?;
    let prefix = CompanyPrefix::parse(prefix).map_err(AppError::Internal)?;
    Sscc::parse(digits, &prefix).map_err(AppError::Internal)
}

/// What went into a parcel: (SKU code, lot id, units), merged per SKU × lot.
fn contents_of(c: &mut AnyConnection, parcel_id: &str) -> Result<Vec<PackedLine>, AppError> {
    let rows: Vec<(String, String, i64)> = parcel_lines::table
        .inner_join(parcels::table)
        .inner_join(
            order_lines::table.on(order_lines::order_id
                .eq(parcels::order_id)
                .and(order_lines::line_no.eq(parcel_lines::line_no))),
        )
        .inner_join(skus::table.on(skus::id.eq(order_lines::sku_id)))
        .filter(parcel_lines::parcel_id.eq(parcel_id))
        .select((skus::code, parcel_lines::lot_id, parcel_lines::qty))
        .load(c)?;
    let mut merged: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (sku_code, lot_id, qty) in rows {
        *merged.entry((sku_code, lot_id)).or_default() += qty;
    }
    Ok(merged
        .into_iter()
        .map(|((sku_code, lot_id), qty)| PackedLine {
            sku_code,
            lot_id,
            qty,
        })
        .collect())
}

/// One parcel, with its order reference and status history.
pub fn get(conn: &mut AnyConnection, who: &Principal, sscc: &str) -> Result<ParcelView, AppError> {
    let c = conn;
    let (
        id,
        digits,
        prefix_len,
        order_id,
        merchant_id,
        carrier_id,
        manifest_id,
        batch_id,
        tracking_no,
        weight_g,
        status,
        created_at,
    ) = parcel_row(c, who, sscc)?;
    let sscc = stored_sscc(&digits, prefix_len)?;
    let (external_id, channel): (String, String) = orders::table
        .find(&order_id)
        .select((orders::external_id, orders::channel))
        .first(c)?;
    let carrier_code: String = carriers::table
        .find(&carrier_id)
        .select(carriers::code)
        .first(c)?;
    let lines = if who.carrier_id.is_some() {
        None
    } else {
        Some(contents_of(c, &id)?)
    };
    let history: Vec<(String, chrono::NaiveDateTime)> = parcel_statuses::table
        .filter(parcel_statuses::parcel_id.eq(&id))
        .order(parcel_statuses::seq.asc())
        .select((parcel_statuses::status, parcel_statuses::at))
        .load(c)?;
    Ok(ParcelView {
        sscc_human_readable: sscc.human_readable(),
        epc_uri: sscc.epc_uri(),
        sscc: digits,
        status,
        order_id,
        order_reference: external_id,
        channel,
        merchant_id,
        carrier_code,
        tracking_no,
        weight_g,
        manifest_id,
        batch_id,
        lines,
        status_history: history
            .into_iter()
            .map(|(status, at)| StatusEntry {
                status,
                at: time::rfc3339(&at),
            })
            .collect(),
        created_at: time::rfc3339(&created_at),
    })
}

/// What the label of a parcel shows, for `label.zpl` / `label.pdf`.
pub fn label(
    conn: &mut AnyConnection,
    who: &Principal,
    sscc: &str,
) -> Result<ParcelLabel, AppError> {
    let row = parcel_row(conn, who, sscc)?;
    let mut labels = labels_of(conn, vec![row])?;
    labels
        .pop()
        .ok_or_else(|| AppError::Internal("no label".into()))
}

/// The labels of a batch's parcels, in pick order (the batch's order-id
/// order, as `POST /batches/{id}/parcels` created them).
pub fn batch_labels(
    conn: &mut AnyConnection,
    batch_id: &str,
) -> Result<Vec<ParcelLabel>, AppError> {
    let c = conn;
    let exists: i64 = batches::table.find(batch_id).count().get_result(c)?;
    if exists == 0 {
        return Err(AppError::not_found("batch", batch_id));
    }
    let order_ids: Vec<String> = batch_orders::table
        .filter(batch_orders::batch_id.eq(batch_id))
        .select(batch_orders::order_id)
        .order(batch_orders::order_id.asc())
        .load(c)?;
    let mut rows: Vec<ParcelRow> = Vec::new();
    for chunk in order_ids.chunks(CHUNK) {
        rows.extend(
            parcels::table
                .filter(parcels::order_id.eq_any(chunk))
                .select(PARCEL_COLUMNS)
                .load::<ParcelRow>(c)?,
        );
    }
    if rows.is_empty() {
        return Err(AppError::InvalidState(format!(
            "batch {batch_id} has no parcels yet: pack it first (POST /batches/{batch_id}/parcels)"
        )));
    }
    // Pick order: the batch's order-id order, then each order's parcels by SSCC.
    rows.sort_by(|a, b| (&a.3, &a.1).cmp(&(&b.3, &b.1)));
    labels_of(c, rows)
}

type ShipRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
);

fn labels_of(c: &mut AnyConnection, rows: Vec<ParcelRow>) -> Result<Vec<ParcelLabel>, AppError> {
    let order_ids: Vec<String> = {
        let set: std::collections::BTreeSet<String> = rows.iter().map(|r| r.3.clone()).collect();
        set.into_iter().collect()
    };
    let mut ship: HashMap<String, ShipRow> = HashMap::new();
    for chunk in order_ids.chunks(CHUNK) {
        let found: Vec<ShipRow> = orders::table
            .filter(orders::id.eq_any(chunk))
            .select((
                orders::id,
                orders::ship_name,
                orders::ship_phone,
                orders::ship_address,
                orders::ship_city,
                orders::ship_province,
                orders::ship_postcode,
                orders::external_id,
            ))
            .load(c)?;
        ship.extend(found.into_iter().map(|r| (r.0.clone(), r)));
    }
    let carrier_names: HashMap<String, (String, String)> = carriers::table
        .select((carriers::id, carriers::code, carriers::name))
        .load::<(String, String, String)>(c)?
        .into_iter()
        .map(|(id, code, name)| (id, (code, name)))
        .collect();
    // Contents per parcel, as SKU lines.
    let parcel_ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let mut skus_of: HashMap<String, BTreeMap<String, i64>> = HashMap::new();
    for chunk in parcel_ids.chunks(CHUNK) {
        let found: Vec<(String, String, i64)> = parcel_lines::table
            .inner_join(parcels::table)
            .inner_join(
                order_lines::table.on(order_lines::order_id
                    .eq(parcels::order_id)
                    .and(order_lines::line_no.eq(parcel_lines::line_no))),
            )
            .inner_join(skus::table.on(skus::id.eq(order_lines::sku_id)))
            .filter(parcel_lines::parcel_id.eq_any(chunk))
            .select((parcel_lines::parcel_id, skus::code, parcel_lines::qty))
            .load(c)?;
        for (parcel_id, sku, qty) in found {
            *skus_of
                .entry(parcel_id)
                .or_default()
                .entry(sku)
                .or_default() += qty;
        }
    }
    rows.into_iter()
        .map(|r| {
            let sscc = stored_sscc(&r.1, r.2)?;
            let s = ship
                .get(&r.3)
                .ok_or_else(|| AppError::Internal(format!("order {} vanished", r.3)))?;
            let (code, name) = carrier_names
                .get(&r.5)
                .cloned()
                .unwrap_or_else(|| (r.5.clone(), r.5.clone()));
            let carrier = if code == name {
                code
            } else {
                format!("{name} ({code})")
            };
            Ok(ParcelLabel {
                sscc,
                ship_to: ShipTo {
                    name: s.1.clone(),
                    phone: s.2.clone(),
                    address: s.3.clone(),
                    city: s.4.clone(),
                    province: s.5.clone(),
                    postcode: s.6.clone().unwrap_or_default(),
                },
                carrier,
                tracking_number: r.8.clone(),
                order_reference: s.7.clone(),
                skus: skus_of
                    .remove(&r.0)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(sku, quantity)| SkuLine {
                        sku,
                        quantity: u32::try_from(quantity).unwrap_or(u32::MAX),
                    })
                    .collect(),
            })
        })
        .collect()
}
