//! `/api/v1/webhooks`: merchants register the URLs depot POSTs their order
//! and parcel events to, and see how the deliveries went.

use actix_web::{delete, get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::{Caller, StaffOrMerchant};
use super::body::Json;
use super::catalog::acting_merchant;
use super::query::{ListQuery, NoFilter};
use super::{ItemList, PageQuery};
use crate::db::{self, DbPool};
use crate::domain::access::Principal;
use crate::domain::webhooks::{parse_secret, WebhookUrl};
use crate::error::{check_field, validated, AppError};
use crate::services::webhooks::{self, Delivery, DeliveryFilter, NewWebhook, Webhook};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `https://` to a public host; `http://` only to loopback
    /// (127.0.0.1, [::1], localhost). Private, link-local, shared (CGNAT)
    /// and other special addresses are refused.
    pub url: String,
    /// 16 to 256 characters: the key of the `Depot-Signature` HMAC. Never
    /// shown again.
    pub secret: String,
    /// Staff and admin name the merchant; a merchant token registers for itself.
    pub merchant_id: Option<String>,
}

impl CreateWebhook {
    fn parse(self, who: &Principal) -> Result<NewWebhook, AppError> {
        let mut errors = Vec::new();
        let merchant_id = match acting_merchant(who, self.merchant_id) {
            Ok(id) => Some(id),
            Err(AppError::Validation(mut fields)) => {
                errors.append(&mut fields);
                None
            }
            Err(other) => return Err(other),
        };
        let url = check_field(&mut errors, "url", WebhookUrl::parse(&self.url));
        let secret = check_field(&mut errors, "secret", parse_secret(&self.secret));
        validated(errors)?;
        match (merchant_id, url, secret) {
            (Some(merchant_id), Some(url), Some(secret)) => Ok(NewWebhook {
                merchant_id,
                url,
                secret,
            }),
            _ => Err(AppError::Internal("validated fields missing".into())),
        }
    }
}

/// Register a webhook: depot POSTs the merchant's order and parcel events to
/// it, signed (`Depot-Signature`) with the secret.
#[utoipa::path(tag = "webhooks", request_body = CreateWebhook, responses((status = 201, body = Webhook)))]
#[post("/webhooks")]
pub async fn create(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    body: Json<CreateWebhook>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let new = body.into_inner().parse(&who)?;
    let webhook = db::run(&pool, move |c| webhooks::register(c, &who, new)).await?;
    Ok(HttpResponse::Created().json(webhook))
}

/// The webhooks: a merchant's own, every merchant's for staff.
#[utoipa::path(tag = "webhooks", params(PageQuery), responses((status = 200, body = ItemList<Webhook>)))]
#[get("/webhooks")]
pub async fn list(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    query: ListQuery<NoFilter>,
) -> Result<HttpResponse, AppError> {
    let (who, page) = (who.into_principal(), query.page);
    let found = db::run(&pool, move |c| webhooks::list(c, &who, &page)).await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}

/// Delete a webhook: nothing more is sent to it; its pending deliveries
/// become `failed`.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = String, Path, description = "webhook id")),
    responses((status = 204, description = "deleted"))
)]
#[delete("/webhooks/{id}")]
pub async fn remove(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (who, id) = (who.into_principal(), id.into_inner());
    db::run(&pool, move |c| webhooks::delete(c, &who, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// pending, delivered or failed.
    pub status: Option<String>,
}

/// Recent webhook deliveries, newest first: a merchant's own, all for staff.
#[utoipa::path(tag = "webhooks", params(PageQuery, DeliveryQuery), responses((status = 200, body = ItemList<Delivery>)))]
#[get("/webhooks/deliveries")]
pub async fn deliveries(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    query: ListQuery<DeliveryQuery>,
) -> Result<HttpResponse, AppError> {
    let (who, page, status) = (who.into_principal(), query.page, query.filter.status);
    if let Some(s) = &status {
        if !["pending", "delivered", "failed"].contains(&s.as_str()) {
            return Err(AppError::field(
                "status",
                "must be pending, delivered or failed",
            ));
        }
    }
    let filter = DeliveryFilter { status };
    let found = db::run(&pool, move |c| webhooks::deliveries(c, &who, filter, &page)).await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}
