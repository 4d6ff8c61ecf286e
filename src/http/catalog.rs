//! `/api/v1/skus` and `/api/v1/locations`: master data.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::{AdminOnly, Caller, StaffOnly, StaffOrMerchant};
use super::body::Json;
use super::query::ListQuery;
use super::{ItemList, PageQuery};
use crate::db::{self, DbPool};
use crate::domain::access::Principal;
use crate::domain::gs1::Gtin;
use crate::domain::text::{parse_code, parse_name, parse_text};
use crate::error::{check_field, validated, AppError, FieldError};
use crate::services::catalog::{
    self, Location, NewLocation, NewSku, Sku, SkuFilter, LOCATION_KINDS,
};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSku {
    /// Required for staff; a merchant token creates SKUs for its own merchant.
    pub merchant_id: Option<String>,
    pub code: String,
    pub name: String,
    /// GTIN-8, -12, -13 or -14; the GS1 check digit is verified.
    pub gtin: Option<String>,
    /// Chooses the inspection template.
    pub category: Option<String>,
    pub shelf_life_days: Option<i32>,
    /// The zone of the bins depot suggests when putting it away.
    pub storage_zone: Option<String>,
}

/// The merchant a request acts for: a merchant token's own (a different
/// `merchant_id` is refused), or the one staff name.
pub fn acting_merchant(who: &Principal, merchant_id: Option<String>) -> Result<String, AppError> {
    match (&who.merchant_id, merchant_id) {
        (Some(own), None) => Ok(own.clone()),
        (Some(own), Some(named)) if *own == named => Ok(named),
        (Some(_), Some(named)) => Err(AppError::field(
            "merchant_id",
            format!("no merchant with id {named}"),
        )),
        (None, Some(named)) if !named.trim().is_empty() => Ok(named),
        (None, _) => Err(AppError::field(
            "merchant_id",
            "is required for a staff or admin token",
        )),
    }
}

impl CreateSku {
    fn parse(self, who: &Principal) -> Result<NewSku, AppError> {
        let mut errors = Vec::new();
        let merchant_id = match acting_merchant(who, self.merchant_id) {
            Ok(id) => Some(id),
            Err(AppError::Validation(mut fields)) => {
                errors.append(&mut fields);
                None
            }
            Err(other) => return Err(other),
        };
        let code = check_field(&mut errors, "code", parse_code(&self.code));
        let name = check_field(&mut errors, "name", parse_name(&self.name));
        let gtin = self
            .gtin
            .filter(|g| !g.trim().is_empty())
            .and_then(|g| check_field(&mut errors, "gtin", Gtin::parse(&g)));
        let category = self
            .category
            .and_then(|c| check_field(&mut errors, "category", parse_code(&c)));
        let storage_zone = self
            .storage_zone
            .filter(|z| !z.trim().is_empty())
            .and_then(|z| check_field(&mut errors, "storage_zone", parse_text(&z, 40)));
        if let Some(days) = self.shelf_life_days {
            if !(1..=36_500).contains(&days) {
                errors.push(FieldError::new(
                    "shelf_life_days",
                    "must be from 1 to 36500",
                ));
            }
        }
        validated(errors)?;
        Ok(NewSku {
            merchant_id: merchant_id.unwrap_or_default(),
            code: code.unwrap_or_default(),
            name: name.unwrap_or_default(),
            gtin: gtin.map(|g| g.as_str().to_string()),
            category,
            shelf_life_days: self.shelf_life_days,
            storage_zone,
        })
    }
}

/// Register a SKU of a merchant.
#[utoipa::path(tag = "catalog", request_body = CreateSku, responses((status = 201, body = Sku)))]
#[post("/skus")]
pub async fn create_sku(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    body: Json<CreateSku>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let new = body.into_inner().parse(&who)?;
    let sku = db::run(&pool, move |c| catalog::create_sku(c, &who, new)).await?;
    Ok(HttpResponse::Created().json(sku))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SkuQuery {
    /// Staff: one merchant's SKUs.
    pub merchant_id: Option<String>,
    /// The SKU with this code (exactly, after NFC normalization).
    pub code: Option<String>,
    /// The SKUs with this GTIN (8, 12, 13 or 14 digits, check digit verified).
    pub gtin: Option<String>,
}

impl SkuQuery {
    fn parse(self) -> Result<SkuFilter, AppError> {
        let mut errors = Vec::new();
        let code = self
            .code
            .and_then(|c| check_field(&mut errors, "code", parse_code(&c)));
        let gtin = self
            .gtin
            .and_then(|g| check_field(&mut errors, "gtin", Gtin::parse(&g)));
        validated(errors)?;
        Ok(SkuFilter {
            merchant_id: self.merchant_id,
            code,
            gtin: gtin.map(|g| g.as_str().to_string()),
        })
    }
}

/// List SKUs: a merchant's own, or every merchant's for staff.
#[utoipa::path(tag = "catalog", params(PageQuery, SkuQuery), responses((status = 200, body = ItemList<Sku>)))]
#[get("/skus")]
pub async fn list_skus(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    query: ListQuery<SkuQuery>,
) -> Result<HttpResponse, AppError> {
    let (page, filter) = (query.page, query.filter.parse()?);
    let who = who.into_principal();
    let found = db::run(&pool, move |c| catalog::list_skus(c, &who, filter, &page)).await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}

/// One SKU.
#[utoipa::path(tag = "catalog", params(("id" = String, Path, description = "SKU id")), responses((status = 200, body = Sku)))]
#[get("/skus/{id}")]
pub async fn get_sku(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let sku = db::run(&pool, move |c| catalog::get_sku(c, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(sku))
}

// Default: `depot admin location create` fills in what it was given.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLocation {
    pub code: String,
    /// receiving, quarantine, storage, packing, dispatch or returns.
    pub kind: String,
    pub zone: Option<String>,
    /// Order in which pickers pass it (default 0).
    pub walk_seq: Option<i32>,
    /// Units it can hold in all (1 or more); absent: no limit.
    pub capacity: Option<i64>,
    /// `true`: the location of its kind that depot uses when a request names
    /// none, taking the mark from the one that had it. The first location of
    /// a kind is its default anyway; `false` or absent: no change of mark.
    pub default: Option<bool>,
}

impl CreateLocation {
    /// Checks every field (the CLI's `depot admin location create` too).
    pub fn parse(self) -> Result<NewLocation, AppError> {
        let mut errors = Vec::new();
        let code = check_field(&mut errors, "code", parse_code(&self.code));
        if !LOCATION_KINDS.contains(&self.kind.as_str()) {
            errors.push(FieldError::new(
                "kind",
                format!("must be one of {}", LOCATION_KINDS.join(", ")),
            ));
        }
        let zone = self
            .zone
            .and_then(|z| check_field(&mut errors, "zone", parse_text(&z, 40)));
        let walk_seq = self.walk_seq.unwrap_or(0);
        if !(0..=1_000_000).contains(&walk_seq) {
            errors.push(FieldError::new("walk_seq", "must be from 0 to 1000000"));
        }
        if let Some(capacity) = self.capacity {
            if !(1..=1_000_000_000).contains(&capacity) {
                errors.push(FieldError::new("capacity", "must be from 1 to 1000000000"));
            }
        }
        validated(errors)?;
        Ok(NewLocation {
            code: code.unwrap_or_default(),
            kind: self.kind,
            zone,
            walk_seq,
            capacity: self.capacity,
            is_default: self.default == Some(true),
        })
    }
}

/// Create a location.
#[utoipa::path(tag = "catalog", request_body = CreateLocation, responses((status = 201, body = Location)))]
#[post("/locations")]
pub async fn create_location(
    who: Caller<AdminOnly>,
    pool: web::Data<DbPool>,
    body: Json<CreateLocation>,
) -> Result<HttpResponse, AppError> {
    let new = body.into_inner().parse()?;
    let who = who.into_principal();
    let location = db::run(&pool, move |c| catalog::create_location(c, &who, new)).await?;
    Ok(HttpResponse::Created().json(location))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocationQuery {
    /// receiving, quarantine, storage, packing, dispatch or returns.
    pub kind: Option<String>,
}

/// List locations, optionally of one kind.
#[utoipa::path(tag = "catalog", params(PageQuery, LocationQuery), responses((status = 200, body = ItemList<Location>)))]
#[get("/locations")]
pub async fn list_locations(
    _who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    query: ListQuery<LocationQuery>,
) -> Result<HttpResponse, AppError> {
    let (page, kind) = (query.page, query.filter.kind);
    if kind
        .as_deref()
        .is_some_and(|k| !LOCATION_KINDS.contains(&k))
    {
        return Err(AppError::field(
            "kind",
            format!("must be one of {}", LOCATION_KINDS.join(", ")),
        ));
    }
    let found = db::run(&pool, move |c| catalog::list_locations(c, kind, &page)).await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}
