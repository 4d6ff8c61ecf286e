//! Correcting and retiring master data: `PATCH /skus/{id}`,
//! `/locations/{id}`, `/merchants/{id}`, `/carriers/{id}`, one location by id,
//! and the change log (`/master-data-changes`).
//!
//! PATCH bodies (RFC 7396 in spirit): a field left out is kept, a field given
//! `null` is cleared where it may be (zone, gtin, category, …) and refused
//! where it may not (name, active); unknown fields are refused; a body that
//! names no field is a 422.

use actix_web::{get, patch, web, HttpResponse};
use serde::{Deserialize, Deserializer};
use utoipa::{IntoParams, ToSchema};

use super::auth::{AdminOnly, Caller, StaffOnly, StaffOrMerchant};
use super::body::Json;
use super::query::ListQuery;
use super::{ItemList, PageQuery};
use crate::db::{self, DbPool};
use crate::domain::gs1::Gtin;
use crate::domain::master_data::Entity;
use crate::domain::text::{parse_code, parse_name, parse_text};
use crate::error::{validated, AppError, FieldError};
use crate::services::carriers::Carrier;
use crate::services::catalog::{self, Location, Sku};
use crate::services::master_data::{
    self, Clearable, LocationPatch, MasterDataChange, PartnerPatch, SkuPatch,
};
use crate::services::merchants::Merchant;

/// Keeps `null` apart from a missing field: absent → None, null → Some(None).
fn nullable<'de, D, T>(deserializer: D) -> Result<Clearable<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A field that may be changed but not cleared.
fn required<T>(errors: &mut Vec<FieldError>, field: &str, value: Clearable<T>) -> Option<T> {
    match value {
        Some(None) => {
            errors.push(FieldError::new(field, "cannot be cleared; give a value"));
            None
        }
        Some(Some(v)) => Some(v),
        None => None,
    }
}

/// A clearable field, its value parsed when given.
fn clearable<T, U>(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Clearable<T>,
    parse: impl FnOnce(T) -> Result<U, String>,
) -> Clearable<U> {
    match value {
        None => None,
        Some(None) => Some(None),
        Some(Some(v)) => match parse(v) {
            Ok(u) => Some(Some(u)),
            Err(message) => {
                errors.push(FieldError::new(field, message));
                None
            }
        },
    }
}

fn nothing_to_change(fields: &str) -> AppError {
    AppError::field(
        "body",
        format!("names no field to change; give at least one of {fields}"),
    )
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchSku {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub name: Clearable<String>,
    /// Chooses the inspection template; null clears it (the `default` template).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub category: Clearable<String>,
    /// Only while no lot of the SKU exists (else 409); check digit verified;
    /// null clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub gtin: Clearable<String>,
    /// 1 to 36500; null clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>, nullable)]
    pub shelf_life_days: Clearable<i32>,
    /// The zone of the bins depot suggests for putaway; null clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub storage_zone: Clearable<String>,
}

impl PatchSku {
    fn parse(self) -> Result<SkuPatch, AppError> {
        if self.name.is_none()
            && self.category.is_none()
            && self.gtin.is_none()
            && self.shelf_life_days.is_none()
            && self.storage_zone.is_none()
        {
            return Err(nothing_to_change(
                "name, category, gtin, shelf_life_days, storage_zone",
            ));
        }
        let mut errors = Vec::new();
        let name = required(&mut errors, "name", self.name);
        let name = name.and_then(|n| match parse_name(&n) {
            Ok(n) => Some(n),
            Err(m) => {
                errors.push(FieldError::new("name", m));
                None
            }
        });
        let category = clearable(&mut errors, "category", self.category, |c| parse_code(&c));
        let gtin = clearable(&mut errors, "gtin", self.gtin, |g| {
            Gtin::parse(&g)
                .map(|g| g.as_str().to_string())
                .map_err(|e| e.to_string())
        });
        let shelf_life_days =
            clearable(&mut errors, "shelf_life_days", self.shelf_life_days, |d| {
                if (1..=36_500).contains(&d) {
                    Ok(d)
                } else {
                    Err("must be from 1 to 36500".to_string())
                }
            });
        let storage_zone = clearable(&mut errors, "storage_zone", self.storage_zone, |z| {
            parse_text(&z, 40)
        });
        validated(errors)?;
        Ok(SkuPatch {
            name,
            category,
            gtin,
            shelf_life_days,
            storage_zone,
        })
    }
}

/// Correct a SKU: name, category, GTIN (while no lot exists), shelf life,
/// storage zone. Admin and staff, or the merchant for its own SKUs.
#[utoipa::path(
    tag = "catalog",
    params(("id" = String, Path, description = "SKU id")),
    request_body = PatchSku,
    responses((status = 200, body = Sku))
)]
#[patch("/skus/{id}")]
pub async fn patch_sku(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: Json<PatchSku>,
) -> Result<HttpResponse, AppError> {
    let patch = body.into_inner().parse()?;
    let who = who.into_principal();
    let sku = db::run(&pool, move |c| master_data::patch_sku(c, &who, &id, patch)).await?;
    Ok(HttpResponse::Ok().json(sku))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchLocation {
    /// Order in which pickers pass it, 0 to 1000000.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>)]
    pub walk_seq: Clearable<i32>,
    /// null clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub zone: Clearable<String>,
    /// false retires it: it takes no new stock (what it holds can leave).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    pub active: Clearable<bool>,
    /// Only `true`: make it the default of its kind, taking the mark from
    /// the location that had it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    pub default: Clearable<bool>,
}

impl PatchLocation {
    fn parse(self) -> Result<LocationPatch, AppError> {
        if self.walk_seq.is_none()
            && self.zone.is_none()
            && self.active.is_none()
            && self.default.is_none()
        {
            return Err(nothing_to_change("walk_seq, zone, active, default"));
        }
        let mut errors = Vec::new();
        let walk_seq = required(&mut errors, "walk_seq", self.walk_seq);
        if let Some(walk_seq) = walk_seq {
            if !(0..=1_000_000).contains(&walk_seq) {
                errors.push(FieldError::new("walk_seq", "must be from 0 to 1000000"));
            }
        }
        let zone = clearable(&mut errors, "zone", self.zone, |z| parse_text(&z, 40));
        let active = required(&mut errors, "active", self.active);
        let make_default = match required(&mut errors, "default", self.default) {
            Some(false) => {
                errors.push(FieldError::new(
                    "default",
                    "can only be true: to move the mark, give another location of the kind default: true",
                ));
                false
            }
            other => other.unwrap_or(false),
        };
        validated(errors)?;
        Ok(LocationPatch {
            walk_seq,
            zone,
            active,
            make_default,
        })
    }
}

/// Correct or retire a location, or make it the default of its kind.
#[utoipa::path(
    tag = "catalog",
    params(("id" = String, Path, description = "location id")),
    request_body = PatchLocation,
    responses((status = 200, body = Location))
)]
#[patch("/locations/{id}")]
pub async fn patch_location(
    who: Caller<AdminOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: Json<PatchLocation>,
) -> Result<HttpResponse, AppError> {
    let patch = body.into_inner().parse()?;
    let who = who.into_principal();
    let location = db::run(&pool, move |c| {
        master_data::patch_location(c, &who, &id, patch)
    })
    .await?;
    Ok(HttpResponse::Ok().json(location))
}

/// One location.
#[utoipa::path(
    tag = "catalog",
    params(("id" = String, Path, description = "location id")),
    responses((status = 200, body = Location))
)]
#[get("/locations/{id}")]
pub async fn get_location(
    _who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let location = db::run(&pool, move |c| catalog::get_location(c, &id)).await?;
    Ok(HttpResponse::Ok().json(location))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchPartner {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub name: Clearable<String>,
    /// false retires it (see the endpoint).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<bool>)]
    pub active: Clearable<bool>,
}

impl PatchPartner {
    fn parse(self) -> Result<PartnerPatch, AppError> {
        if self.name.is_none() && self.active.is_none() {
            return Err(nothing_to_change("name, active"));
        }
        let mut errors = Vec::new();
        let name = required(&mut errors, "name", self.name);
        let name = name.and_then(|n| match parse_name(&n) {
            Ok(n) => Some(n),
            Err(m) => {
                errors.push(FieldError::new("name", m));
                None
            }
        });
        let active = required(&mut errors, "active", self.active);
        validated(errors)?;
        Ok(PartnerPatch { name, active })
    }
}

/// Rename or retire a merchant. An inactive merchant's tokens still read but
/// create nothing (403), and staff create nothing for it (422).
#[utoipa::path(
    tag = "partners",
    params(("id" = String, Path, description = "merchant id")),
    request_body = PatchPartner,
    responses((status = 200, body = Merchant))
)]
#[patch("/merchants/{id}")]
pub async fn patch_merchant(
    who: Caller<AdminOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: Json<PatchPartner>,
) -> Result<HttpResponse, AppError> {
    let patch = body.into_inner().parse()?;
    let who = who.into_principal();
    let merchant = db::run(&pool, move |c| {
        master_data::patch_merchant(c, &who, &id, patch)
    })
    .await?;
    Ok(HttpResponse::Ok().json(merchant))
}

/// Rename or retire a carrier. An inactive carrier takes no new orders that
/// name it.
#[utoipa::path(
    tag = "partners",
    params(("id" = String, Path, description = "carrier id")),
    request_body = PatchPartner,
    responses((status = 200, body = Carrier))
)]
#[patch("/carriers/{id}")]
pub async fn patch_carrier(
    who: Caller<AdminOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: Json<PatchPartner>,
) -> Result<HttpResponse, AppError> {
    let patch = body.into_inner().parse()?;
    let who = who.into_principal();
    let carrier = db::run(&pool, move |c| {
        master_data::patch_carrier(c, &who, &id, patch)
    })
    .await?;
    Ok(HttpResponse::Ok().json(carrier))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeQuery {
    /// sku, location, merchant or carrier.
    pub entity: Option<String>,
    /// Only the changes of this object.
    pub entity_id: Option<String>,
}

/// The change log of master data, oldest first: every field a PATCH changed,
/// old and new value, who and when.
#[utoipa::path(
    tag = "catalog",
    params(PageQuery, ChangeQuery),
    responses((status = 200, body = ItemList<MasterDataChange>))
)]
#[get("/master-data-changes")]
pub async fn list_changes(
    _who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    query: ListQuery<ChangeQuery>,
) -> Result<HttpResponse, AppError> {
    let page = query.page;
    let query = query.filter;
    let entity = match query.entity.filter(|e| !e.trim().is_empty()) {
        Some(raw) => Some(Entity::parse(raw.trim()).ok_or_else(|| {
            AppError::field("entity", "must be sku, location, merchant or carrier")
        })?),
        None => None,
    };
    let entity_id = query.entity_id.filter(|e| !e.trim().is_empty());
    let found = db::run(&pool, move |c| {
        master_data::list_changes(c, entity, entity_id, &page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sku(body: &str) -> Result<SkuPatch, AppError> {
        serde_json::from_str::<PatchSku>(body).unwrap().parse()
    }

    #[test]
    fn null_clears_and_absence_keeps() {
        let patch = sku(r#"{"category": null, "name": "蜂蜜 500g"}"#).unwrap();
        assert_eq!(patch.category, Some(None));
        assert_eq!(patch.gtin, None);
        assert_eq!(patch.name.as_deref(), Some("蜂蜜 500g"));
    }

    #[test]
    fn an_empty_body_is_refused() {
        assert!(matches!(sku("{}"), Err(AppError::Validation(e)) if e[0].field == "body"));
    }

    #[test]
    fn a_name_cannot_be_cleared_and_a_gtin_keeps_its_check_digit() {
        let Err(AppError::Validation(errors)) = sku(r#"{"name": null, "gtin": "6901234567891"}"#)
        else {
            panic!("expected a validation error");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "gtin"]);
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_json::from_str::<PatchSku>(r#"{"code": "X"}"#).is_err());
        assert!(serde_json::from_str::<PatchPartner>(r#"{"code": "X"}"#).is_err());
    }

    #[test]
    fn a_location_takes_the_default_mark_but_never_drops_it() {
        let body: PatchLocation = serde_json::from_str(r#"{"default": false}"#).unwrap();
        assert!(matches!(body.parse(), Err(AppError::Validation(e)) if e[0].field == "default"));
        let body: PatchLocation = serde_json::from_str(r#"{"default": true}"#).unwrap();
        assert!(body.parse().unwrap().make_default);
    }
}
