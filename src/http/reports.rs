//! `/api/v1/reports/…`: inspection reports as JSON pages or CSV files.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::{Caller, StaffOrMerchant};
use super::query::ListQuery;
use super::{ItemList, PageQuery};
use crate::db::{self, DbPool};
use crate::domain::access::Principal;
use crate::domain::text::parse_code;
use crate::domain::time::parse_instant;
use crate::error::{check_field, validated, AppError, FieldError};
use crate::services::reports::{self, InspectionLine, ReportFilter, SkuQuality};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Inspections finished at or after: RFC 3339 time or YYYY-MM-DD (UTC).
    pub from: Option<String>,
    /// Inspections finished before: RFC 3339 time or YYYY-MM-DD (UTC).
    pub to: Option<String>,
    /// Staff: one merchant's inspections. A merchant token sees only its own.
    pub merchant_id: Option<String>,
    pub sku_code: Option<String>,
    /// json (default; one page) or csv (the whole range).
    pub format: Option<String>,
}

enum Format {
    Json,
    Csv,
}

impl ReportQuery {
    fn parse(self, who: &Principal) -> Result<(ReportFilter, Format), AppError> {
        let mut errors = Vec::new();
        let mut instant = |field: &str, raw: Option<String>| {
            raw.filter(|r| !r.trim().is_empty())
                .and_then(|r| check_field(&mut errors, field, parse_instant(&r)))
        };
        let from = instant("from", self.from);
        let to = instant("to", self.to);
        if let (Some(from), Some(to)) = (from, to) {
            if from >= to {
                errors.push(FieldError::new("to", "must be after from"));
            }
        }
        let format = match self.format.as_deref().map(str::trim) {
            None | Some("") | Some("json") => Some(Format::Json),
            Some("csv") => Some(Format::Csv),
            Some(_) => {
                errors.push(FieldError::new("format", "must be json or csv"));
                None
            }
        };
        let sku_code = self
            .sku_code
            .filter(|c| !c.trim().is_empty())
            .and_then(|c| check_field(&mut errors, "sku_code", parse_code(&c)));
        validated(errors)?;
        let merchant_id = self.merchant_id.filter(|m| !m.trim().is_empty());
        if let (Some(own), Some(named)) = (&who.merchant_id, &merchant_id) {
            if own != named {
                return Err(AppError::not_found("merchant", named));
            }
        }
        let filter = ReportFilter {
            from,
            to,
            merchant_id,
            sku_code,
        };
        Ok((filter, format.unwrap_or(Format::Json)))
    }
}

fn csv(name: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body)
}

/// Finished inspections in a time range: verdict, defects per class, corrections.
#[utoipa::path(
    tag = "inspection",
    params(PageQuery, ReportQuery),
    responses((status = 200, description = "a page (json) or the whole range (csv)", content(
        (ItemList<InspectionLine> = "application/json"),
        (String = "text/csv")
    )))
)]
#[get("/reports/inspections")]
pub async fn inspections(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    query: ListQuery<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let page = query.page;
    let (filter, format) = query.filter.parse(&who)?;
    match format {
        Format::Csv => {
            let body = db::run(&pool, move |c| reports::inspections_csv(c, &who, &filter)).await?;
            Ok(csv("inspections.csv", body))
        }
        Format::Json => {
            let found = db::run(&pool, move |c| {
                reports::inspections_page(c, &who, &filter, &page)
            })
            .await?;
            Ok(HttpResponse::Ok().json(ItemList::from(found)))
        }
    }
}

/// Pass rate and defects per check by merchant × SKU, each lot's current verdict once.
#[utoipa::path(
    tag = "inspection",
    params(PageQuery, ReportQuery),
    responses((status = 200, description = "a page (json) or every SKU (csv, a row per check)", content(
        (ItemList<SkuQuality> = "application/json"),
        (String = "text/csv")
    )))
)]
#[get("/reports/inspection-quality")]
pub async fn quality(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    query: ListQuery<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let page = query.page;
    let (filter, format) = query.filter.parse(&who)?;
    match format {
        Format::Csv => {
            let items = db::run(&pool, move |c| reports::quality_all(c, &who, &filter)).await?;
            Ok(csv("inspection-quality.csv", reports::quality_csv(&items)))
        }
        Format::Json => {
            let found = db::run(&pool, move |c| reports::quality(c, &who, &filter, &page)).await?;
            Ok(HttpResponse::Ok().json(ItemList::from(found)))
        }
    }
}
