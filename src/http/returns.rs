//! Returns: `POST /returns` (a parcel back by SSCC, or a consumer's units of
//! an order), `POST /returns/{id}/inspection`, `GET /returns/{id}`,
//! `GET /returns`.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::{Caller, StaffOnly, StaffOrMerchant};
use super::body::Json;
use super::inspections::EvidenceInput;
use super::query::ListQuery;
use super::{ItemList, PageQuery};
use crate::db::{self, DbPool};
use crate::domain::gs1::validate_sscc;
use crate::domain::returns::ReturnStatus;
use crate::domain::text::{parse_code, parse_text};
use crate::error::{check_field, validated, AppError, FieldError};
use crate::services::returns::{self, InspectReturn, ReceiveReturn, Return, ReturnFilter};

/// At most this many characters of a reason.
const MAX_REASON: usize = 500;
/// At most this many characters of notes.
const MAX_NOTES: usize = 2000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLineBody {
    pub sku_code: String,
    #[schema(minimum = 1)]
    pub qty: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveReturnBody {
    /// The parcel received back whole (after handover: a carrier's return
    /// to sender, a failed delivery, a refused one).
    pub sscc: Option<String>,
    /// A consumer return: the dispatched or delivered order, with `lines`.
    pub order_id: Option<String>,
    /// Why the units came back.
    pub reason: String,
    /// A consumer return's units per SKU (at most what was shipped and has
    /// not come back yet); not with `sscc` (a parcel comes back whole).
    pub lines: Option<Vec<ReturnLineBody>>,
}

impl ReceiveReturnBody {
    fn parse(self) -> Result<ReceiveReturn, AppError> {
        let mut errors = Vec::new();
        let reason = check_field(&mut errors, "reason", parse_text(&self.reason, MAX_REASON));
        let sscc = self
            .sscc
            .and_then(|s| check_field(&mut errors, "sscc", validate_sscc(&s).map(str::to_string)));
        let order_id = self.order_id.filter(|o| !o.trim().is_empty());
        let mut lines = Vec::new();
        match (&sscc, &order_id, self.lines) {
            (Some(_), Some(_), _) => errors.push(FieldError::new(
                "order_id",
                "give either an SSCC (a parcel back whole) or an order_id with lines, not both",
            )),
            (Some(_), None, Some(_)) => errors.push(FieldError::new(
                "lines",
                "a parcel comes back whole: leave lines out with an sscc",
            )),
            (None, Some(_), None) => errors.push(FieldError::new(
                "lines",
                "a consumer return names its units: lines [{sku_code, qty}]",
            )),
            (None, Some(_), Some(given)) => {
                if given.is_empty() {
                    errors.push(FieldError::new("lines", "must name at least one SKU"));
                }
                for (i, l) in given.into_iter().enumerate() {
                    if l.qty < 1 {
                        errors.push(FieldError::new(
                            format!("lines[{i}].qty"),
                            "must be at least 1",
                        ));
                    }
                    if let Some(code) = check_field(
                        &mut errors,
                        &format!("lines[{i}].sku_code"),
                        parse_code(&l.sku_code),
                    ) {
                        lines.push((code, l.qty));
                    }
                }
            }
            (None, None, _) => {
                if !errors.iter().any(|e| e.field == "sscc") {
                    errors.push(FieldError::new(
                        "sscc",
                        "give the SSCC of a parcel, or an order_id with lines",
                    ));
                }
            }
            (Some(_), None, None) => {}
        }
        validated(errors)?;
        Ok(ReceiveReturn {
            sscc,
            order_id,
            reason: reason.unwrap_or_default(),
            lines,
        })
    }
}

/// Receive a return onto the default returns location: a parcel by SSCC
/// (after handover; it comes back whole and becomes `returned`) or a
/// consumer's units of a dispatched or delivered order. Ledger `return`
/// movements and `receiving` events (disposition `returned`) record it; the
/// units are not sellable until a re-inspection restocks them. A parcel
/// returned already, or not handed over, or an order not shipped, is a 409;
/// more units than were shipped and not returned, a 422.
#[utoipa::path(
    tag = "returns",
    request_body = ReceiveReturnBody,
    responses((status = 201, description = "the return, status `received`", body = Return))
)]
#[post("/returns")]
pub async fn receive(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    body: Json<ReceiveReturnBody>,
) -> Result<HttpResponse, AppError> {
    let cmd = body.into_inner().parse()?;
    let who = who.into_principal();
    let received = db::run(&pool, move |c| returns::receive(c, &who, cmd)).await?;
    Ok(HttpResponse::Created().json(received))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectionLineBody {
    /// A line id of the return.
    pub line_id: String,
    /// Units that rejoin their lot as sellable (put away from receiving).
    #[schema(minimum = 0)]
    pub restock_qty: i64,
    /// Units destroyed. restock_qty + scrap_qty = the line's qty.
    #[schema(minimum = 0)]
    pub scrap_qty: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnFindingBody {
    /// A check code of the return inspection template (category `return`,
    /// else `default`).
    pub check_code: String,
    /// Units found with this defect, 0 up to the units returned.
    pub defects: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectReturnBody {
    /// A decision for every line of the return.
    pub lines: Vec<InspectionLineBody>,
    /// Defects per check; checks not listed found none.
    #[serde(default)]
    pub findings: Vec<ReturnFindingBody>,
    #[serde(default)]
    pub evidence: Vec<EvidenceInput>,
    pub notes: Option<String>,
}

impl InspectReturnBody {
    fn parse(self) -> Result<InspectReturn, AppError> {
        let mut errors = Vec::new();
        let notes = self
            .notes
            .filter(|n| !n.trim().is_empty())
            .and_then(|n| check_field(&mut errors, "notes", parse_text(&n, MAX_NOTES)));
        if self.lines.is_empty() {
            errors.push(FieldError::new(
                "lines",
                "must decide every line of the return",
            ));
        }
        validated(errors)?;
        Ok(InspectReturn {
            lines: self
                .lines
                .into_iter()
                .map(|l| (l.line_id.trim().to_string(), l.restock_qty, l.scrap_qty))
                .collect(),
            findings: self
                .findings
                .into_iter()
                .map(|f| (f.check_code.trim().to_string(), f.defects))
                .collect(),
            evidence: self
                .evidence
                .into_iter()
                .map(|e| (e.uri, e.sha256))
                .collect(),
            notes,
        })
    }
}

/// Re-inspect a received return with the return inspection template
/// (findings, evidence, notes) and decide per line: restocked units move to
/// receiving and rejoin their lot as accepted stock to put away; scrapped
/// units leave the ledger. A return is inspected once (409 after).
#[utoipa::path(
    tag = "returns",
    params(("id" = String, Path, description = "return id")),
    request_body = InspectReturnBody,
    responses((status = 200, description = "the return, status `inspected`", body = Return))
)]
#[post("/returns/{id}/inspection")]
pub async fn inspect(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
    body: Json<InspectReturnBody>,
) -> Result<HttpResponse, AppError> {
    let cmd = body.into_inner().parse()?;
    let who = who.into_principal();
    let inspected = db::run(&pool, move |c| returns::inspect(c, &who, &id, cmd)).await?;
    Ok(HttpResponse::Ok().json(inspected))
}

/// One return: its lines, and once inspected the findings, evidence and
/// per-line decision. Staff; a merchant its own.
#[utoipa::path(
    tag = "returns",
    params(("id" = String, Path, description = "return id")),
    responses((status = 200, body = Return))
)]
#[get("/returns/{id}")]
pub async fn get(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let found = db::run(&pool, move |c| returns::get(c, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(found))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReturnQuery {
    /// received or inspected.
    pub status: Option<String>,
    /// The returns of one order.
    pub order_id: Option<String>,
}

/// List returns, oldest first: all for staff, a merchant's own.
#[utoipa::path(
    tag = "returns",
    params(PageQuery, ReturnQuery),
    responses((status = 200, body = ItemList<Return>))
)]
#[get("/returns")]
pub async fn list(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    query: ListQuery<ReturnQuery>,
) -> Result<HttpResponse, AppError> {
    let page = query.page;
    let query = query.filter;
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            ReturnStatus::parse(s)
                .ok_or_else(|| AppError::field("status", "must be received or inspected"))?,
        ),
    };
    let filter = ReturnFilter {
        status,
        order_id: query.order_id.filter(|o| !o.is_empty()),
    };
    let who = who.into_principal();
    let found = db::run(&pool, move |c| returns::list(c, &who, filter, &page)).await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}
