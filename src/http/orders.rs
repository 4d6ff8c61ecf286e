//! `/api/v1/orders`: orders from live sessions, one or a thousand at a time.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Caller, StaffOrMerchant};
use super::body::{Json, JsonValue};
use super::catalog::acting_merchant;
use super::query::ListQuery;
use super::{ItemList, PageQuery};
use crate::db::{self, DbPool};
use crate::domain::access::Principal;
use crate::domain::orders::{check_order, RawOrder, ShipByHours, CHANNELS, MAX_BULK};
use crate::domain::time::parse_instant;
use crate::error::{check_field, validated, AppError, FieldError};
use crate::services::order_queue::OrderQueue;
use crate::services::orders::{self, Incoming, IngestResult, Order, OrderFilter, Outcome, Valid};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipToInput {
    pub name: String,
    /// A mainland China mobile or landline, optionally with +86.
    pub phone: String,
    pub address: String,
    pub city: String,
    pub province: String,
    /// Six digits.
    pub postcode: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    pub sku_code: String,
    /// 1 to 10,000 units.
    pub qty: i64,
    /// The merchant's own reference of this line (up to 64 characters,
    /// unique in the order). Lines naming the same SKU (a gift and the paid
    /// item) are merged into one; the merged line keeps every reference.
    pub line_ref: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// Required for staff; implied for a merchant token.
    pub merchant_id: Option<String>,
    /// douyin, kuaishou, taobao_live, wechat_channels or other.
    pub channel: String,
    /// The order's id in the channel; with the merchant and channel, the key
    /// that makes a retried push harmless.
    pub external_id: String,
    pub live_session: Option<String>,
    pub carrier_code: Option<String>,
    pub ship_to: ShipToInput,
    /// 1 to 50 lines; lines of the same SKU are merged (their quantities added).
    pub lines: Vec<LineInput>,
    /// The deadline the order must leave by, RFC 3339 with an offset
    /// (`2026-11-13T20:00:00+08:00`); not before the order time. Without
    /// it, the order time plus the channel's promise (`DEPOT_SHIP_BY_HOURS`,
    /// 48 h by default).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ship_by: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkOrders {
    /// 1 to 1,000 orders; each is answered on its own.
    #[schema(value_type = Vec<OrderInput>)]
    pub orders: Vec<JsonValue>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkAnswer {
    /// One per order pushed, in the same order.
    pub results: Vec<IngestResult>,
}

/// Reads one pushed order: its JSON (a wrong type is that order's 400-style
/// error), its fields (422-style), its merchant.
fn incoming(who: &Principal, value: serde_json::Value, prefix: String) -> Incoming {
    let external_id = external_id_of(&value);
    let parsed: Result<OrderInput, _> = serde_path_to_error::deserialize(value);
    let input = match parsed {
        Ok(input) => input,
        Err(e) => {
            let path = e.path().to_string();
            let field = if path == "." {
                prefix.trim_end_matches('.').to_string()
            } else {
                format!("{prefix}{path}")
            };
            return Incoming {
                external_id,
                prefix,
                order: Err(vec![FieldError::new(field, e.inner().to_string())]),
            };
        }
    };
    let mut errors = Vec::new();
    let merchant_id = match acting_merchant(who, input.merchant_id) {
        Ok(id) => Some(id),
        Err(AppError::Validation(fields)) => {
            errors.extend(
                fields
                    .into_iter()
                    .map(|f| FieldError::new(format!("{prefix}{}", f.field), f.message)),
            );
            None
        }
        Err(other) => {
            errors.push(FieldError::new(
                format!("{prefix}merchant_id"),
                other.to_string(),
            ));
            None
        }
    };
    let raw = RawOrder {
        channel: input.channel,
        external_id: input.external_id,
        live_session: input.live_session,
        carrier_code: input.carrier_code,
        name: input.ship_to.name,
        phone: input.ship_to.phone,
        address: input.ship_to.address,
        city: input.ship_to.city,
        province: input.ship_to.province,
        postcode: input.ship_to.postcode,
        line_refs: input.lines.iter().map(|l| l.line_ref.clone()).collect(),
        ship_by: input.ship_by,
        lines: input
            .lines
            .into_iter()
            .map(|l| (l.sku_code, l.qty))
            .collect(),
    };
    let checked = check_order(raw, &prefix);
    let order = match (checked, merchant_id) {
        (Ok(order), Some(merchant_id)) if errors.is_empty() => Ok(Valid {
            merchant_id,
            body_hash: order.meaning_hash(),
            order,
        }),
        (Ok(_), _) => Err(errors),
        (Err(mut fields), _) => {
            errors.append(&mut fields);
            Err(errors)
        }
    };
    Incoming {
        external_id,
        prefix,
        order,
    }
}

/// The answer for an order refused before it was read.
fn refused(value: &serde_json::Value, cause: AppError) -> IngestResult {
    IngestResult {
        external_id: external_id_of(value),
        order_id: None,
        status: Outcome::Rejected,
        error: Some(cause.to_problem()),
        cause: Some(cause),
    }
}

fn external_id_of(value: &serde_json::Value) -> String {
    value
        .get("external_id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

/// Push up to 1,000 orders; each is reserved, back-ordered, a duplicate or rejected on its own.
#[utoipa::path(tag = "orders", request_body = BulkOrders, responses((status = 200, body = BulkAnswer)))]
#[post("/orders/bulk")]
pub async fn bulk(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    ship_by_hours: web::Data<ShipByHours>,
    body: Json<BulkOrders>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let pushed = body.into_inner().orders;
    if pushed.is_empty() || pushed.len() > MAX_BULK {
        return Err(AppError::field(
            "orders",
            format!(
                "must hold 1 to {MAX_BULK} orders; {} were sent",
                pushed.len()
            ),
        ));
    }
    // An order with a repeated key is refused on its own (400, naming the
    // key); the others go on.
    let mut answers: Vec<Option<IngestResult>> = (0..pushed.len()).map(|_| None).collect();
    let mut incoming_orders = Vec::with_capacity(pushed.len());
    let mut positions = Vec::with_capacity(pushed.len());
    for (i, order) in pushed.into_iter().enumerate() {
        let prefix = format!("orders[{i}].");
        match order.refusal(&prefix) {
            Some(cause) => answers[i] = Some(refused(&order.value, cause)),
            None => {
                incoming_orders.push(incoming(&who, order.value, prefix));
                positions.push(i);
            }
        }
    }
    let ingested = db::run(&pool, move |c| {
        orders::ingest(c, &who, &incoming_orders, &ship_by_hours)
    })
    .await?;
    for (at, result) in positions.into_iter().zip(ingested) {
        answers[at] = Some(result);
    }
    let results = answers
        .into_iter()
        .map(|a| a.ok_or_else(|| AppError::Internal("a pushed order got no answer".into())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(BulkAnswer { results }))
}

/// Push one order: 201 with the new order, 200 with the existing one for a retry.
#[utoipa::path(
    tag = "orders",
    request_body = OrderInput,
    responses((status = 201, body = Order), (status = 200, description = "a retry: the existing order", body = Order))
)]
#[post("/orders")]
pub async fn create(
    who: Caller<StaffOrMerchant>,
    queue: web::Data<OrderQueue>,
    body: Json<JsonValue>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let body = body.into_inner();
    if let Some(refusal) = body.refusal("") {
        return Err(refusal);
    }
    let incoming = incoming(&who, body.value, String::new());
    // Ingested together with the other single orders waiting (one
    // transaction for all of them) and read back with them.
    let (result, order) = queue.ingest(who, incoming).await?;
    match (result.status, order) {
        (Outcome::Reserved | Outcome::Backordered, Some(order)) => {
            Ok(HttpResponse::Created().json(order))
        }
        (Outcome::Duplicate, Some(order)) => Ok(HttpResponse::Ok().json(order)),
        _ => Err(result
            .cause
            .unwrap_or_else(|| AppError::Internal("a rejected order without a cause".into()))),
    }
}

/// One order with its lines and reservations.
#[utoipa::path(tag = "orders", params(("id" = String, Path, description = "order id")), responses((status = 200, body = Order)))]
#[get("/orders/{id}")]
pub async fn get_order(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let order = db::run(&pool, move |c| orders::get(c, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(order))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// reserved, backordered, cancelled or picked.
    pub status: Option<String>,
    /// The live session's name, exactly as pushed (trimmed).
    pub live_session: Option<String>,
    /// The order's id in its channel: how a merchant finds its own order.
    pub external_id: Option<String>,
    /// douyin, kuaishou, taobao_live, wechat_channels or other.
    pub channel: Option<String>,
    /// Orders that arrived at or after: an RFC 3339 time or a date (UTC).
    pub from: Option<String>,
    /// Orders that arrived before: an RFC 3339 time or a date (UTC).
    pub to: Option<String>,
    /// Orders at risk: those still to leave (reserved, backordered or
    /// picked) whose ship-by deadline is before this RFC 3339 time, most
    /// urgent first (ship_by, then id).
    #[param(format = DateTime)]
    pub ship_by_before: Option<String>,
}

impl OrderQuery {
    fn parse(self) -> Result<OrderFilter, AppError> {
        let mut errors = Vec::new();
        if let Some(s) = &self.status {
            if !["reserved", "backordered", "cancelled", "picked"].contains(&s.as_str()) {
                errors.push(FieldError::new(
                    "status",
                    "must be reserved, backordered, cancelled or picked",
                ));
            }
        }
        if let Some(c) = &self.channel {
            if !CHANNELS.contains(&c.as_str()) {
                errors.push(FieldError::new(
                    "channel",
                    format!("must be one of {}", CHANNELS.join(", ")),
                ));
            }
        }
        // Stored trimmed (check_order), so looked up trimmed.
        let text =
            |raw: Option<String>| raw.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let mut instant = |field: &str, raw: Option<String>| {
            raw.and_then(|r| check_field(&mut errors, field, parse_instant(&r)))
        };
        let from = instant("from", self.from);
        let to = instant("to", self.to);
        // A value that is no time at all cannot be read as a filter: 400,
        // as for a bad cursor (RFC 3339 section 5.6 date-time).
        let ship_by_before = match self.ship_by_before.filter(|s| !s.trim().is_empty()) {
            None => None,
            Some(raw) => Some(
                chrono::DateTime::parse_from_rfc3339(raw.trim())
                    .map(|t| t.naive_utc())
                    .map_err(|_| {
                        let message = "must be an RFC 3339 time with an offset, e.g. 2026-11-13T20:00:00+08:00";
                        AppError::BadRequestFields(
                            format!("the query string is not valid: ship_by_before {message}"),
                            vec![FieldError::new("ship_by_before", message)],
                        )
                    })?,
            ),
        };
        if let (Some(from), Some(to)) = (from, to) {
            if from >= to {
                errors.push(FieldError::new("to", "must be after from"));
            }
        }
        validated(errors)?;
        Ok(OrderFilter {
            status: self.status,
            live_session: text(self.live_session),
            external_id: text(self.external_id),
            channel: self.channel,
            from,
            to,
            ship_by_before,
        })
    }
}

/// Orders in the order they arrived; a merchant's own. With
/// `ship_by_before`, the orders at risk of missing their deadline, most
/// urgent first.
#[utoipa::path(tag = "orders", params(PageQuery, OrderQuery), responses((status = 200, body = ItemList<Order>)))]
#[get("/orders")]
pub async fn list(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    query: ListQuery<OrderQuery>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let (page, filter) = (query.page, query.filter.parse()?);
    let found = db::run(&pool, move |c| orders::list(c, &who, filter, &page)).await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}

/// Cancel an order that is not yet picked; its stock serves the backorder queue.
#[utoipa::path(
    tag = "orders",
    params(("id" = String, Path, description = "order id")),
    responses(
        (status = 200, body = Order),
        (status = 409, description = "The order is already cancelled, or past cancelling", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/orders/{id}/cancel")]
pub async fn cancel(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let order = db::run(&pool, move |c| orders::cancel(c, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(order))
}
