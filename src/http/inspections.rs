//! Inspections of lots, dispositions of quarantined lots, and each SKU's
//! place in ISO 2859-1's switching scheme.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::{AdminOnly, Caller, StaffOnly, StaffOrMerchant};
use super::body::Json;
use super::query::{ListQuery, NoFilter};
use super::{ItemList, PageQuery};
use crate::db::{self, DbPool};
use crate::domain::sampling::InspectionLevel;
use crate::domain::text::parse_text;
use crate::error::{check_field, validated, AppError, FieldError};
use crate::services::inspections::{self, DispositionAction, Inspection, Results};
use crate::services::lots::Lot;
use crate::services::switching::{self, SwitchingView};

/// At most this many characters of notes.
const MAX_NOTES: usize = 2000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartInspection {
    /// S1..S4, I, II or III; default: the template's level.
    pub level: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartCorrection {
    /// S1..S4, I, II or III; default: the level of the inspection corrected.
    pub level: Option<String>,
    /// Why the inspection is corrected (at most 2000 characters): kept on
    /// the correction and in its trace event.
    pub reason: Option<String>,
}

fn parse_level(level: Option<String>) -> Result<Option<InspectionLevel>, AppError> {
    level
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            InspectionLevel::parse(l.trim()).map_err(|e| AppError::field("level", e.to_string()))
        })
        .transpose()
}

/// Start inspecting a received lot: depot answers the plan of each defect class.
#[utoipa::path(
    tag = "inspection",
    params(("id" = String, Path, description = "lot id")),
    request_body(content = StartInspection, description = "`{}` takes the template's level"),
    responses((status = 201, body = Inspection))
)]
#[post("/lots/{id}/inspections")]
pub async fn start(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: Json<StartInspection>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let level = parse_level(body.into_inner().level)?;
    let inspection = db::run(&pool, move |c| inspections::start(c, &who, &id, level)).await?;
    Ok(HttpResponse::Created().json(inspection))
}

/// The inspections of a lot, oldest first; the last is the one the lot follows.
#[utoipa::path(
    tag = "inspection",
    params(("id" = String, Path, description = "lot id"), PageQuery),
    responses((status = 200, body = ItemList<Inspection>))
)]
#[get("/lots/{id}/inspections")]
pub async fn list_for_lot(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    query: ListQuery<NoFilter>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let page = query.page;
    let found = db::run(&pool, move |c| {
        inspections::list_for_lot(c, &who, &id, &page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}

/// One inspection: plans, findings, evidence, verdict.
#[utoipa::path(
    tag = "inspection",
    params(("id" = String, Path, description = "inspection id")),
    responses((status = 200, body = Inspection))
)]
#[get("/inspections/{id}")]
pub async fn get_inspection(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let inspection = db::run(&pool, move |c| inspections::get(c, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(inspection))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingInput {
    /// A check code of the inspection's template.
    pub check_code: String,
    /// Nonconforming units found for this check (0 or more), counted in the
    /// sample of the check's defect class: the first `sample_size` units of
    /// that class's plan. ISO 2859-1 judges each class on its own sample, so
    /// where the classes' samples differ, defects found beyond a class's
    /// sample do not count against it.
    pub defects: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceInput {
    /// A depot upload (`/api/v1/evidence/<sha256>`) or an http(s) URI.
    pub uri: String,
    /// SHA-256 of the file's content, 64 hex digits.
    pub sha256: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordResults {
    /// Units inspected: at least the plan's `required_units` (the largest
    /// sample of any class), at most the lot.
    pub inspected_qty: i64,
    /// Defects per check; checks not listed found none.
    #[serde(default)]
    pub findings: Vec<FindingInput>,
    #[serde(default)]
    pub evidence: Vec<EvidenceInput>,
    pub notes: Option<String>,
}

/// Record the results; depot computes the verdict and moves the lot.
#[utoipa::path(
    tag = "inspection",
    params(("id" = String, Path, description = "inspection id")),
    request_body = RecordResults,
    responses((status = 200, body = Inspection))
)]
#[post("/inspections/{id}/results")]
pub async fn record_results(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: Json<RecordResults>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let body = body.into_inner();
    let mut errors = Vec::new();
    let notes = body
        .notes
        .filter(|n| !n.trim().is_empty())
        .and_then(|n| check_field(&mut errors, "notes", parse_text(&n, MAX_NOTES)));
    validated(errors)?;
    let results = Results {
        inspected_qty: body.inspected_qty,
        findings: body
            .findings
            .into_iter()
            .map(|f| (f.check_code.trim().to_string(), f.defects))
            .collect(),
        evidence: body
            .evidence
            .into_iter()
            .map(|e| (e.uri, e.sha256))
            .collect(),
        notes,
    };
    let inspection = db::run(&pool, move |c| {
        inspections::record_results(c, &who, &id, results)
    })
    .await?;
    Ok(HttpResponse::Ok().json(inspection))
}

/// Correct a finished inspection: a new inspection that supersedes it.
#[utoipa::path(
    tag = "inspection",
    params(("id" = String, Path, description = "id of the inspection to correct")),
    request_body(content = StartCorrection, description = "`{}` keeps the level and gives no reason"),
    responses((status = 201, body = Inspection))
)]
#[post("/inspections/{id}/correction")]
pub async fn correct(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: Json<StartCorrection>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let body = body.into_inner();
    let reason = body
        .reason
        .filter(|r| !r.trim().is_empty())
        .map(|r| parse_text(&r, MAX_NOTES).map_err(|m| AppError::field("reason", m)))
        .transpose()?;
    let level = parse_level(body.level)?;
    let inspection = db::run(&pool, move |c| {
        inspections::correct(c, &who, &id, level, reason)
    })
    .await?;
    Ok(HttpResponse::Created().json(inspection))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TakeDisposition {
    /// return (to the merchant), scrap, or screen (100% sorting).
    pub action: String,
    /// Screen only: the units found good, accepted; the rest are scrapped.
    pub good_qty: Option<i64>,
    pub notes: Option<String>,
}

impl TakeDisposition {
    fn parse(self) -> Result<(DispositionAction, Option<String>), AppError> {
        let mut errors = Vec::new();
        let action = match (self.action.trim(), self.good_qty) {
            ("return", None) => Some(DispositionAction::Return),
            ("scrap", None) => Some(DispositionAction::Scrap),
            ("screen", Some(good_qty)) => Some(DispositionAction::Screen { good_qty }),
            ("screen", None) => {
                errors.push(FieldError::new(
                    "good_qty",
                    "is required for screen: the units found good",
                ));
                None
            }
            ("return" | "scrap", Some(_)) => {
                errors.push(FieldError::new("good_qty", "is only for screen"));
                None
            }
            _ => {
                errors.push(FieldError::new("action", "must be return, scrap or screen"));
                None
            }
        };
        let notes = self
            .notes
            .filter(|n| !n.trim().is_empty())
            .and_then(|n| check_field(&mut errors, "notes", parse_text(&n, MAX_NOTES)));
        validated(errors)?;
        let action = action.ok_or_else(|| AppError::Internal("validated action missing".into()))?;
        Ok((action, notes))
    }
}

/// Decide what happens to a quarantined lot: return, scrap or screen.
#[utoipa::path(
    tag = "inspection",
    params(("id" = String, Path, description = "lot id")),
    request_body = TakeDisposition,
    responses((status = 200, body = Lot))
)]
#[post("/lots/{id}/disposition")]
pub async fn disposition(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: Json<TakeDisposition>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let (action, notes) = body.into_inner().parse()?;
    let lot = db::run(&pool, move |c| {
        inspections::dispose(c, &who, &id, action, notes)
    })
    .await?;
    Ok(HttpResponse::Ok().json(lot))
}

/// A SKU's switching state (normal, tightened, discontinued) and its history.
#[utoipa::path(
    tag = "inspection",
    params(("id" = String, Path, description = "SKU id")),
    responses((status = 200, body = SwitchingView))
)]
#[get("/skus/{id}/inspection-switching")]
pub async fn switching_state(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let view = db::run(&pool, move |c| switching::view(c, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeInspection {
    /// The supplier's corrective action that justifies resuming.
    pub reason: String,
}

/// Resume discontinued inspection of a SKU (on tightened inspection).
#[utoipa::path(
    tag = "inspection",
    params(("id" = String, Path, description = "SKU id")),
    request_body = ResumeInspection,
    responses((status = 200, body = SwitchingView))
)]
#[post("/skus/{id}/inspection-switching/resume")]
pub async fn resume(
    who: Caller<AdminOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: Json<ResumeInspection>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let reason = parse_text(&body.into_inner().reason, MAX_NOTES)
        .map_err(|m| AppError::field("reason", m))?;
    let view = db::run(&pool, move |c| switching::resume(c, &who, &id, &reason)).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": true, "reason": "产线稳定，质量部批准放宽检验"}))]
pub struct SetReducedApproval {
    /// true: production is at a steady rate and the responsible authority
    /// finds reduced inspection desirable (ISO 2859-1 clause 9.3.3.1 b, c);
    /// false: withdrawn — production irregular or delayed, or other
    /// conditions warrant normal inspection (clause 9.3.4 b, c).
    pub enabled: bool,
    /// Why: what was checked, or what changed.
    pub reason: String,
}

/// Approve or withdraw reduced inspection for a SKU (its merchant × SKU).
/// With the approval, normal inspection switches to reduced once the
/// switching score reaches 30 (at once if it already has); withdrawing it
/// reinstates normal inspection. Recorded with who and when.
#[utoipa::path(
    tag = "inspection",
    params(("id" = String, Path, description = "SKU id")),
    request_body = SetReducedApproval,
    responses((status = 200, body = SwitchingView))
)]
#[post("/skus/{id}/inspection-switching/reduced-approval")]
pub async fn reduced_approval(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: Json<SetReducedApproval>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let body = body.into_inner();
    let reason = parse_text(&body.reason, MAX_NOTES).map_err(|m| AppError::field("reason", m))?;
    let enabled = body.enabled;
    let view = db::run(&pool, move |c| {
        switching::set_reduced_approval(c, &who, &id, enabled, &reason)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
