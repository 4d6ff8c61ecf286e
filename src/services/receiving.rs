//! Receiving: a merchant announces a receipt (ASN); on arrival staff confirm
//! the counts, and each received line becomes a lot in a receiving location,
//! with a `receive` movement in the ledger and a `receiving` trace event.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{receipt_lines, receipts, skus};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::gs1::Gtin;
use crate::domain::ids::new_id;
use crate::domain::inspection::LotStatus;
use crate::domain::receiving::{AnnouncedLine, MAX_LINE_QTY};
use crate::domain::time;
use crate::domain::trace::{biz_tx, lot_class, Action, BizStep, Disposition};
use crate::error::{validated, AppError, FieldError};
use crate::services::{catalog, ledger, merchants, trace};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReceiptLine {
    pub id: String,
    pub line_no: i32,
    pub sku_code: String,
    pub lot_code: String,
    pub expected_qty: i64,
    /// Null until the receipt has arrived.
    pub received_qty: Option<i64>,
    /// received − expected: negative for a short delivery, positive for an over delivery.
    pub variance: Option<i64>,
    #[schema(value_type = Option<String>, format = Date)]
    pub production_date: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub expiry_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Receipt {
    pub id: String,
    pub merchant_id: String,
    pub reference: String,
    /// announced or arrived.
    pub status: String,
    pub lines: Vec<ReceiptLine>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub arrived_at: Option<NaiveDateTime>,
    pub arrived_by: Option<String>,
}

pub struct Announcement {
    pub merchant_id: String,
    pub reference: String,
    pub lines: Vec<AnnouncedLine>,
}

/// Records an announced receipt. Unknown SKU codes of the merchant are a 422
/// naming the line; a reference the merchant used before is a 409.
pub fn announce(
    conn: &mut AnyConnection,
    who: &Principal,
    new: Announcement,
) -> Result<Receipt, AppError> {
    db::write(conn, |c| {
        merchants::require_active(c, who, &new.merchant_id)?;
        let codes: Vec<String> = new.lines.iter().map(|l| l.sku_code.clone()).collect();
        let known = catalog::skus_by_code(c, &new.merchant_id, &codes)?;
        let mut errors = Vec::new();
        for (i, line) in new.lines.iter().enumerate() {
            if !known.iter().any(|s| s.code == line.sku_code) {
                errors.push(FieldError::new(
                    format!("lines[{i}].sku_code"),
                    format!("this merchant has no SKU with code {}", line.sku_code),
                ));
            }
        }
        validated(errors)?;
        let taken: i64 = receipts::table
            .filter(receipts::merchant_id.eq(&new.merchant_id))
            .filter(receipts::reference.eq(&new.reference))
            .count()
            .get_result(c)?;
        if taken > 0 {
            return Err(AppError::Conflict(format!(
                "this merchant already announced a receipt with reference {}",
                new.reference
            )));
        }
        let id = new_id("rcp");
        diesel::insert_into(receipts::table)
            .values((
                receipts::id.eq(&id),
                receipts::merchant_id.eq(&new.merchant_id),
                receipts::reference.eq(&new.reference),
                receipts::status.eq("announced"),
                receipts::created_at.eq(time::now()),
                receipts::created_by.eq(&who.token_id),
            ))
            .execute(c)?;
        for (i, line) in new.lines.iter().enumerate() {
            let sku = known
                .iter()
                .find(|s| s.code == line.sku_code)
                .expect("checked above");
            diesel::insert_into(receipt_lines::table)
                .values((
                    receipt_lines::id.eq(new_id("rcl")),
                    receipt_lines::receipt_id.eq(&id),
                    receipt_lines::line_no.eq(i as i32 + 1),
                    receipt_lines::sku_id.eq(&sku.id),
                    receipt_lines::lot_code.eq(&line.lot_code),
                    receipt_lines::expected_qty.eq(line.expected_qty),
                    receipt_lines::production_date.eq(line.production_date),
                    receipt_lines::expiry_date.eq(line.expiry_date),
                ))
                .execute(c)?;
        }
        get(c, who, &id)
    })
}

type LineTuple = (
    String,
    i32,
    String,
    String,
    i64,
    Option<i64>,
    Option<NaiveDate>,
    Option<NaiveDate>,
);

type ReceiptTuple = (
    String,
    String,
    String,
    String,
    NaiveDateTime,
    Option<String>,
    Option<NaiveDateTime>,
    Option<String>,
);

pub fn get(conn: &mut AnyConnection, who: &Principal, id: &str) -> Result<Receipt, AppError> {
    let found: Option<ReceiptTuple> = receipts::table
        .find(id)
        .select((
            receipts::id,
            receipts::merchant_id,
            receipts::reference,
            receipts::status,
            receipts::created_at,
            receipts::created_by,
            receipts::arrived_at,
            receipts::arrived_by,
        ))
        .first(conn)
        .optional()?;
    let Some((id, merchant_id, reference, status, created_at, created_by, arrived_at, arrived_by)) =
        found.filter(|r| who.sees_merchant(&r.1))
    else {
        return Err(AppError::not_found("receipt", id));
    };
    let lines: Vec<LineTuple> = receipt_lines::table
        .inner_join(skus::table)
        .filter(receipt_lines::receipt_id.eq(&id))
        .order(receipt_lines::line_no.asc())
        .select((
            receipt_lines::id,
            receipt_lines::line_no,
            skus::code,
            receipt_lines::lot_code,
            receipt_lines::expected_qty,
            receipt_lines::received_qty,
            receipt_lines::production_date,
            receipt_lines::expiry_date,
        ))
        .load(conn)?;
    Ok(Receipt {
        id,
        merchant_id,
        reference,
        status,
        lines: lines
            .into_iter()
            .map(
                |(
                    id,
                    line_no,
                    sku_code,
                    lot_code,
                    expected_qty,
                    received_qty,
                    production_date,
                    expiry_date,
                )| ReceiptLine {
                    id,
                    line_no,
                    sku_code,
                    lot_code,
                    expected_qty,
                    received_qty,
                    variance: received_qty.map(|r| r - expected_qty),
                    production_date,
                    expiry_date,
                },
            )
            .collect(),
        created_at,
        created_by,
        arrived_at,
        arrived_by,
    })
}

/// A lot made at arrival.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArrivedLot {
    pub id: String,
    pub sku_code: String,
    pub lot_code: String,
    pub quantity: i64,
    pub status: LotStatus,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Arrival {
    pub receipt: Receipt,
    pub lots: Vec<ArrivedLot>,
}

/// Records the arrival of a receipt: every line's counted quantity, exactly
/// once (0 when nothing came). Each line with goods becomes a `received` lot
/// in the receiving location (`location_code`, or the first one in walk
/// order). A receipt arrives once; a second arrival is a 409.
pub fn arrive(
    conn: &mut AnyConnection,
    who: &Principal,
    receipt_id: &str,
    counts: Vec<(String, i64)>,
    location_code: Option<String>,
) -> Result<Arrival, AppError> {
    db::write(conn, |c| {
        let receipt = get(c, who, receipt_id)?;
        if receipt.status != "announced" {
            return Err(AppError::InvalidState(format!(
                "receipt {receipt_id} already arrived at {}",
                receipt
                    .arrived_at
                    .map(|t| time::rfc3339(&t))
                    .unwrap_or_default()
            )));
        }
        let mut errors = Vec::new();
        for (i, (line_id, qty)) in counts.iter().enumerate() {
            if !receipt.lines.iter().any(|l| &l.id == line_id) {
                errors.push(FieldError::new(
                    format!("lines[{i}].line_id"),
                    "is not a line of this receipt",
                ));
            } else if counts[..i].iter().any(|(other, _)| other == line_id) {
                errors.push(FieldError::new(
                    format!("lines[{i}].line_id"),
                    "appears twice",
                ));
            }
            if !(0..=MAX_LINE_QTY).contains(qty) {
                errors.push(FieldError::new(
                    format!("lines[{i}].received_qty"),
                    format!("must be a whole number from 0 to {MAX_LINE_QTY}"),
                ));
            }
        }
        for line in &receipt.lines {
            if !counts.iter().any(|(id, _)| id == &line.id) {
                errors.push(FieldError::new(
                    "lines",
                    format!(
                        "line {} ({}) has no count; send 0 if nothing arrived",
                        line.line_no, line.id
                    ),
                ));
            }
        }
        validated(errors)?;
        let location = match location_code {
            Some(code) => {
                let dock = catalog::location_by_code(c, &code, "receiving", "location_code")?;
                catalog::ensure_takes_stock(&dock, "location_code")?;
                dock
            }
            None => catalog::default_location(c, "receiving")?,
        };
        let now = time::now();
        let updated = diesel::update(
            receipts::table
                .find(receipt_id)
                .filter(receipts::status.eq("announced")),
        )
        .set((
            receipts::status.eq("arrived"),
            receipts::arrived_at.eq(now),
            receipts::arrived_by.eq(&who.token_id),
        ))
        .execute(c)?;
        if updated == 0 {
            return Err(AppError::InvalidState(format!(
                "receipt {receipt_id} already arrived"
            )));
        }
        let mut arrived = Vec::new();
        for line in &receipt.lines {
            let qty = counts
                .iter()
                .find(|(id, _)| id == &line.id)
                .map_or(0, |(_, q)| *q);
            diesel::update(receipt_lines::table.find(&line.id))
                .set(receipt_lines::received_qty.eq(qty))
                .execute(c)?;
            if qty == 0 {
                continue;
            }
            let (sku_id, gtin): (String, Option<String>) = receipt_lines::table
                .inner_join(skus::table)
                .filter(receipt_lines::id.eq(&line.id))
                .select((skus::id, skus::gtin))
                .first(c)?;
            let lot_id = new_id("lot");
            diesel::insert_into(crate::db::schema::lots::table)
                .values((
                    crate::db::schema::lots::id.eq(&lot_id),
                    crate::db::schema::lots::merchant_id.eq(&receipt.merchant_id),
                    crate::db::schema::lots::sku_id.eq(&sku_id),
                    crate::db::schema::lots::receipt_line_id.eq(&line.id),
                    crate::db::schema::lots::lot_code.eq(&line.lot_code),
                    crate::db::schema::lots::status.eq(LotStatus::Received.as_str()),
                    crate::db::schema::lots::received_qty.eq(qty),
                    crate::db::schema::lots::production_date.eq(line.production_date),
                    crate::db::schema::lots::expiry_date.eq(line.expiry_date),
                    crate::db::schema::lots::created_at.eq(now),
                    crate::db::schema::lots::created_by.eq(&who.token_id),
                    crate::db::schema::lots::updated_at.eq(now),
                ))
                .execute(c)?;
            ledger::post(
                c,
                &ledger::Movement {
                    kind: ledger::MovementKind::Receive,
                    lot_id: &lot_id,
                    reference: Some(("receipt", receipt_id)),
                    reason: None,
                    actor: Some(&who.token_id),
                },
                &[(&location.id, qty)],
            )?;
            let gtin14 = gtin
                .and_then(|g| Gtin::parse(&g).ok())
                .map(|g| g.to_gtin14());
            let what_class = lot_class(gtin14.as_deref(), &line.lot_code, &lot_id);
            trace::record(
                c,
                trace::LotEvent {
                    action: Action::Observe,
                    biz_step: BizStep::Receiving,
                    disposition: Disposition::InProgress,
                    lot_id: &lot_id,
                    what_class: &what_class,
                    quantity: Some(qty),
                    location_id: Some(&location.id),
                    biz_tx: Some((
                        biz_tx::DESPATCH_ADVICE,
                        trace::tx_uri("receipt", receipt_id),
                    )),
                    actor: Some(&who.token_id),
                },
            )?;
            arrived.push(ArrivedLot {
                id: lot_id,
                sku_code: line.sku_code.clone(),
                lot_code: line.lot_code.clone(),
                quantity: qty,
                status: LotStatus::Received,
            });
        }
        Ok(Arrival {
            receipt: get(c, who, receipt_id)?,
            lots: arrived,
        })
    })
}
