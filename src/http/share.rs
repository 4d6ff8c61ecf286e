//! Share links of parcels (`POST /parcels/{sscc}/share`, revoke) and the
//! public page they open (`GET /p/{token}`, no token needed).

use actix_web::{delete, post, web, HttpRequest, HttpResponse};

use super::auth::{Caller, StaffOrMerchant};
use crate::db::{self, DbPool};
use crate::domain::gs1::validate_sscc;
use crate::domain::share::{escape, render};
use crate::error::AppError;
use crate::services::share::{self, ShareLink};

fn sscc_path(raw: &str) -> Result<String, AppError> {
    validate_sscc(raw)
        .map(str::to_string)
        .map_err(|reason| AppError::NotFound(format!("no parcel has SSCC {raw:?}: {reason}")))
}

/// Make a public, unguessable link to the parcel's trace page for its
/// consumer: the product, the lot, its origin (merchant, receipt date), the
/// inspection verdict with its plan and date, and the parcel's way — no
/// names, phones or addresses, nothing of any other parcel. The link is in
/// this answer only; revoke it with `DELETE …/share/{id}`.
#[utoipa::path(
    tag = "dispatch",
    params(("sscc" = String, Path, description = "the parcel's SSCC")),
    responses((status = 201, body = ShareLink))
)]
#[post("/parcels/{sscc}/share")]
pub async fn create(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    sscc: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let sscc = sscc_path(&sscc)?;
    let base = {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    };
    let who = who.into_principal();
    let link = db::run(&pool, move |c| share::create(c, &who, &sscc, &base)).await?;
    Ok(HttpResponse::Created().json(link))
}

/// Revoke a share link: its page answers 404 from now on.
#[utoipa::path(
    tag = "dispatch",
    params(
        ("sscc" = String, Path, description = "the parcel's SSCC"),
        ("id" = String, Path, description = "share link id")
    ),
    responses((status = 204, description = "revoked"))
)]
#[delete("/parcels/{sscc}/share/{id}")]
pub async fn revoke(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (sscc, id) = path.into_inner();
    let sscc = sscc_path(&sscc)?;
    let who = who.into_principal();
    db::run(&pool, move |c| share::revoke(c, &who, &sscc, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /p/{token}`: the public page of a share link (HTML, for a phone).
pub async fn page(pool: web::Data<DbPool>, token: web::Path<String>) -> HttpResponse {
    let token = token.into_inner();
    let well_formed = token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
    let found = if well_formed {
        db::run(&pool, move |c| share::page(c, &token)).await
    } else {
        Ok(None)
    };
    let html_response = |status: actix_web::http::StatusCode, body: String| {
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("Referrer-Policy", "no-referrer"))
            .insert_header(("X-Robots-Tag", "noindex"))
            .body(body)
    };
    match found {
        Ok(Some(page)) => html_response(actix_web::http::StatusCode::OK, render(&page)),
        Ok(None) => html_response(
            actix_web::http::StatusCode::NOT_FOUND,
            format!(
                "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
                 content=\"width=device-width, initial-scale=1\"><title>{t}</title></head>\
                 <body><h1>{t}</h1><p>This link is not valid, or was withdrawn.</p></body></html>",
                t = escape("Not found · 未找到")
            ),
        ),
        Err(e) => {
            log::error!("share page: {e}");
            html_response(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "<!doctype html><html><body><p>Please try again.</p></body></html>".into(),
            )
        }
    }
}
