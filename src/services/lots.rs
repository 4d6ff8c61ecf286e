//! Lots: what a lot is now, and the one function that moves it between states.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{
    inspections, locations, lot_dispositions, lots, receipt_arrival_lines, receipt_lines, skus,
    stock,
};
use crate::db::AnyConnection;
use crate::domain::access::Principal;
use crate::domain::gs1::Gtin;
use crate::domain::inspection::{transition, LotEvent, LotStatus};
use crate::domain::page::{Page, PageRequest};
use crate::domain::time;
use crate::domain::trace::lot_class;
use crate::error::AppError;

/// Stock of a lot at one location.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LotStock {
    pub location_code: String,
    pub location_kind: String,
    pub on_hand: i64,
    pub reserved: i64,
}

/// What was done with a quarantined lot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LotDisposition {
    /// return, scrap or screen.
    pub action: String,
    /// Screen: the units found good and accepted; otherwise 0.
    pub good_qty: i64,
    /// Units that left: returned to the merchant or scrapped.
    pub removed_qty: i64,
    pub notes: Option<String>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Lot {
    pub id: String,
    pub merchant_id: String,
    pub sku_id: String,
    pub sku_code: String,
    pub lot_code: String,
    pub status: LotStatus,
    /// Units counted in, over every delivery of this SKU and lot code.
    pub received_qty: i64,
    /// Units a later delivery added after the lot's inspection began: they
    /// wait in receiving for an inspection of their own (scope
    /// `added_units`) and cannot be put away until it accepts them.
    pub uninspected_qty: i64,
    /// Units depot holds now, over all locations.
    pub on_hand: i64,
    pub stock: Vec<LotStock>,
    #[schema(value_type = Option<String>, format = Date)]
    pub production_date: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub expiry_date: Option<NaiveDate>,
    pub receipt_id: String,
    /// The inspection the lot's status follows (the newest), if any.
    pub inspection_id: Option<String>,
    /// The disposition of a quarantined lot, once taken.
    pub disposition: Option<LotDisposition>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: NaiveDateTime,
}

/// What services need of a lot to change it.
#[derive(Debug, Clone)]
pub struct LotRow {
    pub id: String,
    pub merchant_id: String,
    pub sku_id: String,
    pub lot_code: String,
    pub status: LotStatus,
    pub received_qty: i64,
    /// Units a later delivery added after the lot's inspection began, not
    /// yet inspected: they cannot be put away.
    pub uninspected_qty: i64,
    /// The receipt the lot arrived on: the business transaction of its events.
    pub receipt_id: String,
    /// The lot's EPC class for trace events.
    pub what_class: String,
}

type LotRowTuple = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    String,
    i64,
);

/// Reads a lot for a change; another merchant's lot is a 404.
pub fn row(conn: &mut AnyConnection, who: &Principal, id: &str) -> Result<LotRow, AppError> {
    let found: Option<LotRowTuple> = lots::table
        .inner_join(skus::table)
        .inner_join(receipt_lines::table)
        .filter(lots::id.eq(id))
        .select((
            lots::id,
            lots::merchant_id,
            lots::sku_id,
            lots::lot_code,
            lots::status,
            lots::received_qty,
            skus::gtin,
            receipt_lines::receipt_id,
            lots::uninspected_qty,
        ))
        .first(conn)
        .optional()?;
    let Some((
        id,
        merchant_id,
        sku_id,
        lot_code,
        status,
        received_qty,
        gtin,
        receipt_id,
        uninspected_qty,
    )) = found
    else {
        return Err(AppError::not_found("lot", id));
    };
    if !who.sees_merchant(&merchant_id) {
        return Err(AppError::not_found("lot", &id));
    }
    let status = LotStatus::parse(&status)
        .ok_or_else(|| AppError::Internal(format!("lot {id} has status {status}")))?;
    let gtin14 = gtin
        .and_then(|g| Gtin::parse(&g).ok())
        .map(|g| g.to_gtin14());
    let what_class = lot_class(gtin14.as_deref(), &lot_code, &id);
    Ok(LotRow {
        id,
        merchant_id,
        sku_id,
        lot_code,
        status,
        received_qty,
        uninspected_qty,
        receipt_id,
        what_class,
    })
}

/// Applies `event` to the lot's state (409 naming the current state when the
/// state machine refuses) and writes the new state. The caller writes the
/// ledger and trace rows of the same change in the same transaction.
pub fn change_status(
    conn: &mut AnyConnection,
    lot: &LotRow,
    event: LotEvent,
) -> Result<LotStatus, AppError> {
    let to = transition(lot.status, event).map_err(AppError::InvalidState)?;
    // Guarded on the status read, so that two concurrent changes cannot both apply.
    let updated = diesel::update(
        lots::table
            .find(&lot.id)
            .filter(lots::status.eq(lot.status.as_str())),
    )
    .set((
        lots::status.eq(to.as_str()),
        lots::updated_at.eq(time::now()),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(AppError::InvalidState(format!(
            "lot {} changed while this request ran; read it again",
            lot.id
        )));
    }
    Ok(to)
}

type LotTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<NaiveDate>,
    Option<NaiveDate>,
    String,
    NaiveDateTime,
    NaiveDateTime,
    i64,
);

/// The columns of [`LotTuple`].
type LotColumns = (
    lots::id,
    lots::merchant_id,
    lots::sku_id,
    skus::code,
    lots::lot_code,
    lots::status,
    lots::received_qty,
    lots::production_date,
    lots::expiry_date,
    receipt_lines::receipt_id,
    lots::created_at,
    lots::updated_at,
    lots::uninspected_qty,
);

fn lot_columns() -> LotColumns {
    (
        lots::id,
        lots::merchant_id,
        lots::sku_id,
        skus::code,
        lots::lot_code,
        lots::status,
        lots::received_qty,
        lots::production_date,
        lots::expiry_date,
        receipt_lines::receipt_id,
        lots::created_at,
        lots::updated_at,
        lots::uninspected_qty,
    )
}

fn to_lot(conn: &mut AnyConnection, t: LotTuple) -> Result<Lot, AppError> {
    let (
        id,
        merchant_id,
        sku_id,
        sku_code,
        lot_code,
        status,
        received_qty,
        production_date,
        expiry_date,
        receipt_id,
        created_at,
        updated_at,
        uninspected_qty,
    ) = t;
    let status = LotStatus::parse(&status)
        .ok_or_else(|| AppError::Internal(format!("lot {id} has status {status}")))?;
    let stock: Vec<(String, String, i64, i64)> = stock::table
        .inner_join(locations::table)
        .filter(stock::lot_id.eq(&id))
        .filter(stock::on_hand.gt(0))
        .order(locations::code.asc())
        .select((
            locations::code,
            locations::kind,
            stock::on_hand,
            stock::reserved,
        ))
        .load(conn)?;
    let inspection_id: Option<String> = inspections::table
        .filter(inspections::lot_id.eq(&id))
        .order(inspections::id.desc())
        .select(inspections::id)
        .first(conn)
        .optional()?;
    type DispositionTuple = (
        String,
        i64,
        i64,
        Option<String>,
        NaiveDateTime,
        Option<String>,
    );
    let disposition: Option<DispositionTuple> = lot_dispositions::table
        .filter(lot_dispositions::lot_id.eq(&id))
        .order(lot_dispositions::id.desc())
        .select((
            lot_dispositions::action,
            lot_dispositions::good_qty,
            lot_dispositions::removed_qty,
            lot_dispositions::notes,
            lot_dispositions::created_at,
            lot_dispositions::created_by,
        ))
        .first(conn)
        .optional()?;
    let disposition = disposition.map(
        |(action, good_qty, removed_qty, notes, created_at, created_by)| LotDisposition {
            action,
            good_qty,
            removed_qty,
            notes,
            created_at,
            created_by,
        },
    );
    Ok(Lot {
        on_hand: stock.iter().map(|s| s.2).sum(),
        stock: stock
            .into_iter()
            .map(
                |(location_code, location_kind, on_hand, reserved)| LotStock {
                    location_code,
                    location_kind,
                    on_hand,
                    reserved,
                },
            )
            .collect(),
        id,
        merchant_id,
        sku_id,
        sku_code,
        lot_code,
        status,
        received_qty,
        uninspected_qty,
        production_date,
        expiry_date,
        receipt_id,
        inspection_id,
        disposition,
        created_at,
        updated_at,
    })
}

pub fn get(conn: &mut AnyConnection, who: &Principal, id: &str) -> Result<Lot, AppError> {
    let found: Option<LotTuple> = lots::table
        .inner_join(skus::table)
        .inner_join(receipt_lines::table)
        .filter(lots::id.eq(id))
        .select(lot_columns())
        .first(conn)
        .optional()?;
    match found {
        Some(t) if who.sees_merchant(&t.1) => to_lot(conn, t),
        _ => Err(AppError::not_found("lot", id)),
    }
}

pub struct LotFilter {
    pub status: Option<LotStatus>,
    pub lot_code: Option<String>,
    pub sku_code: Option<String>,
    pub receipt_id: Option<String>,
}

pub fn list(
    conn: &mut AnyConnection,
    who: &Principal,
    filter: LotFilter,
    page: &PageRequest,
) -> Result<Page<Lot>, AppError> {
    let mut query = lots::table
        .inner_join(skus::table)
        .inner_join(receipt_lines::table)
        .select(lot_columns())
        .order(lots::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(lots::id.gt(after));
    }
    if let Some(own) = &who.merchant_id {
        query = query.filter(lots::merchant_id.eq(own));
    }
    if let Some(status) = filter.status {
        query = query.filter(lots::status.eq(status.as_str()));
    }
    if let Some(code) = filter.sku_code {
        query = query.filter(skus::code.eq(code));
    }
    if let Some(code) = filter.lot_code {
        query = query.filter(lots::lot_code.eq(code));
    }
    if let Some(receipt_id) = filter.receipt_id {
        // Every lot a delivery of the receipt brought units to, also one
        // that a line of an earlier receipt made.
        let lines: Vec<String> = receipt_lines::table
            .filter(receipt_lines::receipt_id.eq(receipt_id))
            .select(receipt_lines::id)
            .load(conn)?;
        let brought: Vec<Option<String>> = receipt_arrival_lines::table
            .filter(receipt_arrival_lines::receipt_line_id.eq_any(&lines))
            .select(receipt_arrival_lines::lot_id)
            .distinct()
            .load(conn)?;
        let brought: Vec<String> = brought.into_iter().flatten().collect();
        query = query.filter(lots::id.eq_any(brought));
    }
    let rows: Vec<LotTuple> = query.load(conn)?;
    let lots = rows
        .into_iter()
        .map(|t| to_lot(conn, t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(lots, page, |l| &l.id))
}
