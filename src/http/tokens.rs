//! `/api/v1/tokens`: bearer tokens (admin only).

use actix_web::{delete, get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::{AdminOnly, Caller};
use super::body::Json;
use super::query::{ListQuery, NoFilter};
use super::{ItemList, PageQuery};
use crate::db::{self, DbPool};
use crate::domain::access::{Role, TokenSpec};
use crate::error::{AppError, FieldError};
use crate::services::access::{self, IssuedToken, TokenInfo};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// admin, staff, merchant or carrier.
    #[schema(value_type = Role)]
    pub role: String,
    /// Required for, and only for, a merchant token.
    pub merchant_id: Option<String>,
    /// Required for, and only for, a carrier token.
    pub carrier_id: Option<String>,
    /// A note for people: whose token, what for (at most 100 characters).
    pub label: Option<String>,
}

impl CreateToken {
    fn into_spec(self) -> Result<TokenSpec, AppError> {
        let role = Role::parse(self.role.trim()).ok_or_else(|| {
            AppError::Validation(vec![FieldError::new(
                "role",
                "must be one of admin, staff, merchant, carrier",
            )])
        })?;
        TokenSpec::parse(role, self.merchant_id, self.carrier_id, self.label)
            .map_err(AppError::Validation)
    }
}

/// Issue a token. Its secret is in this answer only; depot keeps its SHA-256.
#[utoipa::path(tag = "access", request_body = CreateToken, responses((status = 201, body = IssuedToken)))]
#[post("/tokens")]
pub async fn create(
    who: Caller<AdminOnly>,
    pool: web::Data<DbPool>,
    body: Json<CreateToken>,
) -> Result<HttpResponse, AppError> {
    let spec = body.into_inner().into_spec()?;
    let issued = db::run(&pool, move |c| access::issue(c, Some(&who.token_id), spec)).await?;
    Ok(HttpResponse::Created().json(issued))
}

/// List tokens, revoked ones included; never their secrets.
#[utoipa::path(tag = "access", params(PageQuery), responses((status = 200, body = ItemList<TokenInfo>)))]
#[get("/tokens")]
pub async fn list(
    _who: Caller<AdminOnly>,
    pool: web::Data<DbPool>,
    query: ListQuery<NoFilter>,
) -> Result<HttpResponse, AppError> {
    let page = query.page;
    let tokens = db::run(&pool, move |c| access::list(c, &page)).await?;
    Ok(HttpResponse::Ok().json(ItemList::from(tokens)))
}

/// Revoke a token: from now on it answers 401. Revoking twice changes nothing.
#[utoipa::path(
    tag = "access",
    params(("id" = String, Path, description = "token id")),
    responses((status = 204, description = "revoked"))
)]
#[delete("/tokens/{id}")]
pub async fn revoke(
    who: Caller<AdminOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    db::run(&pool, move |c| access::revoke(c, &who.token_id, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
