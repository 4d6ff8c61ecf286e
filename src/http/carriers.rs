//! `/api/v1/carriers`.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::{AdminOnly, AnyRole, Caller};
use super::body::Json;
use super::query::{ListQuery, NoFilter};
use super::{ItemList, PageQuery};
use crate::db::{self, DbPool};
use crate::domain::text::{parse_code, parse_name};
use crate::error::{check_field, validated, AppError};
use crate::services::carriers::{self, Carrier, NewCarrier};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCarrier {
    /// Short unique code: letters, digits, '-', '_', '.'; at most 40.
    pub code: String,
    pub name: String,
}

impl CreateCarrier {
    fn parse(self) -> Result<NewCarrier, AppError> {
        let mut errors = Vec::new();
        let code = check_field(&mut errors, "code", parse_code(&self.code));
        let name = check_field(&mut errors, "name", parse_name(&self.name));
        validated(errors)?;
        Ok(NewCarrier {
            code: code.unwrap_or_default(),
            name: name.unwrap_or_default(),
        })
    }
}

/// Register a carrier.
#[utoipa::path(tag = "partners", request_body = CreateCarrier, responses((status = 201, body = Carrier)))]
#[post("/carriers")]
pub async fn create(
    who: Caller<AdminOnly>,
    pool: web::Data<DbPool>,
    body: Json<CreateCarrier>,
) -> Result<HttpResponse, AppError> {
    let new = body.into_inner().parse()?;
    let carrier = db::run(&pool, move |c| {
        carriers::create(c, Some(&who.token_id), new)
    })
    .await?;
    Ok(HttpResponse::Created().json(carrier))
}

/// List carriers: all of them for staff and merchants, itself for a carrier.
#[utoipa::path(tag = "partners", params(PageQuery), responses((status = 200, body = ItemList<Carrier>)))]
#[get("/carriers")]
pub async fn list(
    who: Caller<AnyRole>,
    pool: web::Data<DbPool>,
    query: ListQuery<NoFilter>,
) -> Result<HttpResponse, AppError> {
    let page = query.page;
    let who = who.into_principal();
    let found = db::run(&pool, move |c| carriers::list(c, &who, &page)).await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}

/// One carrier; a carrier token sees only its own.
#[utoipa::path(
    tag = "partners",
    params(("id" = String, Path, description = "carrier id")),
    responses((status = 200, body = Carrier))
)]
#[get("/carriers/{id}")]
pub async fn get(
    who: Caller<AnyRole>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let carrier = db::run(&pool, move |c| carriers::get(c, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(carrier))
}
