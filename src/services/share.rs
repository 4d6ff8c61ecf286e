//! Share links: a merchant (or staff) makes a parcel's public trace page
//! for its consumer (`POST /parcels/{sscc}/share`), and may revoke it. The
//! link carries 256 random bits; depot keeps only their SHA-256, as for API
//! tokens. The page (`GET /p/{token}`) is built from
//! [`domain::share::SharePage`], which has no field for a person.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::Rng;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{
    carriers, inspections, lots, merchants, parcel_lines, parcel_statuses, parcels, receipt_lines,
    receipts, share_links, skus,
};
use crate::db::{self, AnyConnection};
use crate::domain::access::{hash_token, Principal};
use crate::domain::ids::new_id;
use crate::domain::share::{SharePage, SharedInspection, SharedLot};
use crate::domain::time;
use crate::error::AppError;
use crate::services::packing;

/// A share link as made: the token is in `url` and shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareLink {
    pub id: String,
    pub sscc: String,
    /// The public page: anyone with the link can read it.
    pub url: String,
    pub created_at: String,
}

/// A parcel the caller may share (staff; the merchant of its order): its id.
fn shareable(c: &mut AnyConnection, who: &Principal, sscc: &str) -> Result<String, AppError> {
    let row: Option<(String, String)> = parcels::table
        .filter(parcels::sscc.eq(sscc))
        .select((parcels::id, parcels::merchant_id))
        .first(c)
        .optional()?;
    match row {
        Some((id, merchant_id)) if who.carrier_id.is_none() && who.sees_merchant(&merchant_id) => {
            Ok(id)
        }
        _ => Err(AppError::not_found("parcel", sscc)),
    }
}

fn new_share_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes a share link for the parcel; `base` is the server's public
/// address as the caller reached it (`https://depot.example`).
pub fn create(
    conn: &mut AnyConnection,
    who: &Principal,
    sscc: &str,
    base: &str,
) -> Result<ShareLink, AppError> {
    db::write(conn, |c| {
        let parcel_id = shareable(c, who, sscc)?;
        let token = new_share_token();
        let id = new_id("shr");
        let now = time::now();
        diesel::insert_into(share_links::table)
            .values((
                share_links::id.eq(&id),
                share_links::token_hash.eq(hash_token(&token)),
                share_links::parcel_id.eq(&parcel_id),
                share_links::created_at.eq(now),
                share_links::created_by.eq(Some(&who.token_id)),
            ))
            .execute(c)?;
        Ok(ShareLink {
            id,
            sscc: sscc.to_string(),
            url: format!("{}/p/{token}", base.trim_end_matches('/')),
            created_at: time::rfc3339(&now),
        })
    })
}

/// Revokes a share link of the parcel: its page answers 404 from now on.
pub fn revoke(
    conn: &mut AnyConnection,
    who: &Principal,
    sscc: &str,
    id: &str,
) -> Result<(), AppError> {
    db::write(conn, |c| {
        let parcel_id = shareable(c, who, sscc)?;
        let revoked = diesel::update(
            share_links::table
                .filter(share_links::id.eq(id))
                .filter(share_links::parcel_id.eq(&parcel_id))
                .filter(share_links::revoked_at.is_null()),
        )
        .set((
            share_links::revoked_at.eq(Some(time::now())),
            share_links::revoked_by.eq(Some(&who.token_id)),
        ))
        .execute(c)?;
        if revoked == 0 {
            return Err(AppError::not_found("share link of this parcel", id));
        }
        Ok(())
    })
}

type LotRow = (
    String,
    String,
    i64,
    String,
    String,
    Option<chrono::NaiveDate>,
    String,
    Option<NaiveDateTime>,
);

/// The public page of a live share link; None for any other token.
pub fn page(conn: &mut AnyConnection, token: &str) -> Result<Option<SharePage>, AppError> {
    let c = conn;
    let found: Option<String> = share_links::table
        .filter(share_links::token_hash.eq(hash_token(token)))
        .filter(share_links::revoked_at.is_null())
        .select(share_links::parcel_id)
        .first(c)
        .optional()?;
    let Some(parcel_id) = found else {
        return Ok(None);
    };
    let (sscc, prefix_len, carrier): (String, i32, String) = parcels::table
        .inner_join(carriers::table.on(carriers::id.eq(parcels::carrier_id)))
        .filter(parcels::id.eq(&parcel_id))
        .select((parcels::sscc, parcels::company_prefix_len, carriers::name))
        .first(c)?;
    let rows: Vec<LotRow> = parcel_lines::table
        .inner_join(lots::table.on(lots::id.eq(parcel_lines::lot_id)))
        .inner_join(skus::table.on(skus::id.eq(lots::sku_id)))
        .inner_join(merchants::table.on(merchants::id.eq(lots::merchant_id)))
        .inner_join(receipt_lines::table.on(receipt_lines::id.eq(lots::receipt_line_id)))
        .inner_join(receipts::table.on(receipts::id.eq(receipt_lines::receipt_id)))
        .filter(parcel_lines::parcel_id.eq(&parcel_id))
        .select((
            lots::id,
            lots::lot_code,
            parcel_lines::qty,
            skus::name,
            skus::code,
            lots::expiry_date,
            merchants::name,
            receipts::arrived_at,
        ))
        .order(lots::id.asc())
        .load(c)?;
    // One entry per lot (a lot on several order lines adds up).
    let mut lots_out: Vec<SharedLot> = Vec::new();
    let mut lot_ids: Vec<String> = Vec::new();
    for (lot_id, lot_code, qty, product, sku_code, expiry, merchant, received) in rows {
        if let Some(i) = lot_ids.iter().position(|l| *l == lot_id) {
            lots_out[i].qty += qty;
            continue;
        }
        let inspection = latest_inspection(c, &lot_id)?;
        lot_ids.push(lot_id);
        lots_out.push(SharedLot {
            product,
            sku_code,
            lot_code,
            qty,
            expiry_date: expiry.map(|d| d.to_string()),
            merchant,
            received_at: received.as_ref().map(time::rfc3339),
            inspection,
        });
    }
    let timeline: Vec<(String, NaiveDateTime)> = parcel_statuses::table
        .filter(parcel_statuses::parcel_id.eq(&parcel_id))
        .order(parcel_statuses::seq.asc())
        .select((parcel_statuses::status, parcel_statuses::at))
        .load(c)?;
    Ok(Some(SharePage {
        sscc: packing::stored_sscc(&sscc, prefix_len)?.human_readable(),
        carrier,
        lots: lots_out,
        timeline: timeline
            .into_iter()
            .map(|(s, at)| (s, time::rfc3339(&at)))
            .collect(),
    }))
}

type InspectionRow = (
    String,
    Option<String>,
    String,
    String,
    String,
    Option<NaiveDateTime>,
    Option<String>,
);

/// The lot's newest finished inspection that no correction superseded.
fn latest_inspection(
    c: &mut AnyConnection,
    lot_id: &str,
) -> Result<Option<SharedInspection>, AppError> {
    let rows: Vec<InspectionRow> = inspections::table
        .filter(inspections::lot_id.eq(lot_id))
        .filter(inspections::status.eq("finished"))
        .order(inspections::finished_at.desc())
        .select((
            inspections::id,
            inspections::verdict,
            inspections::level,
            inspections::severity,
            inspections::plans,
            inspections::finished_at,
            inspections::supersedes_id,
        ))
        .load(c)?;
    let superseded: Vec<&str> = rows.iter().filter_map(|r| r.6.as_deref()).collect();
    let Some(row) = rows.iter().find(|r| !superseded.contains(&r.0.as_str())) else {
        return Ok(None);
    };
    let plans: serde_json::Value = serde_json::from_str(&row.4).unwrap_or_default();
    let mut out = Vec::new();
    if let Some(map) = plans.as_object() {
        for (class, p) in map {
            let text = |k: &str| p[k].as_str().unwrap_or("").to_string();
            let num = |k: &str| p[k].as_u64().unwrap_or(0) as u32;
            out.push((
                class.clone(),
                text("aql"),
                text("plan_letter"),
                num("sample_size"),
                num("accept"),
                num("reject"),
            ));
        }
    }
    Ok(Some(SharedInspection {
        verdict: row.1.clone().unwrap_or_else(|| "recorded".into()),
        level: row.2.clone(),
        severity: row.3.clone(),
        plans: out,
        finished_at: row.5.as_ref().map(time::rfc3339),
    }))
}
