//! Reading the trace: backward from a parcel or an order to the lots in it,
//! their inspections, evidence and receipt; forward from a lot to every
//! order, parcel, manifest and carrier its units reached.
//!
//! # Backward
//!
//! An order's lines name the lots they drew from: what was packed
//! (`parcel_lines`) and what is still reserved (`reservations`). For each
//! lot: its receipt and arrivals, every inspection of it (the template and
//! its version, the plans, findings, evidence with SHA-256, the inspector's
//! token, and corrections: an inspection that supersedes another says so and
//! why). The event timeline joins three index lookups, never a scan of a
//! busy lot's log: the order's own events (its business transaction,
//! `trace_events_biz_tx`), its parcels' events (their SSCC's EPC URI as
//! parent, `trace_events_parent`), its returns' events, and the lots'
//! upstream events, which name no order or parcel (receiving, inspecting,
//! holding, storing, picking: `trace_events_lot`). A parcel's trace is its
//! order's, narrowed to the parcel's own lots and the parcel's events.
//!
//! # Forward
//!
//! Aggregated in SQL: the lot's parcels grouped by carrier, manifest and
//! status; its orders grouped by status (packed units and open
//! reservations); its stock per location with the location's kind
//! (`packing`: picked, not yet packed; `dispatch`: packed, not yet handed
//! over). The parcels themselves are listed a page at a time by cursor, so
//! a lot that reached 50,000 parcels answers in one short read.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{
    carriers, inspection_evidence, inspection_findings, inspection_templates, inspections,
    locations, lots, manifests, merchants, order_lines, orders, parcel_lines, parcel_statuses,
    parcels, receipt_arrival_lines, receipt_arrivals, receipt_lines, receipts, reservations,
    returns, skus, trace_events,
};
use crate::db::AnyConnection;
use crate::domain::access::Principal;
use crate::domain::page::{Page, PageRequest};
use crate::domain::returns::SHIPPED_PARCEL_STATES;
use crate::domain::time;
use crate::error::AppError;
use crate::services::packing::stored_sscc;
use crate::services::trace::{tx_uri, StoredEvent};

/// The location kind of packed parcels waiting for handover.
const DISPATCH_KIND: &str = "dispatch";
/// The location kind of picked units waiting to be packed.
const PACKING_KIND: &str = "packing";

/// Ids per `IN (…)` list.
const CHUNK: usize = 500;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TraceMerchant {
    pub id: String,
    pub code: String,
    pub name: String,
}

/// Units of one lot in one order line: `packed` (in a parcel), `picked`
/// (on a packing location, not yet packed) or `reserved` (promised, in
/// stock).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineLot {
    pub lot_id: String,
    pub lot_code: String,
    pub qty: i64,
    /// packed, picked or reserved.
    pub state: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TraceOrderLine {
    pub line_no: i32,
    pub sku_id: String,
    pub sku_code: String,
    pub qty: i64,
    pub lots: Vec<LineLot>,
}

/// The order, without its ship-to (a trace answers where goods came from,
/// not who received them).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TraceOrder {
    pub id: String,
    pub merchant_id: String,
    pub channel: String,
    pub external_id: String,
    pub live_session: Option<String>,
    pub status: String,
    pub units: i64,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    pub lines: Vec<TraceOrderLine>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TraceFinding {
    pub check_code: String,
    pub defect_class: String,
    pub defects: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TraceEvidence {
    pub uri: String,
    pub sha256: String,
}

/// One inspection of a lot. A correction supersedes an earlier inspection
/// (`supersedes_id`, `correction_reason`); both are listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TraceInspection {
    pub id: String,
    pub template_id: String,
    pub template_category: String,
    pub template_version: i32,
    pub status: String,
    pub level: String,
    pub severity: String,
    pub scope: String,
    pub lot_size: i64,
    /// The ISO 2859-1 plans per defect class, as recorded when it started.
    #[schema(value_type = Object)]
    pub plans: serde_json::Value,
    pub inspected_qty: Option<i64>,
    pub verdict: Option<String>,
    pub notes: Option<String>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: NaiveDateTime,
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<NaiveDateTime>,
    /// The token that recorded the results (else the one that started it).
    pub inspector: Option<String>,
    pub supersedes_id: Option<String>,
    pub correction_reason: Option<String>,
    pub findings: Vec<TraceFinding>,
    pub evidence: Vec<TraceEvidence>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TraceArrival {
    pub id: String,
    pub seq: i32,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub arrived_at: NaiveDateTime,
    /// Units of this lot's receipt line that arrived then.
    pub received_qty: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TraceReceipt {
    pub id: String,
    pub reference: String,
    pub status: String,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    pub arrivals: Vec<TraceArrival>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TraceLot {
    pub id: String,
    pub lot_code: String,
    pub sku_id: String,
    pub sku_code: String,
    pub gtin: Option<String>,
    pub status: String,
    pub received_qty: i64,
    #[schema(value_type = Option<String>, format = Date)]
    pub production_date: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub expiry_date: Option<NaiveDate>,
    pub receipt: TraceReceipt,
    pub inspections: Vec<TraceInspection>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TraceCarrier {
    pub id: String,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TraceManifest {
    pub id: String,
    pub status: String,
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub handed_over_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TraceParcelLine {
    pub line_no: i32,
    pub lot_id: String,
    pub qty: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TraceStatus {
    pub seq: i32,
    pub status: String,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub at: NaiveDateTime,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TraceParcel {
    pub id: String,
    pub sscc: String,
    /// The SSCC as EPCIS names it (`urn:epc:id:sscc:…`).
    pub epc_uri: String,
    pub status: String,
    pub tracking_no: String,
    pub carrier: TraceCarrier,
    pub manifest: Option<TraceManifest>,
    pub lines: Vec<TraceParcelLine>,
    pub statuses: Vec<TraceStatus>,
}

/// One event of the trace log, as stored (EPCIS field names in depot's
/// spelling; an empty disposition is none).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEvent {
    pub id: String,
    pub event_type: String,
    pub action: String,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub event_time: NaiveDateTime,
    pub biz_step: String,
    pub disposition: Option<String>,
    pub lot_id: Option<String>,
    pub quantity: Option<i64>,
    pub location_id: Option<String>,
    pub biz_tx_type: Option<String>,
    pub biz_tx_id: Option<String>,
    pub parent_id: Option<String>,
    pub actor: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// The backward trace of an order or one parcel of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BackwardTrace {
    pub order: TraceOrder,
    pub merchant: TraceMerchant,
    pub lots: Vec<TraceLot>,
    pub parcels: Vec<TraceParcel>,
    /// Oldest first.
    pub events: Vec<TimelineEvent>,
}

/// The backward trace of parcel `sscc` (18 digits): its order, the lots
/// in the parcel and their history, the parcel's own events.
pub fn parcel(
    conn: &mut AnyConnection,
    who: &Principal,
    sscc: &str,
) -> Result<BackwardTrace, AppError> {
    conn.transaction(|c| {
        let found: Option<(String, String, String)> = parcels::table
            .filter(parcels::sscc.eq(sscc))
            .select((parcels::id, parcels::order_id, parcels::merchant_id))
            .first(c)
            .optional()?;
        match found {
            Some((parcel_id, order_id, merchant)) if who.sees_merchant(&merchant) => {
                backward(c, &order_id, Some(&parcel_id))
            }
            _ => Err(AppError::not_found("parcel", sscc)),
        }
    })
}

/// The backward trace of order `id`: every lot its lines drew from.
pub fn order(
    conn: &mut AnyConnection,
    who: &Principal,
    id: &str,
) -> Result<BackwardTrace, AppError> {
    conn.transaction(|c| {
        let merchant: Option<String> = orders::table
            .find(id)
            .select(orders::merchant_id)
            .first(c)
            .optional()?;
        match merchant {
            Some(m) if who.sees_merchant(&m) => backward(c, id, None),
            _ => Err(AppError::not_found("order", id)),
        }
    })
}

/// id, sscc, company prefix length, status, tracking no, carrier, manifest.
type ParcelRow = (String, String, i32, String, String, String, Option<String>);

type OrderRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    NaiveDateTime,
);

fn backward(
    c: &mut AnyConnection,
    order_id: &str,
    only_parcel: Option<&str>,
) -> Result<BackwardTrace, AppError> {
    let (id, merchant_id, channel, external_id, live_session, status, units, created_at): OrderRow =
        orders::table
            .find(order_id)
            .select((
                orders::id,
                orders::merchant_id,
                orders::channel,
                orders::external_id,
                orders::live_session,
                orders::status,
                orders::units,
                orders::created_at,
            ))
            .first(c)?;
    let merchant: (String, String, String) = merchants::table
        .find(&merchant_id)
        .select((merchants::id, merchants::code, merchants::name))
        .first(c)?;

    // The order's parcels (or just the one asked about).
    let mut parcel_query = parcels::table
        .filter(parcels::order_id.eq(order_id))
        .select((
            parcels::id,
            parcels::sscc,
            parcels::company_prefix_len,
            parcels::status,
            parcels::tracking_no,
            parcels::carrier_id,
            parcels::manifest_id,
        ))
        .order(parcels::id.asc())
        .into_boxed();
    if let Some(p) = only_parcel {
        parcel_query = parcel_query.filter(parcels::id.eq(p));
    }
    let parcel_rows: Vec<ParcelRow> = parcel_query.load(c)?;
    let parcel_ids: Vec<&str> = parcel_rows.iter().map(|p| p.0.as_str()).collect();
    let packed: Vec<(String, i32, String, i64)> = parcel_lines::table
        .filter(parcel_lines::parcel_id.eq_any(&parcel_ids))
        .select((
            parcel_lines::parcel_id,
            parcel_lines::line_no,
            parcel_lines::lot_id,
            parcel_lines::qty,
        ))
        .order((
            parcel_lines::parcel_id,
            parcel_lines::line_no,
            parcel_lines::lot_id,
        ))
        .load(c)?;
    // Packed units stay reserved on the dispatch location until handover;
    // the parcel lines already count those. Reserved units on a packing
    // location are picked, not yet packed.
    let reserved: Vec<(i32, String, i64, String)> = if only_parcel.is_some() {
        Vec::new()
    } else {
        reservations::table
            .inner_join(locations::table)
            .filter(reservations::order_id.eq(order_id))
            .filter(locations::kind.ne(DISPATCH_KIND))
            .select((
                reservations::line_no,
                reservations::lot_id,
                reservations::qty,
                locations::kind,
            ))
            .load(c)?
    };

    let lot_ids: BTreeSet<String> = packed
        .iter()
        .map(|p| p.2.clone())
        .chain(reserved.iter().map(|r| r.1.clone()))
        .collect();
    let lot_ids: Vec<String> = lot_ids.into_iter().collect();
    let lots = load_lots(c, &lot_ids)?;
    let lot_code = |lot: &str| {
        lots.iter()
            .find(|l| l.id == lot)
            .map(|l| l.lot_code.clone())
            .unwrap_or_default()
    };

    // Lines, each with its lots.
    let line_rows: Vec<(i32, String, String, i64)> = order_lines::table
        .inner_join(skus::table)
        .filter(order_lines::order_id.eq(order_id))
        .select((
            order_lines::line_no,
            order_lines::sku_id,
            skus::code,
            order_lines::qty,
        ))
        .order(order_lines::line_no.asc())
        .load(c)?;
    let mut per_line: BTreeMap<(i32, String, &'static str), i64> = BTreeMap::new();
    for (_, line_no, lot, qty) in &packed {
        *per_line
            .entry((*line_no, lot.clone(), "packed"))
            .or_default() += qty;
    }
    for (line_no, lot, qty, kind) in &reserved {
        let state = if kind == PACKING_KIND {
            "picked"
        } else {
            "reserved"
        };
        *per_line.entry((*line_no, lot.clone(), state)).or_default() += qty;
    }
    let lines = line_rows
        .into_iter()
        .filter(|l| only_parcel.is_none() || packed.iter().any(|p| p.1 == l.0))
        .map(|(line_no, sku_id, sku_code, qty)| TraceOrderLine {
            lots: per_line
                .iter()
                .filter(|((n, _, _), _)| *n == line_no)
                .map(|((_, lot, state), q)| LineLot {
                    lot_id: lot.clone(),
                    lot_code: lot_code(lot),
                    qty: *q,
                    state: (*state).to_string(),
                })
                .collect(),
            line_no,
            sku_id,
            sku_code,
            qty,
        })
        .collect();

    let parcels = load_parcels(c, parcel_rows, &packed)?;

    // The timeline: three index lookups, merged by time.
    let mut txs = vec![tx_uri("order", order_id)];
    let mut return_query = returns::table
        .filter(returns::order_id.eq(order_id))
        .select(returns::id)
        .into_boxed();
    if let Some(p) = only_parcel {
        return_query = return_query.filter(returns::parcel_id.eq(p));
    }
    let return_ids: Vec<String> = return_query.load(c)?;
    txs.extend(return_ids.iter().map(|r| tx_uri("return", r)));
    let epcs: Vec<&str> = parcels.iter().map(|p| p.epc_uri.as_str()).collect();
    let mut rows: Vec<StoredEvent> = trace_events::table
        .filter(trace_events::biz_tx_id.eq_any(&txs))
        .select(StoredEvent::as_select())
        .load(c)?;
    if only_parcel.is_some() {
        // A parcel's trace: of the order's events, those of its own lots
        // and its own parcel (or none at all).
        rows.retain(|r| {
            r.lot_id.as_ref().is_some_and(|l| lot_ids.contains(l))
                && r.parent_id
                    .as_ref()
                    .is_none_or(|p| epcs.contains(&p.as_str()))
        });
    }
    rows.extend(
        trace_events::table
            .filter(trace_events::parent_id.eq_any(&epcs))
            .select(StoredEvent::as_select())
            .load(c)?,
    );
    for chunk in lot_ids.chunks(CHUNK) {
        rows.extend(
            trace_events::table
                .filter(trace_events::lot_id.eq_any(chunk))
                .filter(trace_events::parent_id.is_null())
                .filter(trace_events::biz_tx_type.is_null().or(
                    trace_events::biz_tx_type.eq(crate::domain::trace::biz_tx::DESPATCH_ADVICE),
                ))
                .select(StoredEvent::as_select())
                .load(c)?,
        );
    }
    let mut seen = BTreeSet::new();
    rows.retain(|r| seen.insert(r.id.clone()));
    rows.sort_by(|a, b| (a.event_time, &a.id).cmp(&(b.event_time, &b.id)));
    let events = rows.into_iter().map(timeline_event).collect();

    Ok(BackwardTrace {
        order: TraceOrder {
            id,
            merchant_id,
            channel,
            external_id,
            live_session,
            status,
            units,
            created_at,
            lines,
        },
        merchant: TraceMerchant {
            id: merchant.0,
            code: merchant.1,
            name: merchant.2,
        },
        lots,
        parcels,
        events,
    })
}

fn timeline_event(row: StoredEvent) -> TimelineEvent {
    TimelineEvent {
        id: row.id,
        event_type: row.event_type,
        action: row.action,
        event_time: row.event_time,
        biz_step: row.biz_step,
        disposition: Some(row.disposition).filter(|d| !d.is_empty()),
        lot_id: row.lot_id,
        quantity: row.quantity,
        location_id: row.location_id,
        biz_tx_type: row.biz_tx_type,
        biz_tx_id: row.biz_tx_id,
        parent_id: row.parent_id,
        actor: row.actor,
        details: row.details.and_then(|d| serde_json::from_str(&d).ok()),
    }
}

type LotRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    Option<NaiveDate>,
    Option<NaiveDate>,
    String,
    String,
);

fn load_lots(c: &mut AnyConnection, lot_ids: &[String]) -> Result<Vec<TraceLot>, AppError> {
    let mut out = Vec::new();
    for chunk in lot_ids.chunks(CHUNK) {
        let rows: Vec<LotRow> = lots::table
            .inner_join(skus::table)
            .inner_join(receipt_lines::table)
            .filter(lots::id.eq_any(chunk))
            .select((
                lots::id,
                lots::lot_code,
                lots::sku_id,
                skus::code,
                skus::gtin,
                lots::status,
                lots::received_qty,
                lots::production_date,
                lots::expiry_date,
                receipt_lines::receipt_id,
                lots::receipt_line_id,
            ))
            .order(lots::id.asc())
            .load(c)?;
        for row in rows {
            let (id, lot_code, sku_id, sku_code, gtin, status, received_qty, pd, ed, rid, rlid) =
                row;
            let (receipt_id, reference, receipt_status, created_at): (
                String,
                String,
                String,
                NaiveDateTime,
            ) = receipts::table
                .find(&rid)
                .select((
                    receipts::id,
                    receipts::reference,
                    receipts::status,
                    receipts::created_at,
                ))
                .first(c)?;
            let arrivals: Vec<(String, i32, NaiveDateTime, i64)> = receipt_arrivals::table
                .inner_join(receipt_arrival_lines::table)
                .filter(receipt_arrival_lines::receipt_line_id.eq(&rlid))
                .select((
                    receipt_arrivals::id,
                    receipt_arrivals::seq,
                    receipt_arrivals::arrived_at,
                    receipt_arrival_lines::received_qty,
                ))
                .order(receipt_arrivals::seq.asc())
                .load(c)?;
            let inspections = load_inspections(c, &id)?;
            out.push(TraceLot {
                id,
                lot_code,
                sku_id,
                sku_code,
                gtin,
                status,
                received_qty,
                production_date: pd,
                expiry_date: ed,
                receipt: TraceReceipt {
                    id: receipt_id,
                    reference,
                    status: receipt_status,
                    created_at,
                    arrivals: arrivals
                        .into_iter()
                        .map(|(id, seq, arrived_at, received_qty)| TraceArrival {
                            id,
                            seq,
                            arrived_at,
                            received_qty,
                        })
                        .collect(),
                },
                inspections,
            });
        }
    }
    Ok(out)
}

type InspectionRow = (
    (String, String, String, i32),
    (String, String, String, String, i64, String),
    (Option<i64>, Option<String>, Option<String>),
    (
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<String>,
        Option<String>,
    ),
    (Option<String>, Option<String>),
);

fn load_inspections(c: &mut AnyConnection, lot_id: &str) -> Result<Vec<TraceInspection>, AppError> {
    let rows: Vec<InspectionRow> = inspections::table
        .inner_join(
            inspection_templates::table.on(inspection_templates::id.eq(inspections::template_id)),
        )
        .filter(inspections::lot_id.eq(lot_id))
        .select((
            (
                inspections::id,
                inspections::template_id,
                inspection_templates::category,
                inspection_templates::version,
            ),
            (
                inspections::status,
                inspections::level,
                inspections::severity,
                inspections::scope,
                inspections::lot_size,
                inspections::plans,
            ),
            (
                inspections::inspected_qty,
                inspections::verdict,
                inspections::notes,
            ),
            (
                inspections::started_at,
                inspections::finished_at,
                inspections::started_by,
                inspections::finished_by,
            ),
            (inspections::supersedes_id, inspections::correction_reason),
        ))
        .order(inspections::id.asc())
        .load(c)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.0 .0.as_str()).collect();
    let findings: Vec<(String, String, String, i64)> = inspection_findings::table
        .filter(inspection_findings::inspection_id.eq_any(&ids))
        .select((
            inspection_findings::inspection_id,
            inspection_findings::check_code,
            inspection_findings::defect_class,
            inspection_findings::defects,
        ))
        .order((
            inspection_findings::inspection_id,
            inspection_findings::check_code,
        ))
        .load(c)?;
    let evidence: Vec<(String, String, String)> = inspection_evidence::table
        .filter(inspection_evidence::inspection_id.eq_any(&ids))
        .select((
            inspection_evidence::inspection_id,
            inspection_evidence::uri,
            inspection_evidence::sha256,
        ))
        .order((
            inspection_evidence::inspection_id,
            inspection_evidence::position,
        ))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|(head, plan, result, when, correction)| {
            let (id, template_id, template_category, template_version) = head;
            let (status, level, severity, scope, lot_size, plans) = plan;
            TraceInspection {
                findings: findings
                    .iter()
                    .filter(|f| f.0 == id)
                    .map(|f| TraceFinding {
                        check_code: f.1.clone(),
                        defect_class: f.2.clone(),
                        defects: f.3,
                    })
                    .collect(),
                evidence: evidence
                    .iter()
                    .filter(|e| e.0 == id)
                    .map(|e| TraceEvidence {
                        uri: e.1.clone(),
                        sha256: e.2.clone(),
                    })
                    .collect(),
                id,
                template_id,
                template_category,
                template_version,
                status,
                level,
                severity,
                scope,
                lot_size,
                plans: serde_json::from_str(&plans).unwrap_or(serde_json::Value::Null),
                inspected_qty: result.0,
                verdict: result.1,
                notes: result.2,
                started_at: when.0,
                finished_at: when.1,
                inspector: when.3.or(when.2),
                supersedes_id: correction.0,
                correction_reason: correction.1,
            }
        })
        .collect())
}

fn load_parcels(
    c: &mut AnyConnection,
    rows: Vec<ParcelRow>,
    packed: &[(String, i32, String, i64)],
) -> Result<Vec<TraceParcel>, AppError> {
    let ids: Vec<&str> = rows.iter().map(|p| p.0.as_str()).collect();
    let statuses: Vec<(String, i32, String, NaiveDateTime)> = parcel_statuses::table
        .filter(parcel_statuses::parcel_id.eq_any(&ids))
        .select((
            parcel_statuses::parcel_id,
            parcel_statuses::seq,
            parcel_statuses::status,
            parcel_statuses::at,
        ))
        .order((parcel_statuses::parcel_id, parcel_statuses::seq))
        .load(c)?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, sscc, prefix_len, status, tracking_no, carrier_id, manifest_id) in rows {
        let carrier: (String, String, String) = carriers::table
            .find(&carrier_id)
            .select((carriers::id, carriers::code, carriers::name))
            .first(c)?;
        let manifest = match &manifest_id {
            None => None,
            Some(m) => manifests::table
                .find(m)
                .select((
                    manifests::id,
                    manifests::status,
                    manifests::closed_at,
                    manifests::handed_over_at,
                ))
                .first::<(String, String, Option<NaiveDateTime>, Option<NaiveDateTime>)>(c)
                .optional()?
                .map(|(id, status, closed_at, handed_over_at)| TraceManifest {
                    id,
                    status,
                    closed_at,
                    handed_over_at,
                }),
        };
        out.push(TraceParcel {
            epc_uri: stored_sscc(&sscc, prefix_len)?.epc_uri(),
            lines: packed
                .iter()
                .filter(|l| l.0 == id)
                .map(|l| TraceParcelLine {
                    line_no: l.1,
                    lot_id: l.2.clone(),
                    qty: l.3,
                })
                .collect(),
            statuses: statuses
                .iter()
                .filter(|s| s.0 == id)
                .map(|s| TraceStatus {
                    seq: s.1,
                    status: s.2.clone(),
                    at: s.3,
                })
                .collect(),
            id,
            sscc,
            status,
            tracking_no,
            carrier: TraceCarrier {
                id: carrier.0,
                code: carrier.1,
                name: carrier.2,
            },
            manifest,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------- forward

/// Units of the lot on one location.
#[derive(Debug, Clone, Serialize, ToSchema, QueryableByName)]
pub struct ForwardStock {
    #[diesel(sql_type = Text)]
    pub location_id: String,
    #[diesel(sql_type = Text)]
    pub location_code: String,
    /// storage, quarantine, receiving, packing (picked, not yet packed),
    /// dispatch (packed, not yet handed over), returns.
    #[diesel(sql_type = Text)]
    pub location_kind: String,
    #[diesel(sql_type = BigInt)]
    pub on_hand: i64,
    /// Of on_hand, promised to orders.
    #[diesel(sql_type = BigInt)]
    pub reserved: i64,
}

/// The lot's parcels of one carrier, manifest and parcel status.
#[derive(Debug, Clone, Serialize, ToSchema, QueryableByName)]
pub struct ForwardParcelGroup {
    #[diesel(sql_type = Text)]
    pub carrier_id: String,
    #[diesel(sql_type = Text)]
    pub carrier_code: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub manifest_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub manifest_status: Option<String>,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = BigInt)]
    pub parcels: i64,
    /// Units of this lot in those parcels.
    #[diesel(sql_type = BigInt)]
    pub units: i64,
}

/// The orders of one status that the lot reached: units packed into their
/// parcels and units still reserved for them (in stock, or picked and on a
/// packing location).
#[derive(Debug, Clone, Serialize, ToSchema, QueryableByName)]
pub struct ForwardOrderGroup {
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = BigInt)]
    pub orders: i64,
    #[diesel(sql_type = BigInt)]
    pub packed_units: i64,
    #[diesel(sql_type = BigInt)]
    pub reserved_units: i64,
}

/// One parcel that carries units of the lot.
#[derive(Debug, Clone, Serialize, ToSchema, QueryableByName)]
pub struct ForwardParcel {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub sscc: String,
    #[diesel(sql_type = Text)]
    pub order_id: String,
    #[diesel(sql_type = Text)]
    pub carrier_code: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub manifest_id: Option<String>,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = BigInt)]
    pub qty: i64,
}

/// Where the lot's units are, by state.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ForwardTotals {
    pub received: i64,
    /// On hand at storage, quarantine and receiving locations.
    pub in_stock: i64,
    /// Of in_stock, promised to open orders, not yet picked.
    pub reserved: i64,
    /// Picked, on a packing location, not yet packed.
    pub picked: i64,
    /// Packed into parcels on a dispatch location, not yet handed over.
    pub packed: i64,
    /// In parcels handed over to a carrier (and after).
    pub shipped: i64,
    /// Back on a returns location, waiting for re-inspection.
    pub returned: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForwardTrace {
    pub lot: ForwardLot,
    pub totals: ForwardTotals,
    pub stock: Vec<ForwardStock>,
    pub orders: Vec<ForwardOrderGroup>,
    /// By carrier, manifest and status.
    pub parcel_groups: Vec<ForwardParcelGroup>,
    /// A page of the parcels, by id; `next_cursor` for the next one.
    pub parcels: Vec<ForwardParcel>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForwardLot {
    pub id: String,
    pub lot_code: String,
    pub merchant_id: String,
    pub sku_id: String,
    pub sku_code: String,
    pub status: String,
    pub received_qty: i64,
}

/// The lot's merchant, if the caller may see the lot; else 404.
pub fn visible_lot(
    c: &mut AnyConnection,
    who: &Principal,
    lot_id: &str,
) -> Result<ForwardLot, AppError> {
    let found: Option<(String, String, String, String, String, String, i64)> = lots::table
        .inner_join(skus::table)
        .filter(lots::id.eq(lot_id))
        .select((
            lots::id,
            lots::lot_code,
            lots::merchant_id,
            lots::sku_id,
            skus::code,
            lots::status,
            lots::received_qty,
        ))
        .first(c)
        .optional()?;
    match found {
        Some((id, lot_code, merchant_id, sku_id, sku_code, status, received_qty))
            if who.sees_merchant(&merchant_id) =>
        {
            Ok(ForwardLot {
                id,
                lot_code,
                merchant_id,
                sku_id,
                sku_code,
                status,
                received_qty,
            })
        }
        _ => Err(AppError::not_found("lot", lot_id)),
    }
}

/// The forward trace of lot `lot_id`, with one page of its parcels.
pub fn forward(
    conn: &mut AnyConnection,
    who: &Principal,
    lot_id: &str,
    page: &PageRequest,
) -> Result<ForwardTrace, AppError> {
    conn.transaction(|c| {
        let lot = visible_lot(c, who, lot_id)?;
        let stock: Vec<ForwardStock> = diesel::sql_query(
            "SELECT s.location_id AS location_id, l.code AS location_code, \
                    l.kind AS location_kind, s.on_hand AS on_hand, s.reserved AS reserved \
             FROM stock s JOIN locations l ON l.id = s.location_id \
             WHERE s.lot_id = $1 AND (s.on_hand <> 0 OR s.reserved <> 0) ORDER BY l.code",
        )
        .bind::<Text, _>(lot_id)
        .load(c)?;
        let parcel_groups: Vec<ForwardParcelGroup> = diesel::sql_query(
            "SELECT p.carrier_id AS carrier_id, c.code AS carrier_code, \
                    p.manifest_id AS manifest_id, m.status AS manifest_status, p.status AS status, \
                    CAST(COUNT(DISTINCT p.id) AS BIGINT) AS parcels, \
                    CAST(SUM(pl.qty) AS BIGINT) AS units \
             FROM parcel_lines pl JOIN parcels p ON p.id = pl.parcel_id \
             JOIN carriers c ON c.id = p.carrier_id \
             LEFT JOIN manifests m ON m.id = p.manifest_id \
             WHERE pl.lot_id = $1 \
             GROUP BY p.carrier_id, c.code, p.manifest_id, m.status, p.status \
             ORDER BY c.code, p.manifest_id, p.status",
        )
        .bind::<Text, _>(lot_id)
        .load(c)?;
        let orders: Vec<ForwardOrderGroup> = diesel::sql_query(
            "SELECT o.status AS status, CAST(COUNT(*) AS BIGINT) AS orders, \
                    CAST(SUM(u.packed) AS BIGINT) AS packed_units, \
                    CAST(SUM(u.reserved) AS BIGINT) AS reserved_units \
             FROM (SELECT order_id, SUM(packed) AS packed, SUM(reserved) AS reserved FROM ( \
                     SELECT p.order_id AS order_id, pl.qty AS packed, 0 AS reserved \
                     FROM parcel_lines pl JOIN parcels p ON p.id = pl.parcel_id \
                     WHERE pl.lot_id = $1 AND p.status <> 'removed' \
                     UNION ALL \
                     SELECT r.order_id, 0, r.qty FROM reservations r \
                     JOIN locations l ON l.id = r.location_id \
                     WHERE r.lot_id = $1 AND l.kind <> 'dispatch' \
                  ) t GROUP BY order_id) u \
             JOIN orders o ON o.id = u.order_id \
             GROUP BY o.status ORDER BY o.status",
        )
        .bind::<Text, _>(lot_id)
        .load(c)?;
        let after = page.after.clone().unwrap_or_default();
        let rows: Vec<ForwardParcel> = diesel::sql_query(
            // The page first, from the `parcel_lines (lot_id, parcel_id,
            // qty)` index in parcel order (read up to the page's end, not
            // the whole lot), then its parcels.
            "SELECT p.id AS id, p.sscc AS sscc, p.order_id AS order_id, c.code AS carrier_code, \
                    p.manifest_id AS manifest_id, p.status AS status, t.qty AS qty \
             FROM (SELECT pl.parcel_id AS parcel_id, CAST(SUM(pl.qty) AS BIGINT) AS qty \
                   FROM parcel_lines pl WHERE pl.lot_id = $1 AND pl.parcel_id > $2 \
                   GROUP BY pl.parcel_id ORDER BY pl.parcel_id LIMIT $3) t \
             JOIN parcels p ON p.id = t.parcel_id \
             JOIN carriers c ON c.id = p.carrier_id \
             ORDER BY p.id",
        )
        .bind::<Text, _>(lot_id)
        .bind::<Text, _>(&after)
        .bind::<BigInt, _>(page.fetch())
        .load(c)?;
        let page = Page::from_rows(rows, page, |p| &p.id);

        let mut totals = ForwardTotals {
            received: lot.received_qty,
            ..ForwardTotals::default()
        };
        for s in &stock {
            match s.location_kind.as_str() {
                PACKING_KIND => totals.picked += s.on_hand,
                DISPATCH_KIND => totals.packed += s.on_hand,
                "returns" => totals.returned += s.on_hand,
                // Units on packing and dispatch locations stay reserved
                // for their order until handover: they are counted as
                // picked or packed, not as reserved.
                _ => {
                    totals.in_stock += s.on_hand;
                    totals.reserved += s.reserved;
                }
            }
        }
        totals.shipped = parcel_groups
            .iter()
            .filter(|g| SHIPPED_PARCEL_STATES.contains(&g.status.as_str()))
            .map(|g| g.units)
            .sum();
        Ok(ForwardTrace {
            lot,
            totals,
            stock,
            orders,
            parcel_groups,
            parcels: page.items,
            next_cursor: page.next_cursor,
        })
    })
}
