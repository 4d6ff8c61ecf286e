//! Dispatch: manifests closed and pulled by their carriers, handover by
//! scan, carrier status updates.
//!
//! # Manifests
//!
//! Packing puts each parcel on its carrier's open manifest (at most one per
//! carrier, see `packing::open_manifest`). A dispatcher closes it
//! (`open → closed`; the next parcel opens a new one), the carrier pulls it
//! as JSON or CSV — page by page from the database, so a 50,000-parcel
//! manifest streams in bounded memory — and confirms pickup.
//!
//! # Handover
//!
//! A scan list (or the whole manifest) is sorted by
//! [`domain::dispatch::sort_scans`] into handed over, missing and unknown.
//! In one transaction, set-based: the parcels become `handed_over` (a status
//! row each), their units leave the ledger (`ship` movements from the
//! dispatch location, with the order's reservations there), a `shipping`
//! ObjectEvent per parcel and lot carries the manifest as a bill of lading,
//! orders with no parcel left waiting become `dispatched`, and the manifest
//! is `handed_over` when none of its parcels waits.
//!
//! # Carrier statuses
//!
//! After handover only the parcel's carrier reports: in transit, a failed
//! delivery, delivered, or returned to sender (rules in
//! [`domain::dispatch`]); each is a status row and a trace event with the
//! carrier as its source. An order whose parcels are all delivered is
//! `delivered`.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::db::schema::{
    carriers, manifests, orders, parcel_lines, parcel_statuses, parcels, reservations, stock,
};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::dispatch::{self, CarrierStatus};
use crate::domain::ids::new_id;
use crate::domain::page::{Page, PageRequest};
use crate::domain::time;
use crate::domain::trace::{biz_tx, Action, BizStep, Disposition};
use crate::error::{AppError, FieldError};
use crate::services::ledger::{self, Entry, MovementKind};
use crate::services::packing::{self, ParcelView};
use crate::services::trace::{self, NewEvent};
use crate::services::webhooks::{self, Notice};

/// Keys per `IN (…)` list and rows per multi-row insert.
const CHUNK: usize = 1_000;
/// Parcels per page when a manifest is streamed.
pub const STREAM_PAGE: i64 = 1_000;
/// The most SSCCs one handover call takes.
pub const MAX_SCANS: usize = 100_000;

/// A manifest without its parcels, as lists show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ManifestSummary {
    pub id: String,
    pub carrier_code: String,
    /// open, closed or handed_over.
    pub status: String,
    /// Parcels on it (not counting those taken off).
    pub parcel_count: i64,
    pub total_weight_g: i64,
    /// Parcels on it not handed over yet: after pickup, the missing ones.
    pub waiting_count: i64,
    pub created_at: String,
    pub closed_at: Option<String>,
    pub handed_over_at: Option<String>,
}

/// Where a parcel goes: what its carrier needs on the road.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShipTo {
    pub name: String,
    pub phone: String,
    pub address: String,
    pub city: String,
    pub province: String,
    pub postcode: Option<String>,
}

/// One parcel of a manifest. Carriers see this much of a merchant's order:
/// the reference, the weight and where it goes; never what is inside.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ManifestParcel {
    #[serde(skip)]
    pub id: String,
    pub sscc: String,
    pub tracking_no: String,
    pub weight_g: i64,
    pub status: String,
    pub order_id: String,
    /// The merchant's order reference.
    pub order_reference: String,
    pub ship_to: ShipTo,
}

/// A manifest with its parcels (what `GET /manifests/{id}` streams).
#[derive(Debug, Serialize, ToSchema)]
pub struct ManifestView {
    #[serde(flatten)]
    pub summary: ManifestSummary,
    pub parcels: Vec<ManifestParcel>,
}

/// What a handover answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandoverResult {
    pub manifest_id: String,
    /// The manifest's status after the call.
    pub manifest_status: String,
    /// Handed over by this call.
    pub handed_over: Vec<String>,
    /// On the manifest, still waiting: not scanned.
    pub missing: Vec<String>,
    /// Scanned but not waiting on this manifest: another manifest's,
    /// already handed over, or no SSCC at all.
    pub unknown: Vec<String>,
}

/// One parcel of an order, as the order shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderParcel {
    pub sscc: String,
    pub status: String,
    pub carrier_code: String,
    pub tracking_no: String,
    pub manifest_id: Option<String>,
    /// Oldest first.
    pub status_history: Vec<packing::StatusEntry>,
}

/// The parcels of an order, oldest first, with their status histories.
pub fn order_parcels(c: &mut AnyConnection, order_id: &str) -> Result<Vec<OrderParcel>, AppError> {
    let rows: Vec<(String, String, String, String, String, Option<String>)> = parcels::table
        .inner_join(carriers::table.on(carriers::id.eq(parcels::carrier_id)))
        .filter(parcels::order_id.eq(order_id))
        .order(parcels::id.asc())
        .select((
            parcels::id,
            parcels::sscc,
            parcels::status,
            carriers::code,
            parcels::tracking_no,
            parcels::manifest_id,
        ))
        .load(c)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let history: Vec<(String, String, NaiveDateTime)> = parcel_statuses::table
        .filter(parcel_statuses::parcel_id.eq_any(&ids))
        .order((parcel_statuses::parcel_id.asc(), parcel_statuses::seq.asc()))
        .select((
            parcel_statuses::parcel_id,
            parcel_statuses::status,
            parcel_statuses::at,
        ))
        .load(c)?;
    let mut by_parcel: HashMap<String, Vec<packing::StatusEntry>> = HashMap::new();
    for (id, status, at) in history {
        by_parcel.entry(id).or_default().push(packing::StatusEntry {
            status,
            at: time::rfc3339(&at),
        });
    }
    Ok(rows
        .into_iter()
        .map(
            |(id, sscc, status, carrier_code, tracking_no, manifest_id)| OrderParcel {
                status_history: by_parcel.remove(&id).unwrap_or_default(),
                sscc,
                status,
                carrier_code,
                tracking_no,
                manifest_id,
            },
        )
        .collect())
}

/// What the manifest list filters on.
#[derive(Debug, Clone, Default)]
pub struct ManifestFilter {
    pub status: Option<String>,
    /// Manifests created, closed or handed over at or after this time.
    pub since: Option<NaiveDateTime>,
}

type ManifestRow = (
    String,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

/// The manifest if the caller may see it (staff; its carrier), else 404.
fn manifest_row(c: &mut AnyConnection, who: &Principal, id: &str) -> Result<ManifestRow, AppError> {
    let row: Option<ManifestRow> = manifests::table
        .find(id)
        .select((
            manifests::id,
            manifests::carrier_id,
            manifests::status,
            manifests::created_at,
            manifests::closed_at,
            manifests::handed_over_at,
        ))
        .first(c)
        .optional()?;
    match row {
        Some(r) if who.sees_carrier(&r.1) => Ok(r),
        _ => Err(AppError::not_found("manifest", id)),
    }
}

#[derive(QueryableByName)]
struct Totals {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    parcels: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    weight: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    waiting: i64,
}

/// Parcel count, weight and parcels waiting of one manifest (the
/// `parcels_manifest_status` index answers it).
fn totals(c: &mut AnyConnection, manifest_id: &str) -> Result<Totals, AppError> {
    let rows: Vec<Totals> = crate::on_backend!(c, |inner| {
        diesel::sql_query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS parcels, \
                CAST(COALESCE(SUM(weight_g), 0) AS BIGINT) AS weight, \
                CAST(COALESCE(SUM(CASE WHEN status = 'packed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS waiting \
         FROM parcels WHERE manifest_id = $1 AND status <> 'removed'"
    )
    .bind::<diesel::sql_types::Text, _>(manifest_id)
    .load(inner)
    })?;
    rows.into_iter()
        .next()
        .ok_or_else(|| AppError::Internal("no totals row".into()))
}

fn summary_of(
    c: &mut AnyConnection,
    row: ManifestRow,
    codes: &HashMap<String, String>,
) -> Result<ManifestSummary, AppError> {
    let (id, carrier_id, status, created_at, closed_at, handed_over_at) = row;
    let t = totals(c, &id)?;
    Ok(ManifestSummary {
        carrier_code: codes.get(&carrier_id).cloned().unwrap_or_default(),
        parcel_count: t.parcels,
        total_weight_g: t.weight,
        waiting_count: t.waiting,
        status,
        created_at: time::rfc3339(&created_at),
        closed_at: closed_at.as_ref().map(time::rfc3339),
        handed_over_at: handed_over_at.as_ref().map(time::rfc3339),
        id,
    })
}

fn carrier_codes(c: &mut AnyConnection) -> Result<HashMap<String, String>, AppError> {
    Ok(carriers::table
        .select((carriers::id, carriers::code))
        .load::<(String, String)>(c)?
        .into_iter()
        .collect())
}

/// The manifests the caller may see, newest last (ids sort by creation).
pub fn list(
    conn: &mut AnyConnection,
    who: &Principal,
    filter: &ManifestFilter,
    page: &PageRequest,
) -> Result<Page<ManifestSummary>, AppError> {
    let mut query = manifests::table
        .select((
            manifests::id,
            manifests::carrier_id,
            manifests::status,
            manifests::created_at,
            manifests::closed_at,
            manifests::handed_over_at,
        ))
        .order(manifests::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(carrier_id) = &who.carrier_id {
        query = query.filter(manifests::carrier_id.eq(carrier_id.clone()));
    }
    if let Some(after) = &page.after {
        query = query.filter(manifests::id.gt(after.clone()));
    }
    if let Some(status) = &filter.status {
        query = query.filter(manifests::status.eq(status.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(
            manifests::created_at
                .ge(since)
                .or(manifests::closed_at.ge(since))
                .or(manifests::handed_over_at.ge(since)),
        );
    }
    let rows: Vec<ManifestRow> = query.load(conn)?;
    let page = Page::from_rows(rows, page, |r| &r.0);
    let codes = carrier_codes(conn)?;
    let mut items = Vec::with_capacity(page.items.len());
    for row in page.items {
        items.push(summary_of(conn, row, &codes)?);
    }
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

/// One manifest's head, for the caller (its carrier, or staff).
pub fn summary(
    conn: &mut AnyConnection,
    who: &Principal,
    id: &str,
) -> Result<ManifestSummary, AppError> {
    let row = manifest_row(conn, who, id)?;
    let codes = carrier_codes(conn)?;
    summary_of(conn, row, &codes)
}

type ParcelLine = (
    String,
    String,
    String,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

/// A page of a manifest's parcels after `after` (a parcel id), in id
/// order; `waiting_only` keeps those not handed over (the missing list).
/// The caller has been allowed to see the manifest.
pub fn parcels_page(
    conn: &mut AnyConnection,
    manifest_id: &str,
    after: Option<&str>,
    limit: i64,
    waiting_only: bool,
) -> Result<Vec<ManifestParcel>, AppError> {
    let mut query = parcels::table
        .inner_join(orders::table)
        .filter(parcels::manifest_id.eq(manifest_id))
        .filter(parcels::status.ne("removed"))
        .select((
            parcels::id,
            parcels::sscc,
            parcels::tracking_no,
            parcels::weight_g,
            parcels::status,
            parcels::order_id,
            orders::external_id,
            orders::ship_name,
            orders::ship_phone,
            orders::ship_address,
            orders::ship_city,
            orders::ship_province,
            orders::ship_postcode,
        ))
        .order(parcels::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(parcels::id.gt(after.to_string()));
    }
    if waiting_only {
        query = query.filter(parcels::status.eq("packed"));
    }
    let rows: Vec<ParcelLine> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| ManifestParcel {
            id: r.0,
            sscc: r.1,
            tracking_no: r.2,
            weight_g: r.3,
            status: r.4,
            order_id: r.5,
            order_reference: r.6,
            ship_to: ShipTo {
                name: r.7,
                phone: r.8,
                address: r.9,
                city: r.10,
                province: r.11,
                postcode: r.12,
            },
        })
        .collect())
}

/// Closes an open manifest: it takes no more parcels, and the carrier's
/// next parcel opens a new one. An empty manifest, or one already closed,
/// is a 409.
pub fn close(
    conn: &mut AnyConnection,
    who: &Principal,
    id: &str,
) -> Result<ManifestSummary, AppError> {
    db::write(conn, |c| {
        let (_, _, status, ..) = manifest_row(c, who, id)?;
        let now = time::now();
        // The guarded update waits for packers holding the row (FOR SHARE,
        // see packing::open_manifest); the count after it sees their parcels.
        let closed = diesel::update(
            manifests::table
                .find(id)
                .filter(manifests::status.eq("open")),
        )
        .set((
            manifests::status.eq("closed"),
            manifests::closed_at.eq(Some(now)),
            manifests::closed_by.eq(Some(&who.token_id)),
        ))
        .execute(c)?;
        if closed == 0 {
            let status: String = manifests::table
                .find(id)
                .select(manifests::status)
                .first(c)
                .unwrap_or(status);
            return Err(AppError::InvalidState(format!(
                "manifest {id} is {status}: only an open manifest can be closed"
            )));
        }
        if totals(c, id)?.parcels == 0 {
            return Err(AppError::InvalidState(format!(
                "manifest {id} has no parcels: an empty manifest cannot be closed"
            )));
        }
        let row = manifest_row(c, who, id)?;
        let codes = carrier_codes(c)?;
        summary_of(c, row, &codes)
    })
}

/// A parcel's units, per (order line, lot).
type Contents = Vec<(String, String, i32, String, i64)>;

/// The lines of `parcel_ids`: (parcel id, order id, line no, lot id, qty).
fn contents(c: &mut AnyConnection, parcel_ids: &[String]) -> Result<Contents, AppError> {
    let mut rows = Vec::new();
    for chunk in parcel_ids.chunks(CHUNK) {
        rows.extend(
            db::fresh(
                parcel_lines::table
                    .inner_join(parcels::table)
                    .filter(parcel_lines::parcel_id.eq_any(chunk))
                    .select((
                        parcel_lines::parcel_id,
                        parcels::order_id,
                        parcel_lines::line_no,
                        parcel_lines::lot_id,
                        parcel_lines::qty,
                    )),
            )
            .load::<(String, String, i32, String, i64)>(c)?,
        );
    }
    Ok(rows)
}

/// The next status row number of each parcel.
fn next_seqs(
    c: &mut AnyConnection,
    parcel_ids: &[String],
) -> Result<HashMap<String, i32>, AppError> {
    let mut next = HashMap::new();
    for chunk in parcel_ids.chunks(CHUNK) {
        let rows: Vec<(String, Option<i32>)> = db::fresh(
            parcel_statuses::table
                .filter(parcel_statuses::parcel_id.eq_any(chunk))
                .group_by(parcel_statuses::parcel_id)
                .select((
                    parcel_statuses::parcel_id,
                    diesel::dsl::max(parcel_statuses::seq),
                )),
        )
        .load(c)?;
        for (id, max) in rows {
            next.insert(id, max.unwrap_or(0) + 1);
        }
    }
    Ok(next)
}

/// Appends a status row to each parcel (all with the same status and time).
fn add_statuses(
    c: &mut AnyConnection,
    who: &Principal,
    parcel_ids: &[String],
    status: &str,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let seqs = next_seqs(c, parcel_ids)?;
    let now = time::now();
    for chunk in parcel_ids.chunks(CHUNK) {
        diesel::update(parcels::table.filter(parcels::id.eq_any(chunk)))
            .set(parcels::status.eq(status))
            .execute(c)?;
        let rows: Vec<_> = chunk
            .iter()
            .map(|id| {
                (
                    parcel_statuses::parcel_id.eq(id),
                    parcel_statuses::seq.eq(seqs.get(id).copied().unwrap_or(1)),
                    parcel_statuses::status.eq(status),
                    parcel_statuses::at.eq(at),
                    parcel_statuses::recorded_at.eq(now),
                    parcel_statuses::recorded_by.eq(Some(&who.token_id)),
                )
            })
            .collect();
        crate::on_backend!(c, |inner| diesel::insert_into(parcel_statuses::table)
            .values(rows)
            .execute(inner))?;
    }
    Ok(())
}

/// Confirms pickup of a closed manifest's parcels: the scanned ones, or all
/// when `scanned` is None.
pub fn handover(
    conn: &mut AnyConnection,
    who: &Principal,
    id: &str,
    scanned: Option<Vec<String>>,
) -> Result<HandoverResult, AppError> {
    db::write(conn, |c| {
        let (_, carrier_id, status, ..) = manifest_row(c, who, id)?;
        if status == "open" {
            return Err(AppError::InvalidState(format!(
                "manifest {id} is still open: a dispatcher closes it before pickup (POST /manifests/{id}/close)"
            )));
        }
        // Handovers of one manifest (two handhelds) queue on its row.
        diesel::update(manifests::table.find(id))
            .set(manifests::status.eq(manifests::status))
            .execute(c)?;
        let waiting: Vec<(String, String)> = parcels::table
            .filter(parcels::manifest_id.eq(id))
            .filter(parcels::status.eq("packed"))
            .select((parcels::id, parcels::sscc))
            .load(c)?;
        let ssccs: Vec<String> = waiting.iter().map(|w| w.1.clone()).collect();
        let sorted = dispatch::sort_scans(&ssccs, scanned.as_deref());
        let now = time::now();
        if !sorted.handed_over.is_empty() {
            let id_of: HashMap<&str, &str> = waiting
                .iter()
                .map(|(pid, sscc)| (sscc.as_str(), pid.as_str()))
                .collect();
            let parcel_ids: Vec<String> = sorted
                .handed_over
                .iter()
                .filter_map(|s| id_of.get(s.as_str()).map(|p| p.to_string()))
                .collect();
            ship(c, who, id, &carrier_id, &parcel_ids, now)?;
        }
        // What is still waiting, from the (manifest_id, status) index alone:
        // the manifest's totals would read every parcel row on each call.
        let left: i64 = parcels::table
            .filter(parcels::manifest_id.eq(id))
            .filter(parcels::status.eq("packed"))
            .count()
            .get_result(c)?;
        let manifest_status = if left == 0 {
            diesel::update(
                manifests::table
                    .find(id)
                    .filter(manifests::status.eq("closed")),
            )
            .set((
                manifests::status.eq("handed_over"),
                manifests::handed_over_at.eq(Some(now)),
                manifests::handed_over_by.eq(Some(&who.token_id)),
            ))
            .execute(c)?;
            "handed_over".to_string()
        } else {
            status
        };
        Ok(HandoverResult {
            manifest_id: id.to_string(),
            manifest_status,
            handed_over: sorted.handed_over,
            missing: sorted.missing,
            unknown: sorted.unknown,
        })
    })
}

/// The units of `parcel_ids` leave the warehouse: statuses, stock and
/// reservations at dispatch, `ship` movements, `shipping` events, orders.
fn ship(
    c: &mut AnyConnection,
    who: &Principal,
    manifest_id: &str,
    carrier_id: &str,
    parcel_ids: &[String],
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let floor = packing::floor(c)?;
    add_statuses(c, who, parcel_ids, "handed_over", now)?;
    let lines = contents(c, parcel_ids)?;

    // Stock at dispatch: on hand and reserved fall together.
    let mut per_lot: BTreeMap<&str, i64> = BTreeMap::new();
    for (_, _, _, lot_id, qty) in &lines {
        *per_lot.entry(lot_id).or_default() += qty;
    }
    for (lot_id, qty) in &per_lot {
        let updated = diesel::update(
            stock::table
                .filter(stock::lot_id.eq(lot_id))
                .filter(stock::location_id.eq(&floor.dispatch))
                .filter(stock::reserved.ge(qty)),
        )
        .set((
            stock::on_hand.eq(stock::on_hand - qty),
            stock::reserved.eq(stock::reserved - qty),
        ))
        .execute(c)?;
        if updated == 0 {
            return Err(AppError::Internal(format!(
                "lot {lot_id} holds fewer than {qty} reserved unit(s) at dispatch"
            )));
        }
    }

    // The orders' reservations at dispatch, per (order, line, lot).
    let mut shipped: BTreeMap<(&str, i32, &str), i64> = BTreeMap::new();
    for (_, order_id, line_no, lot_id, qty) in &lines {
        *shipped.entry((order_id, *line_no, lot_id)).or_default() += qty;
    }
    let order_ids: Vec<String> = {
        let set: std::collections::BTreeSet<&str> = lines.iter().map(|l| l.1.as_str()).collect();
        set.into_iter().map(str::to_string).collect()
    };
    let mut held: HashMap<(String, i32, String), i64> = HashMap::new();
    for chunk in order_ids.chunks(CHUNK) {
        let rows: Vec<(String, i32, String, i64)> = db::fresh(
            reservations::table
                .filter(reservations::order_id.eq_any(chunk))
                .filter(reservations::location_id.eq(&floor.dispatch))
                .select((
                    reservations::order_id,
                    reservations::line_no,
                    reservations::lot_id,
                    reservations::qty,
                )),
        )
        .load(c)?;
        for (o, l, lot, q) in rows {
            held.insert((o, l, lot), q);
        }
    }
    // Orders whose every dispatch reservation ships now lose them in one
    // statement; the others (an order of several parcels) row by row.
    let mut exact: HashMap<&str, bool> = order_ids.iter().map(|o| (o.as_str(), true)).collect();
    for ((order_id, line_no, lot_id), have) in &held {
        let ships = shipped
            .get(&(order_id.as_str(), *line_no, lot_id.as_str()))
            .copied()
            .unwrap_or(0);
        if ships != *have {
            exact.insert(order_id.as_str(), false);
        }
    }
    for ((order_id, line_no, lot_id), qty) in &shipped {
        let have = held
            .get(&(order_id.to_string(), *line_no, lot_id.to_string()))
            .copied()
            .unwrap_or(0);
        if have < *qty {
            return Err(AppError::Internal(format!(
                "order {order_id} line {line_no} holds {have} reserved unit(s) of lot {lot_id} at dispatch, {qty} ship"
            )));
        }
    }
    let whole: Vec<&str> = exact
        .iter()
        .filter(|(_, all)| **all)
        .map(|(o, _)| *o)
        .collect();
    for chunk in whole.chunks(CHUNK) {
        diesel::delete(
            reservations::table
                .filter(reservations::order_id.eq_any(chunk))
                .filter(reservations::location_id.eq(&floor.dispatch)),
        )
        .execute(c)?;
    }
    for ((order_id, line_no, lot_id), qty) in &shipped {
        if exact.get(order_id).copied().unwrap_or(false) {
            continue;
        }
        let row = reservations::table
            .filter(reservations::order_id.eq(*order_id))
            .filter(reservations::line_no.eq(*line_no))
            .filter(reservations::lot_id.eq(*lot_id))
            .filter(reservations::location_id.eq(&floor.dispatch));
        let have = held
            .get(&(order_id.to_string(), *line_no, lot_id.to_string()))
            .copied()
            .unwrap_or(0);
        if have > *qty {
            diesel::update(row)
                .set(reservations::qty.eq(reservations::qty - *qty))
                .execute(c)?;
        } else {
            diesel::delete(row).execute(c)?;
        }
    }

    // The ledger and the trace: one `ship` movement and one `shipping`
    // event per parcel and lot.
    let mut notices: Vec<Notice> = Vec::new();
    let handed_at = time::rfc3339(&now);
    let sscc_of: HashMap<String, (String, i32)> = {
        let mut m = HashMap::new();
        for chunk in parcel_ids.chunks(CHUNK) {
            let rows: Vec<(String, String, i32, String, String, String)> =
                db::fresh(parcels::table.filter(parcels::id.eq_any(chunk)).select((
                    parcels::id,
                    parcels::sscc,
                    parcels::company_prefix_len,
                    parcels::merchant_id,
                    parcels::order_id,
                    parcels::tracking_no,
                )))
                .load(c)?;
            for (id, sscc, len, merchant_id, order_id, tracking_no) in rows {
                notices.push(Notice {
                    merchant_id,
                    event: "parcel.handed_over",
                    data: json!({
                        "sscc": sscc, "order_id": order_id, "tracking_no": tracking_no,
                        "manifest_id": manifest_id, "status": "handed_over",
                        "handed_over_at": handed_at,
                    }),
                });
                m.insert(id, (sscc, len));
            }
        }
        m
    };
    let mut per_parcel_lot: BTreeMap<(&str, &str), (&str, i64)> = BTreeMap::new();
    for (parcel_id, order_id, _, lot_id, qty) in &lines {
        per_parcel_lot
            .entry((parcel_id, lot_id))
            .or_insert((order_id, 0))
            .1 += qty;
    }
    let movement_ids: Vec<String> = per_parcel_lot.keys().map(|_| new_id("mov")).collect();
    let mut entries = Vec::with_capacity(per_parcel_lot.len());
    for (((parcel_id, lot_id), (_, qty)), movement_id) in per_parcel_lot.iter().zip(&movement_ids) {
        let sscc = sscc_of
            .get(*parcel_id)
            .map(|s| s.0.as_str())
            .unwrap_or_default();
        entries.push(Entry {
            movement_id,
            lot_id,
            location_id: &floor.dispatch,
            delta: -qty,
            reference: ("parcel", sscc),
        });
    }
    ledger::append(c, MovementKind::Ship, Some(&who.token_id), &entries)?;

    let lot_ids: Vec<&str> = per_lot.keys().copied().collect();
    let classes = packing::lot_classes(c, &lot_ids)?;
    let mut epcs: HashMap<&str, String> = HashMap::new();
    for (pid, (sscc, len)) in &sscc_of {
        epcs.insert(pid.as_str(), packing::stored_sscc(sscc, *len)?.epc_uri());
    }
    let manifest_tx = trace::tx_uri("manifest", manifest_id);
    let events: Vec<NewEvent> = per_parcel_lot
        .iter()
        .map(|((parcel_id, lot_id), (order_id, qty))| NewEvent {
            event_type: "ObjectEvent",
            action: Action::Observe,
            event_time: now,
            biz_step: BizStep::Shipping,
            disposition: Some(Disposition::InTransit),
            lot_id,
            what_class: classes.get(*lot_id).map_or("", String::as_str),
            quantity: *qty,
            location_id: Some(&floor.dispatch),
            biz_tx: Some((biz_tx::BILL_OF_LADING, manifest_tx.clone())),
            actor: Some(&who.token_id),
            parent_id: epcs.get(parcel_id).map(String::as_str),
            details: Some(json!({
                "order": trace::tx_uri("order", order_id),
                "carrier_id": carrier_id,
            })),
        })
        .collect();
    trace::record_events(c, &events)?;

    // Orders with no parcel left waiting, and nothing left to pack, are
    // dispatched.
    let mut still_waiting: HashSet<String> = HashSet::new();
    for chunk in order_ids.chunks(CHUNK) {
        still_waiting.extend(
            db::fresh(
                parcels::table
                    .filter(parcels::order_id.eq_any(chunk))
                    .filter(parcels::status.eq("packed"))
                    .select(parcels::order_id),
            )
            .load::<String>(c)?,
        );
    }
    let done: Vec<&str> = order_ids
        .iter()
        .filter(|o| !still_waiting.contains(*o))
        .map(String::as_str)
        .collect();
    for chunk in done.chunks(CHUNK) {
        let becoming: Vec<(String, String)> = db::fresh(
            orders::table
                .filter(orders::id.eq_any(chunk))
                .filter(orders::status.eq("packed"))
                .select((orders::id, orders::merchant_id)),
        )
        .load(c)?;
        for (order_id, merchant_id) in becoming {
            notices.push(Notice {
                merchant_id,
                event: "order.dispatched",
                data: json!({
                    "order_id": order_id, "status": "dispatched", "manifest_id": manifest_id,
                    "dispatched_at": handed_at,
                }),
            });
        }
        diesel::update(
            orders::table
                .filter(orders::id.eq_any(chunk))
                .filter(orders::status.eq("packed")),
        )
        .set((orders::status.eq("dispatched"), orders::updated_at.eq(now)))
        .execute(c)?;
    }
    // Merchants' webhooks, queued in this transaction (an outbox).
    webhooks::enqueue(c, &notices)?;
    Ok(())
}

/// Takes a packed parcel off its open or closed manifest (a damaged box to
/// re-pack): the parcel is `removed`, its units go back from dispatch to
/// packing (an `unpack` movement, the reservations with them), the order is
/// `picked` again so that it can be packed anew, and an AggregationEvent
/// DELETE (step `unpacking`) records it.
pub fn remove_parcel(
    conn: &mut AnyConnection,
    who: &Principal,
    manifest_id: &str,
    sscc: &str,
    reason: &str,
) -> Result<ParcelView, AppError> {
    db::write(conn, |c| {
        remove_parcel_in(c, who, manifest_id, sscc, reason)
    })
}

/// [`remove_parcel`] inside the caller's write transaction (a recall stops
/// every packed parcel of a lot in its own).
pub(crate) fn remove_parcel_in(
    c: &mut AnyConnection,
    who: &Principal,
    manifest_id: &str,
    sscc: &str,
    reason: &str,
) -> Result<ParcelView, AppError> {
    {
        let (_, _, status, ..) = manifest_row(c, who, manifest_id)?;
        if status == "handed_over" {
            return Err(AppError::InvalidState(format!(
                "manifest {manifest_id} is handed over: its parcels are with the carrier"
            )));
        }
        let parcel: Option<(String, String, String, i32)> = parcels::table
            .filter(parcels::sscc.eq(sscc))
            .filter(parcels::manifest_id.eq(manifest_id))
            .select((
                parcels::id,
                parcels::order_id,
                parcels::status,
                parcels::company_prefix_len,
            ))
            .first(c)
            .optional()?;
        let Some((parcel_id, order_id, parcel_status, prefix_len)) = parcel else {
            return Err(AppError::not_found("parcel on this manifest", sscc));
        };
        // The guarded update takes the parcel: one removal wins.
        let taken = diesel::update(
            parcels::table
                .find(&parcel_id)
                .filter(parcels::status.eq("packed")),
        )
        .set(parcels::status.eq("removed"))
        .execute(c)?;
        if taken == 0 {
            return Err(AppError::InvalidState(format!(
                "parcel {sscc} is {parcel_status}: only a parcel waiting for pickup can be taken off its manifest"
            )));
        }
        let now = time::now();
        add_statuses(c, who, std::slice::from_ref(&parcel_id), "removed", now)?;
        let floor = packing::floor(c)?;
        let lines = contents(c, std::slice::from_ref(&parcel_id))?;
        let mut per_lot: BTreeMap<&str, i64> = BTreeMap::new();
        for (_, _, line_no, lot_id, qty) in &lines {
            *per_lot.entry(lot_id).or_default() += qty;
            // Reservations: dispatch → packing.
            let at_dispatch = reservations::table
                .filter(reservations::order_id.eq(&order_id))
                .filter(reservations::line_no.eq(*line_no))
                .filter(reservations::lot_id.eq(lot_id))
                .filter(reservations::location_id.eq(&floor.dispatch));
            let shrunk = diesel::update(at_dispatch.filter(reservations::qty.gt(*qty)))
                .set(reservations::qty.eq(reservations::qty - *qty))
                .execute(c)?;
            if shrunk == 0 {
                diesel::delete(at_dispatch).execute(c)?;
            }
            let grown = diesel::update(
                reservations::table
                    .filter(reservations::order_id.eq(&order_id))
                    .filter(reservations::line_no.eq(*line_no))
                    .filter(reservations::lot_id.eq(lot_id))
                    .filter(reservations::location_id.eq(&floor.packing)),
            )
            .set(reservations::qty.eq(reservations::qty + *qty))
            .execute(c)?;
            if grown == 0 {
                diesel::insert_into(reservations::table)
                    .values((
                        reservations::order_id.eq(&order_id),
                        reservations::line_no.eq(*line_no),
                        reservations::lot_id.eq(lot_id),
                        reservations::location_id.eq(&floor.packing),
                        reservations::qty.eq(*qty),
                    ))
                    .execute(c)?;
            }
        }
        let mut entries_owned: Vec<(String, &str, i64)> = Vec::new();
        for (lot_id, qty) in &per_lot {
            move_reserved(c, lot_id, &floor.dispatch, &floor.packing, *qty)?;
            entries_owned.push((new_id("mov"), lot_id, *qty));
        }
        let mut entries = Vec::new();
        for (movement_id, lot_id, qty) in &entries_owned {
            for (location_id, delta) in [(&floor.dispatch, -qty), (&floor.packing, *qty)] {
                entries.push(Entry {
                    movement_id,
                    lot_id,
                    location_id,
                    delta,
                    reference: ("parcel", sscc),
                });
            }
        }
        ledger::append(c, MovementKind::Unpack, Some(&who.token_id), &entries)?;
        let lot_ids: Vec<&str> = per_lot.keys().copied().collect();
        let classes = packing::lot_classes(c, &lot_ids)?;
        let epc = packing::stored_sscc(sscc, prefix_len)?.epc_uri();
        let events: Vec<NewEvent> = per_lot
            .iter()
            .map(|(lot_id, qty)| NewEvent {
                event_type: "AggregationEvent",
                action: Action::Delete,
                event_time: now,
                biz_step: BizStep::Unpacking,
                disposition: Some(Disposition::InProgress),
                lot_id,
                what_class: classes.get(*lot_id).map_or("", String::as_str),
                quantity: *qty,
                location_id: Some(&floor.dispatch),
                biz_tx: Some((biz_tx::PURCHASE_ORDER, trace::tx_uri("order", &order_id))),
                actor: Some(&who.token_id),
                parent_id: Some(&epc),
                details: Some(json!({ "reason": reason, "manifest": manifest_id })),
            })
            .collect();
        trace::record_events(c, &events)?;
        diesel::update(
            orders::table
                .find(&order_id)
                .filter(orders::status.eq("packed")),
        )
        .set((orders::status.eq("picked"), orders::updated_at.eq(now)))
        .execute(c)?;
        packing::get(c, who, sscc)
    }
}

/// Reserved units of a lot from one location to another (stock rows only;
/// the caller writes the ledger).
fn move_reserved(
    c: &mut AnyConnection,
    lot_id: &str,
    from: &str,
    to: &str,
    qty: i64,
) -> Result<(), AppError> {
    let updated = diesel::update(
        stock::table
            .filter(stock::lot_id.eq(lot_id))
            .filter(stock::location_id.eq(from))
            .filter(stock::reserved.ge(qty)),
    )
    .set((
        stock::on_hand.eq(stock::on_hand - qty),
        stock::reserved.eq(stock::reserved - qty),
    ))
    .execute(c)?;
    if updated == 0 {
        return Err(AppError::Internal(format!(
            "lot {lot_id} holds fewer than {qty} reserved unit(s) to move"
        )));
    }
    let grown = diesel::update(
        stock::table
            .filter(stock::lot_id.eq(lot_id))
            .filter(stock::location_id.eq(to)),
    )
    .set((
        stock::on_hand.eq(stock::on_hand + qty),
        stock::reserved.eq(stock::reserved + qty),
    ))
    .execute(c)?;
    if grown == 0 {
        diesel::insert_into(stock::table)
            .values((
                stock::lot_id.eq(lot_id),
                stock::location_id.eq(to),
                stock::on_hand.eq(qty),
                stock::reserved.eq(qty),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// A carrier's status for one of its parcels, at `at` (now when absent).
pub fn record_status(
    conn: &mut AnyConnection,
    who: &Principal,
    sscc: &str,
    status: CarrierStatus,
    at: Option<NaiveDateTime>,
) -> Result<ParcelView, AppError> {
    db::write(conn, |c| {
        let parcel: Option<(String, String, String, String, i32)> = parcels::table
            .filter(parcels::sscc.eq(sscc))
            .select((
                parcels::id,
                parcels::order_id,
                parcels::carrier_id,
                parcels::status,
                parcels::company_prefix_len,
            ))
            .first(c)
            .optional()?;
        let Some((parcel_id, order_id, carrier_id, current, prefix_len)) = parcel else {
            return Err(AppError::not_found("parcel", sscc));
        };
        if who.carrier_id.as_deref() != Some(carrier_id.as_str()) {
            return Err(AppError::not_found("parcel", sscc));
        }
        dispatch::may_follow(&current, status).map_err(AppError::InvalidState)?;
        let now = time::now();
        let previous: Option<NaiveDateTime> = parcel_statuses::table
            .filter(parcel_statuses::parcel_id.eq(&parcel_id))
            .order(parcel_statuses::seq.desc())
            .select(parcel_statuses::at)
            .first(c)
            .optional()?;
        let at = at.unwrap_or(now);
        if let Some(previous) = previous {
            dispatch::check_status_time(at, now, previous)
                .map_err(|message| AppError::Validation(vec![FieldError::new("at", message)]))?;
        }
        // The guarded update: a concurrent status for the same parcel
        // makes this one a 409 rather than a lost update.
        let taken = diesel::update(
            parcels::table
                .find(&parcel_id)
                .filter(parcels::status.eq(&current)),
        )
        .set(parcels::status.eq(status.as_str()))
        .execute(c)?;
        if taken == 0 {
            return Err(AppError::InvalidState(format!(
                "parcel {sscc} changed while this status was recorded; send it again"
            )));
        }
        add_statuses(
            c,
            who,
            std::slice::from_ref(&parcel_id),
            status.as_str(),
            at,
        )?;

        let lines = contents(c, std::slice::from_ref(&parcel_id))?;
        let mut per_lot: BTreeMap<&str, i64> = BTreeMap::new();
        for (_, _, _, lot_id, qty) in &lines {
            *per_lot.entry(lot_id).or_default() += qty;
        }
        let lot_ids: Vec<&str> = per_lot.keys().copied().collect();
        let classes = packing::lot_classes(c, &lot_ids)?;
        let carrier_code: String = carriers::table
            .find(&carrier_id)
            .select(carriers::code)
            .first(c)?;
        let epc = packing::stored_sscc(sscc, prefix_len)?.epc_uri();
        let (step, disposition) = status.trace();
        let manifest_id: Option<String> = parcels::table
            .find(&parcel_id)
            .select(parcels::manifest_id)
            .first(c)?;
        let events: Vec<NewEvent> = per_lot
            .iter()
            .map(|(lot_id, qty)| NewEvent {
                event_type: "ObjectEvent",
                action: Action::Observe,
                event_time: at,
                biz_step: step,
                disposition,
                lot_id,
                what_class: classes.get(*lot_id).map_or("", String::as_str),
                quantity: *qty,
                location_id: None,
                biz_tx: manifest_id
                    .as_ref()
                    .map(|m| (biz_tx::BILL_OF_LADING, trace::tx_uri("manifest", m))),
                actor: Some(&who.token_id),
                parent_id: Some(&epc),
                // EPCIS 2.0 §7.3.5.9: the carrier in possession is the
                // event's source.
                details: Some(json!({
                    "status": status.as_str(),
                    "order": trace::tx_uri("order", &order_id),
                    "source": {
                        "type": "possessing_party",
                        "id": format!("urn:depot:carrier:{carrier_code}"),
                    },
                })),
            })
            .collect();
        trace::record_events(c, &events)?;

        let merchant_id: String = parcels::table
            .find(&parcel_id)
            .select(parcels::merchant_id)
            .first(c)?;
        let mut notices = vec![Notice {
            merchant_id: merchant_id.clone(),
            event: status.webhook_event(),
            data: json!({
                "sscc": sscc, "order_id": order_id, "carrier_code": carrier_code,
                "status": status.as_str(), "at": time::rfc3339(&at),
            }),
        }];
        if status == CarrierStatus::Delivered {
            let undelivered: i64 = parcels::table
                .filter(parcels::order_id.eq(&order_id))
                .filter(parcels::status.ne("removed"))
                .filter(parcels::status.ne("delivered"))
                .count()
                .get_result(c)?;
            if undelivered == 0 {
                diesel::update(
                    orders::table
                        .find(&order_id)
                        .filter(orders::status.eq("dispatched")),
                )
                .set((orders::status.eq("delivered"), orders::updated_at.eq(now)))
                .execute(c)?;
                notices.push(Notice {
                    merchant_id,
                    event: "order.delivered",
                    data: json!({
                        "order_id": order_id, "status": "delivered", "delivered_at": time::rfc3339(&at),
                    }),
                });
            }
        }
        webhooks::enqueue(c, &notices)?;
        packing::get(c, who, sscc)
    })
}
