//! `GET /api/v1/sampling-plan`: the ISO 2859-1 single sampling plan for a lot.

use actix_web::{get, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{AnyRole, Caller};
use super::query::Query;
use crate::domain::sampling::{self, Aql, InspectionLevel, SamplingError, Severity};
use crate::error::{check_field, validated, AppError};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    /// Units in the lot (1 or more).
    pub lot_size: u32,
    /// S1..S4, I, II or III (default II).
    pub level: Option<String>,
    /// One of the preferred AQLs 0.010 … 10.
    pub aql: String,
    /// normal (Table 2-A), tightened (2-B) or reduced (2-C); default normal.
    pub severity: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanAnswer {
    /// ISO 2859-1 Table 1's sample size code letter.
    pub code_letter: String,
    /// The letter whose plan is used, after following an arrow of Table 2-A/2-B/2-C.
    pub plan_letter: String,
    /// Units to inspect (Table 2-C's reduced sample sizes for reduced); equals
    /// `lot_size` when the plan calls for 100% inspection.
    pub sample_size: u32,
    /// Ac: accept with at most this many nonconforming units.
    pub accept: u32,
    /// Re: reject with this many or more.
    pub reject: u32,
    pub hundred_percent: bool,
    pub level: String,
    pub severity: String,
    pub aql: String,
}

/// The single sampling plan for a lot size, inspection level, AQL and severity.
#[utoipa::path(tag = "inspection", params(PlanQuery), responses((status = 200, body = PlanAnswer)))]
#[get("/sampling-plan")]
pub async fn sampling_plan(
    _who: Caller<AnyRole>,
    query: Query<PlanQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let mut errors = Vec::new();
    let message = |e: SamplingError| e.to_string();
    if query.lot_size == 0 {
        errors.push(crate::error::FieldError::new(
            "lot_size",
            "must be at least 1",
        ));
    }
    let level = check_field(
        &mut errors,
        "level",
        InspectionLevel::parse(query.level.as_deref().unwrap_or("II")).map_err(message),
    );
    let aql = check_field(&mut errors, "aql", Aql::parse(&query.aql).map_err(message));
    let severity = check_field(
        &mut errors,
        "severity",
        Severity::parse(query.severity.as_deref().unwrap_or("normal")).map_err(message),
    );
    validated(errors)?;
    let (Some(level), Some(aql), Some(severity)) = (level, aql, severity) else {
        return Err(AppError::Internal("validated fields missing".into()));
    };
    let plan = sampling::plan(query.lot_size, level, aql, severity)
        .map_err(|e| AppError::field("aql", e.to_string()))?;
    Ok(HttpResponse::Ok().json(PlanAnswer {
        code_letter: plan.code_letter.as_str().to_string(),
        plan_letter: plan.plan_letter.as_str().to_string(),
        sample_size: plan.sample_size,
        accept: plan.accept,
        reject: plan.reject,
        hundred_percent: plan.hundred_percent,
        level: level.as_str().to_string(),
        severity: severity.as_str().to_string(),
        aql: aql.as_str().to_string(),
    }))
}
