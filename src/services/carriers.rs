//! Carriers: the logistics partners that collect parcels on manifests.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::carriers;
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::ids::new_id;
use crate::domain::page::{Page, PageRequest};
use crate::domain::time;
use crate::error::AppError;

#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = carriers)]
pub struct Carrier {
    pub id: String,
    pub code: String,
    pub name: String,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    /// The token that created it; null when made on the command line.
    pub created_by: Option<String>,
    /// An inactive carrier is kept for its history but takes nothing new: no order may name it.
    pub active: bool,
}

/// A carrier to create; `code` and `name` already parsed.
pub struct NewCarrier {
    pub code: String,
    pub name: String,
}

pub fn create(
    conn: &mut AnyConnection,
    created_by: Option<&str>,
    new: NewCarrier,
) -> Result<Carrier, AppError> {
    db::write(conn, |c| {
        let taken: i64 = carriers::table
            .filter(carriers::code.eq(&new.code))
            .count()
            .get_result(c)?;
        if taken > 0 {
            return Err(AppError::Conflict(format!(
                "a carrier with code {} already exists",
                new.code
            )));
        }
        let carrier = Carrier {
            id: new_id("car"),
            code: new.code,
            name: new.name,
            created_at: time::now(),
            created_by: created_by.map(str::to_string),
            active: true,
        };
        diesel::insert_into(carriers::table)
            .values((
                carriers::id.eq(&carrier.id),
                carriers::code.eq(&carrier.code),
                carriers::name.eq(&carrier.name),
                carriers::created_at.eq(carrier.created_at),
                carriers::created_by.eq(&carrier.created_by),
                carriers::active.eq(carrier.active),
            ))
            .execute(c)?;
        Ok(carrier)
    })
}

/// Carriers the caller may see: all for admin, staff and merchants (who name a
/// carrier on their orders), itself for a carrier.
pub fn list(
    conn: &mut AnyConnection,
    who: &Principal,
    page: &PageRequest,
) -> Result<Page<Carrier>, AppError> {
    let mut query = carriers::table
        .select(Carrier::as_select())
        .order(carriers::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(carriers::id.gt(after));
    }
    if let Some(own) = &who.carrier_id {
        query = query.filter(carriers::id.eq(own));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_rows(rows, page, |m| &m.id))
}

/// One carrier; another carrier's answers exactly like a missing one.
pub fn get(conn: &mut AnyConnection, who: &Principal, id: &str) -> Result<Carrier, AppError> {
    let found = carriers::table
        .find(id)
        .select(Carrier::as_select())
        .first(conn)
        .optional()?;
    found
        .filter(|m| who.sees_carrier(&m.id))
        .ok_or_else(|| AppError::not_found("carrier", id))
}
