//! Webhooks: merchants' URLs, and the outbox of deliveries to them.
//!
//! A change that a merchant hears about (a parcel packed, an order
//! dispatched, …) calls [`enqueue`] inside its own transaction: the
//! deliveries are rows of `webhook_deliveries`, committed with the change or
//! not at all, so nothing is told that did not happen and nothing that
//! happened is lost. The request that made the change never waits for a
//! receiver: the background [`sender`] claims due rows ([`claim`]), POSTs
//! them, and writes what came of it ([`record`]) — retrying with
//! exponential backoff until the delivery is `delivered` or, after the
//! configured number of attempts, `failed`. It is all in the database, so a
//! restart loses nothing.
//!
//! Delivery is at least once: a sender that dies between the receiver's
//! answer and [`record`] leaves the row to be sent again when its lease runs
//! out. Receivers deduplicate on the `Depot-Delivery` id.

pub mod sender;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use rand::Rng;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{webhook_deliveries, webhooks};
use crate::db::{self, AnyConnection, Backend};
use crate::domain::access::Principal;
use crate::domain::ids::new_id;
use crate::domain::page::{Page, PageRequest};
use crate::domain::time;
use crate::domain::webhooks::{backoff, WebhookUrl, EVENTS};
use crate::error::AppError;
use crate::services::merchants;

/// Rows per multi-row INSERT of deliveries (9 columns): well under
/// SQLite's 32,766 bound parameters.
const CHUNK: usize = 1_000;

/// One thing that happened, for the merchant it concerns.
#[derive(Debug, Clone)]
pub struct Notice {
    pub merchant_id: String,
    /// One of [`crate::domain::webhooks::EVENTS`].
    pub event: &'static str,
    pub data: serde_json::Value,
}

/// A registered webhook as depot shows it: never its secret.
#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    #[schema(example = "whk_01JF7A2B3C4D5E6F7G8H9J0K1M")]
    pub id: String,
    #[schema(example = "https://shop.example.com/depot/webhooks")]
    pub url: String,
    pub merchant_id: String,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
}

/// One delivery of one event to one webhook.
#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    /// Also the `Depot-Delivery` header and the body's `id`.
    pub id: String,
    pub webhook_id: String,
    pub merchant_id: String,
    #[schema(example = "parcel.packed")]
    pub event: String,
    /// `pending` (queued or waiting for a retry), `delivered` (a 2xx
    /// answer) or `failed` (every attempt failed, or the webhook was deleted).
    pub status: String,
    pub attempts: i32,
    /// The HTTP status of the last answer, if one came.
    pub last_status: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due; null once delivered or failed.
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<NaiveDateTime>,
}

/// A webhook to register, parsed.
pub struct NewWebhook {
    pub merchant_id: String,
    pub url: WebhookUrl,
    pub secret: String,
}

pub fn register(
    conn: &mut AnyConnection,
    who: &Principal,
    new: NewWebhook,
) -> Result<Webhook, AppError> {
    db::write(conn, |c| {
        merchants::require_active(c, who, &new.merchant_id)?;
        let webhook = Webhook {
            id: new_id("whk"),
            url: new.url.url,
            merchant_id: new.merchant_id,
            created_at: time::now(),
        };
        diesel::insert_into(webhooks::table)
            .values((
                webhooks::id.eq(&webhook.id),
                webhooks::merchant_id.eq(&webhook.merchant_id),
                webhooks::url.eq(&webhook.url),
                webhooks::secret.eq(&new.secret),
                webhooks::active.eq(true),
                webhooks::created_at.eq(webhook.created_at),
                webhooks::created_by.eq(&who.token_id),
            ))
            .execute(c)?;
        Ok(webhook)
    })
}

/// The active webhooks the caller may see: a merchant's own, every one for staff.
pub fn list(
    conn: &mut AnyConnection,
    who: &Principal,
    page: &PageRequest,
) -> Result<Page<Webhook>, AppError> {
    let mut query = webhooks::table
        .filter(webhooks::active.eq(true))
        .select(Webhook::as_select())
        .order(webhooks::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(webhooks::id.gt(after));
    }
    if let Some(own) = &who.merchant_id {
        query = query.filter(webhooks::merchant_id.eq(own));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_rows(rows, page, |w| &w.id))
}

/// Deletes a webhook: nothing more is queued for it, and its pending
/// deliveries are `failed` (kept, like the webhook row, for the record).
/// Another merchant's webhook, or one deleted already, is a 404.
pub fn delete(conn: &mut AnyConnection, who: &Principal, id: &str) -> Result<(), AppError> {
    db::write(conn, |c| {
        let owner: Option<String> = webhooks::table
            .find(id)
            .filter(webhooks::active.eq(true))
            .select(webhooks::merchant_id)
            .first(c)
            .optional()?;
        if !owner.is_some_and(|m| who.sees_merchant(&m)) {
            return Err(AppError::not_found("webhook", id));
        }
        let now = time::now();
        diesel::update(webhooks::table.find(id))
            .set((
                webhooks::active.eq(false),
                webhooks::deleted_at.eq(Some(now)),
                webhooks::deleted_by.eq(Some(&who.token_id)),
            ))
            .execute(c)?;
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::webhook_id.eq(id))
                .filter(webhook_deliveries::status.eq("pending")),
        )
        .set((
            webhook_deliveries::status.eq("failed"),
            webhook_deliveries::next_attempt_at.eq(None::<NaiveDateTime>),
            webhook_deliveries::last_error.eq(Some("the webhook was deleted")),
        ))
        .execute(c)?;
        Ok(())
    })
}

/// What `GET /webhooks/deliveries` filters on.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub status: Option<String>,
}

/// Deliveries the caller may see, newest first.
pub fn deliveries(
    conn: &mut AnyConnection,
    who: &Principal,
    filter: DeliveryFilter,
    page: &PageRequest,
) -> Result<Page<Delivery>, AppError> {
    let mut query = webhook_deliveries::table
        .select(Delivery::as_select())
        .order(webhook_deliveries::id.desc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(before) = &page.after {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    if let Some(own) = &who.merchant_id {
        query = query.filter(webhook_deliveries::merchant_id.eq(own));
    }
    if let Some(status) = filter.status {
        query = query.filter(webhook_deliveries::status.eq(status));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_rows(rows, page, |d| &d.id))
}

/// The body POSTed, fields in this order.
#[derive(Serialize)]
struct Envelope<'a> {
    id: &'a str,
    event: &'a str,
    created_at: &'a str,
    merchant_id: &'a str,
    data: &'a serde_json::Value,
}

/// Queues one delivery per active webhook of each notice's merchant, set-based
/// (one lookup of webhooks, multi-row inserts); a cheap no-op when none has one.
/// Call it inside the transaction of the change.
pub fn enqueue(c: &mut AnyConnection, notices: &[Notice]) -> Result<(), AppError> {
    if notices.is_empty() {
        return Ok(());
    }
    debug_assert!(
        notices.iter().all(|n| EVENTS.contains(&n.event)),
        "an event name not in domain::webhooks::EVENTS"
    );
    let merchant_ids: Vec<&str> = notices
        .iter()
        .map(|n| n.merchant_id.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let hooks: Vec<(String, String)> = webhooks::table
        .filter(webhooks::active.eq(true))
        .filter(webhooks::merchant_id.eq_any(&merchant_ids))
        .select((webhooks::id, webhooks::merchant_id))
        .order(webhooks::id.asc())
        .load(c)?;
    if hooks.is_empty() {
        return Ok(());
    }
    let mut by_merchant: HashMap<&str, Vec<&str>> = HashMap::new();
    for (id, merchant_id) in &hooks {
        by_merchant
            .entry(merchant_id.as_str())
            .or_default()
            .push(id.as_str());
    }
    let now = time::now();
    let created_at = time::rfc3339(&now);
    // (delivery id, webhook id, merchant id, event, payload)
    let mut queued: Vec<(String, &str, &str, &str, String)> = Vec::new();
    for notice in notices {
        for webhook_id in by_merchant
            .get(notice.merchant_id.as_str())
            .into_iter()
            .flatten()
        {
            let id = new_id("whd");
            let payload = serde_json::to_string(&Envelope {
                id: &id,
                event: notice.event,
                created_at: &created_at,
                merchant_id: &notice.merchant_id,
                data: &notice.data,
            })
            .map_err(|e| AppError::Internal(format!("a webhook body: {e}")))?;
            queued.push((id, webhook_id, &notice.merchant_id, notice.event, payload));
        }
    }
    for chunk in queued.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(id, webhook_id, merchant_id, event, payload)| {
                (
                    webhook_deliveries::id.eq(id),
                    webhook_deliveries::webhook_id.eq(*webhook_id),
                    webhook_deliveries::merchant_id.eq(*merchant_id),
                    webhook_deliveries::event.eq(*event),
                    webhook_deliveries::payload.eq(payload),
                    webhook_deliveries::status.eq("pending"),
                    webhook_deliveries::attempts.eq(0),
                    webhook_deliveries::next_attempt_at.eq(Some(now)),
                    webhook_deliveries::created_at.eq(now),
                )
            })
            .collect();
        crate::on_backend!(c, |inner| diesel::insert_into(webhook_deliveries::table)
            .values(rows)
            .execute(inner))?;
    }
    Ok(())
}

/// A delivery claimed by a sender, with what it takes to send it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    /// This claim's token: [`record`] writes only under it.
    pub lease: String,
    pub event: String,
    pub payload: String,
    pub url: String,
    pub secret: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

#[derive(QueryableByName)]
struct DueId {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Claims up to `limit` due deliveries for `lease_for`: their attempt is
/// counted and `locked_until` set, so that no other sender takes them until
/// the lease runs out (a sender that died mid-send). On PostgreSQL the
/// rows are picked `FOR UPDATE SKIP LOCKED`, so that several depot
/// instances polling at once each claim different rows; SQLite has one
/// writer at a time. A poll with nothing due does not write at all.
pub fn claim(
    conn: &mut AnyConnection,
    lease_for: Duration,
    limit: i64,
) -> Result<Vec<Claimed>, AppError> {
    let now = time::now();
    let due = |c: &mut AnyConnection, lock: &str| -> Result<Vec<String>, AppError> {
        let sql = format!(
            "SELECT id FROM webhook_deliveries \
             WHERE status = 'pending' AND next_attempt_at <= $1 \
             AND (locked_until IS NULL OR locked_until <= $1) \
             ORDER BY next_attempt_at, id LIMIT $2{lock}"
        );
        let rows: Vec<DueId> = crate::on_backend!(c, |inner| diesel::sql_query(&sql)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(inner))?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    };
    if due(conn, "")?.is_empty() {
        return Ok(Vec::new());
    }
    let lease = new_id("lse");
    let locked_until = now
        + chrono::Duration::from_std(lease_for)
            .map_err(|e| AppError::Internal(format!("a lease of {lease_for:?}: {e}")))?;
    db::write(conn, |c| {
        let lock = match c.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let ids = due(c, lock)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
            .set((
                webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
                webhook_deliveries::locked_until.eq(Some(locked_until)),
                webhook_deliveries::lease.eq(Some(&lease)),
            ))
            .execute(c)?;
        let rows: Vec<(String, String, String, i32, String, String)> = webhook_deliveries::table
            .inner_join(webhooks::table)
            .filter(webhook_deliveries::id.eq_any(&ids))
            .filter(webhook_deliveries::lease.eq(&lease))
            .select((
                webhook_deliveries::id,
                webhook_deliveries::event,
                webhook_deliveries::payload,
                webhook_deliveries::attempts,
                webhooks::url,
                webhooks::secret,
            ))
            .order(webhook_deliveries::next_attempt_at.asc())
            .load(c)?;
        Ok(rows
            .into_iter()
            .map(|(id, event, payload, attempts, url, secret)| Claimed {
                id,
                lease: lease.clone(),
                event,
                payload,
                url,
                secret,
                attempts,
            })
            .collect())
    })
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// No 2xx answer: `status` when the receiver answered at all.
    /// `retry: false` gives up at once (a URL depot may not send to).
    Failed {
        status: Option<u16>,
        error: String,
        retry: bool,
    },
}

/// One attempt of a claimed delivery and its outcome.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub id: String,
    pub lease: String,
    pub attempts: i32,
    pub outcome: Outcome,
}

/// When to give up and how long to wait between attempts.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub backoff: Duration,
}

/// The longest `last_error` kept.
const MAX_ERROR: usize = 500;

/// Writes the outcomes of attempts, each only if its claim still holds
/// (a lease that ran out belongs to whoever claimed the row next).
pub fn record(
    conn: &mut AnyConnection,
    attempts: &[Attempt],
    policy: RetryPolicy,
) -> Result<(), AppError> {
    if attempts.is_empty() {
        return Ok(());
    }
    let now = time::now();
    db::write(conn, |c| {
        for attempt in attempts {
            let target = webhook_deliveries::table
                .filter(webhook_deliveries::id.eq(&attempt.id))
                .filter(webhook_deliveries::lease.eq(&attempt.lease))
                .filter(webhook_deliveries::status.eq("pending"));
            match &attempt.outcome {
                Outcome::Delivered { status } => {
                    diesel::update(target)
                        .set((
                            webhook_deliveries::status.eq("delivered"),
                            webhook_deliveries::last_status.eq(Some(i32::from(*status))),
                            webhook_deliveries::last_error.eq(None::<String>),
                            webhook_deliveries::delivered_at.eq(Some(now)),
                            webhook_deliveries::next_attempt_at.eq(None::<NaiveDateTime>),
                            webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
                            webhook_deliveries::lease.eq(None::<String>),
                        ))
                        .execute(c)?;
                }
                Outcome::Failed {
                    status,
                    error,
                    retry,
                } => {
                    let give_up = !retry || attempt.attempts as u32 >= policy.max_attempts;
                    let next = if give_up {
                        None
                    } else {
                        let jitter: f64 = rand::rng().random();
                        let wait = backoff(policy.backoff, attempt.attempts as u32, jitter);
                        Some(now + chrono::Duration::from_std(wait).unwrap_or_default())
                    };
                    let error: String = error.chars().take(MAX_ERROR).collect();
                    diesel::update(target)
                        .set((
                            webhook_deliveries::status.eq(if give_up {
                                "failed"
                            } else {
                                "pending"
                            }),
                            webhook_deliveries::last_status.eq(status.map(i32::from)),
                            webhook_deliveries::last_error.eq(Some(error)),
                            webhook_deliveries::next_attempt_at.eq(next),
                            webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
                            webhook_deliveries::lease.eq(None::<String>),
                        ))
                        .execute(c)?;
                }
            }
        }
        Ok(())
    })
}
