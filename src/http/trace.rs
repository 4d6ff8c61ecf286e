//! Trace: `GET /trace/parcels/{sscc}` and `GET /trace/orders/{id}` (backward,
//! to the lots, their inspections and receipt) and
//! `GET /trace/lots/{id}/forward` (every order, parcel, manifest and carrier
//! the lot reached, and where the rest is).

use actix_web::{get, web, HttpResponse};

use super::auth::{Caller, StaffOrMerchant};
use super::query::{ListQuery, NoFilter};
use super::PageQuery;
use crate::db::{self, DbPool};
use crate::domain::gs1::validate_sscc;
use crate::error::AppError;
use crate::services::trace_query::{self, BackwardTrace, ForwardTrace};

/// The backward trace of a parcel by its SSCC (18 digits): its order and
/// the lines in it, the lots the parcel carries with their receipt,
/// arrivals and every inspection (template and version, plans, findings,
/// verdict, evidence with SHA-256, inspector, corrections), the merchant,
/// the parcel's carrier, manifest and status history, and the ordered event
/// timeline. Staff; a merchant its own (another's is a 404); carriers 403.
#[utoipa::path(
    tag = "trace",
    params(("sscc" = String, Path, description = "the parcel's SSCC, 18 digits")),
    responses((status = 200, body = BackwardTrace))
)]
#[get("/trace/parcels/{sscc}")]
pub async fn parcel(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    sscc: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let sscc = validate_sscc(sscc.trim())
        .map_err(|e| AppError::field("sscc", e))?
        .to_string();
    let who = who.into_principal();
    let found = db::run(&pool, move |c| trace_query::parcel(c, &who, &sscc)).await?;
    Ok(HttpResponse::Ok().json(found))
}

/// The backward trace of an order: every lot its lines drew from (packed or
/// still reserved), with the same history as a parcel's trace, all its
/// parcels, and the timeline. Staff; a merchant its own; carriers 403.
#[utoipa::path(
    tag = "trace",
    params(("id" = String, Path, description = "order id")),
    responses((status = 200, body = BackwardTrace))
)]
#[get("/trace/orders/{id}")]
pub async fn order(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let found = db::run(&pool, move |c| trace_query::order(c, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(found))
}

/// The forward trace of a lot: its orders by status (units packed and still
/// reserved), its parcels grouped by carrier, manifest and status, its stock
/// per location (`packing`: picked; `dispatch`: packed), totals by state,
/// and one page of the parcels themselves (by id; `?cursor=&limit=`).
/// Staff; a merchant its own lots; carriers 403.
#[utoipa::path(
    tag = "trace",
    params(("id" = String, Path, description = "lot id"), PageQuery),
    responses((status = 200, body = ForwardTrace))
)]
#[get("/trace/lots/{id}/forward")]
pub async fn forward(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    query: ListQuery<NoFilter>,
) -> Result<HttpResponse, AppError> {
    let page = query.page;
    let who = who.into_principal();
    let found = db::run(&pool, move |c| trace_query::forward(c, &who, &id, &page)).await?;
    Ok(HttpResponse::Ok().json(found))
}
