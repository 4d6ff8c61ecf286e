//! `/api/v1/receipts` and `/api/v1/lots`: announcing, receiving, following lots.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::{Caller, StaffOnly, StaffOrMerchant};
use super::body::Json;
use super::catalog::acting_merchant;
use super::query::ListQuery;
use super::{ItemList, PageQuery};
use crate::db::{self, DbPool};
use crate::domain::inspection::LotStatus;
use crate::domain::receiving::ReceiptProgress;
use crate::domain::receiving::{check_lines, RawLine};
use crate::domain::text::parse_code;
use crate::error::{check_field, validated, AppError};
use crate::services::lots::{self, Lot, LotFilter};
use crate::services::receiving::{self, Announcement, Arrival, Receipt, ReceiptFilter};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnounceLine {
    pub sku_code: String,
    pub lot_code: String,
    pub expected_qty: i64,
    /// YYYY-MM-DD, not in the future.
    pub production_date: Option<String>,
    /// YYYY-MM-DD, after the production date and not passed.
    pub expiry_date: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnounceReceipt {
    /// Required for staff; implied for a merchant token.
    pub merchant_id: Option<String>,
    /// The merchant's own reference (ASN number), unique per merchant.
    pub reference: String,
    pub lines: Vec<AnnounceLine>,
}

/// Announce inbound goods (an advance shipping notice).
#[utoipa::path(tag = "receiving", request_body = AnnounceReceipt, responses((status = 201, body = Receipt)))]
#[post("/receipts")]
pub async fn announce(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    body: Json<AnnounceReceipt>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let body = body.into_inner();
    let mut errors = Vec::new();
    let merchant_id = match acting_merchant(&who, body.merchant_id) {
        Ok(id) => Some(id),
        Err(AppError::Validation(mut fields)) => {
            errors.append(&mut fields);
            None
        }
        Err(other) => return Err(other),
    };
    let reference = check_field(&mut errors, "reference", parse_code(&body.reference));
    let raw: Vec<RawLine> = body
        .lines
        .into_iter()
        .map(|l| RawLine {
            sku_code: l.sku_code,
            lot_code: l.lot_code,
            expected_qty: l.expected_qty,
            production_date: l.production_date,
            expiry_date: l.expiry_date,
        })
        .collect();
    let today = chrono::Utc::now().date_naive();
    let lines = check_lines(&raw, today)
        .map_err(|mut fields| errors.append(&mut fields))
        .ok();
    validated(errors)?;
    let announcement = Announcement {
        merchant_id: merchant_id.unwrap_or_default(),
        reference: reference.unwrap_or_default(),
        lines: lines.unwrap_or_default(),
    };
    let receipt = db::run(&pool, move |c| receiving::announce(c, &who, announcement)).await?;
    Ok(HttpResponse::Created().json(receipt))
}

/// One receipt with its lines (expected, received, short and over per line)
/// and its deliveries.
#[utoipa::path(tag = "receiving", params(("id" = String, Path, description = "receipt id")), responses((status = 200, body = Receipt)))]
#[get("/receipts/{id}")]
pub async fn get_receipt(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let receipt = db::run(&pool, move |c| receiving::get(c, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(receipt))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReceiptQuery {
    /// announced, partially_received, received or closed.
    pub status: Option<String>,
    /// Staff: one merchant's receipts (a merchant token sees its own only).
    pub merchant_id: Option<String>,
    /// The merchant's reference on the delivery note, matched exactly.
    pub reference: Option<String>,
}

/// List receipts: all for staff, a merchant's own; a receiver finds the ASN
/// by the reference on the delivery note.
#[utoipa::path(tag = "receiving", params(PageQuery, ReceiptQuery), responses((status = 200, body = ItemList<Receipt>)))]
#[get("/receipts")]
pub async fn list_receipts(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    query: ListQuery<ReceiptQuery>,
) -> Result<HttpResponse, AppError> {
    let page = query.page;
    let query = query.filter;
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(ReceiptProgress::parse(s).ok_or_else(|| {
            AppError::field(
                "status",
                "must be announced, partially_received, received or closed",
            )
        })?),
    };
    let filter = ReceiptFilter {
        status,
        merchant_id: query.merchant_id.filter(|m| !m.is_empty()),
        reference: match query.reference.filter(|r| !r.is_empty()) {
            Some(r) => Some(parse_code(&r).map_err(|m| AppError::field("reference", m))?),
            None => None,
        },
    };
    let who = who.into_principal();
    let found = db::run(&pool, move |c| receiving::list(c, &who, filter, &page)).await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}

/// Close a receipt: it takes no more deliveries; lines still short stay
/// short (and count as complete).
#[utoipa::path(tag = "receiving", params(("id" = String, Path, description = "receipt id")), responses((status = 200, body = Receipt)))]
#[post("/receipts/{id}/close")]
pub async fn close_receipt(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let receipt = db::run(&pool, move |c| receiving::close(c, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(receipt))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArrivalLine {
    pub line_id: String,
    /// Units counted in; 0 when none of the line arrived.
    pub received_qty: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordArrival {
    /// The lines this delivery brought, each at most once; a line not named
    /// brought nothing this time.
    pub lines: Vec<ArrivalLine>,
    /// A receiving location; default: the first in walk order.
    pub location_code: Option<String>,
}

/// Record one delivery of a receipt that is not closed (a receipt may arrive
/// in several): counts per line; each line's units go to the merchant's one
/// lot of that SKU and lot code.
#[utoipa::path(
    tag = "receiving",
    params(("id" = String, Path, description = "receipt id")),
    request_body = RecordArrival,
    responses((status = 200, body = Arrival))
)]
#[post("/receipts/{id}/arrival")]
pub async fn arrival(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: Json<RecordArrival>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let body = body.into_inner();
    let counts = body
        .lines
        .into_iter()
        .map(|l| (l.line_id, l.received_qty))
        .collect();
    let arrival = db::run(&pool, move |c| {
        receiving::arrive(c, &who, &id, counts, body.location_code)
    })
    .await?;
    Ok(HttpResponse::Ok().json(arrival))
}

/// One lot: state, quantities and where they are.
#[utoipa::path(tag = "receiving", params(("id" = String, Path, description = "lot id")), responses((status = 200, body = Lot)))]
#[get("/lots/{id}")]
pub async fn get_lot(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let lot = db::run(&pool, move |c| lots::get(c, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(lot))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LotQuery {
    /// received, inspecting, accepted, quarantined, returned or scrapped.
    pub status: Option<String>,
    /// The merchant's lot code (exactly, after NFC normalization).
    pub lot_code: Option<String>,
    /// Lots of the SKU with this code.
    pub sku_code: Option<String>,
    pub receipt_id: Option<String>,
}

impl LotQuery {
    fn parse(self) -> Result<LotFilter, AppError> {
        let mut errors = Vec::new();
        let status = self.status.and_then(|s| {
            let status = LotStatus::parse(&s)
                .ok_or("must be received, inspecting, accepted, quarantined, returned or scrapped");
            check_field(&mut errors, "status", status.map_err(String::from))
        });
        let lot_code = self
            .lot_code
            .and_then(|c| check_field(&mut errors, "lot_code", parse_code(&c)));
        let sku_code = self
            .sku_code
            .and_then(|c| check_field(&mut errors, "sku_code", parse_code(&c)));
        validated(errors)?;
        Ok(LotFilter {
            status,
            lot_code,
            sku_code,
            receipt_id: self.receipt_id,
        })
    }
}

/// List lots: a merchant's own, or all for staff.
#[utoipa::path(tag = "receiving", params(PageQuery, LotQuery), responses((status = 200, body = ItemList<Lot>)))]
#[get("/lots")]
pub async fn list_lots(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    query: ListQuery<LotQuery>,
) -> Result<HttpResponse, AppError> {
    let (page, filter) = (query.page, query.filter.parse()?);
    let who = who.into_principal();
    let found = db::run(&pool, move |c| lots::list(c, &who, filter, &page)).await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}
