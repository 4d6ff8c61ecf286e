//! Packing and parcels: `POST /orders/{id}/parcels`, `POST /batches/{id}/parcels`,
//! `GET /parcels/{sscc}` and the labels.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::{AnyRole, Caller, StaffOnly, StaffOrMerchant};
use super::body::Json;
use crate::config::Warehouse;
use crate::db::{self, DbPool};
use crate::domain::gs1::validate_sscc;
use crate::domain::labels::ParcelLabel;
use crate::domain::text::parse_code;
use crate::error::{check_field, validated, AppError, FieldError};
use crate::labels::LabelSettings;
use crate::services::packing::{self, BatchPacked, PackRequest, Packed, ParcelView};

/// The longest tracking number depot takes from a caller.
const MAX_TRACKING_CHARS: usize = 40;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackLineBody {
    pub sku_code: String,
    #[schema(minimum = 1)]
    pub qty: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackBody {
    /// The parcel's weight in grams, 1 to 70000.
    #[schema(minimum = 1, maximum = 70000)]
    pub weight_g: i64,
    /// The carrier's tracking number, when the packer has one (unique per
    /// carrier); else depot gives the carrier's code and ten digits.
    pub tracking_no: Option<String>,
    /// The units that go in this parcel; absent: all the order has left.
    pub lines: Option<Vec<PackLineBody>>,
}

impl PackBody {
    fn parse(self) -> Result<PackRequest, AppError> {
        let mut errors = Vec::new();
        check_weight(&mut errors, self.weight_g);
        let tracking_no = self.tracking_no.and_then(|t| {
            let parsed = parse_code(&t).and_then(|t| {
                if t.chars().count() > MAX_TRACKING_CHARS {
                    Err(format!("must be at most {MAX_TRACKING_CHARS} characters"))
                } else {
                    Ok(t)
                }
            });
            check_field(&mut errors, "tracking_no", parsed)
        });
        let lines = self.lines.map(|lines| {
            if lines.is_empty() {
                errors.push(FieldError::new(
                    "lines",
                    "must name at least one SKU, or be left out to pack all that is left",
                ));
            }
            lines
                .into_iter()
                .enumerate()
                .filter_map(|(i, l)| {
                    if l.qty < 1 {
                        errors.push(FieldError::new(
                            format!("lines[{i}].qty"),
                            "must be at least 1",
                        ));
                    }
                    let code = check_field(
                        &mut errors,
                        &format!("lines[{i}].sku_code"),
                        parse_code(&l.sku_code),
                    )?;
                    Some((code, l.qty))
                })
                .collect()
        });
        validated(errors)?;
        Ok(PackRequest {
            weight_g: self.weight_g,
            tracking_no,
            lines,
        })
    }
}

fn check_weight(errors: &mut Vec<FieldError>, weight_g: i64) {
    if !(packing::MIN_WEIGHT_G..=packing::MAX_WEIGHT_G).contains(&weight_g) {
        errors.push(FieldError::new(
            "weight_g",
            format!(
                "must be from {} g to {} g (70 kg)",
                packing::MIN_WEIGHT_G,
                packing::MAX_WEIGHT_G
            ),
        ));
    }
}

/// Pack a picked order, whole or the units `lines` names, into one parcel:
/// an SSCC, a tracking number, the carrier's open manifest. The units move
/// from the packing to the dispatch location; an AggregationEvent records
/// what went in; the order is `packed` when nothing of it is left at
/// packing. An order not picked (or already packed) is a 409; more than is
/// left of a SKU, or a weight outside 1 g – 70 kg, a 422.
#[utoipa::path(
    tag = "packing",
    params(("id" = String, Path, description = "order id")),
    request_body = PackBody,
    responses((status = 201, description = "the parcel", body = Packed))
)]
#[post("/orders/{id}/parcels")]
pub async fn pack_order(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    warehouse: web::Data<Warehouse>,
    id: web::Path<String>,
    body: Json<PackBody>,
) -> Result<HttpResponse, AppError> {
    let request = body.into_inner().parse()?;
    let who = who.into_principal();
    let packed = db::run(&pool, move |c| {
        packing::pack_order(c, &who, &warehouse, &id, request)
    })
    .await?;
    Ok(HttpResponse::Created().json(packed))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackBatchBody {
    /// Every parcel's weight in grams, 1 to 70000.
    #[schema(minimum = 1, maximum = 70000)]
    pub weight_g: i64,
}

/// Pack every order of a picked `hot_sku` or `identical` batch, one parcel
/// each with the same weight, in one transaction; then print
/// `labels.zpl` / `labels.pdf`. A cluster batch (orders that differ) or one
/// not yet picked is a 409.
#[utoipa::path(
    tag = "packing",
    params(("id" = String, Path, description = "batch id")),
    request_body = PackBatchBody,
    responses((status = 201, description = "a parcel per order", body = BatchPacked))
)]
#[post("/batches/{id}/parcels")]
pub async fn pack_batch(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    warehouse: web::Data<Warehouse>,
    id: web::Path<String>,
    body: Json<PackBatchBody>,
) -> Result<HttpResponse, AppError> {
    let weight_g = body.into_inner().weight_g;
    let mut errors = Vec::new();
    check_weight(&mut errors, weight_g);
    validated(errors)?;
    let who = who.into_principal();
    let packed = db::run(&pool, move |c| {
        packing::pack_batch(c, &who, &warehouse, &id, weight_g)
    })
    .await?;
    Ok(HttpResponse::Created().json(packed))
}

/// An SSCC from the path: 18 digits with a valid check digit, else a 404
/// that says what is wrong with it.
fn sscc_path(raw: &str) -> Result<String, AppError> {
    validate_sscc(raw)
        .map(str::to_string)
        .map_err(|reason| AppError::NotFound(format!("no parcel has SSCC {raw:?}: {reason}")))
}

/// One parcel: its SSCC, order reference, carrier, manifest and status
/// history. Staff see every parcel, a merchant its own, a carrier those it
/// carries (without the contents).
#[utoipa::path(
    tag = "packing",
    params(("sscc" = String, Path, description = "the parcel's 18-digit SSCC")),
    responses((status = 200, body = ParcelView))
)]
#[get("/parcels/{sscc}")]
pub async fn get(
    who: Caller<AnyRole>,
    pool: web::Data<DbPool>,
    sscc: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let sscc = sscc_path(&sscc)?;
    let who = who.into_principal();
    let parcel: ParcelView = db::run(&pool, move |c| packing::get(c, &who, &sscc)).await?;
    Ok(HttpResponse::Ok().json(parcel))
}

fn zpl(body: String, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/zpl; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("inline; filename=\"{name}\""),
        ))
        .body(body)
}

/// Renders labels to PDF off the async threads (shaping and subsetting a
/// CJK font is CPU work).
async fn pdf(
    labels: web::Data<LabelSettings>,
    stack: Vec<ParcelLabel>,
    name: String,
) -> Result<HttpResponse, AppError> {
    let bytes = web::block(move || labels.pdf(&stack))
        .await
        .map_err(|e| AppError::Internal(format!("label rendering stopped: {e}")))?
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            "Content-Disposition",
            format!("inline; filename=\"{name}\""),
        ))
        .body(bytes))
}

/// The parcel's 4 × 6 in label in ZPL II (203 dpi): the GS1-128 barcode of
/// AI (00) + SSCC (`>;>8`: Code 128 subset C with FNC1), its human-readable
/// line, ship-to (Chinese under `^CI28` in the printer font
/// `DEPOT_LABEL_ZPL_FONT`), carrier, tracking number, order reference.
#[utoipa::path(
    tag = "packing",
    params(("sscc" = String, Path, description = "the parcel's 18-digit SSCC")),
    responses((status = 200, description = "ZPL II", content_type = "application/zpl", body = String))
)]
#[get("/parcels/{sscc}/label.zpl")]
pub async fn label_zpl(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    labels: web::Data<LabelSettings>,
    sscc: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let sscc = sscc_path(&sscc)?;
    let who = who.into_principal();
    let name = format!("{sscc}.zpl");
    let label = db::run(&pool, move |c| packing::label(c, &who, &sscc)).await?;
    Ok(zpl(labels.zpl(&[label]), &name))
}

/// The same label as a PDF page of 4 × 6 in: a vector GS1-128 barcode and
/// the text in the configured CJK font, embedded as a subset.
#[utoipa::path(
    tag = "packing",
    params(("sscc" = String, Path, description = "the parcel's 18-digit SSCC")),
    responses((status = 200, description = "PDF", content_type = "application/pdf", body = Vec<u8>))
)]
#[get("/parcels/{sscc}/label.pdf")]
pub async fn label_pdf(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    labels: web::Data<LabelSettings>,
    sscc: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let sscc = sscc_path(&sscc)?;
    let who = who.into_principal();
    let name = format!("{sscc}.pdf");
    let label = db::run(&pool, move |c| packing::label(c, &who, &sscc)).await?;
    pdf(labels, vec![label], name).await
}

/// The labels of a packed batch in pick order, one after another, in ZPL II.
/// A batch with no parcels yet is a 409.
#[utoipa::path(
    tag = "packing",
    params(("id" = String, Path, description = "batch id")),
    responses((status = 200, description = "ZPL II", content_type = "application/zpl", body = String))
)]
#[get("/batches/{id}/labels.zpl")]
pub async fn batch_labels_zpl(
    _who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    labels: web::Data<LabelSettings>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = format!("{id}.zpl");
    let stack = db::run(&pool, move |c| packing::batch_labels(c, &id)).await?;
    Ok(zpl(labels.zpl(&stack), &name))
}

/// The labels of a packed batch in pick order, one PDF page each.
#[utoipa::path(
    tag = "packing",
    params(("id" = String, Path, description = "batch id")),
    responses((status = 200, description = "PDF", content_type = "application/pdf", body = Vec<u8>))
)]
#[get("/batches/{id}/labels.pdf")]
pub async fn batch_labels_pdf(
    _who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    labels: web::Data<LabelSettings>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = format!("{id}.pdf");
    let stack = db::run(&pool, move |c| packing::batch_labels(c, &id)).await?;
    pdf(labels, stack, name).await
}
