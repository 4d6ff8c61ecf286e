//! Returns: units of a shipped order received back, re-inspected, and
//! restocked or scrapped.
//!
//! # Receiving a return
//!
//! `POST /returns` takes either a parcel by SSCC (a carrier's return to
//! sender, or any parcel after handover: it comes back whole, its lots and
//! quantities known from `parcel_lines`) or an order with lines (a consumer
//! return of a dispatched or delivered order: per SKU at most what was
//! shipped and has not come back yet, the lots taken from the order's
//! parcels, oldest parcel first: `domain::returns::allocate`). The units
//! arrive on the default `returns` location with a ledger `return` movement
//! per lot (referencing the return) and a `receiving` ObjectEvent with
//! disposition `returned` and the return as its business transaction (CBV
//! `rma`). A parcel becomes `returned` (a status row); an order whose every
//! shipped unit is back becomes `returned`.
//!
//! Returned units are not sellable: the reservation engine draws only from
//! `storage` locations (`services::orders`), putaway only from `receiving`,
//! and moves only from storage or quarantine, so units on a returns location
//! stay where they are until their re-inspection.
//!
//! # Re-inspection
//!
//! `POST /returns/{id}/inspection` decides, per line, how many units are
//! restocked and how many scrapped (together, the line's quantity). Findings
//! are recorded against the return inspection template: the newest template
//! of category `return` (the merchant's own first), else the `default` one
//! (`catalog::template_for`), with evidence by SHA-256 as for a lot.
//! Restocked units move (`restock`) to the default receiving location, where
//! they join the lot's accepted units waiting for putaway (`POST
//! /lots/{id}/putaway` takes them as it takes any accepted stock); scrapped
//! units leave the ledger (`scrap`, a `destroying` event with disposition
//! `destroyed`). Each line records `inspecting` events (conformant for the
//! restocked units, non_conformant for the scrapped ones), and restocked
//! units a `storing` event (`sellable_not_accessible`: sellable, not yet in
//! a bin). A return is inspected once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{
    lots, order_lines, orders, parcel_lines, parcel_statuses, parcels, return_evidence,
    return_findings, return_lines, returns, skus,
};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::evidence::check_evidence;
use crate::domain::ids::new_id;
use crate::domain::inspection::LotStatus;
use crate::domain::page::{Page, PageRequest};
use crate::domain::returns::{
    self as rules, ReturnStatus, Shipped, CONSUMER_RETURN_ORDER_STATES, SHIPPED_PARCEL_STATES,
};
use crate::domain::time;
use crate::domain::trace::{biz_tx, Action, BizStep, Disposition};
use crate::error::{validated, AppError, FieldError};
use crate::services::catalog::{self, Location};
use crate::services::inspections::{Evidence, Finding, MAX_EVIDENCE};
use crate::services::ledger::{self, Movement, MovementKind};
use crate::services::lots as lot_service;
use crate::services::{evidence, trace};

/// The template category a return is re-inspected with.
pub const RETURN_TEMPLATE_CATEGORY: &str = "return";

/// Ids per `IN (…)` list.
const CHUNK: usize = 500;

/// What comes back, as parsed by the HTTP layer: exactly one of `sscc` and
/// `order_id`; `lines` (SKU code, units) with an order only.
#[derive(Debug, Clone)]
pub struct ReceiveReturn {
    pub sscc: Option<String>,
    pub order_id: Option<String>,
    pub reason: String,
    pub lines: Vec<(String, i64)>,
}

/// The re-inspection, as parsed by the HTTP layer.
#[derive(Debug, Clone)]
pub struct InspectReturn {
    /// (return line id, restock_qty, scrap_qty).
    pub lines: Vec<(String, i64, i64)>,
    /// (check code, defects found).
    pub findings: Vec<(String, i64)>,
    /// (uri, sha256).
    pub evidence: Vec<(String, String)>,
    pub notes: Option<String>,
}

/// Units of one order line from one lot that came back.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReturnLine {
    pub id: String,
    pub lot_id: String,
    pub lot_code: String,
    pub sku_code: String,
    pub qty: i64,
    /// Decided by the re-inspection (null until then).
    pub restock_qty: Option<i64>,
    pub scrap_qty: Option<i64>,
}

/// The re-inspection of a return.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReturnInspection {
    /// The return inspection template (category `return`, else `default`).
    pub template_id: String,
    pub template_version: i32,
    /// Every check of the template with the defects found.
    pub findings: Vec<Finding>,
    pub evidence: Vec<Evidence>,
    pub notes: Option<String>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub inspected_at: NaiveDateTime,
    pub inspected_by: Option<String>,
}

/// A return.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Return {
    pub id: String,
    /// `parcel` (received back whole by SSCC) or `consumer` (units of an order).
    pub kind: String,
    /// `received` (on the returns location, not sellable) or `inspected`.
    pub status: String,
    pub order_id: String,
    pub merchant_id: String,
    /// The parcel received back (kind `parcel`).
    pub sscc: Option<String>,
    pub reason: String,
    /// The returns location the units arrived on.
    pub location_code: String,
    pub lines: Vec<ReturnLine>,
    /// Present once inspected.
    pub inspection: Option<ReturnInspection>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
}

/// A return as an order shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReturnSummary {
    pub id: String,
    pub status: String,
    pub lines: Vec<ReturnLine>,
}

#[derive(Debug, Clone, Default)]
pub struct ReturnFilter {
    pub status: Option<ReturnStatus>,
    pub order_id: Option<String>,
}

/// Parcels whose units have left the ledger, returned ones included: what
/// an order shipped.
fn shipped_states() -> Vec<&'static str> {
    let mut states = SHIPPED_PARCEL_STATES.to_vec();
    states.push("returned");
    states
}

fn returns_location(c: &mut AnyConnection) -> Result<Location, AppError> {
    catalog::default_location(c, "returns").map_err(|e| match e {
        AppError::InvalidState(_) => AppError::InvalidState(
            "there is no default returns location; create a location of kind returns first".into(),
        ),
        other => other,
    })
}

/// Receives a return: a parcel back whole, or a consumer's units of an order.
pub fn receive(
    conn: &mut AnyConnection,
    who: &Principal,
    cmd: ReceiveReturn,
) -> Result<Return, AppError> {
    db::write(conn, |c| {
        let location = returns_location(c)?;
        let id = new_id("ret");
        let now = time::now();
        let (order_id, merchant_id, parcel, contents) = match (&cmd.sscc, &cmd.order_id) {
            (Some(sscc), _) => {
                let (parcel_id, order_id, merchant_id, contents) = parcel_back(c, who, sscc)?;
                (
                    order_id,
                    merchant_id,
                    Some((parcel_id, sscc.clone())),
                    contents,
                )
            }
            (None, Some(order_id)) => {
                let (merchant_id, contents) = consumer_units(c, order_id, &cmd.lines)?;
                (order_id.clone(), merchant_id, None, contents)
            }
            (None, None) => {
                return Err(AppError::field(
                    "sscc",
                    "give the SSCC of a parcel, or an order_id with lines",
                ))
            }
        };
        let kind = if parcel.is_some() {
            "parcel"
        } else {
            "consumer"
        };
        diesel::insert_into(returns::table)
            .values((
                returns::id.eq(&id),
                returns::merchant_id.eq(&merchant_id),
                returns::order_id.eq(&order_id),
                returns::parcel_id.eq(parcel.as_ref().map(|p| &p.0)),
                returns::kind.eq(kind),
                returns::reason.eq(&cmd.reason),
                returns::status.eq(ReturnStatus::Received.as_str()),
                returns::location_id.eq(&location.id),
                returns::created_at.eq(now),
                returns::created_by.eq(Some(&who.token_id)),
            ))
            .execute(c)?;
        let sku_of_line = line_skus(c, &order_id)?;
        for (i, s) in contents.iter().enumerate() {
            let sku_id = sku_of_line
                .get(&s.line_no)
                .map(|(sku_id, _)| sku_id.clone())
                .ok_or_else(|| AppError::Internal(format!("order line {} vanished", s.line_no)))?;
            diesel::insert_into(return_lines::table)
                .values((
                    return_lines::id.eq(new_id("rtl")),
                    return_lines::return_id.eq(&id),
                    return_lines::line_no.eq(i as i32 + 1),
                    return_lines::order_line_no.eq(s.line_no),
                    return_lines::sku_id.eq(sku_id),
                    return_lines::lot_id.eq(&s.lot_id),
                    return_lines::qty.eq(s.qty),
                ))
                .execute(c)?;
        }

        // The ledger and the trace: per lot, the units arrive on the returns
        // location.
        let mut per_lot: BTreeMap<&str, i64> = BTreeMap::new();
        for s in &contents {
            *per_lot.entry(s.lot_id.as_str()).or_default() += s.qty;
        }
        let details = serde_json::json!({
            "return_id": id,
            "order_id": order_id,
            "sscc": parcel.as_ref().map(|p| &p.1),
            "reason": cmd.reason,
        });
        for (lot_id, qty) in per_lot {
            ledger::post(
                c,
                &Movement {
                    kind: MovementKind::Return,
                    lot_id,
                    reference: Some(("return", &id)),
                    reason: Some(&cmd.reason),
                    actor: Some(&who.token_id),
                },
                &[(&location.id, qty)],
            )?;
            let lot = lot_service::row(c, who, lot_id)?;
            trace::record_with_details(
                c,
                trace::LotEvent {
                    action: Action::Observe,
                    biz_step: BizStep::Receiving,
                    disposition: Disposition::Returned,
                    lot_id,
                    what_class: &lot.what_class,
                    quantity: Some(qty),
                    location_id: Some(&location.id),
                    biz_tx: Some((biz_tx::RETURN_AUTHORIZATION, trace::tx_uri("return", &id))),
                    actor: Some(&who.token_id),
                },
                Some(&details),
            )?;
        }

        if let Some((parcel_id, _)) = &parcel {
            append_parcel_status(c, who, parcel_id, "returned", now)?;
        }
        mark_order_if_all_back(c, &order_id, now)?;
        let view = load(c, &id)?;
        notify(c, &view, "return.received")?;
        Ok(view)
    })
}

/// The parcel of `sscc` back whole: takes its row (guarded update to
/// `returned`), and answers (parcel id, order id, merchant id, contents).
fn parcel_back(
    c: &mut AnyConnection,
    who: &Principal,
    sscc: &str,
) -> Result<(String, String, String, Vec<Shipped>), AppError> {
    let row: Option<(String, String, String, String)> = parcels::table
        .filter(parcels::sscc.eq(sscc))
        .select((
            parcels::id,
            parcels::order_id,
            parcels::merchant_id,
            parcels::status,
        ))
        .first(c)
        .optional()?;
    let Some((parcel_id, order_id, merchant_id, status)) = row else {
        return Err(AppError::NotFound(format!("no parcel with SSCC {sscc}")));
    };
    if !who.sees_merchant(&merchant_id) {
        return Err(AppError::NotFound(format!("no parcel with SSCC {sscc}")));
    }
    // Two receptions of one parcel queue on its row; the second finds it
    // `returned`.
    let taken = diesel::update(
        parcels::table
            .find(&parcel_id)
            .filter(parcels::status.eq_any(SHIPPED_PARCEL_STATES)),
    )
    .set(parcels::status.eq("returned"))
    .execute(c)?;
    if taken == 0 {
        let reason = rules::parcel_returnable(&status)
            .err()
            .unwrap_or_else(|| "another request is returning it".into());
        let by: Option<String> = returns::table
            .filter(returns::parcel_id.eq(&parcel_id))
            .select(returns::id)
            .first(c)
            .optional()?;
        return Err(AppError::InvalidState(match by {
            Some(return_id) => {
                format!("parcel {sscc} cannot come back: {reason} (return {return_id})")
            }
            None => format!("parcel {sscc} cannot come back: {reason}"),
        }));
    }
    let contents: Vec<Shipped> = parcel_lines::table
        .filter(parcel_lines::parcel_id.eq(&parcel_id))
        .order((parcel_lines::line_no.asc(), parcel_lines::lot_id.asc()))
        .select((
            parcel_lines::line_no,
            parcel_lines::lot_id,
            parcel_lines::qty,
        ))
        .load::<(i32, String, i64)>(c)?
        .into_iter()
        .map(|(line_no, lot_id, qty)| Shipped {
            line_no,
            lot_id,
            qty,
        })
        .collect();
    // A consumer may have sent units of this parcel back already (a
    // delivered parcel, then returned whole): what is left must cover it.
    let left = remaining_of_order(c, &order_id)?;
    for s in &contents {
        let available: i64 = left
            .iter()
            .filter(|l| l.line_no == s.line_no && l.lot_id == s.lot_id)
            .map(|l| l.qty)
            .sum();
        if available < s.qty {
            return Err(AppError::InvalidState(format!(
                "parcel {sscc} cannot come back whole: {} of its {} unit(s) of lot {} were returned already by a consumer return",
                s.qty - available,
                s.qty,
                s.lot_id
            )));
        }
    }
    Ok((parcel_id, order_id, merchant_id, contents))
}

/// A consumer's units of a dispatched or delivered order: (merchant id, the
/// units per order line and lot).
fn consumer_units(
    c: &mut AnyConnection,
    order_id: &str,
    wanted: &[(String, i64)],
) -> Result<(String, Vec<Shipped>), AppError> {
    let now = time::now();
    // Returns of one order queue on its row.
    let locked = diesel::update(
        orders::table
            .find(order_id)
            .filter(orders::status.eq_any(CONSUMER_RETURN_ORDER_STATES)),
    )
    .set(orders::updated_at.eq(now))
    .execute(c)?;
    let head: Option<(String, String)> = orders::table
        .find(order_id)
        .select((orders::merchant_id, orders::status))
        .first(c)
        .optional()?;
    let Some((merchant_id, status)) = head else {
        return Err(AppError::not_found("order", order_id));
    };
    if locked == 0 {
        return Err(AppError::InvalidState(format!(
            "order {order_id} is {status}: a consumer return is taken for a dispatched or delivered order"
        )));
    }
    let sku_of_line = line_skus(c, order_id)?;
    let left = remaining_of_order(c, order_id)?;
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    let mut contents = Vec::new();
    for (i, (sku, qty)) in wanted.iter().enumerate() {
        if !seen.insert(sku.as_str()) {
            errors.push(FieldError::new(
                format!("lines[{i}].sku_code"),
                "is given twice; give each SKU once with its total",
            ));
            continue;
        }
        let lines_of_sku: BTreeSet<i32> = sku_of_line
            .iter()
            .filter(|(_, (_, code))| code == sku)
            .map(|(line, _)| *line)
            .collect();
        if lines_of_sku.is_empty() {
            errors.push(FieldError::new(
                format!("lines[{i}].sku_code"),
                format!("order {order_id} has no line of SKU {sku}"),
            ));
            continue;
        }
        let available: Vec<Shipped> = left
            .iter()
            .filter(|s| lines_of_sku.contains(&s.line_no))
            .cloned()
            .collect();
        match rules::allocate(&available, *qty) {
            Ok(taken) => contents.extend(taken),
            Err(total) => errors.push(FieldError::new(
                format!("lines[{i}].qty"),
                format!("is more than the {total} unit(s) of {sku} shipped and not yet returned"),
            )),
        }
    }
    validated(errors)?;
    Ok((merchant_id, contents))
}

/// What the order shipped (oldest parcel first) that has not come back.
fn remaining_of_order(c: &mut AnyConnection, order_id: &str) -> Result<Vec<Shipped>, AppError> {
    let shipped: Vec<Shipped> = parcel_lines::table
        .inner_join(parcels::table)
        .filter(parcels::order_id.eq(order_id))
        .filter(parcels::status.eq_any(shipped_states()))
        .order((
            parcels::created_at.asc(),
            parcels::id.asc(),
            parcel_lines::line_no.asc(),
            parcel_lines::lot_id.asc(),
        ))
        .select((
            parcel_lines::line_no,
            parcel_lines::lot_id,
            parcel_lines::qty,
        ))
        .load::<(i32, String, i64)>(c)?
        .into_iter()
        .map(|(line_no, lot_id, qty)| Shipped {
            line_no,
            lot_id,
            qty,
        })
        .collect();
    let mut returned: BTreeMap<(i32, String), i64> = BTreeMap::new();
    let rows: Vec<(i32, String, i64)> = return_lines::table
        .inner_join(returns::table)
        .filter(returns::order_id.eq(order_id))
        .select((
            return_lines::order_line_no,
            return_lines::lot_id,
            return_lines::qty,
        ))
        .load(c)?;
    for (line_no, lot_id, qty) in rows {
        *returned.entry((line_no, lot_id)).or_default() += qty;
    }
    Ok(rules::remaining(&shipped, &returned))
}

/// (SKU id, SKU code) of each of the order's lines.
fn line_skus(
    c: &mut AnyConnection,
    order_id: &str,
) -> Result<HashMap<i32, (String, String)>, AppError> {
    Ok(order_lines::table
        .inner_join(skus::table)
        .filter(order_lines::order_id.eq(order_id))
        .select((order_lines::line_no, skus::id, skus::code))
        .load::<(i32, String, String)>(c)?
        .into_iter()
        .map(|(line, id, code)| (line, (id, code)))
        .collect())
}

fn append_parcel_status(
    c: &mut AnyConnection,
    who: &Principal,
    parcel_id: &str,
    status: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let last: Option<i32> = parcel_statuses::table
        .filter(parcel_statuses::parcel_id.eq(parcel_id))
        .select(diesel::dsl::max(parcel_statuses::seq))
        .first(c)?;
    diesel::insert_into(parcel_statuses::table)
        .values((
            parcel_statuses::parcel_id.eq(parcel_id),
            parcel_statuses::seq.eq(last.unwrap_or(0) + 1),
            parcel_statuses::status.eq(status),
            parcel_statuses::at.eq(now),
            parcel_statuses::recorded_at.eq(now),
            parcel_statuses::recorded_by.eq(Some(&who.token_id)),
        ))
        .execute(c)?;
    Ok(())
}

/// A dispatched or delivered order whose every shipped unit is back is
/// `returned`.
fn mark_order_if_all_back(
    c: &mut AnyConnection,
    order_id: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let shipped: Vec<i64> = parcel_lines::table
        .inner_join(parcels::table)
        .filter(parcels::order_id.eq(order_id))
        .filter(parcels::status.eq_any(shipped_states()))
        .select(parcel_lines::qty)
        .load(c)?;
    let returned: Vec<i64> = return_lines::table
        .inner_join(returns::table)
        .filter(returns::order_id.eq(order_id))
        .select(return_lines::qty)
        .load(c)?;
    if rules::order_fully_returned(shipped.iter().sum(), returned.iter().sum()) {
        diesel::update(
            orders::table
                .find(order_id)
                .filter(orders::status.eq_any(CONSUMER_RETURN_ORDER_STATES)),
        )
        .set((orders::status.eq("returned"), orders::updated_at.eq(now)))
        .execute(c)?;
    }
    Ok(())
}

// ------------------------------------------------------------ re-inspection

type LineRow = (String, i32, String, String, i64);

/// Re-inspects a received return: findings against the return inspection
/// template, evidence, notes, and per line how many units are restocked and
/// how many scrapped.
pub fn inspect(
    conn: &mut AnyConnection,
    who: &Principal,
    return_id: &str,
    cmd: InspectReturn,
) -> Result<Return, AppError> {
    db::write(conn, |c| {
        let head: Option<(String, String, String)> = returns::table
            .find(return_id)
            .select((returns::merchant_id, returns::status, returns::location_id))
            .first(c)
            .optional()?;
        let Some((merchant_id, status, location_id)) = head else {
            return Err(AppError::not_found("return", return_id));
        };
        if !who.sees_merchant(&merchant_id) {
            return Err(AppError::not_found("return", return_id));
        }
        let now = time::now();
        // Inspectors of one return queue on its row; a return is inspected once.
        let taken = diesel::update(
            returns::table
                .find(return_id)
                .filter(returns::status.eq(ReturnStatus::Received.as_str())),
        )
        .set((
            returns::status.eq(ReturnStatus::Inspected.as_str()),
            returns::inspected_at.eq(now),
            returns::inspected_by.eq(Some(&who.token_id)),
            returns::notes.eq(&cmd.notes),
        ))
        .execute(c)?;
        if taken == 0 {
            return Err(AppError::InvalidState(format!(
                "return {return_id} is {status}: a return is inspected once"
            )));
        }
        let lines: Vec<LineRow> = return_lines::table
            .filter(return_lines::return_id.eq(return_id))
            .order(return_lines::line_no.asc())
            .select((
                return_lines::id,
                return_lines::line_no,
                return_lines::lot_id,
                return_lines::sku_id,
                return_lines::qty,
            ))
            .load(c)?;
        let template = catalog::template_for(c, &merchant_id, Some(RETURN_TEMPLATE_CATEGORY))?;
        let total: i64 = lines.iter().map(|l| l.4).sum();
        let decisions = check_inspection(c, &lines, &template, total, &cmd)?;
        diesel::update(returns::table.find(return_id))
            .set(returns::template_id.eq(&template.id))
            .execute(c)?;
        for check in &template.checks {
            let defects = cmd
                .findings
                .iter()
                .find(|(code, _)| *code == check.code)
                .map_or(0, |f| f.1);
            diesel::insert_into(return_findings::table)
                .values((
                    return_findings::return_id.eq(return_id),
                    return_findings::check_code.eq(&check.code),
                    return_findings::defect_class.eq(check.defect_class.as_str()),
                    return_findings::defects.eq(defects),
                ))
                .execute(c)?;
        }
        for (i, (uri, sha256)) in cmd.evidence.iter().enumerate() {
            let evidence = check_evidence(uri, sha256).map_err(|(_, m)| AppError::BadRequest(m))?;
            diesel::insert_into(return_evidence::table)
                .values((
                    return_evidence::return_id.eq(return_id),
                    return_evidence::position.eq(i as i32 + 1),
                    return_evidence::uri.eq(&evidence.uri),
                    return_evidence::sha256.eq(&evidence.sha256),
                ))
                .execute(c)?;
        }

        let receiving = if decisions.values().any(|(restock, _)| *restock > 0) {
            Some(catalog::default_location(c, "receiving")?)
        } else {
            None
        };
        let tx = trace::tx_uri("return", return_id);
        let details = serde_json::json!({
            "return_id": return_id,
            "template_id": template.id,
            "template_version": template.version,
        });
        for (line_id, _, lot_id, _, qty) in &lines {
            let (restock, scrap) = decisions.get(line_id).copied().unwrap_or((0, 0));
            diesel::update(return_lines::table.find(line_id))
                .set((
                    return_lines::restock_qty.eq(Some(restock)),
                    return_lines::scrap_qty.eq(Some(scrap)),
                ))
                .execute(c)?;
            let lot = lot_service::row(c, who, lot_id)?;
            let event = |disposition, biz_step, quantity, at| {
                ReturnEvent {
                    lot_id,
                    what_class: &lot.what_class,
                    tx: &tx,
                    actor: &who.token_id,
                }
                .at(disposition, biz_step, quantity, at)
            };
            for (units, disposition) in [
                (restock, Disposition::Conformant),
                (scrap, Disposition::NonConformant),
            ] {
                if units > 0 {
                    trace::record_with_details(
                        c,
                        event(disposition, BizStep::Inspecting, units, &location_id),
                        Some(&details),
                    )?;
                }
            }
            debug_assert_eq!(restock + scrap, *qty);
            if let (true, Some(receiving)) = (restock > 0, &receiving) {
                if lot.status != LotStatus::Accepted {
                    return Err(AppError::InvalidState(format!(
                        "lot {lot_id} is {}: restocked units would not be sellable; scrap them",
                        lot.status
                    )));
                }
                ledger::post(
                    c,
                    &Movement {
                        kind: MovementKind::Restock,
                        lot_id,
                        reference: Some(("return", return_id)),
                        reason: None,
                        actor: Some(&who.token_id),
                    },
                    &[(&location_id, -restock), (&receiving.id, restock)],
                )?;
                trace::record(
                    c,
                    event(
                        Disposition::SellableNotAccessible,
                        BizStep::Storing,
                        restock,
                        &receiving.id,
                    ),
                )?;
            }
            if scrap > 0 {
                ledger::post(
                    c,
                    &Movement {
                        kind: MovementKind::Scrap,
                        lot_id,
                        reference: Some(("return", return_id)),
                        reason: Some("scrapped at the return inspection"),
                        actor: Some(&who.token_id),
                    },
                    &[(&location_id, -scrap)],
                )?;
                trace::record(
                    c,
                    trace::LotEvent {
                        action: Action::Delete,
                        ..event(
                            Disposition::Destroyed,
                            BizStep::Destroying,
                            scrap,
                            &location_id,
                        )
                    },
                )?;
            }
        }
        let view = load(c, return_id)?;
        notify(c, &view, "return.inspected")?;
        Ok(view)
    })
}

/// The parts every event of one line of a re-inspection shares.
struct ReturnEvent<'a> {
    lot_id: &'a str,
    what_class: &'a str,
    tx: &'a str,
    actor: &'a str,
}

impl<'a> ReturnEvent<'a> {
    fn at(
        &self,
        disposition: Disposition,
        biz_step: BizStep,
        quantity: i64,
        location_id: &'a str,
    ) -> trace::LotEvent<'a> {
        trace::LotEvent {
            action: Action::Observe,
            biz_step,
            disposition,
            lot_id: self.lot_id,
            what_class: self.what_class,
            quantity: Some(quantity),
            location_id: Some(location_id),
            biz_tx: Some((biz_tx::RETURN_AUTHORIZATION, self.tx.to_string())),
            actor: Some(self.actor),
        }
    }
}

/// Checks the re-inspection against the return (422 listing every bad
/// field) and answers each line's (restock, scrap).
fn check_inspection(
    c: &mut AnyConnection,
    lines: &[LineRow],
    template: &catalog::InspectionTemplate,
    total: i64,
    cmd: &InspectReturn,
) -> Result<HashMap<String, (i64, i64)>, AppError> {
    let mut errors = Vec::new();
    let mut decisions: HashMap<String, (i64, i64)> = HashMap::new();
    for (i, (line_id, restock, scrap)) in cmd.lines.iter().enumerate() {
        let Some(line) = lines.iter().find(|l| l.0 == *line_id) else {
            errors.push(FieldError::new(
                format!("lines[{i}].line_id"),
                "is not a line of this return",
            ));
            continue;
        };
        if decisions
            .insert(line_id.clone(), (*restock, *scrap))
            .is_some()
        {
            errors.push(FieldError::new(
                format!("lines[{i}].line_id"),
                "appears twice",
            ));
            continue;
        }
        if let Err((field, message)) = rules::check_decision(line.4, *restock, *scrap) {
            errors.push(FieldError::new(format!("lines[{i}].{field}"), message));
        }
    }
    let undecided: Vec<&str> = lines
        .iter()
        .filter(|l| !decisions.contains_key(&l.0))
        .map(|l| l.0.as_str())
        .collect();
    if !undecided.is_empty() {
        errors.push(FieldError::new(
            "lines",
            format!(
                "every line of the return needs a decision; missing: {}",
                undecided.join(", ")
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, (code, defects)) in cmd.findings.iter().enumerate() {
        if !template.checks.iter().any(|check| check.code == *code) {
            let codes: Vec<&str> = template.checks.iter().map(|c| c.code.as_str()).collect();
            errors.push(FieldError::new(
                format!("findings[{i}].check_code"),
                format!(
                    "is not a check of the return inspection template {} (category {}); its checks are {}",
                    template.id,
                    template.category,
                    codes.join(", ")
                ),
            ));
        } else if !seen.insert(code.as_str()) {
            errors.push(FieldError::new(
                format!("findings[{i}].check_code"),
                "appears twice",
            ));
        }
        if *defects < 0 || *defects > total {
            errors.push(FieldError::new(
                format!("findings[{i}].defects"),
                format!("must be from 0 to the {total} unit(s) returned"),
            ));
        }
    }
    if cmd.evidence.len() > MAX_EVIDENCE {
        errors.push(FieldError::new(
            "evidence",
            format!("at most {MAX_EVIDENCE} pieces of evidence"),
        ));
    }
    for (i, (uri, sha256)) in cmd.evidence.iter().enumerate() {
        match check_evidence(uri, sha256) {
            Err((field, message)) => {
                errors.push(FieldError::new(format!("evidence[{i}].{field}"), message));
            }
            Ok(found) if found.ours => {
                if !evidence::exists(c, &found.sha256)? {
                    errors.push(FieldError::new(
                        format!("evidence[{i}].uri"),
                        "no file with this SHA-256 was uploaded (POST /api/v1/evidence)",
                    ));
                }
            }
            Ok(_) => {}
        }
    }
    validated(errors)?;
    Ok(decisions)
}

// ------------------------------------------------------------------ queries

type ReturnRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    NaiveDateTime,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
    Option<String>,
);

type ReturnColumns = (
    returns::id,
    returns::kind,
    returns::status,
    returns::order_id,
    returns::parcel_id,
    returns::merchant_id,
    returns::reason,
    returns::location_id,
    returns::created_at,
    returns::created_by,
    returns::template_id,
    returns::notes,
    returns::inspected_at,
    returns::inspected_by,
);
const RETURN_COLUMNS: ReturnColumns = (
    returns::id,
    returns::kind,
    returns::status,
    returns::order_id,
    returns::parcel_id,
    returns::merchant_id,
    returns::reason,
    returns::location_id,
    returns::created_at,
    returns::created_by,
    returns::template_id,
    returns::notes,
    returns::inspected_at,
    returns::inspected_by,
);

/// One return (staff; a merchant's own).
pub fn get(conn: &mut AnyConnection, who: &Principal, id: &str) -> Result<Return, AppError> {
    let merchant: Option<String> = returns::table
        .find(id)
        .select(returns::merchant_id)
        .first(conn)
        .optional()?;
    match merchant {
        Some(m) if who.sees_merchant(&m) => load(conn, id),
        _ => Err(AppError::not_found("return", id)),
    }
}

/// Returns by id (= time received); a merchant's own.
pub fn list(
    conn: &mut AnyConnection,
    who: &Principal,
    filter: ReturnFilter,
    page: &PageRequest,
) -> Result<Page<Return>, AppError> {
    let mut query = returns::table
        .select(RETURN_COLUMNS)
        .order(returns::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(returns::id.gt(after));
    }
    if let Some(own) = &who.merchant_id {
        query = query.filter(returns::merchant_id.eq(own));
    }
    if let Some(status) = filter.status {
        query = query.filter(returns::status.eq(status.as_str()));
    }
    if let Some(order_id) = filter.order_id {
        query = query.filter(returns::order_id.eq(order_id));
    }
    let rows: Vec<ReturnRow> = query.load(conn)?;
    let items = rows
        .into_iter()
        .map(|row| to_return(conn, row))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page, |r| &r.id))
}

/// The returns of each of `order_ids`, oldest first, for the order view.
pub fn summaries_for_orders(
    conn: &mut AnyConnection,
    order_ids: &[&str],
) -> Result<HashMap<String, Vec<ReturnSummary>>, AppError> {
    let mut out: HashMap<String, Vec<ReturnSummary>> = HashMap::new();
    for chunk in order_ids.chunks(CHUNK) {
        let heads: Vec<(String, String, String)> = returns::table
            .filter(returns::order_id.eq_any(chunk))
            .order(returns::id.asc())
            .select((returns::id, returns::order_id, returns::status))
            .load(conn)?;
        if heads.is_empty() {
            continue;
        }
        let ids: Vec<&str> = heads.iter().map(|h| h.0.as_str()).collect();
        let mut lines = lines_of(conn, &ids)?;
        for (id, order_id, status) in heads {
            out.entry(order_id).or_default().push(ReturnSummary {
                lines: lines.remove(&id).unwrap_or_default(),
                id,
                status,
            });
        }
    }
    Ok(out)
}

fn lines_of(
    conn: &mut AnyConnection,
    return_ids: &[&str],
) -> Result<HashMap<String, Vec<ReturnLine>>, AppError> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        i64,
        Option<i64>,
        Option<i64>,
    );
    let rows: Vec<Row> = return_lines::table
        .inner_join(lots::table)
        .inner_join(skus::table)
        .filter(return_lines::return_id.eq_any(return_ids))
        .order((return_lines::return_id.asc(), return_lines::line_no.asc()))
        .select((
            return_lines::return_id,
            return_lines::id,
            return_lines::lot_id,
            lots::lot_code,
            skus::code,
            return_lines::qty,
            return_lines::restock_qty,
            return_lines::scrap_qty,
        ))
        .load(conn)?;
    let mut out: HashMap<String, Vec<ReturnLine>> = HashMap::new();
    for (return_id, id, lot_id, lot_code, sku_code, qty, restock_qty, scrap_qty) in rows {
        out.entry(return_id).or_default().push(ReturnLine {
            id,
            lot_id,
            lot_code,
            sku_code,
            qty,
            restock_qty,
            scrap_qty,
        });
    }
    Ok(out)
}

/// Queues the merchant's webhook deliveries of a return, in the caller's
/// transaction (the outbox).
fn notify(c: &mut AnyConnection, view: &Return, event: &'static str) -> Result<(), AppError> {
    let data = serde_json::json!({
        "return_id": view.id,
        "order_id": view.order_id,
        "sscc": view.sscc,
        "kind": view.kind,
        "status": view.status,
        "lines": view.lines,
    });
    crate::services::webhooks::enqueue(
        c,
        &[crate::services::webhooks::Notice {
            merchant_id: view.merchant_id.clone(),
            event,
            data,
        }],
    )
}

fn load(conn: &mut AnyConnection, id: &str) -> Result<Return, AppError> {
    let row: ReturnRow = returns::table
        .find(id)
        .select(RETURN_COLUMNS)
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("return", id))?;
    to_return(conn, row)
}

fn to_return(conn: &mut AnyConnection, row: ReturnRow) -> Result<Return, AppError> {
    let (
        id,
        kind,
        status,
        order_id,
        parcel_id,
        merchant_id,
        reason,
        location_id,
        created_at,
        created_by,
        template_id,
        notes,
        inspected_at,
        inspected_by,
    ) = row;
    let sscc: Option<String> = match &parcel_id {
        Some(p) => Some(parcels::table.find(p).select(parcels::sscc).first(conn)?),
        None => None,
    };
    let location_code = catalog::location_code(conn, &location_id)?;
    let lines = lines_of(conn, &[id.as_str()])?
        .remove(&id)
        .unwrap_or_default();
    let inspection = match (template_id, inspected_at) {
        (Some(template_id), Some(inspected_at)) => {
            let template = catalog::load_template(conn, &template_id)?;
            let found: HashMap<String, i64> = return_findings::table
                .filter(return_findings::return_id.eq(&id))
                .select((return_findings::check_code, return_findings::defects))
                .load::<(String, i64)>(conn)?
                .into_iter()
                .collect();
            let evidence: Vec<Evidence> = return_evidence::table
                .filter(return_evidence::return_id.eq(&id))
                .order(return_evidence::position.asc())
                .select((return_evidence::uri, return_evidence::sha256))
                .load::<(String, String)>(conn)?
                .into_iter()
                .map(|(uri, sha256)| Evidence { uri, sha256 })
                .collect();
            Some(ReturnInspection {
                findings: template
                    .checks
                    .iter()
                    .map(|check| Finding {
                        check_code: check.code.clone(),
                        description: check.description.clone(),
                        defect_class: check.defect_class,
                        defects: found.get(&check.code).copied().unwrap_or(0),
                    })
                    .collect(),
                template_id,
                template_version: template.version,
                evidence,
                notes,
                inspected_at,
                inspected_by,
            })
        }
        _ => None,
    };
    Ok(Return {
        id,
        kind,
        status,
        order_id,
        merchant_id,
        sscc,
        reason,
        location_code,
        lines,
        inspection,
        created_at,
        created_by,
    })
}
