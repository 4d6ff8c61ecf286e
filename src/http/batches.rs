//! `/api/v1/batches`: pick batches of reserved orders.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::{Caller, StaffOnly};
use super::body::Json;
use super::query::ListQuery;
use super::{ItemList, PageQuery};
use crate::db::{self, DbPool};
use crate::domain::batching::{DEFAULT_MAX_ORDERS, DEFAULT_MAX_UNITS};
use crate::domain::text::parse_code;
use crate::error::{check_field, validated, AppError, FieldError};
use crate::services::batching::{self, Batch, BuildOptions, Built};
use crate::services::picking::{self, CountTask, PickLine, Picked};

/// The most orders a batch may be asked to hold (a pick cart's slots).
const MAX_ORDERS: i64 = 1_000;
/// The most units a batch may be asked to hold.
const MAX_UNITS: i64 = 100_000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildBatches {
    /// Orders per batch, 1 to 1000 (default 30).
    #[schema(minimum = 1, maximum = 1000)]
    pub max_orders: Option<i64>,
    /// Units per batch, 1 to 100000 (default 300); an order bigger than this
    /// forms a batch of its own.
    #[schema(minimum = 1, maximum = 100000)]
    pub max_units: Option<i64>,
    /// Only orders of this carrier.
    pub carrier_code: Option<String>,
    /// Answer the batches (ids null) without creating them.
    pub dry_run: Option<bool>,
}

impl BuildBatches {
    fn parse(self) -> Result<BuildOptions, AppError> {
        let mut errors = Vec::new();
        let mut limit = |field: &str, value: Option<i64>, max: i64, default: i64| match value {
            None => default,
            Some(v) if (1..=max).contains(&v) => v,
            Some(_) => {
                errors.push(FieldError::new(field, format!("must be from 1 to {max}")));
                default
            }
        };
        let max_orders = limit(
            "max_orders",
            self.max_orders,
            MAX_ORDERS,
            DEFAULT_MAX_ORDERS as i64,
        );
        let max_units = limit("max_units", self.max_units, MAX_UNITS, DEFAULT_MAX_UNITS);
        let carrier_code = self
            .carrier_code
            .and_then(|c| check_field(&mut errors, "carrier_code", parse_code(&c)));
        validated(errors)?;
        Ok(BuildOptions {
            max_orders: usize::try_from(max_orders).unwrap_or(DEFAULT_MAX_ORDERS),
            max_units,
            carrier_code,
            dry_run: self.dry_run.unwrap_or(false),
        })
    }
}

/// Build pick batches of the reserved, unbatched orders: `hot_sku`, then
/// `identical`, then `cluster`; never mixing carriers, each order in one
/// batch at most. `dry_run` answers them without creating them (ids null).
#[utoipa::path(
    tag = "batching",
    request_body = BuildBatches,
    responses(
        (status = 201, description = "the batches created", body = Built),
        (status = 200, description = "a dry run: the batches that would be created", body = Built)
    )
)]
#[post("/batches")]
pub async fn build(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    body: Json<BuildBatches>,
) -> Result<HttpResponse, AppError> {
    let options = body.into_inner().parse()?;
    let dry_run = options.dry_run;
    let who = who.into_principal();
    let built = db::run(&pool, move |c| batching::build(c, &who, options)).await?;
    Ok(if dry_run {
        HttpResponse::Ok().json(built)
    } else {
        HttpResponse::Created().json(built)
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BatchQuery {
    /// open, picking, picked or cancelled.
    pub status: Option<String>,
}

/// Batches, oldest first, with their orders and pick lists.
#[utoipa::path(tag = "batching", params(PageQuery, BatchQuery), responses((status = 200, body = ItemList<Batch>)))]
#[get("/batches")]
pub async fn list(
    _who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    query: ListQuery<BatchQuery>,
) -> Result<HttpResponse, AppError> {
    let (page, status) = (query.page, query.filter.status);
    if let Some(s) = &status {
        if !["open", "picking", "picked", "cancelled"].contains(&s.as_str()) {
            return Err(AppError::field(
                "status",
                "must be open, picking, picked or cancelled",
            ));
        }
    }
    let found = db::run(&pool, move |c| batching::list(c, status, &page)).await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}

/// One batch: its orders and its pick list in walk order.
#[utoipa::path(
    tag = "batching",
    params(("id" = String, Path, description = "batch id")),
    responses((status = 200, body = Batch))
)]
#[get("/batches/{id}")]
pub async fn get(
    _who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let batch = db::run(&pool, move |c| batching::get(c, &id)).await?;
    Ok(HttpResponse::Ok().json(batch))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickLineBody {
    /// A line of this batch.
    pub line_id: String,
    /// What THIS call picked from the line's lot × bin, added to the line's
    /// picked quantity: a handheld sends each visit as it happens. At least
    /// 1, or 0 with a `reason`. More than the line still asks is refused.
    /// Less without a reason: more scans are to come, the line stays open.
    #[schema(minimum = 0)]
    pub picked_qty: i64,
    /// A short pick: "this is all the line gives". The rest of the line is
    /// missing: it is re-reserved from other sellable stock (new lines on
    /// this batch) or its orders are back-ordered and leave the batch, and
    /// the bin gets a count task. Trimmed, 1 to 500 characters. A reason on
    /// a pick that completes the line is a 422.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// The most characters of a short pick's reason.
const MAX_REASON: usize = 500;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickBody {
    pub lines: Vec<PickLineBody>,
}

impl PickBody {
    fn parse(self) -> Result<Vec<PickLine>, AppError> {
        let mut errors = Vec::new();
        if self.lines.is_empty() {
            errors.push(FieldError::new("lines", "must name at least one line"));
        }
        let mut picks = Vec::new();
        for (i, l) in self.lines.into_iter().enumerate() {
            let reason = match l.reason.as_deref().map(str::trim) {
                None => None,
                Some("") => {
                    errors.push(FieldError::new(
                        format!("lines[{i}].reason"),
                        "must not be empty; leave it out for a pick with more to come",
                    ));
                    None
                }
                Some(r) if r.chars().count() > MAX_REASON => {
                    errors.push(FieldError::new(
                        format!("lines[{i}].reason"),
                        format!("must be at most {MAX_REASON} characters"),
                    ));
                    None
                }
                Some(r) => Some(r.to_string()),
            };
            let least = if l.reason.is_some() { 0 } else { 1 };
            if l.picked_qty < least {
                errors.push(FieldError::new(
                    format!("lines[{i}].picked_qty"),
                    if least == 0 {
                        "must not be negative"
                    } else {
                        "must be at least 1 (0 only with a reason: a short pick)"
                    },
                ));
            }
            picks.push(PickLine {
                line_id: l.line_id,
                picked_qty: l.picked_qty,
                reason,
            });
        }
        validated(errors)?;
        Ok(picks)
    }
}

/// Confirm picked quantities of a batch's lines, in one or several calls:
/// `picked_qty` is what this call picked, added to the line's. Picked units
/// move from the bin to the default packing location (`pick` movements,
/// `picking` events); the batch becomes `picking`, then `picked` when every
/// line is; an order is `picked` when all its units are. Less than a line
/// still asks without a `reason` leaves it open (more scans to come); with a
/// `reason` it is a short pick and closes the line: the missing units'
/// orders are re-reserved whole from other sellable stock (FEFO; new lines
/// on this batch, in `short[].re_reserved`) or back-ordered whole and out of
/// the batch (`short[].backordered_orders`; units they already had at
/// packing stay there, on hand and unreserved), youngest first; the bin gets
/// a count task and is not reserved again until counted. More than a line
/// still asks, a line given twice, or a reason on a pick that completes the
/// line is a 422 and changes nothing; no default packing location is a 409.
#[utoipa::path(
    tag = "batching",
    params(("id" = String, Path, description = "batch id")),
    request_body = PickBody,
    responses((status = 200, description = "the batch after the picks, and what short picks did", body = Picked))
)]
#[post("/batches/{id}/picks")]
pub async fn pick(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: Json<PickBody>,
) -> Result<HttpResponse, AppError> {
    let picks = body.into_inner().parse()?;
    let who = who.into_principal();
    let picked = db::run(&pool, move |c| picking::pick(c, &who, &id, picks)).await?;
    Ok(HttpResponse::Ok().json(picked))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountTaskQuery {
    /// open or done.
    pub status: Option<String>,
}

/// Count tasks, oldest first: bins that gave fewer units than a pick line
/// asked. A count of that lot × bin (`POST /stock/adjustments`) closes the
/// open task and the bin's units may be reserved again.
#[utoipa::path(tag = "storage", params(PageQuery, CountTaskQuery), responses((status = 200, body = ItemList<CountTask>)))]
#[get("/count-tasks")]
pub async fn count_tasks(
    _who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    query: ListQuery<CountTaskQuery>,
) -> Result<HttpResponse, AppError> {
    let (page, status) = (query.page, query.filter.status);
    if let Some(s) = &status {
        if !["open", "done"].contains(&s.as_str()) {
            return Err(AppError::field("status", "must be open or done"));
        }
    }
    let found = db::run(&pool, move |c| picking::list_count_tasks(c, status, &page)).await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}
