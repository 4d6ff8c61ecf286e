//! Receiving: a merchant announces a receipt (ASN); on arrival staff confirm
//! the counts of each delivery (a receipt may come in several), and each
//! line's units go to the merchant's one lot of that SKU and lot code, in a
//! receiving location, with a `receive` movement in the ledger and a
//! `receiving` trace event.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{
    locations, lots, receipt_arrival_lines, receipt_arrivals, receipt_lines, receipts, skus,
};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::gs1::Gtin;
use crate::domain::ids::new_id;
use crate::domain::inspection::LotStatus;
use crate::domain::page::{Page, PageRequest};
use crate::domain::receiving::{self as rules, AddedUnits, AnnouncedLine, ReceiptProgress};
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
    /// Units counted in so far, over every delivery (0 before the first).
    pub received_qty: i64,
    /// received − expected: negative for a short delivery, positive for an over delivery.
    pub variance: i64,
    /// Units still missing (0 once the expected quantity came).
    pub short_qty: i64,
    /// Units that came beyond the expected quantity.
    pub over_qty: i64,
    /// The expected quantity came, or staff closed the receipt.
    pub complete: bool,
    /// The lot the line's units went to, once any came.
    pub lot_id: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub production_date: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub expiry_date: Option<NaiveDate>,
}

/// What one delivery brought for one line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArrivalLineRecord {
    pub line_id: String,
    pub received_qty: i64,
    /// The lot the units went to; null for a count of 0.
    pub lot_id: Option<String>,
}

/// One delivery (truck) of a receipt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReceiptArrival {
    pub id: String,
    /// 1 for the first delivery, 2 for the second, …
    pub seq: i32,
    /// The receiving location the units were put in (null for arrivals
    /// recorded before deliveries were kept one by one).
    pub location_code: Option<String>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub arrived_at: NaiveDateTime,
    pub arrived_by: Option<String>,
    pub lines: Vec<ArrivalLineRecord>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Receipt {
    pub id: String,
    pub merchant_id: String,
    pub reference: String,
    /// announced, partially_received, received or closed.
    pub status: ReceiptProgress,
    pub lines: Vec<ReceiptLine>,
    /// Every delivery, first first.
    pub arrivals: Vec<ReceiptArrival>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
    /// The first delivery's time and recorder.
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub arrived_at: Option<NaiveDateTime>,
    pub arrived_by: Option<String>,
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<NaiveDateTime>,
    pub closed_by: Option<String>,
}

pub struct Announcement {
    pub merchant_id: String,
    pub reference: String,
    pub lines: Vec<AnnouncedLine>,
}

/// Records an announced receipt. Unknown SKU codes of the merchant are a 422
/// naming the line; so are dates that disagree with an existing lot of the
/// same SKU and lot code, and a lot code whose lot was returned or scrapped.
/// A reference the merchant used before is a 409.
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
            let Some(sku) = known.iter().find(|s| s.code == line.sku_code) else {
                errors.push(FieldError::new(
                    format!("lines[{i}].sku_code"),
                    format!("this merchant has no SKU with code {}", line.sku_code),
                ));
                continue;
            };
            if let Some(lot) = existing_lot(c, &new.merchant_id, &sku.id, &line.lot_code)? {
                errors.extend(lot_disagreements(i, line, &lot));
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
                receipts::progress.eq(ReceiptProgress::Announced.as_str()),
                receipts::created_at.eq(time::now()),
                receipts::created_by.eq(&who.token_id),
            ))
            .execute(c)?;
        for (i, line) in new.lines.iter().enumerate() {
            let Some(sku) = known.iter().find(|s| s.code == line.sku_code) else {
                return Err(AppError::Internal(format!(
                    "SKU {} vanished while announcing",
                    line.sku_code
                )));
            };
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

/// The lot a merchant already has for a SKU and lot code.
struct ExistingLot {
    id: String,
    status: LotStatus,
    production_date: Option<NaiveDate>,
    expiry_date: Option<NaiveDate>,
}

fn existing_lot(
    c: &mut AnyConnection,
    merchant_id: &str,
    sku_id: &str,
    lot_code: &str,
) -> Result<Option<ExistingLot>, AppError> {
    let found: Option<(String, String, Option<NaiveDate>, Option<NaiveDate>)> = lots::table
        .filter(lots::merchant_id.eq(merchant_id))
        .filter(lots::sku_id.eq(sku_id))
        .filter(lots::lot_code.eq(lot_code))
        .select((
            lots::id,
            lots::status,
            lots::production_date,
            lots::expiry_date,
        ))
        .first(c)
        .optional()?;
    found
        .map(|(id, status, production_date, expiry_date)| {
            let status = LotStatus::parse(&status)
                .ok_or_else(|| AppError::Internal(format!("lot {id} has status {status}")))?;
            Ok(ExistingLot {
                id,
                status,
                production_date,
                expiry_date,
            })
        })
        .transpose()
}

/// Line `i`'s disagreements with the lot its SKU and lot code name.
fn lot_disagreements(i: usize, line: &AnnouncedLine, lot: &ExistingLot) -> Vec<FieldError> {
    let mut errors: Vec<FieldError> = rules::date_conflicts(
        (line.production_date, line.expiry_date),
        (lot.production_date, lot.expiry_date),
    )
    .into_iter()
    .map(|(field, message)| FieldError::new(format!("lines[{i}].{field}"), message))
    .collect();
    if let Err(message) = rules::added_units(lot.status) {
        errors.push(FieldError::new(format!("lines[{i}].lot_code"), message));
    }
    errors
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
    Option<NaiveDateTime>,
    Option<String>,
);

fn receipt_columns() -> (
    receipts::id,
    receipts::merchant_id,
    receipts::reference,
    receipts::progress,
    receipts::created_at,
    receipts::created_by,
    receipts::arrived_at,
    receipts::arrived_by,
    receipts::closed_at,
    receipts::closed_by,
) {
    (
        receipts::id,
        receipts::merchant_id,
        receipts::reference,
        receipts::progress,
        receipts::created_at,
        receipts::created_by,
        receipts::arrived_at,
        receipts::arrived_by,
        receipts::closed_at,
        receipts::closed_by,
    )
}

pub fn get(conn: &mut AnyConnection, who: &Principal, id: &str) -> Result<Receipt, AppError> {
    let found: Option<ReceiptTuple> = receipts::table
        .find(id)
        .select(receipt_columns())
        .first(conn)
        .optional()?;
    match found.filter(|r| who.sees_merchant(&r.1)) {
        Some(row) => to_receipt(conn, row),
        None => Err(AppError::not_found("receipt", id)),
    }
}

fn to_receipt(conn: &mut AnyConnection, row: ReceiptTuple) -> Result<Receipt, AppError> {
    let (
        id,
        merchant_id,
        reference,
        progress,
        created_at,
        created_by,
        arrived_at,
        arrived_by,
        closed_at,
        closed_by,
    ) = row;
    let status = ReceiptProgress::parse(&progress)
        .ok_or_else(|| AppError::Internal(format!("receipt {id} has progress {progress}")))?;
    let closed = status == ReceiptProgress::Closed;
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
    let arrivals = arrivals_of(conn, &id)?;
    let mut out = Vec::with_capacity(lines.len());
    for (
        line_id,
        line_no,
        sku_code,
        lot_code,
        expected_qty,
        received_qty,
        production_date,
        expiry_date,
    ) in lines
    {
        let received_qty = received_qty.unwrap_or(0);
        let standing = rules::line_standing(expected_qty, received_qty, closed);
        let lot_id = arrivals
            .iter()
            .flat_map(|a| a.lines.iter())
            .find(|l| l.line_id == line_id && l.lot_id.is_some())
            .and_then(|l| l.lot_id.clone());
        out.push(ReceiptLine {
            id: line_id,
            line_no,
            sku_code,
            lot_code,
            expected_qty,
            received_qty,
            variance: received_qty - expected_qty,
            short_qty: standing.short_qty,
            over_qty: standing.over_qty,
            complete: standing.complete,
            lot_id,
            production_date,
            expiry_date,
        });
    }
    Ok(Receipt {
        id,
        merchant_id,
        reference,
        status,
        lines: out,
        arrivals,
        created_at,
        created_by,
        arrived_at,
        arrived_by,
        closed_at,
        closed_by,
    })
}

fn arrivals_of(
    conn: &mut AnyConnection,
    receipt_id: &str,
) -> Result<Vec<ReceiptArrival>, AppError> {
    type ArrivalTuple = (String, i32, Option<String>, NaiveDateTime, Option<String>);
    let rows: Vec<ArrivalTuple> = receipt_arrivals::table
        .left_join(locations::table)
        .filter(receipt_arrivals::receipt_id.eq(receipt_id))
        .order(receipt_arrivals::seq.asc())
        .select((
            receipt_arrivals::id,
            receipt_arrivals::seq,
            locations::code.nullable(),
            receipt_arrivals::arrived_at,
            receipt_arrivals::arrived_by,
        ))
        .load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let lines: Vec<(String, String, i64, Option<String>, i32)> = receipt_arrival_lines::table
        .inner_join(receipt_lines::table)
        .filter(receipt_arrival_lines::arrival_id.eq_any(&ids))
        .order(receipt_lines::line_no.asc())
        .select((
            receipt_arrival_lines::arrival_id,
            receipt_arrival_lines::receipt_line_id,
            receipt_arrival_lines::received_qty,
            receipt_arrival_lines::lot_id,
            receipt_lines::line_no,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, seq, location_code, arrived_at, arrived_by)| ReceiptArrival {
                lines: lines
                    .iter()
                    .filter(|l| l.0 == id)
                    .map(|l| ArrivalLineRecord {
                        line_id: l.1.clone(),
                        received_qty: l.2,
                        lot_id: l.3.clone(),
                    })
                    .collect(),
                id,
                seq,
                location_code,
                arrived_at,
                arrived_by,
            },
        )
        .collect())
}

pub struct ReceiptFilter {
    pub status: Option<ReceiptProgress>,
    pub merchant_id: Option<String>,
    /// The merchant's reference, matched exactly.
    pub reference: Option<String>,
}

/// Receipts, oldest first: all for staff, a merchant's own for a merchant
/// (another merchant's id in the filter finds nothing).
pub fn list(
    conn: &mut AnyConnection,
    who: &Principal,
    filter: ReceiptFilter,
    page: &PageRequest,
) -> Result<Page<Receipt>, AppError> {
    let mut query = receipts::table
        .select(receipt_columns())
        .order(receipts::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(receipts::id.gt(after));
    }
    if let Some(own) = &who.merchant_id {
        query = query.filter(receipts::merchant_id.eq(own));
    }
    if let Some(status) = filter.status {
        query = query.filter(receipts::progress.eq(status.as_str()));
    }
    if let Some(merchant_id) = filter.merchant_id {
        query = query.filter(receipts::merchant_id.eq(merchant_id));
    }
    if let Some(reference) = filter.reference {
        query = query.filter(receipts::reference.eq(reference));
    }
    let rows: Vec<ReceiptTuple> = query.load(conn)?;
    let receipts = rows
        .into_iter()
        .map(|row| to_receipt(conn, row))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(receipts, page, |r| &r.id))
}

/// A lot a delivery brought units of.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArrivedLot {
    pub id: String,
    pub sku_code: String,
    pub lot_code: String,
    /// The units this delivery brought to the lot.
    pub quantity: i64,
    /// The lot's state after the delivery: `received` for a new lot or one
    /// not inspected yet; an accepted lot stays accepted (the added units
    /// wait for their own inspection), a quarantined one stays quarantined.
    pub status: LotStatus,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Arrival {
    /// This delivery's id in `receipt.arrivals`.
    pub arrival_id: String,
    pub receipt: Receipt,
    pub lots: Vec<ArrivedLot>,
}

/// Records one delivery of a receipt that is not closed: the units counted
/// per line named (lines not named brought nothing this time). The units of
/// a line go to the merchant's lot of that SKU and lot code — a new
/// `received` lot, or the existing one as [`rules::added_units`] says — in
/// the receiving location (`location_code`, or the first one in walk order),
/// with a `receive` movement and a `receiving` trace event each.
pub fn arrive(
    conn: &mut AnyConnection,
    who: &Principal,
    receipt_id: &str,
    counts: Vec<(String, i64)>,
    location_code: Option<String>,
) -> Result<Arrival, AppError> {
    db::write(conn, |c| {
        let seen = get(c, who, receipt_id)?;
        if seen.status == ReceiptProgress::Closed {
            return Err(closed_error(&seen));
        }
        // The receipt's row is locked first (PostgreSQL waits here for a
        // concurrent delivery or close to commit), then read again, so that
        // the sums below start from what the other one wrote.
        let locked = diesel::update(
            receipts::table
                .find(receipt_id)
                .filter(receipts::progress.ne(ReceiptProgress::Closed.as_str())),
        )
        .set(receipts::status.eq("arrived"))
        .execute(c)?;
        let receipt = get(c, who, receipt_id)?;
        if locked == 0 {
            return Err(closed_error(&receipt));
        }
        let line_ids: Vec<&str> = receipt.lines.iter().map(|l| l.id.as_str()).collect();
        validated(rules::check_arrival(&line_ids, &counts))?;
        let location = match location_code {
            Some(code) => {
                let dock = catalog::location_by_code(c, &code, "receiving", "location_code")?;
                catalog::ensure_takes_stock(&dock, "location_code")?;
                dock
            }
            None => catalog::default_location(c, "receiving")?,
        };
        let now = time::now();
        if receipt.arrived_at.is_none() {
            diesel::update(receipts::table.find(receipt_id))
                .set((
                    receipts::arrived_at.eq(now),
                    receipts::arrived_by.eq(&who.token_id),
                ))
                .execute(c)?;
        }
        let arrival_id = new_id("arr");
        diesel::insert_into(receipt_arrivals::table)
            .values((
                receipt_arrivals::id.eq(&arrival_id),
                receipt_arrivals::receipt_id.eq(receipt_id),
                receipt_arrivals::seq.eq(receipt.arrivals.len() as i32 + 1),
                receipt_arrivals::location_id.eq(&location.id),
                receipt_arrivals::arrived_at.eq(now),
                receipt_arrivals::arrived_by.eq(&who.token_id),
            ))
            .execute(c)?;
        let mut arrived = Vec::new();
        let mut errors = Vec::new();
        for (i, (line_id, qty)) in counts.iter().enumerate() {
            let Some(line) = receipt.lines.iter().find(|l| &l.id == line_id) else {
                continue;
            };
            let lot = if *qty > 0 {
                match receive_line(c, who, &receipt, line, *qty, &location.id, i)? {
                    Ok(lot) => {
                        let id = lot.id.clone();
                        arrived.push(lot);
                        Some(id)
                    }
                    Err(mut fields) => {
                        errors.append(&mut fields);
                        None
                    }
                }
            } else {
                None
            };
            diesel::update(receipt_lines::table.find(&line.id))
                .set(receipt_lines::received_qty.eq(line.received_qty + qty))
                .execute(c)?;
            diesel::insert_into(receipt_arrival_lines::table)
                .values((
                    receipt_arrival_lines::arrival_id.eq(&arrival_id),
                    receipt_arrival_lines::receipt_line_id.eq(&line.id),
                    receipt_arrival_lines::received_qty.eq(qty),
                    receipt_arrival_lines::lot_id.eq(lot),
                ))
                .execute(c)?;
        }
        // The transaction rolls back on a refusal: nothing of the delivery stays.
        validated(errors)?;
        let totals: Vec<(i64, i64)> = receipt
            .lines
            .iter()
            .map(|l| {
                let added = counts
                    .iter()
                    .find(|(id, _)| id == &l.id)
                    .map_or(0, |(_, q)| *q);
                (l.expected_qty, l.received_qty + added)
            })
            .collect();
        diesel::update(receipts::table.find(receipt_id))
            .set(receipts::progress.eq(ReceiptProgress::of_lines(&totals).as_str()))
            .execute(c)?;
        Ok(Arrival {
            arrival_id,
            receipt: get(c, who, receipt_id)?,
            lots: arrived,
        })
    })
}

fn closed_error(receipt: &Receipt) -> AppError {
    AppError::InvalidState(format!(
        "receipt {} was closed at {}; it takes no more arrivals (announce a new receipt for more goods)",
        receipt.id,
        receipt
            .closed_at
            .map(|t| time::rfc3339(&t))
            .unwrap_or_default()
    ))
}

/// Puts `qty` units of one line into its lot (made here when the merchant
/// has none of that SKU and lot code) and writes the ledger and trace rows.
/// Dates that disagree with an existing lot are field errors of line `i`.
fn receive_line(
    c: &mut AnyConnection,
    who: &Principal,
    receipt: &Receipt,
    line: &ReceiptLine,
    qty: i64,
    location_id: &str,
    i: usize,
) -> Result<Result<ArrivedLot, Vec<FieldError>>, AppError> {
    let (sku_id, gtin): (String, Option<String>) = receipt_lines::table
        .inner_join(skus::table)
        .filter(receipt_lines::id.eq(&line.id))
        .select((skus::id, skus::gtin))
        .first(c)?;
    let now = time::now();
    let existing = existing_lot(c, &receipt.merchant_id, &sku_id, &line.lot_code)?;
    let (lot_id, fate, status) = match existing {
        None => {
            let lot_id = new_id("lot");
            diesel::insert_into(lots::table)
                .values((
                    lots::id.eq(&lot_id),
                    lots::merchant_id.eq(&receipt.merchant_id),
                    lots::sku_id.eq(&sku_id),
                    lots::receipt_line_id.eq(&line.id),
                    lots::lot_code.eq(&line.lot_code),
                    lots::status.eq(LotStatus::Received.as_str()),
                    lots::received_qty.eq(qty),
                    lots::production_date.eq(line.production_date),
                    lots::expiry_date.eq(line.expiry_date),
                    lots::created_at.eq(now),
                    lots::created_by.eq(&who.token_id),
                    lots::updated_at.eq(now),
                ))
                .execute(c)?;
            (lot_id, AddedUnits::JoinLot, LotStatus::Received)
        }
        Some(lot) => {
            let errors: Vec<FieldError> = rules::date_conflicts(
                (line.production_date, line.expiry_date),
                (lot.production_date, lot.expiry_date),
            )
            .into_iter()
            .map(|(field, message)| {
                FieldError::new(
                    format!("lines[{i}].{field}"),
                    format!("the receipt line's {message}"),
                )
            })
            .collect();
            if !errors.is_empty() {
                return Ok(Err(errors));
            }
            let fate = rules::added_units(lot.status).map_err(|m| {
                AppError::InvalidState(format!("line {} ({}): {m}", line.line_no, line.id))
            })?;
            let uninspected = if fate == AddedUnits::AwaitOwnInspection {
                qty
            } else {
                0
            };
            // Guarded on the status read: an inspection starting or ending
            // meanwhile changes what the added units must do.
            let updated = diesel::update(
                lots::table
                    .find(&lot.id)
                    .filter(lots::status.eq(lot.status.as_str())),
            )
            .set((
                lots::received_qty.eq(lots::received_qty + qty),
                lots::uninspected_qty.eq(lots::uninspected_qty + uninspected),
                lots::updated_at.eq(now),
            ))
            .execute(c)?;
            if updated == 0 {
                return Err(AppError::InvalidState(format!(
                    "lot {} changed while this delivery was recorded; record it again",
                    lot.id
                )));
            }
            (lot.id, fate, lot.status)
        }
    };
    ledger::post(
        c,
        &ledger::Movement {
            kind: ledger::MovementKind::Receive,
            lot_id: &lot_id,
            reference: Some(("receipt", &receipt.id)),
            reason: None,
            actor: Some(&who.token_id),
        },
        &[(location_id, qty)],
    )?;
    let gtin14 = gtin
        .and_then(|g| Gtin::parse(&g).ok())
        .map(|g| g.to_gtin14());
    let what_class = lot_class(gtin14.as_deref(), &line.lot_code, &lot_id);
    let event = |biz_step, disposition, location_id| trace::LotEvent {
        action: Action::Observe,
        biz_step,
        disposition,
        lot_id: &lot_id,
        what_class: &what_class,
        quantity: Some(qty),
        location_id: Some(location_id),
        biz_tx: Some((
            biz_tx::DESPATCH_ADVICE,
            trace::tx_uri("receipt", &receipt.id),
        )),
        actor: Some(&who.token_id),
    };
    trace::record(
        c,
        event(BizStep::Receiving, Disposition::InProgress, location_id),
    )?;
    if fate == AddedUnits::JoinQuarantine {
        // The batch failed its inspection: its new units are held with it.
        let quarantine = catalog::default_location(c, "quarantine")?;
        ledger::post(
            c,
            &ledger::Movement {
                kind: ledger::MovementKind::Hold,
                lot_id: &lot_id,
                reference: Some(("receipt", &receipt.id)),
                reason: Some("joins its quarantined lot"),
                actor: Some(&who.token_id),
            },
            &[(location_id, -qty), (&quarantine.id, qty)],
        )?;
        trace::record(
            c,
            event(BizStep::Holding, Disposition::NonConformant, &quarantine.id),
        )?;
    }
    Ok(Ok(ArrivedLot {
        id: lot_id,
        sku_code: line.sku_code.clone(),
        lot_code: line.lot_code.clone(),
        quantity: qty,
        status,
    }))
}

/// Closes a receipt (staff): no more deliveries; lines still short stay
/// short and count as complete. Closing changes no lot and no stock, so it
/// writes no trace event; who closed it and when are on the receipt. A
/// closed receipt is a 409.
pub fn close(
    conn: &mut AnyConnection,
    who: &Principal,
    receipt_id: &str,
) -> Result<Receipt, AppError> {
    db::write(conn, |c| {
        let receipt = get(c, who, receipt_id)?;
        if receipt.status == ReceiptProgress::Closed {
            return Err(AppError::InvalidState(format!(
                "receipt {receipt_id} is already closed (at {})",
                receipt
                    .closed_at
                    .map(|t| time::rfc3339(&t))
                    .unwrap_or_default()
            )));
        }
        let updated = diesel::update(
            receipts::table
                .find(receipt_id)
                .filter(receipts::progress.eq(receipt.status.as_str())),
        )
        .set((
            receipts::progress.eq(ReceiptProgress::Closed.as_str()),
            receipts::closed_at.eq(time::now()),
            receipts::closed_by.eq(&who.token_id),
        ))
        .execute(c)?;
        if updated == 0 {
            return Err(AppError::InvalidState(format!(
                "receipt {receipt_id} changed while it was being closed; read it again"
            )));
        }
        get(c, who, receipt_id)
    })
}
