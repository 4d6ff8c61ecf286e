//! Dispatch: `/api/v1/manifests` (list, one as JSON or CSV, close, the
//! missing list, handover, taking a parcel off) and carriers' parcel
//! statuses (`POST /parcels/{sscc}/status`).
//!
//! A manifest's JSON and CSV stream: the head, then the parcels a page at a
//! time, each page read in its own short query off the async threads, so a
//! 50,000-parcel manifest never sits whole in memory.

use actix_web::web::Bytes;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::{Caller, CarrierOnly, StaffOnly, StaffOrCarrier};
use super::body::Json;
use super::query::{ListQuery, Query};
use super::stream;
use super::{ItemList, PageQuery};
use crate::db::{self, DbPool};
use crate::domain::access::Principal;
use crate::domain::csv::write_record;
use crate::domain::dispatch::CarrierStatus;
use crate::domain::gs1::validate_sscc;
use crate::domain::page::Page;
use crate::domain::time;
use crate::error::{AppError, FieldError};
use crate::services::dispatch::{
    self, HandoverResult, ManifestFilter, ManifestParcel, ManifestSummary, ManifestView, MAX_SCANS,
    STREAM_PAGE,
};
use crate::services::packing::ParcelView;

const STATUSES: [&str; 3] = ["open", "closed", "handed_over"];
/// The longest reason for taking a parcel off a manifest.
const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ManifestQuery {
    /// open, closed or handed_over.
    pub status: Option<String>,
    /// RFC 3339: manifests created, closed or handed over at or after it.
    pub since: Option<String>,
}

/// Manifests, oldest first: a carrier sees its own, staff all. Each with
/// its parcel count, total weight and the parcels still waiting for pickup.
#[utoipa::path(tag = "dispatch", params(PageQuery, ManifestQuery), responses((status = 200, body = ItemList<ManifestSummary>)))]
#[get("/manifests")]
pub async fn list(
    who: Caller<StaffOrCarrier>,
    pool: web::Data<DbPool>,
    query: ListQuery<ManifestQuery>,
) -> Result<HttpResponse, AppError> {
    let mut errors = Vec::new();
    let status = query.filter.status.filter(|s| !s.is_empty());
    if let Some(s) = &status {
        if !STATUSES.contains(&s.as_str()) {
            errors.push(FieldError::new(
                "status",
                "must be open, closed or handed_over",
            ));
        }
    }
    let since = match query.filter.since.filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => match time::parse_instant(&raw) {
            Ok(t) => Some(t),
            Err(m) => {
                errors.push(FieldError::new("since", m));
                None
            }
        },
    };
    crate::error::validated(errors)?;
    let filter = ManifestFilter { status, since };
    let page = query.page;
    let who = who.into_principal();
    let found = db::run(&pool, move |c| dispatch::list(c, &who, &filter, &page)).await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}

/// A manifest's parcels streamed: `head`, each page through `render`, then
/// `tail`.
fn streamed<W>(
    pool: DbPool,
    manifest_id: String,
    head: String,
    tail: &'static str,
    render: W,
) -> impl futures_util::Stream<Item = Result<Bytes, AppError>>
where
    W: FnMut(&[ManifestParcel], bool) -> String + 'static,
{
    let fetch = move |after: Option<String>| {
        let (pool, id) = (pool.clone(), manifest_id.clone());
        async move {
            let rows = db::run(&pool, move |c| {
                dispatch::parcels_page(c, &id, after.as_deref(), STREAM_PAGE, false)
            })
            .await?;
            let next =
                ((rows.len() as i64) == STREAM_PAGE).then(|| rows.last().map(|p| p.id.clone()));
            Ok((rows, next))
        }
    };
    stream::paged(head, None, fetch, render, tail)
}

async fn head_of(pool: &DbPool, who: Principal, id: String) -> Result<ManifestSummary, AppError> {
    db::run(pool, move |c| dispatch::summary(c, &who, &id)).await
}

/// One manifest with every parcel on it: SSCC, tracking number, weight,
/// status, order reference and ship-to (what a carrier needs on the road;
/// never the contents). Streamed, so any size answers in bounded memory.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = String, Path, description = "manifest id")),
    responses((status = 200, body = ManifestView))
)]
#[get("/manifests/{id}")]
pub async fn get(
    who: Caller<StaffOrCarrier>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let summary = head_of(&pool, who.into_principal(), id.clone()).await?;
    let mut head =
        serde_json::to_string(&summary).map_err(|e| AppError::Internal(e.to_string()))?;
    // The summary's object, left open for its parcels.
    head.pop();
    head.push_str(",\"parcels\":[");
    let body = streamed(pool.get_ref().clone(), id, head, "]}", |rows, first| {
        stream::json_items(rows, first, |p| {
            serde_json::to_string(p).unwrap_or_default()
        })
    });
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .streaming(body))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CsvQuery {
    /// `1`: start with a UTF-8 byte order mark, so that Excel reads the
    /// Chinese text of addresses as UTF-8.
    pub bom: Option<String>,
}

/// The CSV header, in the column order of [`csv_row`].
const CSV_HEADER: [&str; 13] = [
    "manifest_id",
    "carrier_code",
    "sscc",
    "tracking_no",
    "weight_g",
    "status",
    "order_reference",
    "ship_name",
    "ship_phone",
    "ship_address",
    "ship_city",
    "ship_province",
    "ship_postcode",
];

fn csv_row(out: &mut String, summary: &(String, String), p: &ManifestParcel) {
    let weight = p.weight_g.to_string();
    write_record(
        out,
        &[
            summary.0.as_str(),
            summary.1.as_str(),
            p.sscc.as_str(),
            p.tracking_no.as_str(),
            weight.as_str(),
            p.status.as_str(),
            p.order_reference.as_str(),
            p.ship_to.name.as_str(),
            p.ship_to.phone.as_str(),
            p.ship_to.address.as_str(),
            p.ship_to.city.as_str(),
            p.ship_to.province.as_str(),
            p.ship_to.postcode.as_deref().unwrap_or(""),
        ],
    );
}

/// One manifest as CSV (RFC 4180: a header row, CRLF line ends, quoted
/// fields where needed; text that a spreadsheet would run as a formula is
/// prefixed with `'`), UTF-8, a row per parcel; `?bom=1` adds a byte order
/// mark for Excel. Streamed.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = String, Path, description = "manifest id"), CsvQuery),
    responses((status = 200, description = "the manifest as CSV", content_type = "text/csv", body = String))
)]
#[get("/manifests/{id}.csv")]
pub async fn get_csv(
    who: Caller<StaffOrCarrier>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    query: Query<CsvQuery>,
) -> Result<HttpResponse, AppError> {
    let bom = match query.into_inner().bom.as_deref() {
        None | Some("") | Some("0") => false,
        Some("1") => true,
        Some(_) => return Err(AppError::field("bom", "must be 1 or 0")),
    };
    let id = id.into_inner();
    let summary = head_of(&pool, who.into_principal(), id.clone()).await?;
    let mut head = String::new();
    if bom {
        head.push('\u{feff}');
    }
    write_record(&mut head, &CSV_HEADER);
    let key = (summary.id.clone(), summary.carrier_code.clone());
    let body = streamed(
        pool.get_ref().clone(),
        id.clone(),
        head,
        "",
        move |rows, _| {
            let mut out = String::with_capacity(rows.len() * 200);
            for p in rows {
                csv_row(&mut out, &key, p);
            }
            out
        },
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"manifest-{id}.csv\""),
        ))
        .streaming(body))
}

/// The parcels of a manifest still waiting for pickup: after a handover,
/// the missing ones a dispatcher chases at the end of the day.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = String, Path, description = "manifest id"), PageQuery),
    responses((status = 200, body = ItemList<ManifestParcel>))
)]
#[get("/manifests/{id}/missing")]
pub async fn missing(
    who: Caller<StaffOrCarrier>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    query: ListQuery<super::query::NoFilter>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let page = query.page;
    let found = db::run(&pool, move |c| {
        dispatch::summary(c, &who, &id)?;
        let rows = dispatch::parcels_page(c, &id, page.after.as_deref(), page.fetch(), true)?;
        Ok(Page::from_rows(rows, &page, |p| &p.id))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}

/// Close an open manifest: it takes no more parcels (the carrier's next
/// parcel opens a new one) and its carrier can pick it up. Empty, or not
/// open: 409.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = String, Path, description = "manifest id")),
    responses((status = 200, body = ManifestSummary))
)]
#[post("/manifests/{id}/close")]
pub async fn close(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let closed = db::run(&pool, move |c| dispatch::close(c, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(closed))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoverBody {
    /// The SSCCs scanned at pickup (18 digits; GS1-128 readings with
    /// `]C1`/`00` are understood). Absent: every parcel waiting.
    pub sscc: Option<Vec<String>>,
}

/// Confirm pickup of a closed manifest's parcels by scan, in one call or
/// many, or all at once (no `sscc`). The answer names what was handed over
/// now, what is still missing, and every scan that is not waiting on this
/// manifest. Handed-over units leave the ledger; an order with no parcel
/// left waiting is `dispatched`; the manifest is `handed_over` when
/// nothing on it waits.
#[utoipa::path(
    tag = "dispatch",
    params(("id" = String, Path, description = "manifest id")),
    request_body = HandoverBody,
    responses((status = 200, body = HandoverResult))
)]
#[post("/manifests/{id}/handover")]
pub async fn handover(
    who: Caller<StaffOrCarrier>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: Json<HandoverBody>,
) -> Result<HttpResponse, AppError> {
    let scanned = body.into_inner().sscc;
    if let Some(s) = &scanned {
        if s.is_empty() {
            return Err(AppError::field(
                "sscc",
                "must list at least one SSCC, or be left out to hand over every parcel",
            ));
        }
        if s.len() > MAX_SCANS {
            return Err(AppError::field(
                "sscc",
                format!("must list at most {MAX_SCANS} SSCCs per call"),
            ));
        }
    }
    let who = who.into_principal();
    let result = db::run(&pool, move |c| dispatch::handover(c, &who, &id, scanned)).await?;
    Ok(HttpResponse::Ok().json(result))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveBody {
    /// Why it comes off (a damaged box…), kept in the trace.
    pub reason: String,
}

/// Take a parcel waiting for pickup off its open or closed manifest (a
/// damaged box to re-pack): the parcel is `removed`, its units go back to
/// packing and the order is `picked` again, to be packed anew.
#[utoipa::path(
    tag = "dispatch",
    params(
        ("id" = String, Path, description = "manifest id"),
        ("sscc" = String, Path, description = "the parcel's SSCC")
    ),
    request_body = RemoveBody,
    responses((status = 200, body = ParcelView))
)]
#[post("/manifests/{id}/parcels/{sscc}/remove")]
pub async fn remove_parcel(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    path: web::Path<(String, String)>,
    body: Json<RemoveBody>,
) -> Result<HttpResponse, AppError> {
    let (id, sscc) = path.into_inner();
    let sscc = validate_sscc(&sscc)
        .map(str::to_string)
        .map_err(|reason| AppError::NotFound(format!("no parcel has SSCC {sscc:?}: {reason}")))?;
    let reason = body.into_inner().reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(AppError::field(
            "reason",
            format!("must say why, in 1 to {MAX_REASON_CHARS} characters"),
        ));
    }
    let who = who.into_principal();
    let parcel = db::run(&pool, move |c| {
        dispatch::remove_parcel(c, &who, &id, &sscc, &reason)
    })
    .await?;
    Ok(HttpResponse::Ok().json(parcel))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// in_transit, delivered, failed_delivery or returned_to_sender.
    pub status: String,
    /// RFC 3339; when it happened (default now): not in the future, not
    /// before the parcel's previous status.
    pub at: Option<String>,
}

/// A carrier's status for one of its parcels after handover. Nothing
/// follows `delivered` or `returned_to_sender` but a return.
#[utoipa::path(
    tag = "dispatch",
    params(("sscc" = String, Path, description = "the parcel's SSCC")),
    request_body = StatusBody,
    responses((status = 200, body = ParcelView))
)]
#[post("/parcels/{sscc}/status")]
pub async fn parcel_status(
    who: Caller<CarrierOnly>,
    pool: web::Data<DbPool>,
    sscc: web::Path<String>,
    body: Json<StatusBody>,
) -> Result<HttpResponse, AppError> {
    let raw = sscc.into_inner();
    let sscc = validate_sscc(&raw)
        .map(str::to_string)
        .map_err(|reason| AppError::NotFound(format!("no parcel has SSCC {raw:?}: {reason}")))?;
    let body = body.into_inner();
    let mut errors = Vec::new();
    let status = CarrierStatus::parse(body.status.trim());
    if status.is_none() {
        errors.push(FieldError::new(
            "status",
            "must be in_transit, delivered, failed_delivery or returned_to_sender",
        ));
    }
    let at = match body.at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => match time::parse_instant(raw) {
            Ok(t) => Some(t),
            Err(m) => {
                errors.push(FieldError::new("at", m));
                None
            }
        },
    };
    crate::error::validated(errors)?;
    let status = status.ok_or_else(|| AppError::Internal("status".into()))?;
    let who = who.into_principal();
    let parcel = db::run(&pool, move |c| {
        dispatch::record_status(c, &who, &sscc, status, at)
    })
    .await?;
    Ok(HttpResponse::Ok().json(parcel))
}
