//! `GET /epcis/events`: the trace log as a GS1 EPCIS 2.0 JSON-LD
//! `EPCISDocument`, a page at a time, each page streamed.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::{Caller, StaffOrMerchant};
use super::query::Query;
use super::stream;
use crate::config::Warehouse;
use crate::db::{self, DbPool};
use crate::domain::access::Principal;
use crate::domain::epcis::{self, CBV_BIZ_STEPS, DOCUMENT_TAIL};
use crate::domain::page::{decode_cursor, encode_cursor, CURSOR_ERROR};
use crate::domain::text::parse_code;
use crate::domain::time::{self, parse_instant};
use crate::error::{check_field, validated, AppError, FieldError};
use crate::services::epcis::{self as export, ExportFilter};

/// Events a page holds unless `limit` says otherwise, and at most.
const DEFAULT_LIMIT: i64 = 1_000;
const MAX_LIMIT: i64 = 10_000;
/// Events read from the database at a time while a page streams.
const CHUNK: i64 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EpcisQuery {
    /// Events at or after: RFC 3339 time or YYYY-MM-DD (UTC).
    pub from: Option<String>,
    /// Events before: RFC 3339 time or YYYY-MM-DD (UTC).
    pub to: Option<String>,
    /// One lot's events.
    pub lot_id: Option<String>,
    /// One CBV 2.0 business step, as a bare word (`receiving`, `shipping` …).
    pub biz_step: Option<String>,
    /// The `depot:nextCursor` of the previous page (also in its `Link` header).
    pub cursor: Option<String>,
    /// Events per page, 1 to 10,000 (default 1,000).
    pub limit: Option<String>,
}

struct Request {
    filter: ExportFilter,
    after: Option<String>,
    limit: i64,
}

impl EpcisQuery {
    fn parse(self) -> Result<Request, AppError> {
        let mut errors = Vec::new();
        let given = |raw: Option<String>| raw.filter(|r| !r.trim().is_empty());
        let mut instant = |field: &str, raw: Option<String>| {
            given(raw).and_then(|r| check_field(&mut errors, field, parse_instant(&r)))
        };
        let from = instant("from", self.from);
        let to = instant("to", self.to);
        if let (Some(from), Some(to)) = (from, to) {
            if from >= to {
                errors.push(FieldError::new("to", "must be after from"));
            }
        }
        let lot_id =
            given(self.lot_id).and_then(|l| check_field(&mut errors, "lot_id", parse_code(&l)));
        let biz_step = given(self.biz_step).map(|s| s.trim().to_string());
        if let Some(step) = &biz_step {
            if !CBV_BIZ_STEPS.contains(&step.as_str()) {
                errors.push(FieldError::new(
                    "biz_step",
                    "must be a CBV 2.0 business step as a bare word (e.g. receiving, shipping)",
                ));
            }
        }
        let limit = match given(self.limit) {
            None => Some(DEFAULT_LIMIT),
            Some(raw) => match raw.trim().parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Some(n),
                _ => {
                    errors.push(FieldError::new(
                        "limit",
                        format!("must be a whole number from 1 to {MAX_LIMIT}"),
                    ));
                    None
                }
            },
        };
        let after = match given(self.cursor) {
            None => None,
            Some(c) => match decode_cursor(c.trim()) {
                Some(key) => Some(key.to_string()),
                None => {
                    errors.push(FieldError::new("cursor", CURSOR_ERROR));
                    None
                }
            },
        };
        validated(errors)?;
        Ok(Request {
            filter: ExportFilter {
                from,
                to,
                lot_id,
                biz_step,
            },
            after,
            limit: limit.unwrap_or(DEFAULT_LIMIT),
        })
    }
}

/// The export's events in the order they were recorded: ObjectEvents
/// (receiving, inspecting, holding, storing, picking, shipping, carrier
/// steps, destroying, returns), AggregationEvents (packing into and out of
/// an SSCC) and TransactionEvents (units tied to an order). A page of
/// `limit` events is streamed; `depot:nextCursor` in the document and a
/// `Link: <…>; rel="next"` header name the next one. Answers
/// `application/ld+json` when the request accepts it, else
/// `application/json` (the same document). Staff; a merchant the events of
/// its own lots; carriers 403.
#[utoipa::path(
    tag = "trace",
    params(EpcisQuery),
    responses((status = 200, description = "an EPCIS 2.0 EPCISDocument", content(
        (serde_json::Value = "application/ld+json"),
        (serde_json::Value = "application/json")
    )))
)]
#[get("/epcis/events")]
pub async fn events(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    warehouse: web::Data<Warehouse>,
    query: Query<EpcisQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let request = query.into_inner().parse()?;
    let who = who.into_principal();
    let (plan, filter) = {
        let who = who.clone();
        let filter = request.filter.clone();
        let after = request.after.clone();
        let limit = request.limit;
        db::run(&pool, move |c| {
            export::check_filter(c, &who, &filter)?;
            let plan = export::plan_page(c, &who, &filter, after.as_deref(), limit)?;
            Ok((plan, filter))
        })
        .await?
    };
    let next = match (&plan.last, plan.more) {
        (Some(last), true) => Some(encode_cursor(last)),
        _ => None,
    };
    let base = warehouse.epcis_base.clone();
    let head = epcis::document_head(&base, time::now(), next.as_deref());
    let mut answer = HttpResponse::Ok();
    answer.content_type(content_type(&req));
    if let Some(next) = &next {
        answer.insert_header((header::LINK, next_link(&req, next)));
    }
    let body = streamed(
        pool.get_ref().clone(),
        who,
        filter,
        Key {
            after: request.after,
            remaining: request.limit,
        },
        plan.last,
        head,
        base,
    );
    Ok(answer.streaming(body))
}

/// JSON-LD when the client asks for it (EPCIS 2.0 §12: the REST binding's
/// media type), plain JSON otherwise: the bytes are the same.
fn content_type(req: &HttpRequest) -> &'static str {
    let accepts_ld = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/ld+json"));
    if accepts_ld {
        "application/ld+json"
    } else {
        "application/json"
    }
}

/// RFC 8288: the same request with the next page's cursor.
fn next_link(req: &HttpRequest, cursor: &str) -> String {
    let mut pairs: Vec<&str> = req
        .query_string()
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("cursor="))
        .collect();
    let cursor = format!("cursor={cursor}");
    pairs.push(&cursor);
    format!("<{}?{}>; rel=\"next\"", req.path(), pairs.join("&"))
}

/// Where a streaming page goes on: after the event `after`, with room for
/// `remaining` more (events written while it streams never make it longer
/// than its limit).
struct Key {
    after: Option<String>,
    remaining: i64,
}

/// The page's events up to `last`, read a chunk at a time, between the
/// document's `head` and its tail.
fn streamed(
    pool: DbPool,
    who: Principal,
    filter: ExportFilter,
    start: Key,
    last: Option<String>,
    head: String,
    base: epcis::IdBase,
) -> impl futures_util::Stream<Item = Result<Bytes, AppError>> {
    let fetch = move |key: Key| {
        let (pool, who, filter, last) = (pool.clone(), who.clone(), filter.clone(), last.clone());
        async move {
            let n = CHUNK.min(key.remaining);
            if n <= 0 {
                return Ok((Vec::new(), None));
            }
            let end = last.clone();
            let rows = db::run(&pool, move |c| {
                export::chunk(c, &who, &filter, key.after.as_deref(), end.as_deref(), n)
            })
            .await?;
            let done = (rows.len() as i64) < n || rows.last().map(|r| &r.id) == last.as_ref();
            let next = (!done).then(|| Key {
                after: rows.last().map(|r| r.id.clone()),
                remaining: key.remaining - rows.len() as i64,
            });
            Ok((rows, next))
        }
    };
    let render = move |rows: &[epcis::SourceEvent], first: bool| {
        stream::json_items(rows, first, |e| epcis::event(e, &base).to_string())
    };
    stream::paged(head, start, fetch, render, DOCUMENT_TAIL)
}
