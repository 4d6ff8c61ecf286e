//! Inspection of lots: starting one (depot derives the plans), recording its
//! results (depot computes the verdict and moves the lot), correcting a
//! finished one, and the disposition of a quarantined lot.
//!
//! Each use case is one transaction that checks the lot's transition, writes
//! the rows, posts the ledger movements and records the trace events together.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{
    inspection_evidence, inspection_findings, inspections, ledger_entries, locations,
    lot_dispositions, lots, skus, stock,
};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::evidence::check_evidence;
use crate::domain::ids::new_id;
use crate::domain::inspection::{
    self as rules, ClassPlan, ClassResult, DefectClass, LotEvent, LotStatus, Verdict,
};
use crate::domain::page::{Page, PageRequest};
use crate::domain::sampling::{InspectionLevel, Severity};
use crate::domain::time;
use crate::domain::trace::{biz_tx, Action, BizStep, Disposition};
use crate::error::{validated, AppError, FieldError};
use crate::services::catalog::{self, InspectionCheck, InspectionTemplate, Location};
use crate::services::ledger::{self, Movement, MovementKind};
use crate::services::lots::{self as lot_service, Lot, LotRow};
use crate::services::reservations::{self, Shortfall};
use crate::services::{evidence, switching, trace};

/// At most this many pieces of evidence per inspection.
pub const MAX_EVIDENCE: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InspectionStatus {
    /// Started; results not yet recorded.
    InProgress,
    /// Results recorded; never changed again (a correction is a new inspection).
    Finished,
}

/// Defects found for one check of the template.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Finding {
    pub check_code: String,
    pub description: String,
    pub defect_class: DefectClass,
    pub defects: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Evidence {
    pub uri: String,
    pub sha256: String,
}

/// An inspection: its plans, and once finished, what was found and the verdict.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Inspection {
    pub id: String,
    pub lot_id: String,
    pub lot_code: String,
    pub merchant_id: String,
    pub sku_id: String,
    pub sku_code: String,
    pub template_id: String,
    /// The inspection this one corrects.
    pub supersedes_id: Option<String>,
    /// The correction that replaced this one, if any.
    pub superseded_by: Option<String>,
    pub status: InspectionStatus,
    /// ISO 2859-1 inspection level (S1..S4, I, II, III).
    pub level: String,
    /// normal (Table 2-A) or tightened (Table 2-B), from the SKU's history.
    pub severity: String,
    pub lot_size: i64,
    /// Units to inspect at least: the largest sample of any class's plan.
    pub required_units: u32,
    /// One plan per defect class the template checks for.
    #[schema(value_type = BTreeMap<String, ClassPlan>)]
    pub plans: BTreeMap<DefectClass, ClassPlan>,
    /// The template's checks: what to record findings against.
    pub checks: Vec<InspectionCheck>,
    pub inspected_qty: Option<i64>,
    /// Every check of the template with the defects found (finished only).
    pub findings: Vec<Finding>,
    /// The verdict of each class: defects against Ac and Re (finished only).
    pub classes: Vec<ClassResult>,
    pub evidence: Vec<Evidence>,
    pub notes: Option<String>,
    /// Computed by depot from the findings and the plans.
    pub verdict: Option<Verdict>,
    /// The lot's state now.
    pub lot_status: LotStatus,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: NaiveDateTime,
    pub started_by: Option<String>,
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<NaiveDateTime>,
    pub finished_by: Option<String>,
}

#[derive(Queryable)]
struct InspectionRow {
    id: String,
    lot_id: String,
    template_id: String,
    supersedes_id: Option<String>,
    status: String,
    level: String,
    severity: String,
    lot_size: i64,
    plans: String,
    inspected_qty: Option<i64>,
    verdict: Option<String>,
    notes: Option<String>,
    started_at: NaiveDateTime,
    started_by: Option<String>,
    finished_at: Option<NaiveDateTime>,
    finished_by: Option<String>,
}

fn load_row(conn: &mut AnyConnection, id: &str) -> Result<InspectionRow, AppError> {
    inspections::table
        .find(id)
        .select(inspections::all_columns)
        .first::<InspectionRow>(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("inspection", id))
}

fn parse_plans(row: &InspectionRow) -> Result<BTreeMap<DefectClass, ClassPlan>, AppError> {
    serde_json::from_str(&row.plans)
        .map_err(|e| AppError::Internal(format!("inspection {} has unreadable plans: {e}", row.id)))
}

/// One inspection; an inspection of another merchant's lot is a 404.
pub fn get(conn: &mut AnyConnection, who: &Principal, id: &str) -> Result<Inspection, AppError> {
    let row = load_row(conn, id)?;
    let (lot_code, merchant_id, sku_id, sku_code, lot_status): (
        String,
        String,
        String,
        String,
        String,
    ) = lots::table
        .inner_join(skus::table)
        .filter(lots::id.eq(&row.lot_id))
        .select((
            lots::lot_code,
            lots::merchant_id,
            lots::sku_id,
            skus::code,
            lots::status,
        ))
        .first(conn)?;
    if !who.sees_merchant(&merchant_id) {
        return Err(AppError::not_found("inspection", id));
    }
    let plans = parse_plans(&row)?;
    let template = catalog::get_template(conn, &row.template_id)?;
    let superseded_by: Option<String> = inspections::table
        .filter(inspections::supersedes_id.eq(&row.id))
        .select(inspections::id)
        .first(conn)
        .optional()?;
    let found: Vec<(String, String, i64)> = inspection_findings::table
        .filter(inspection_findings::inspection_id.eq(&row.id))
        .select((
            inspection_findings::check_code,
            inspection_findings::defect_class,
            inspection_findings::defects,
        ))
        .load(conn)?;
    // In the template's order, each with its description.
    let findings: Vec<Finding> = template
        .checks
        .iter()
        .filter_map(|check| {
            found
                .iter()
                .find(|(code, _, _)| *code == check.code)
                .map(|(_, _, defects)| Finding {
                    check_code: check.code.clone(),
                    description: check.description.clone(),
                    defect_class: check.defect_class,
                    defects: *defects,
                })
        })
        .collect();
    let classes = if row.status == "finished" {
        rules::verdict(&plans, &defects_by_class(&findings)).1
    } else {
        Vec::new()
    };
    let evidence: Vec<(String, String)> = inspection_evidence::table
        .filter(inspection_evidence::inspection_id.eq(&row.id))
        .order(inspection_evidence::position.asc())
        .select((inspection_evidence::uri, inspection_evidence::sha256))
        .load(conn)?;
    let status = if row.status == "finished" {
        InspectionStatus::Finished
    } else {
        InspectionStatus::InProgress
    };
    Ok(Inspection {
        required_units: rules::required_units(&plans),
        id: row.id,
        lot_id: row.lot_id,
        lot_code,
        merchant_id,
        sku_id,
        sku_code,
        template_id: row.template_id,
        supersedes_id: row.supersedes_id,
        superseded_by,
        status,
        level: row.level,
        severity: row.severity,
        lot_size: row.lot_size,
        plans,
        checks: template.checks,
        inspected_qty: row.inspected_qty,
        findings,
        classes,
        evidence: evidence
            .into_iter()
            .map(|(uri, sha256)| Evidence { uri, sha256 })
            .collect(),
        notes: row.notes,
        verdict: row.verdict.as_deref().and_then(Verdict::parse),
        lot_status: LotStatus::parse(&lot_status)
            .ok_or_else(|| AppError::Internal(format!("lot has status {lot_status}")))?,
        started_at: row.started_at,
        started_by: row.started_by,
        finished_at: row.finished_at,
        finished_by: row.finished_by,
    })
}

/// The inspections of a lot, oldest first (the last one is the lot's).
pub fn list_for_lot(
    conn: &mut AnyConnection,
    who: &Principal,
    lot_id: &str,
    page: &PageRequest,
) -> Result<Page<Inspection>, AppError> {
    lot_service::row(conn, who, lot_id)?;
    let mut query = inspections::table
        .filter(inspections::lot_id.eq(lot_id))
        .order(inspections::id.asc())
        .select(inspections::id)
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(inspections::id.gt(after.clone()));
    }
    let ids: Vec<String> = query.load(conn)?;
    let items = ids
        .iter()
        .map(|id| get(conn, who, id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page, |i| &i.id))
}

fn defects_by_class(findings: &[Finding]) -> BTreeMap<DefectClass, u64> {
    let mut by_class = BTreeMap::new();
    for f in findings {
        *by_class.entry(f.defect_class).or_insert(0) += f.defects.max(0) as u64;
    }
    by_class
}

/// The plans for a lot under a template: one per class the template checks.
fn plans_for(
    template: &InspectionTemplate,
    lot_size: i64,
    level: InspectionLevel,
    severity: Severity,
) -> Result<BTreeMap<DefectClass, ClassPlan>, AppError> {
    let aqls: Vec<(DefectClass, &str)> = DefectClass::ALL
        .into_iter()
        .filter(|class| template.checks.iter().any(|c| c.defect_class == *class))
        .map(|class| {
            let aql = match class {
                DefectClass::Critical => template.aql.critical.as_str(),
                DefectClass::Major => template.aql.major.as_str(),
                DefectClass::Minor => template.aql.minor.as_str(),
            };
            (class, aql)
        })
        .collect();
    let lot_size = u32::try_from(lot_size)
        .map_err(|_| AppError::Internal(format!("lot size {lot_size} out of range")))?;
    rules::class_plans(lot_size, level, severity, &aqls).map_err(|e| {
        AppError::InvalidState(format!(
            "inspection template {} gives no plan for a lot of {lot_size} at level {}: {e}",
            template.id,
            level.as_str()
        ))
    })
}

struct NewInspection<'a> {
    lot: &'a LotRow,
    template: &'a InspectionTemplate,
    level: InspectionLevel,
    severity: Severity,
    lot_size: i64,
    supersedes_id: Option<&'a str>,
    event: LotEvent,
}

fn insert_inspection(
    c: &mut AnyConnection,
    who: &Principal,
    new: NewInspection<'_>,
) -> Result<String, AppError> {
    let plans = plans_for(new.template, new.lot_size, new.level, new.severity)?;
    let plans_json = serde_json::to_string(&plans)
        .map_err(|e| AppError::Internal(format!("plans do not serialise: {e}")))?;
    lot_service::change_status(c, new.lot, new.event)?;
    let id = new_id("insp");
    diesel::insert_into(inspections::table)
        .values((
            inspections::id.eq(&id),
            inspections::lot_id.eq(&new.lot.id),
            inspections::template_id.eq(&new.template.id),
            inspections::supersedes_id.eq(new.supersedes_id),
            inspections::status.eq("in_progress"),
            inspections::level.eq(new.level.as_str()),
            inspections::severity.eq(new.severity.as_str()),
            inspections::lot_size.eq(new.lot_size),
            inspections::plans.eq(plans_json),
            inspections::started_at.eq(time::now()),
            inspections::started_by.eq(&who.token_id),
        ))
        .execute(c)?;
    let (location_id, on_hand) = where_the_lot_is(c, &new.lot.id)?;
    trace::record(
        c,
        event_for(
            new.lot,
            who,
            BizStep::Inspecting,
            Disposition::InProgress,
            on_hand,
            location_id.as_deref(),
        ),
    )?;
    Ok(id)
}

/// Starts the inspection of a `received` lot: the template of the SKU's
/// category, the level asked for (or the template's), and the severity the
/// SKU's switching history calls for. Discontinued inspection is a 409.
pub fn start(
    conn: &mut AnyConnection,
    who: &Principal,
    lot_id: &str,
    level: Option<InspectionLevel>,
) -> Result<Inspection, AppError> {
    db::write(conn, |c| {
        let lot = lot_service::row(c, who, lot_id)?;
        rules::transition(lot.status, LotEvent::StartInspection).map_err(AppError::InvalidState)?;
        switching::lock_sku(c, &lot.sku_id)?;
        let severity = switching::severity_now(c, &lot.sku_id)?;
        let category: Option<String> = skus::table
            .find(&lot.sku_id)
            .select(skus::category)
            .first(c)?;
        let template = catalog::template_for(c, category.as_deref())?;
        let level = match level {
            Some(level) => level,
            None => InspectionLevel::parse(&template.level)
                .map_err(|e| AppError::Internal(format!("template {}: {e}", template.id)))?,
        };
        let id = insert_inspection(
            c,
            who,
            NewInspection {
                lot: &lot,
                template: &template,
                level,
                severity,
                lot_size: lot.received_qty,
                supersedes_id: None,
                event: LotEvent::StartInspection,
            },
        )?;
        get(c, who, &id)
    })
}

/// Starts a correction of a finished inspection: a new inspection of the same
/// lot, template, lot size and severity (the level may differ) that
/// supersedes it. Only the lot's newest inspection can be corrected, and only
/// while the lot is still where that verdict put it (no disposition since).
pub fn correct(
    conn: &mut AnyConnection,
    who: &Principal,
    inspection_id: &str,
    level: Option<InspectionLevel>,
) -> Result<Inspection, AppError> {
    db::write(conn, |c| {
        let old = get(c, who, inspection_id)?;
        if old.status != InspectionStatus::Finished {
            return Err(AppError::InvalidState(format!(
                "inspection {inspection_id} is not finished; record its results instead"
            )));
        }
        if let Some(newer) = &old.superseded_by {
            return Err(AppError::InvalidState(format!(
                "inspection {inspection_id} is already corrected by inspection {newer}; correct that one"
            )));
        }
        let lot = lot_service::row(c, who, &old.lot_id)?;
        let verdict_put_it = match old.verdict {
            Some(Verdict::Accepted) => LotStatus::Accepted,
            _ => LotStatus::Quarantined,
        };
        let disposed: i64 = lot_dispositions::table
            .filter(lot_dispositions::lot_id.eq(&lot.id))
            .count()
            .get_result(c)?;
        if lot.status != verdict_put_it || disposed > 0 {
            return Err(AppError::InvalidState(format!(
                "lot {} is {} after a disposition, so inspection {inspection_id} can no longer be corrected",
                lot.id, lot.status
            )));
        }
        let template = catalog::get_template(c, &old.template_id)?;
        let severity = Severity::parse(&old.severity)
            .map_err(|e| AppError::Internal(format!("inspection {inspection_id}: {e}")))?;
        let level = match level {
            Some(level) => level,
            None => InspectionLevel::parse(&old.level)
                .map_err(|e| AppError::Internal(format!("inspection {inspection_id}: {e}")))?,
        };
        let id = insert_inspection(
            c,
            who,
            NewInspection {
                lot: &lot,
                template: &template,
                level,
                severity,
                lot_size: old.lot_size,
                supersedes_id: Some(inspection_id),
                event: LotEvent::StartCorrection,
            },
        )?;
        get(c, who, &id)
    })
}

/// What the inspector records.
pub struct Results {
    pub inspected_qty: i64,
    /// (check code, defects found).
    pub findings: Vec<(String, i64)>,
    /// (uri, sha256).
    pub evidence: Vec<(String, String)>,
    pub notes: Option<String>,
}

/// Records the results of an inspection in progress and applies the verdict
/// depot computes (ISO 2859-1 clause 11.1.1 through [`rules::verdict`]): the lot
/// becomes `accepted`, or `quarantined` with its units moved into quarantine.
/// A finished inspection is a 409; bad results are a 422 naming each field.
pub fn record_results(
    conn: &mut AnyConnection,
    who: &Principal,
    inspection_id: &str,
    results: Results,
) -> Result<Inspection, AppError> {
    db::write(conn, |c| {
        let row = load_row(c, inspection_id)?;
        let lot = lot_service::row(c, who, &row.lot_id)
            .map_err(|_| AppError::not_found("inspection", inspection_id))?;
        if row.status == "finished" {
            return Err(AppError::InvalidState(format!(
                "inspection {inspection_id} is finished (verdict {}); a finished inspection is \
                 never changed: correct it with POST /api/v1/inspections/{inspection_id}/correction",
                row.verdict.as_deref().unwrap_or("none")
            )));
        }
        let plans = parse_plans(&row)?;
        let template = catalog::get_template(c, &row.template_id)?;
        let findings = check_results(c, &row, &plans, &template, &results)?;
        if row.supersedes_id.is_none() {
            // Clause 9.4: no lot is accepted while inspection is discontinued.
            switching::lock_sku(c, &lot.sku_id)?;
            switching::severity_now(c, &lot.sku_id)?;
        }
        let (verdict, _) = rules::verdict(&plans, &defects_by_class(&findings));
        let now = time::now();
        let finished = diesel::update(
            inspections::table
                .find(inspection_id)
                .filter(inspections::status.eq("in_progress")),
        )
        .set((
            inspections::status.eq("finished"),
            inspections::inspected_qty.eq(results.inspected_qty),
            inspections::verdict.eq(verdict.as_str()),
            inspections::notes.eq(&results.notes),
            inspections::finished_at.eq(now),
            inspections::finished_by.eq(&who.token_id),
        ))
        .execute(c)?;
        if finished == 0 {
            return Err(AppError::InvalidState(format!(
                "inspection {inspection_id} was finished by another request"
            )));
        }
        for finding in &findings {
            diesel::insert_into(inspection_findings::table)
                .values((
                    inspection_findings::inspection_id.eq(inspection_id),
                    inspection_findings::check_code.eq(&finding.check_code),
                    inspection_findings::defect_class.eq(finding.defect_class.as_str()),
                    inspection_findings::defects.eq(finding.defects),
                ))
                .execute(c)?;
        }
        for (i, (uri, sha256)) in results.evidence.iter().enumerate() {
            let evidence = check_evidence(uri, sha256).map_err(|(_, m)| AppError::BadRequest(m))?;
            diesel::insert_into(inspection_evidence::table)
                .values((
                    inspection_evidence::inspection_id.eq(inspection_id),
                    inspection_evidence::position.eq(i as i32 + 1),
                    inspection_evidence::uri.eq(&evidence.uri),
                    inspection_evidence::sha256.eq(&evidence.sha256),
                ))
                .execute(c)?;
        }
        lot_service::change_status(c, &lot, LotEvent::Verdict(verdict))?;
        let reference = ("inspection", inspection_id);
        match verdict {
            Verdict::Accepted => {
                // A correction may accept a lot that sits in quarantine.
                release_from_quarantine(c, who, &lot, None, reference)?;
                let (location_id, on_hand) = where_the_lot_is(c, &lot.id)?;
                trace::record(
                    c,
                    event_for(
                        &lot,
                        who,
                        BizStep::Inspecting,
                        Disposition::Conformant,
                        on_hand,
                        location_id.as_deref(),
                    ),
                )?;
            }
            Verdict::Rejected => {
                let (location_id, on_hand) = where_the_lot_is(c, &lot.id)?;
                trace::record(
                    c,
                    event_for(
                        &lot,
                        who,
                        BizStep::Inspecting,
                        Disposition::NonConformant,
                        on_hand,
                        location_id.as_deref(),
                    ),
                )?;
                move_into_quarantine(c, who, &lot, reference)?;
            }
        }
        get(c, who, inspection_id)
    })
}

/// Checks the results against the inspection (422 listing every bad field)
/// and answers one finding per check of the template, unmentioned checks at 0.
fn check_results(
    c: &mut AnyConnection,
    row: &InspectionRow,
    plans: &BTreeMap<DefectClass, ClassPlan>,
    template: &InspectionTemplate,
    results: &Results,
) -> Result<Vec<Finding>, AppError> {
    let mut errors = Vec::new();
    let required = i64::from(rules::required_units(plans));
    if results.inspected_qty < required || results.inspected_qty > row.lot_size {
        errors.push(FieldError::new(
            "inspected_qty",
            format!(
                "the plan requires at least {required} unit(s) inspected, and the lot has {}",
                row.lot_size
            ),
        ));
    }
    let mut defects: HashMap<&str, i64> = HashMap::new();
    for (i, (code, found)) in results.findings.iter().enumerate() {
        if !template.checks.iter().any(|check| check.code == *code) {
            let codes: Vec<&str> = template.checks.iter().map(|c| c.code.as_str()).collect();
            errors.push(FieldError::new(
                format!("findings[{i}].check_code"),
                format!(
                    "is not a check of template {}; its checks are {}",
                    template.id,
                    codes.join(", ")
                ),
            ));
        } else if defects.insert(code.as_str(), *found).is_some() {
            errors.push(FieldError::new(
                format!("findings[{i}].check_code"),
                "appears twice",
            ));
        }
        if *found < 0 || *found > results.inspected_qty.max(0) {
            errors.push(FieldError::new(
                format!("findings[{i}].defects"),
                "must be from 0 to the units inspected",
            ));
        }
    }
    if results.evidence.len() > MAX_EVIDENCE {
        errors.push(FieldError::new(
            "evidence",
            format!("at most {MAX_EVIDENCE} pieces of evidence"),
        ));
    }
    for (i, (uri, sha256)) in results.evidence.iter().enumerate() {
        match check_evidence(uri, sha256) {
            Err((field, message)) => {
                errors.push(FieldError::new(format!("evidence[{i}].{field}"), message));
            }
            Ok(evidence) if evidence.ours => {
                if !evidence::exists(c, &evidence.sha256)? {
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
    Ok(template
        .checks
        .iter()
        .map(|check| Finding {
            check_code: check.code.clone(),
            description: check.description.clone(),
            defect_class: check.defect_class,
            defects: defects.get(check.code.as_str()).copied().unwrap_or(0),
        })
        .collect())
}

/// What can be done with a quarantined lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispositionAction {
    /// Back to the merchant, whole.
    Return,
    /// Destroyed, whole.
    Scrap,
    /// 100% sorting: `good_qty` units are accepted, the rest scrapped.
    Screen { good_qty: i64 },
}

impl DispositionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            DispositionAction::Return => "return",
            DispositionAction::Scrap => "scrap",
            DispositionAction::Screen { .. } => "screen",
        }
    }
}

/// Takes the disposition of a quarantined lot (any other state is a 409):
/// its quarantined units leave through the ledger (return, scrap) or are
/// sorted (screen: the good ones go back to receiving as accepted).
pub fn dispose(
    conn: &mut AnyConnection,
    who: &Principal,
    lot_id: &str,
    action: DispositionAction,
    notes: Option<String>,
) -> Result<Lot, AppError> {
    db::write(conn, |c| {
        let lot = lot_service::row(c, who, lot_id)?;
        let event = match action {
            DispositionAction::Return => LotEvent::Return,
            DispositionAction::Scrap => LotEvent::Scrap,
            DispositionAction::Screen { good_qty } => LotEvent::Screen {
                good_qty_positive: good_qty > 0,
            },
        };
        rules::transition(lot.status, event).map_err(AppError::InvalidState)?;
        let held = quarantined_stock(c, &lot.id)?;
        let total: i64 = held.iter().map(|(_, q)| q).sum();
        let good_qty = match action {
            DispositionAction::Screen { good_qty } => {
                if !(0..=total).contains(&good_qty) {
                    return Err(AppError::field(
                        "good_qty",
                        format!("must be from 0 to {total}, the units of the lot in quarantine"),
                    ));
                }
                good_qty
            }
            _ => 0,
        };
        lot_service::change_status(c, &lot, event)?;
        let inspection_id: Option<String> = inspections::table
            .filter(inspections::lot_id.eq(&lot.id))
            .order(inspections::id.desc())
            .select(inspections::id)
            .first(c)
            .optional()?;
        let disposition_id = new_id("dsp");
        let reference = ("disposition", disposition_id.as_str());
        match action {
            DispositionAction::Return => {
                remove(c, who, &lot, &held, total, MovementKind::Return, reference)?;
            }
            DispositionAction::Scrap => {
                remove(c, who, &lot, &held, total, MovementKind::Scrap, reference)?;
            }
            DispositionAction::Screen { good_qty } => {
                release_from_quarantine(c, who, &lot, Some(good_qty), reference)?;
                if good_qty > 0 {
                    let (location_id, on_hand) = where_the_lot_is(c, &lot.id)?;
                    trace::record(
                        c,
                        event_for(
                            &lot,
                            who,
                            BizStep::Inspecting,
                            Disposition::Conformant,
                            on_hand,
                            location_id.as_deref(),
                        ),
                    )?;
                }
                let rest = quarantined_stock(c, &lot.id)?;
                remove(
                    c,
                    who,
                    &lot,
                    &rest,
                    total - good_qty,
                    MovementKind::Scrap,
                    reference,
                )?;
            }
        }
        diesel::insert_into(lot_dispositions::table)
            .values((
                lot_dispositions::id.eq(&disposition_id),
                lot_dispositions::lot_id.eq(&lot.id),
                lot_dispositions::inspection_id.eq(inspection_id),
                lot_dispositions::action.eq(action.as_str()),
                lot_dispositions::good_qty.eq(good_qty),
                lot_dispositions::removed_qty.eq(total - good_qty),
                lot_dispositions::notes.eq(notes),
                lot_dispositions::created_at.eq(time::now()),
                lot_dispositions::created_by.eq(&who.token_id),
            ))
            .execute(c)?;
        lot_service::get(c, who, lot_id)
    })
}

// ------------------------------------------------------------ stock and trace

/// The lot's units by location kind: (location id, kind, on hand).
fn lot_locations(
    c: &mut AnyConnection,
    lot_id: &str,
) -> Result<Vec<(String, String, i64)>, AppError> {
    Ok(stock::table
        .inner_join(locations::table)
        .filter(stock::lot_id.eq(lot_id))
        .filter(stock::on_hand.gt(0))
        .order(locations::walk_seq.asc())
        .then_order_by(locations::code.asc())
        .select((stock::location_id, locations::kind, stock::on_hand))
        .load(c)?)
}

fn quarantined_stock(c: &mut AnyConnection, lot_id: &str) -> Result<Vec<(String, i64)>, AppError> {
    Ok(lot_locations(c, lot_id)?
        .into_iter()
        .filter(|(_, kind, _)| kind == "quarantine")
        .map(|(id, _, qty)| (id, qty))
        .collect())
}

/// Where most of the lot is, and how many units it has in all.
fn where_the_lot_is(
    c: &mut AnyConnection,
    lot_id: &str,
) -> Result<(Option<String>, i64), AppError> {
    let held = lot_locations(c, lot_id)?;
    let total = held.iter().map(|(_, _, q)| q).sum();
    let main = held
        .into_iter()
        .max_by_key(|(_, _, q)| *q)
        .map(|(id, _, _)| id);
    Ok((main, total))
}

/// A rejected lot's units go from wherever they are into quarantine.
fn move_into_quarantine(
    c: &mut AnyConnection,
    who: &Principal,
    lot: &LotRow,
    reference: (&str, &str),
) -> Result<(), AppError> {
    let quarantine = catalog::default_location(c, "quarantine")?;
    // Orders holding the lot (a correction rejected an accepted, put-away
    // lot) give it up first, since reserved units cannot be moved; once the
    // lot is in quarantine they are placed again from other lots, oldest
    // first, or back-ordered (services::reservations).
    let shortfall = [Shortfall::Lot { lot_id: &lot.id }];
    reservations::release_and_replace(c, who, &shortfall, Disposition::NonConformant, |c| {
        hold_in_quarantine(c, who, lot, reference, &quarantine)
    })?;
    Ok(())
}

/// The ledger `hold` movement of every unit of the lot outside quarantine into it.
fn hold_in_quarantine(
    c: &mut AnyConnection,
    who: &Principal,
    lot: &LotRow,
    reference: (&str, &str),
    quarantine: &Location,
) -> Result<(), AppError> {
    let outside: Vec<(String, i64)> = lot_locations(c, &lot.id)?
        .into_iter()
        .filter(|(_, kind, _)| kind != "quarantine")
        .map(|(id, _, qty)| (id, qty))
        .collect();
    let moved: i64 = outside.iter().map(|(_, q)| q).sum();
    if moved == 0 {
        return Ok(());
    }
    let mut legs: Vec<(&str, i64)> = outside.iter().map(|(id, q)| (id.as_str(), -q)).collect();
    legs.push((&quarantine.id, moved));
    ledger::post(
        c,
        &Movement {
            kind: MovementKind::Hold,
            lot_id: &lot.id,
            reference: Some(reference),
            reason: Some("rejected on inspection"),
            actor: Some(&who.token_id),
        },
        &legs,
    )?;
    trace::record(
        c,
        event_for(
            lot,
            who,
            BizStep::Holding,
            Disposition::NonConformant,
            moved,
            Some(&quarantine.id),
        ),
    )?;
    Ok(())
}

/// Moves `qty` units (all, with `None`) out of quarantine back to the
/// receiving location the lot arrived at, where putaway takes accepted lots from.
fn release_from_quarantine(
    c: &mut AnyConnection,
    who: &Principal,
    lot: &LotRow,
    qty: Option<i64>,
    reference: (&str, &str),
) -> Result<(), AppError> {
    let held = quarantined_stock(c, &lot.id)?;
    let mut wanted = qty.unwrap_or_else(|| held.iter().map(|(_, q)| q).sum());
    if wanted == 0 {
        return Ok(());
    }
    let receiving: String = ledger_entries::table
        .filter(ledger_entries::lot_id.eq(&lot.id))
        .filter(ledger_entries::kind.eq(MovementKind::Receive.as_str()))
        .order(ledger_entries::id.asc())
        .select(ledger_entries::location_id)
        .first(c)?;
    let mut legs: Vec<(&str, i64)> = Vec::new();
    for (location_id, on_hand) in &held {
        let take = wanted.min(*on_hand);
        if take > 0 {
            legs.push((location_id, -take));
            wanted -= take;
        }
    }
    let released: i64 = -legs.iter().map(|(_, q)| q).sum::<i64>();
    legs.push((&receiving, released));
    ledger::post(
        c,
        &Movement {
            kind: MovementKind::Release,
            lot_id: &lot.id,
            reference: Some(reference),
            reason: Some("accepted: out of quarantine"),
            actor: Some(&who.token_id),
        },
        &legs,
    )?;
    Ok(())
}

/// Takes `qty` units of the lot out of `from` (quarantine) and out of depot:
/// returned to the merchant or scrapped.
fn remove(
    c: &mut AnyConnection,
    who: &Principal,
    lot: &LotRow,
    from: &[(String, i64)],
    qty: i64,
    kind: MovementKind,
    reference: (&str, &str),
) -> Result<(), AppError> {
    if qty == 0 {
        return Ok(());
    }
    let mut wanted = qty;
    let mut legs: Vec<(&str, i64)> = Vec::new();
    for (location_id, on_hand) in from {
        let take = wanted.min(*on_hand);
        if take > 0 {
            legs.push((location_id, -take));
            wanted -= take;
        }
    }
    let reason = match kind {
        MovementKind::Return => "returned to the merchant",
        _ => "scrapped after quarantine",
    };
    ledger::post(
        c,
        &Movement {
            kind,
            lot_id: &lot.id,
            reference: Some(reference),
            reason: Some(reason),
            actor: Some(&who.token_id),
        },
        &legs,
    )?;
    let location = from.first().map(|(id, _)| id.as_str());
    let (action, step, disposition) = match kind {
        // CBV 2.0: the goods are shipped back; disposition `returned`.
        MovementKind::Return => (Action::Observe, BizStep::Shipping, Disposition::Returned),
        // EPCIS 2.0: DELETE, the objects cease to exist; CBV `destroying`.
        _ => (Action::Delete, BizStep::Destroying, Disposition::Destroyed),
    };
    let mut event = event_for(lot, who, step, disposition, qty, location);
    event.action = action;
    trace::record(c, event)?;
    Ok(())
}

/// An OBSERVE event of the lot, with its receipt as the business transaction.
fn event_for<'a>(
    lot: &'a LotRow,
    who: &'a Principal,
    biz_step: BizStep,
    disposition: Disposition,
    quantity: i64,
    location_id: Option<&'a str>,
) -> trace::LotEvent<'a> {
    trace::LotEvent {
        action: Action::Observe,
        biz_step,
        disposition,
        lot_id: &lot.id,
        what_class: &lot.what_class,
        quantity: Some(quantity),
        location_id,
        biz_tx: Some((
            biz_tx::DESPATCH_ADVICE,
            trace::tx_uri("receipt", &lot.receipt_id),
        )),
        actor: Some(&who.token_id),
    }
}
