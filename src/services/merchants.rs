//! Merchants: the brands and sellers whose goods depot keeps.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::merchants;
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::ids::new_id;
use crate::domain::page::{Page, PageRequest};
use crate::domain::time;
use crate::error::AppError;

#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = merchants)]
pub struct Merchant {
    pub id: String,
    pub code: String,
    pub name: String,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    /// The token that created it; null when made on the command line.
    pub created_by: Option<String>,
    /// An inactive merchant is kept for its history but takes nothing new: its tokens still read, and nothing is created for it.
    pub active: bool,
}

/// A merchant to create; `code` and `name` already parsed.
pub struct NewMerchant {
    pub code: String,
    pub name: String,
}

pub fn create(
    conn: &mut AnyConnection,
    created_by: Option<&str>,
    new: NewMerchant,
) -> Result<Merchant, AppError> {
    db::write(conn, |c| {
        let taken: i64 = merchants::table
            .filter(merchants::code.eq(&new.code))
            .count()
            .get_result(c)?;
        if taken > 0 {
            return Err(AppError::Conflict(format!(
                "a merchant with code {} already exists",
                new.code
            )));
        }
        let merchant = Merchant {
            id: new_id("mer"),
            code: new.code,
            name: new.name,
            created_at: time::now(),
            created_by: created_by.map(str::to_string),
            active: true,
        };
        diesel::insert_into(merchants::table)
            .values((
                merchants::id.eq(&merchant.id),
                merchants::code.eq(&merchant.code),
                merchants::name.eq(&merchant.name),
                merchants::created_at.eq(merchant.created_at),
                merchants::created_by.eq(&merchant.created_by),
                merchants::active.eq(merchant.active),
            ))
            .execute(c)?;
        Ok(merchant)
    })
}

/// Merchants the caller may see: all for admin and staff, itself for a merchant.
pub fn list(
    conn: &mut AnyConnection,
    who: &Principal,
    page: &PageRequest,
) -> Result<Page<Merchant>, AppError> {
    let mut query = merchants::table
        .select(Merchant::as_select())
        .order(merchants::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(merchants::id.gt(after));
    }
    if let Some(own) = &who.merchant_id {
        query = query.filter(merchants::id.eq(own));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_rows(rows, page, |m| &m.id))
}

/// One merchant; another merchant's answers exactly like a missing one.
pub fn get(conn: &mut AnyConnection, who: &Principal, id: &str) -> Result<Merchant, AppError> {
    let found = merchants::table
        .find(id)
        .select(Merchant::as_select())
        .first(conn)
        .optional()?;
    found
        .filter(|m| who.sees_merchant(&m.id))
        .ok_or_else(|| AppError::not_found("merchant", id))
}

/// Checks that a request may act for merchant `id`: it exists and the caller
/// sees it. Otherwise a 422 on `merchant_id`, the same for both cases so that
/// another merchant's id reveals nothing.
pub fn require_visible(
    conn: &mut AnyConnection,
    who: &Principal,
    id: &str,
) -> Result<(), AppError> {
    let found: i64 = merchants::table
        .filter(merchants::id.eq(id))
        .count()
        .get_result(conn)?;
    if found == 0 || !who.sees_merchant(id) {
        return Err(AppError::field(
            "merchant_id",
            format!("no merchant with id {id}"),
        ));
    }
    Ok(())
}

/// Checks that a request may create something for merchant `id`: it is
/// visible (see [`require_visible`]) and active; an inactive merchant is a
/// 422 on `merchant_id` saying so.
pub fn require_active(conn: &mut AnyConnection, who: &Principal, id: &str) -> Result<(), AppError> {
    require_visible(conn, who, id)?;
    let active: bool = merchants::table
        .find(id)
        .select(merchants::active)
        .first(conn)?;
    if !active {
        return Err(AppError::field(
            "merchant_id",
            format!("merchant {id} is inactive; nothing new can be created for it"),
        ));
    }
    Ok(())
}
