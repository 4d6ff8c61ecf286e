//! `/api/v1/merchants`.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::{AdminOnly, Caller, StaffOrMerchant};
use super::body::Json;
use super::query::{ListQuery, NoFilter};
use super::{ItemList, PageQuery};
use crate::db::{self, DbPool};
use crate::domain::text::{parse_code, parse_name};
use crate::error::{check_field, validated, AppError};
use crate::services::merchants::{self, Merchant, NewMerchant};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMerchant {
    /// Short unique code: letters, digits, '-', '_', '.'; at most 40.
    pub code: String,
    pub name: String,
}

impl CreateMerchant {
    fn parse(self) -> Result<NewMerchant, AppError> {
        let mut errors = Vec::new();
        let code = check_field(&mut errors, "code", parse_code(&self.code));
        let name = check_field(&mut errors, "name", parse_name(&self.name));
        validated(errors)?;
        Ok(NewMerchant {
            code: code.unwrap_or_default(),
            name: name.unwrap_or_default(),
        })
    }
}

/// Register a merchant.
#[utoipa::path(tag = "partners", request_body = CreateMerchant, responses((status = 201, body = Merchant)))]
#[post("/merchants")]
pub async fn create(
    who: Caller<AdminOnly>,
    pool: web::Data<DbPool>,
    body: Json<CreateMerchant>,
) -> Result<HttpResponse, AppError> {
    let new = body.into_inner().parse()?;
    let merchant = db::run(&pool, move |c| {
        merchants::create(c, Some(&who.token_id), new)
    })
    .await?;
    Ok(HttpResponse::Created().json(merchant))
}

/// List merchants: all of them for staff, itself for a merchant.
#[utoipa::path(tag = "partners", params(PageQuery), responses((status = 200, body = ItemList<Merchant>)))]
#[get("/merchants")]
pub async fn list(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    query: ListQuery<NoFilter>,
) -> Result<HttpResponse, AppError> {
    let page = query.page;
    let who = who.into_principal();
    let found = db::run(&pool, move |c| merchants::list(c, &who, &page)).await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}

/// One merchant; a merchant token sees only its own.
#[utoipa::path(
    tag = "partners",
    params(("id" = String, Path, description = "merchant id")),
    responses((status = 200, body = Merchant))
)]
#[get("/merchants/{id}")]
pub async fn get(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let merchant = db::run(&pool, move |c| merchants::get(c, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(merchant))
}
