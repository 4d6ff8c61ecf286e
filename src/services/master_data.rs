//! Correcting and retiring master data: PATCH of SKUs, locations, merchants
//! and carriers, and the change log that records every field changed, with
//! its old and new value, who changed it and when.
//!
//! The log (`master_data_changes`, append-only) rather than `updated_by`
//! columns: it keeps every change, not only the last, and one table serves
//! all four kinds of master data.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{carriers, locations, lots, master_data_changes, merchants, skus};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::ids::new_id;
use crate::domain::master_data::{check_location_state, ChangeSet, Entity};
use crate::domain::page::{Page, PageRequest};
use crate::domain::time;
use crate::error::AppError;
use crate::services::carriers::{self as carrier_service, Carrier};
use crate::services::catalog::{self, Location, Sku};
use crate::services::merchants::{self as merchant_service, Merchant};

/// A field of a PATCH: `None` leaves it, `Some(None)` clears it.
pub type Clearable<T> = Option<Option<T>>;

/// What a PATCH of a SKU changes; every field already parsed.
#[derive(Debug, Default)]
pub struct SkuPatch {
    pub name: Option<String>,
    pub category: Clearable<String>,
    pub gtin: Clearable<String>,
    pub shelf_life_days: Clearable<i32>,
    pub storage_zone: Clearable<String>,
}

/// Corrects a SKU. Its GTIN can change only while no lot of it exists (the
/// lots' labels carry it): otherwise a 409. A SKU of another merchant is a 404.
pub fn patch_sku(
    conn: &mut AnyConnection,
    who: &Principal,
    id: &str,
    patch: SkuPatch,
) -> Result<Sku, AppError> {
    db::write(conn, |c| {
        let old = catalog::get_sku(c, who, id)?;
        let mut new = old.clone();
        if let Some(name) = patch.name {
            new.name = name;
        }
        if let Some(category) = patch.category {
            new.category = category;
        }
        if let Some(gtin) = patch.gtin {
            new.gtin = gtin;
        }
        if let Some(days) = patch.shelf_life_days {
            new.shelf_life_days = days;
        }
        if let Some(zone) = patch.storage_zone {
            new.storage_zone = zone;
        }
        let mut set = ChangeSet::default();
        set.field("name", &old.name, &new.name);
        set.field("category", &old.category, &new.category);
        set.field("gtin", &old.gtin, &new.gtin);
        set.field(
            "shelf_life_days",
            &old.shelf_life_days,
            &new.shelf_life_days,
        );
        set.field("storage_zone", &old.storage_zone, &new.storage_zone);
        if set.is_empty() {
            return Ok(old);
        }
        if set.touches("gtin") {
            let lots: i64 = lots::table
                .filter(lots::sku_id.eq(&old.id))
                .count()
                .get_result(c)?;
            if lots > 0 {
                return Err(AppError::Conflict(format!(
                    "SKU {} already has {lots} lot(s) received under GTIN {}; its GTIN can no \
                     longer change",
                    old.code,
                    old.gtin.as_deref().unwrap_or("(none)")
                )));
            }
            if let Some(gtin) = &new.gtin {
                catalog::check_gtin_free(c, &old.merchant_id, gtin, Some(&old.id))?;
            }
        }
        diesel::update(skus::table.find(&old.id))
            .set((
                skus::name.eq(&new.name),
                skus::category.eq(&new.category),
                skus::gtin.eq(&new.gtin),
                skus::shelf_life_days.eq(new.shelf_life_days),
                skus::storage_zone.eq(&new.storage_zone),
            ))
            .execute(c)?;
        record(c, who, Entity::Sku, &old.id, &set)?;
        Ok(new)
    })
}

/// What a PATCH of a location changes.
#[derive(Debug, Default)]
pub struct LocationPatch {
    pub walk_seq: Option<i32>,
    pub zone: Clearable<String>,
    pub active: Option<bool>,
    /// Take the default mark of the kind (it can only be taken, never dropped:
    /// every kind keeps one default).
    pub make_default: bool,
}

/// Corrects or retires a location. An inactive location takes no new stock;
/// the default of a kind cannot be retired until another takes the mark.
pub fn patch_location(
    conn: &mut AnyConnection,
    who: &Principal,
    id: &str,
    patch: LocationPatch,
) -> Result<Location, AppError> {
    db::write(conn, |c| {
        let old = catalog::get_location(c, id)?;
        let mut new = old.clone();
        if let Some(walk_seq) = patch.walk_seq {
            new.walk_seq = walk_seq;
        }
        if let Some(zone) = patch.zone {
            new.zone = zone;
        }
        if let Some(active) = patch.active {
            new.active = active;
        }
        new.is_default = old.is_default || patch.make_default;
        check_location_state(new.active, new.is_default, &new.kind)
            .map_err(AppError::InvalidState)?;
        let mut set = ChangeSet::default();
        set.field("walk_seq", &old.walk_seq, &new.walk_seq);
        set.field("zone", &old.zone, &new.zone);
        set.field("active", &old.active, &new.active);
        set.field("default", &old.is_default, &new.is_default);
        if set.is_empty() {
            return Ok(old);
        }
        if set.touches("default") {
            let previous: Option<String> = locations::table
                .filter(locations::kind.eq(&old.kind))
                .filter(locations::is_default.eq(true))
                .select(locations::id)
                .first(c)
                .optional()?;
            catalog::clear_default(c, &old.kind)?;
            if let Some(previous) = previous {
                record_default_lost(c, who, &previous)?;
            }
        }
        diesel::update(locations::table.find(&old.id))
            .set((
                locations::walk_seq.eq(new.walk_seq),
                locations::zone.eq(&new.zone),
                locations::active.eq(new.active),
                locations::is_default.eq(new.is_default),
            ))
            .execute(c)?;
        record(c, who, Entity::Location, &old.id, &set)?;
        Ok(new)
    })
}

/// What a PATCH of a merchant or carrier changes.
#[derive(Debug, Default)]
pub struct PartnerPatch {
    pub name: Option<String>,
    pub active: Option<bool>,
}

/// Renames or retires a merchant. An inactive merchant's tokens still read,
/// but create nothing; nothing is created for it by staff either.
pub fn patch_merchant(
    conn: &mut AnyConnection,
    who: &Principal,
    id: &str,
    patch: PartnerPatch,
) -> Result<Merchant, AppError> {
    db::write(conn, |c| {
        let old = merchant_service::get(c, who, id)?;
        let mut new = old.clone();
        new.name = patch.name.unwrap_or(new.name);
        new.active = patch.active.unwrap_or(new.active);
        let mut set = ChangeSet::default();
        set.field("name", &old.name, &new.name);
        set.field("active", &old.active, &new.active);
        if set.is_empty() {
            return Ok(old);
        }
        diesel::update(merchants::table.find(&old.id))
            .set((
                merchants::name.eq(&new.name),
                merchants::active.eq(new.active),
            ))
            .execute(c)?;
        record(c, who, Entity::Merchant, &old.id, &set)?;
        Ok(new)
    })
}

/// Renames or retires a carrier. An inactive carrier takes no new orders.
pub fn patch_carrier(
    conn: &mut AnyConnection,
    who: &Principal,
    id: &str,
    patch: PartnerPatch,
) -> Result<Carrier, AppError> {
    db::write(conn, |c| {
        let old = carrier_service::get(c, who, id)?;
        let mut new = old.clone();
        new.name = patch.name.unwrap_or(new.name);
        new.active = patch.active.unwrap_or(new.active);
        let mut set = ChangeSet::default();
        set.field("name", &old.name, &new.name);
        set.field("active", &old.active, &new.active);
        if set.is_empty() {
            return Ok(old);
        }
        diesel::update(carriers::table.find(&old.id))
            .set((
                carriers::name.eq(&new.name),
                carriers::active.eq(new.active),
            ))
            .execute(c)?;
        record(c, who, Entity::Carrier, &old.id, &set)?;
        Ok(new)
    })
}

/// Logs that location `id` lost the default mark of its kind to another
/// (a PATCH or a POST with `default: true`).
pub fn record_default_lost(
    c: &mut AnyConnection,
    who: &Principal,
    id: &str,
) -> Result<(), AppError> {
    let mut lost = ChangeSet::default();
    lost.field("default", &true, &false);
    record(c, who, Entity::Location, id, &lost)
}

/// Writes one change-log row per changed field, in the caller's transaction.
fn record(
    c: &mut AnyConnection,
    who: &Principal,
    entity: Entity,
    entity_id: &str,
    set: &ChangeSet,
) -> Result<(), AppError> {
    let now = time::now();
    for change in &set.changes {
        diesel::insert_into(master_data_changes::table)
            .values((
                master_data_changes::id.eq(new_id("chg")),
                master_data_changes::entity.eq(entity.as_str()),
                master_data_changes::entity_id.eq(entity_id),
                master_data_changes::field.eq(change.field),
                master_data_changes::old_value.eq(change.old.to_string()),
                master_data_changes::new_value.eq(change.new.to_string()),
                master_data_changes::changed_at.eq(now),
                master_data_changes::changed_by.eq(&who.token_id),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// One field changed by a PATCH.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MasterDataChange {
    pub id: String,
    /// sku, location, merchant or carrier.
    pub entity: String,
    pub entity_id: String,
    pub field: String,
    /// The value before (null: the field was empty): any JSON value.
    pub old_value: serde_json::Value,
    /// The value after (null: the field was cleared): any JSON value.
    pub new_value: serde_json::Value,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub changed_at: NaiveDateTime,
    /// The token that made the change.
    pub changed_by: Option<String>,
}

type ChangeRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    NaiveDateTime,
    Option<String>,
);

/// The change log, oldest first, optionally of one entity kind or object.
pub fn list_changes(
    conn: &mut AnyConnection,
    entity: Option<Entity>,
    entity_id: Option<String>,
    page: &PageRequest,
) -> Result<Page<MasterDataChange>, AppError> {
    let mut query = master_data_changes::table
        .select((
            master_data_changes::id,
            master_data_changes::entity,
            master_data_changes::entity_id,
            master_data_changes::field,
            master_data_changes::old_value,
            master_data_changes::new_value,
            master_data_changes::changed_at,
            master_data_changes::changed_by,
        ))
        .order(master_data_changes::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(master_data_changes::id.gt(after));
    }
    if let Some(entity) = entity {
        query = query.filter(master_data_changes::entity.eq(entity.as_str()));
    }
    if let Some(entity_id) = entity_id {
        query = query.filter(master_data_changes::entity_id.eq(entity_id));
    }
    let rows: Vec<ChangeRow> = query.load(conn)?;
    let items = rows
        .into_iter()
        .map(
            |(id, entity, entity_id, field, old, new, changed_at, changed_by)| {
                let parse = |text: &str| {
                    serde_json::from_str(text).map_err(|e| {
                        AppError::Internal(format!("change {id} has an unreadable value: {e}"))
                    })
                };
                Ok(MasterDataChange {
                    old_value: parse(&old)?,
                    new_value: parse(&new)?,
                    id,
                    entity,
                    entity_id,
                    field,
                    changed_at,
                    changed_by,
                })
            },
        )
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(Page::from_rows(items, page, |c| &c.id))
}
