//! Trace: `GET /trace/parcels/{sscc}` and `GET /trace/orders/{id}` (backward,
//! to the lots, their inspections and receipt) and
//! `GET /trace/lots/{id}/forward` (every order, parcel, manifest and carrier
//! the lot reached, and where the rest is); recalls: `POST /lots/{id}/recall`,
//! `GET /recalls/{id}` and `GET /recalls/{id}.csv`; the tamper evidence:
//! `GET /trace/verify`.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::{AdminOnly, Caller, StaffOnly, StaffOrMerchant};
use super::body::Json;
use super::query::{ListQuery, NoFilter};
use super::PageQuery;
use crate::db::{self, DbPool};
use crate::domain::gs1::validate_sscc;
use crate::domain::text::parse_text;
use crate::error::{check_field, validated, AppError, FieldError};
use crate::services::recall::{self, OpenOrders, Recall, RecallLot};
use crate::services::trace_query::{self, BackwardTrace, ForwardTrace};
use crate::services::trace_seal::{self, Verification};

/// At most this many characters of a recall's reason.
const MAX_REASON: usize = 500;

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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecallBody {
    /// Why the lot is recalled (kept with the recall and its hold).
    pub reason: String,
    /// What happens to open orders holding the lot's units in stock:
    /// `backorder` (placed again from other stock, else back-ordered) or
    /// `cancel`.
    pub open_orders: String,
}

impl RecallBody {
    fn parse(self) -> Result<RecallLot, AppError> {
        let mut errors = Vec::new();
        let reason = check_field(&mut errors, "reason", parse_text(&self.reason, MAX_REASON));
        let open_orders = OpenOrders::parse(self.open_orders.trim());
        if open_orders.is_none() {
            errors.push(FieldError::new(
                "open_orders",
                "must be backorder or cancel",
            ));
        }
        validated(errors)?;
        Ok(RecallLot {
            reason: reason.unwrap_or_default(),
            open_orders: open_orders.unwrap_or(OpenOrders::Backorder),
        })
    }
}

/// Recall a lot: its parcels packed and not yet handed over leave their
/// manifests (listed as stopped), the lot goes on a lot-wide quality hold,
/// open orders holding its units in stock are placed again from other stock
/// or back-ordered (`backorder`) or cancelled (`cancel`), and orders whose
/// units are picked are listed. Answers the recall list: every parcel that
/// carried the lot, by carrier and status. Staff.
#[utoipa::path(
    tag = "trace",
    params(("id" = String, Path, description = "lot id")),
    request_body = RecallBody,
    responses((status = 201, description = "the recall and its list", body = Recall))
)]
#[post("/lots/{id}/recall")]
pub async fn recall_lot(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: Json<RecallBody>,
) -> Result<HttpResponse, AppError> {
    let cmd = body.into_inner().parse()?;
    let who = who.into_principal();
    let done = db::run(&pool, move |c| recall::recall(c, &who, &id, cmd)).await?;
    Ok(HttpResponse::Created().json(done))
}

/// A recall list as CSV (RFC 4180, UTF-8): one parcel a row, by carrier
/// and status, with its units of the lot and whether the recall stopped
/// it. Staff; the lot's merchant.
#[utoipa::path(
    tag = "trace",
    params(("id" = String, Path, description = "recall id")),
    responses((status = 200, description = "the recall list as CSV", content_type = "text/csv", body = String))
)]
#[get("/recalls/{id}.csv")]
pub async fn recall_csv(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let found = db::run(&pool, move |c| recall::get(c, &who, &id)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .body(recall::to_csv(&found)))
}

/// A recall: the orders it changed and every parcel that carried the lot,
/// by carrier and status. Staff; the lot's merchant.
#[utoipa::path(
    tag = "trace",
    params(("id" = String, Path, description = "recall id")),
    responses((status = 200, body = Recall))
)]
#[get("/recalls/{id}")]
pub async fn get_recall(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let found = db::run(&pool, move |c| recall::get(c, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(found))
}

/// Verifies the trace log's tamper evidence: recomputes every event's hash
/// from its columns, every sealed block's range, count and RFC 6962 Merkle
/// root, and the chain of block hashes, and names the first broken event
/// (id and seq) or block (number), in log order. `ok: false` is still a
/// 200: the check ran. Reads every event (keep it for audits, not polling).
/// Admin only. A checkpoint kept outside is checked by `depot trace verify
/// --checkpoint FILE`.
#[utoipa::path(
    tag = "trace",
    responses((status = 200, body = Verification))
)]
#[get("/trace/verify")]
pub async fn verify(
    _who: Caller<AdminOnly>,
    pool: web::Data<DbPool>,
) -> Result<HttpResponse, AppError> {
    let report = db::run(&pool, trace_seal::verify).await?;
    Ok(HttpResponse::Ok().json(report))
}
