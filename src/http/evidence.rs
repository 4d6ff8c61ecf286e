//! `/api/v1/evidence`: photos and reports that inspections refer to.
//!
//! An upload is the file itself as the body (not JSON, not multipart), with
//! its own `Content-Type`. It is refused before it is stored when the type is
//! not accepted or the bytes are not of that type (415), when it is empty
//! (422), or when it exceeds [`MAX_EVIDENCE_BYTES`] (413, found while
//! reading: a larger body is never held whole).

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use super::auth::{Caller, StaffOnly, StaffOrMerchant};
use super::DataDir;
use crate::db::{self, DbPool};
use crate::domain::evidence::{
    check_content, declared_type, sha256_hex, EvidenceError, MAX_EVIDENCE_BYTES,
};
use crate::error::{AppError, Problem};
use crate::services::evidence::{self, EvidenceFile, NewEvidence};

/// Evidence is named by its content, so a URI never changes meaning and a
/// client may keep what it fetched for good (RFC 8246 `immutable`). `private`:
/// a merchant's evidence must not sit in a shared cache.
const CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

impl From<EvidenceError> for AppError {
    fn from(error: EvidenceError) -> Self {
        match error {
            EvidenceError::Empty => AppError::field("body", error.to_string()),
            EvidenceError::UnsupportedType { .. } | EvidenceError::ContentMismatch { .. } => {
                AppError::UnsupportedMediaType(error.to_string())
            }
        }
    }
}

fn too_large() -> AppError {
    AppError::PayloadTooLarge(format!(
        "an evidence file may be at most {MAX_EVIDENCE_BYTES} bytes (10 MiB)"
    ))
}

/// Reads the body, refusing it as soon as it passes `limit` bytes: from its
/// `Content-Length` when it declares one, else while it streams in.
async fn read_capped(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, AppError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0) as usize);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            AppError::BadRequest(format!("the request body could not be read: {e}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Upload an evidence file (JPEG, PNG, WebP or PDF, at most 10 MiB) as the raw
/// body with its `Content-Type`; the type must match the file's bytes. Files
/// are named by their SHA-256: uploading the same bytes again answers 200
/// with the same body.
#[utoipa::path(
    tag = "inspection",
    request_body(
        description = "The file's bytes, at most 10 MiB",
        content(("image/jpeg"), ("image/png"), ("image/webp"), ("application/pdf"))
    ),
    responses(
        (status = 201, description = "Stored", body = EvidenceFile),
        (status = 200, description = "These bytes were already stored", body = EvidenceFile),
        (status = 413, description = "Larger than 10 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JPEG, PNG, WebP or PDF, or the bytes are not of the declared type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is empty", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/evidence")]
pub async fn upload_evidence(
    who: Caller<StaffOnly>,
    req: HttpRequest,
    payload: web::Payload,
    pool: web::Data<DbPool>,
    data_dir: web::Data<DataDir>,
) -> Result<HttpResponse, AppError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("(not ASCII)"));
    let kind = declared_type(content_type)?;
    let bytes = read_capped(&req, payload, MAX_EVIDENCE_BYTES).await?;
    check_content(kind, &bytes)?;
    let new = NewEvidence {
        sha256: sha256_hex(&bytes),
        kind,
        size_bytes: bytes.len() as i64,
    };
    let dir = data_dir.0.clone();
    let sha256 = new.sha256.clone();
    web::block(move || evidence::store_file(&dir, &sha256, &bytes)).await??;
    let who = who.into_principal();
    let recorded = db::run(&pool, move |c| evidence::record(c, &who, new)).await?;
    Ok(if recorded.created {
        HttpResponse::Created()
            .insert_header((header::LOCATION, recorded.file.uri.clone()))
            .json(recorded.file)
    } else {
        HttpResponse::Ok().json(recorded.file)
    })
}

/// Whether an `If-None-Match` header (RFC 9110 §13.1.2) matches `etag`:
/// `*`, or a list holding it (weak comparison).
fn none_match(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// An evidence file's bytes, with the type it was stored with. Staff see any
/// file; a merchant only files that an inspection of one of its own lots
/// refers to (any other answers 404, as a missing one does).
#[utoipa::path(
    tag = "inspection",
    params(("sha256" = String, Path, pattern = "^[0-9a-f]{64}$", description = "The file's SHA-256, 64 lowercase hex digits")),
    responses(
        (status = 200, description = "The file, with `ETag: \"<sha256>\"` and an immutable `Cache-Control`",
         content(("image/jpeg"), ("image/png"), ("image/webp"), ("application/pdf"))),
        (status = 304, description = "`If-None-Match` names this file: the copy the client has is current"),
    )
)]
#[get("/evidence/{sha256}")]
pub async fn get_evidence(
    who: Caller<StaffOrMerchant>,
    req: HttpRequest,
    pool: web::Data<DbPool>,
    data_dir: web::Data<DataDir>,
    sha256: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let sha256 = sha256.into_inner();
    let file = {
        let sha256 = sha256.clone();
        db::run(&pool, move |c| evidence::get(c, &who, &sha256)).await?
    };
    let etag = format!("\"{}\"", file.sha256);
    let cached = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| none_match(v, &etag));
    if cached {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
            .finish());
    }
    let dir = data_dir.0.clone();
    let bytes = web::block(move || evidence::read_file(&dir, &sha256)).await??;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, file.content_type))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        // The type was checked against the bytes at upload; browsers must not guess another.
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_takes_lists_weak_tags_and_any() {
        let etag = "\"abc\"";
        assert!(none_match("\"abc\"", etag));
        assert!(none_match("\"x\", W/\"abc\"", etag));
        assert!(none_match("*", etag));
        assert!(!none_match("\"abcd\"", etag));
        assert!(!none_match("abc", etag));
    }
}
