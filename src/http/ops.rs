//! Operations: liveness, readiness, metrics, the OpenAPI document and the docs page.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::metrics::Metrics;
use super::ApiDocument;
use crate::db::{self, backend, DbPool};
use crate::error::AppError;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` while the process serves requests.
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` when the database answers.
    pub status: String,
    /// The database server and its version, e.g. `SQLite 3.50.2`.
    pub database: String,
}

/// Liveness: the process is up. Touches nothing else.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
    })
}

/// Readiness: the database answers a query. 503 when it does not.
#[utoipa::path(tag = "operations", responses((status = 200, body = Readiness)))]
#[get("/readyz")]
pub async fn readyz(pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let database = db::run(&pool, backend::server_version)
        .await
        .map_err(|e| AppError::Unavailable(format!("the database does not answer: {e}")))?;
    Ok(HttpResponse::Ok().json(Readiness {
        status: "ready".into(),
        database,
    }))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, content_type = "text/plain; version=0.0.4", body = String))
)]
#[get("/metrics")]
pub async fn metrics(metrics: web::Data<Metrics>, pool: web::Data<DbPool>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render(&pool))
}

/// This API's OpenAPI 3 document, generated from the handlers themselves.
#[utoipa::path(tag = "operations", responses((status = 200, content_type = "application/json", body = Object)))]
#[get("/openapi.json")]
pub async fn openapi(doc: web::Data<ApiDocument>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.json.clone())
}

/// Human documentation, rendered in the browser from the OpenAPI document by
/// a page that needs nothing from the network.
pub async fn docs() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(include_str!("docs.html"))
}
