//! Storage: putaway, moves, counts, holds, expiry, stock and the ledger.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{AdminOnly, Caller, StaffOnly, StaffOrMerchant};
use super::body::Json;
use super::{ItemList, PageQuery};
use crate::db::{self, DbPool};
use crate::domain::inspection::LotStatus;
use crate::domain::text::{parse_code, parse_text};
use crate::error::{check_field, validated, AppError, FieldError};
use crate::services::reservations::OrderMoved;
use crate::services::storage::{
    self, CountDone, ExpiringLot, Hold, HoldPlaced, LedgerCheck, LedgerLine, MoveDone, MoveRequest,
    PutawayDone, ScrapDone, StockFilter, StockPage,
};

/// Quantities of one request: 1 to 10,000,000 units.
const MAX_QTY: i64 = 10_000_000;

fn check_qty(errors: &mut Vec<FieldError>, field: &str, qty: i64) {
    if !(1..=MAX_QTY).contains(&qty) {
        errors.push(FieldError::new(
            field,
            format!("must be a whole number from 1 to {MAX_QTY}"),
        ));
    }
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Putaway {
    /// A storage bin; absent: depot suggests one (same lot, same SKU, or an
    /// empty bin in the SKU's storage zone, with room).
    pub location_code: Option<String>,
    /// Units to put away from receiving (part of the lot splits it across bins).
    pub qty: i64,
}

/// Put an accepted lot (or part of it) away into a storage bin.
#[utoipa::path(
    tag = "storage",
    params(("id" = String, Path, description = "lot id")),
    request_body = Putaway,
    responses((status = 200, body = PutawayDone))
)]
#[post("/lots/{id}/putaway")]
pub async fn putaway(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: Json<Putaway>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let body = body.into_inner();
    let mut errors = Vec::new();
    check_qty(&mut errors, "qty", body.qty);
    let location_code = body
        .location_code
        .filter(|c| !c.trim().is_empty())
        .and_then(|c| check_field(&mut errors, "location_code", parse_code(&c)));
    validated(errors)?;
    let done = db::run(&pool, move |c| {
        storage::putaway(c, &who, &id, location_code, body.qty)
    })
    .await?;
    Ok(HttpResponse::Ok().json(done))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveStock {
    pub lot_id: String,
    /// A storage bin; or a quarantine location, to bring damaged units that
    /// were found fine (their hold released) back to a storage bin.
    pub from_location_code: String,
    /// A storage bin, or a quarantine location (damage found: `reason` required).
    pub to_location_code: String,
    pub qty: i64,
    pub reason: Option<String>,
}

/// Move units between bins, or into quarantine (which puts them on hold).
#[utoipa::path(tag = "storage", request_body = MoveStock, responses((status = 200, body = MoveDone)))]
#[post("/stock/moves")]
pub async fn move_stock(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    body: Json<MoveStock>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let body = body.into_inner();
    let mut errors = Vec::new();
    check_qty(&mut errors, "qty", body.qty);
    let from = check_field(
        &mut errors,
        "from_location_code",
        parse_code(&body.from_location_code),
    );
    let to = check_field(
        &mut errors,
        "to_location_code",
        parse_code(&body.to_location_code),
    );
    let reason = body
        .reason
        .filter(|r| !r.trim().is_empty())
        .and_then(|r| check_field(&mut errors, "reason", parse_text(&r, 500)));
    validated(errors)?;
    let request = MoveRequest {
        lot_id: body.lot_id,
        from_location_code: from.unwrap_or_default(),
        to_location_code: to.unwrap_or_default(),
        qty: body.qty,
        reason,
    };
    let done = db::run(&pool, move |c| storage::move_stock(c, &who, request)).await?;
    Ok(HttpResponse::Ok().json(done))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScrapStock {
    pub lot_id: String,
    /// A storage bin or a quarantine location.
    pub location_code: String,
    pub qty: i64,
    /// What is wrong with the units; required.
    pub reason: String,
}

/// Scrap units of an accepted lot (damaged in storage or in quarantine).
#[utoipa::path(tag = "storage", request_body = ScrapStock, responses((status = 200, body = ScrapDone)))]
#[post("/stock/scrap")]
pub async fn scrap(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    body: Json<ScrapStock>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let body = body.into_inner();
    let mut errors = Vec::new();
    check_qty(&mut errors, "qty", body.qty);
    let location = check_field(
        &mut errors,
        "location_code",
        parse_code(&body.location_code),
    );
    let reason = check_field(&mut errors, "reason", parse_text(&body.reason, 500));
    validated(errors)?;
    let (location, reason) = (location.unwrap_or_default(), reason.unwrap_or_default());
    let done = db::run(&pool, move |c| {
        storage::scrap(c, &who, &body.lot_id, &location, body.qty, &reason)
    })
    .await?;
    Ok(HttpResponse::Ok().json(done))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountStock {
    pub lot_id: String,
    pub location_code: String,
    /// Units found (0 or more).
    pub counted_qty: i64,
    /// Why the count was made or why it differs; required.
    pub reason: String,
}

/// Record a cycle count; the difference is posted as an adjustment.
#[utoipa::path(tag = "storage", request_body = CountStock, responses((status = 200, body = CountDone)))]
#[post("/stock/adjustments")]
pub async fn adjust(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    body: Json<CountStock>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let body = body.into_inner();
    let mut errors = Vec::new();
    if !(0..=MAX_QTY).contains(&body.counted_qty) {
        errors.push(FieldError::new(
            "counted_qty",
            format!("must be a whole number from 0 to {MAX_QTY}"),
        ));
    }
    let location = check_field(
        &mut errors,
        "location_code",
        parse_code(&body.location_code),
    );
    let reason = check_field(&mut errors, "reason", parse_text(&body.reason, 500));
    validated(errors)?;
    let (location, reason) = (location.unwrap_or_default(), reason.unwrap_or_default());
    let done = db::run(&pool, move |c| {
        storage::count(c, &who, &body.lot_id, &location, body.counted_qty, &reason)
    })
    .await?;
    Ok(HttpResponse::Ok().json(done))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockQuery {
    pub sku_code: Option<String>,
    pub lot_id: Option<String>,
    pub location_code: Option<String>,
    /// true: only sellable lines; false: only the others.
    pub sellable: Option<bool>,
    /// Only lots in this state: received, inspecting, accepted, quarantined.
    pub lot_status: Option<String>,
    /// json (default; one page) or csv (every line).
    pub format: Option<String>,
    #[param(pattern = "^[A-Za-z0-9_]{0,130}$")]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Stock per lot × location: on hand, reserved, available, sellable; with totals.
#[utoipa::path(
    tag = "storage",
    params(StockQuery),
    responses((status = 200, description = "a page (json) or every line (csv)", content(
        (StockPage = "application/json"),
        (String = "text/csv")
    )))
)]
#[get("/stock")]
pub async fn stock(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    query: web::Query<StockQuery>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let q = query.into_inner();
    let csv = match q.format.as_deref().map(str::trim) {
        None | Some("") | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(AppError::field("format", "must be json or csv")),
    };
    // Stock cursors are `<lot id>_<location id>`, longer than other ids.
    let cursor = q.cursor.filter(|c| !c.is_empty());
    if cursor.as_ref().is_some_and(|c| {
        c.len() > 130 || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    }) {
        return Err(AppError::field("cursor", crate::domain::page::CURSOR_ERROR));
    }
    let page = PageQuery {
        cursor: None,
        limit: q.limit,
    }
    .parse()?;
    let page = crate::domain::page::PageRequest {
        after: cursor,
        ..page
    };
    let lot_status = match q.lot_status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(LotStatus::parse(s).ok_or_else(|| {
            AppError::field(
                "lot_status",
                "must be received, inspecting, accepted, quarantined, returned or scrapped",
            )
        })?),
    };
    let filter = StockFilter {
        sku_code: q.sku_code.filter(|s| !s.is_empty()),
        lot_id: q.lot_id.filter(|s| !s.is_empty()),
        location_code: q.location_code.filter(|s| !s.is_empty()),
        sellable: q.sellable,
        lot_status,
    };
    let today = today();
    if csv {
        let body = db::run(&pool, move |c| storage::stock_csv(c, &who, &filter, today)).await?;
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"stock.csv\"",
            ))
            .body(body));
    }
    let found = db::run(&pool, move |c| {
        storage::stock_page(c, &who, &filter, &page, today)
    })
    .await?;
    Ok(HttpResponse::Ok().json(found))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    pub lot_id: Option<String>,
    #[param(pattern = "^[A-Za-z0-9_]{0,64}$")]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// The inventory ledger, oldest first: every change of quantity.
#[utoipa::path(tag = "storage", params(LedgerQuery), responses((status = 200, body = ItemList<LedgerLine>)))]
#[get("/ledger")]
pub async fn ledger(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    query: web::Query<LedgerQuery>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let q = query.into_inner();
    let page = PageQuery {
        cursor: q.cursor,
        limit: q.limit,
    }
    .parse()?;
    let lot_id = q.lot_id.filter(|l| !l.is_empty());
    let found = db::run(&pool, move |c| storage::ledger_page(c, &who, lot_id, &page)).await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpiringQuery {
    /// Lots expiring within this many days (0 to 3650; default 30); expired ones included.
    #[param(minimum = 0, maximum = 3650)]
    pub days: Option<i64>,
    #[param(pattern = "^[A-Za-z0-9_]{0,64}$")]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// The expiry watch list: accepted lots with units that expire soon.
#[utoipa::path(tag = "storage", params(ExpiringQuery), responses((status = 200, body = ItemList<ExpiringLot>)))]
#[get("/stock/expiring")]
pub async fn expiring(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    query: web::Query<ExpiringQuery>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let q = query.into_inner();
    let days = q.days.unwrap_or(30);
    if !(0..=3650).contains(&days) {
        return Err(AppError::field("days", "must be from 0 to 3650"));
    }
    let page = PageQuery {
        cursor: q.cursor,
        limit: q.limit,
    }
    .parse()?;
    let today = today();
    let found = db::run(&pool, move |c| {
        storage::expiring_page(c, &who, days, today, &page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}

/// The holds an expiry run placed (one list, never paged) and the orders
/// that held units of those lots.
#[derive(Serialize, ToSchema)]
pub struct ExpiryRun {
    pub items: Vec<Hold>,
    /// Always null: the run answers every hold it placed.
    pub next_cursor: Option<String>,
    /// Re-reserved from other stock (FEFO) or back-ordered, oldest first.
    pub orders_moved: Vec<OrderMoved>,
}

/// Put every expired lot on hold (the expiry job; `depot expire` does the
/// same); orders holding its units are re-reserved from other stock or back-ordered.
#[utoipa::path(tag = "storage", responses((status = 200, body = ExpiryRun)))]
#[post("/stock/expiry-run")]
pub async fn expiry_run(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let today = today();
    let run = db::run(&pool, move |c| storage::hold_expired(c, &who, today)).await?;
    Ok(HttpResponse::Ok().json(ExpiryRun {
        items: run.holds,
        next_cursor: None,
        orders_moved: run.orders_moved,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HoldQuery {
    pub lot_id: Option<String>,
    /// true (default): only holds in force.
    pub active: Option<bool>,
    #[param(pattern = "^[A-Za-z0-9_]{0,64}$")]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Holds on stock (damage, expiry, quality).
#[utoipa::path(tag = "storage", params(HoldQuery), responses((status = 200, body = ItemList<Hold>)))]
#[get("/holds")]
pub async fn holds(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    query: web::Query<HoldQuery>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let q = query.into_inner();
    let page = PageQuery {
        cursor: q.cursor,
        limit: q.limit,
    }
    .parse()?;
    let active = q.active.unwrap_or(true);
    let lot_id = q.lot_id.filter(|l| !l.is_empty());
    let found = db::run(&pool, move |c| {
        storage::list_holds(c, &who, lot_id, active, &page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateHold {
    pub lot_id: String,
    /// Hold the lot at this location only; absent: everywhere.
    pub location_code: Option<String>,
    pub reason: String,
}

/// Put a lot on hold for quality: its stock stops being sellable, nothing
/// moves; orders holding it are re-reserved from other stock or back-ordered.
#[utoipa::path(tag = "storage", request_body = CreateHold, responses((status = 201, body = HoldPlaced)))]
#[post("/holds")]
pub async fn create_hold(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    body: Json<CreateHold>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let body = body.into_inner();
    let mut errors = Vec::new();
    let location_code = body
        .location_code
        .filter(|c| !c.trim().is_empty())
        .and_then(|c| check_field(&mut errors, "location_code", parse_code(&c)));
    let reason = check_field(&mut errors, "reason", parse_text(&body.reason, 500));
    validated(errors)?;
    let reason = reason.unwrap_or_default();
    let hold = db::run(&pool, move |c| {
        storage::create_hold(c, &who, &body.lot_id, location_code, &reason)
    })
    .await?;
    Ok(HttpResponse::Created().json(hold))
}

/// Release a hold.
#[utoipa::path(
    tag = "storage",
    params(("id" = String, Path, description = "hold id")),
    responses((status = 200, body = Hold))
)]
#[post("/holds/{id}/release")]
pub async fn release_hold(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let hold = db::run(&pool, move |c| storage::release_hold(c, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(hold))
}

/// Recompute stock from the ledger and report any difference (admin).
#[utoipa::path(tag = "storage", responses((status = 200, body = LedgerCheck)))]
#[get("/admin/ledger-check")]
pub async fn ledger_check(
    _who: Caller<AdminOnly>,
    pool: web::Data<DbPool>,
) -> Result<HttpResponse, AppError> {
    let check = db::run(&pool, storage::check_ledger).await?;
    Ok(HttpResponse::Ok().json(check))
}
