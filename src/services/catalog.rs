//! Master data: SKUs, locations and inspection templates.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{inspection_checks, inspection_templates, locations, skus};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::ids::new_id;
use crate::domain::inspection::DefectClass;
use crate::domain::page::{Page, PageRequest};
use crate::domain::time;
use crate::error::{AppError, FieldError};
use crate::services::merchants;

// ---------------------------------------------------------------- SKUs

#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = skus)]
pub struct Sku {
    pub id: String,
    pub merchant_id: String,
    pub code: String,
    pub name: String,
    /// GTIN-8/12/13/14, check digit verified.
    pub gtin: Option<String>,
    /// Chooses the inspection template.
    pub category: Option<String>,
    pub shelf_life_days: Option<i32>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
    /// The zone of the bins depot suggests for putaway.
    pub storage_zone: Option<String>,
}

/// A SKU to create, already parsed.
pub struct NewSku {
    pub merchant_id: String,
    pub code: String,
    pub name: String,
    pub gtin: Option<String>,
    pub category: Option<String>,
    pub shelf_life_days: Option<i32>,
    pub storage_zone: Option<String>,
}

pub fn create_sku(conn: &mut AnyConnection, who: &Principal, new: NewSku) -> Result<Sku, AppError> {
    db::write(conn, |c| {
        merchants::require_visible(c, who, &new.merchant_id)?;
        let taken: i64 = skus::table
            .filter(skus::merchant_id.eq(&new.merchant_id))
            .filter(skus::code.eq(&new.code))
            .count()
            .get_result(c)?;
        if taken > 0 {
            return Err(AppError::Conflict(format!(
                "this merchant already has a SKU with code {}",
                new.code
            )));
        }
        let sku = Sku {
            id: new_id("sku"),
            merchant_id: new.merchant_id,
            code: new.code,
            name: new.name,
            gtin: new.gtin,
            category: new.category,
            shelf_life_days: new.shelf_life_days,
            created_at: time::now(),
            created_by: Some(who.token_id.clone()),
            storage_zone: new.storage_zone,
        };
        diesel::insert_into(skus::table)
            .values((
                skus::id.eq(&sku.id),
                skus::merchant_id.eq(&sku.merchant_id),
                skus::code.eq(&sku.code),
                skus::name.eq(&sku.name),
                skus::gtin.eq(&sku.gtin),
                skus::category.eq(&sku.category),
                skus::shelf_life_days.eq(sku.shelf_life_days),
                skus::created_at.eq(sku.created_at),
                skus::created_by.eq(&sku.created_by),
                skus::storage_zone.eq(&sku.storage_zone),
            ))
            .execute(c)?;
        Ok(sku)
    })
}

/// What `GET /skus` may be narrowed to; values already parsed.
#[derive(Debug, Default)]
pub struct SkuFilter {
    pub merchant_id: Option<String>,
    pub code: Option<String>,
    pub gtin: Option<String>,
}

pub fn list_skus(
    conn: &mut AnyConnection,
    who: &Principal,
    filter: SkuFilter,
    page: &PageRequest,
) -> Result<Page<Sku>, AppError> {
    let mut query = skus::table
        .select(Sku::as_select())
        .order(skus::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(skus::id.gt(after));
    }
    if let Some(own) = &who.merchant_id {
        query = query.filter(skus::merchant_id.eq(own));
    }
    if let Some(merchant_id) = filter.merchant_id {
        query = query.filter(skus::merchant_id.eq(merchant_id));
    }
    if let Some(code) = filter.code {
        query = query.filter(skus::code.eq(code));
    }
    if let Some(gtin) = filter.gtin {
        query = query.filter(skus::gtin.eq(gtin));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_rows(rows, page, |s| &s.id))
}

pub fn get_sku(conn: &mut AnyConnection, who: &Principal, id: &str) -> Result<Sku, AppError> {
    let found = skus::table
        .find(id)
        .select(Sku::as_select())
        .first(conn)
        .optional()?;
    found
        .filter(|s| who.sees_merchant(&s.merchant_id))
        .ok_or_else(|| AppError::not_found("SKU", id))
}

/// A merchant's SKUs by code, for resolving the codes of a request; codes
/// that are missing are left out.
pub fn skus_by_code(
    conn: &mut AnyConnection,
    merchant_id: &str,
    codes: &[String],
) -> Result<Vec<Sku>, AppError> {
    Ok(skus::table
        .filter(skus::merchant_id.eq(merchant_id))
        .filter(skus::code.eq_any(codes))
        .select(Sku::as_select())
        .load(conn)?)
}

// ---------------------------------------------------------------- locations

#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = locations)]
pub struct Location {
    pub id: String,
    pub code: String,
    /// receiving, quarantine, storage, packing or dispatch.
    pub kind: String,
    pub zone: Option<String>,
    /// Order in which a picker walks past it.
    pub walk_seq: i32,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
    /// Units it can hold in all; null: no limit.
    pub capacity: Option<i64>,
}

pub const LOCATION_KINDS: [&str; 5] = ["receiving", "quarantine", "storage", "packing", "dispatch"];

pub struct NewLocation {
    pub code: String,
    pub kind: String,
    pub zone: Option<String>,
    pub walk_seq: i32,
    pub capacity: Option<i64>,
}

pub fn create_location(
    conn: &mut AnyConnection,
    who: &Principal,
    new: NewLocation,
) -> Result<Location, AppError> {
    db::write(conn, |c| {
        let taken: i64 = locations::table
            .filter(locations::code.eq(&new.code))
            .count()
            .get_result(c)?;
        if taken > 0 {
            return Err(AppError::Conflict(format!(
                "a location with code {} already exists",
                new.code
            )));
        }
        let location = Location {
            id: new_id("loc"),
            code: new.code,
            kind: new.kind,
            zone: new.zone,
            walk_seq: new.walk_seq,
            created_at: time::now(),
            created_by: Some(who.token_id.clone()),
            capacity: new.capacity,
        };
        diesel::insert_into(locations::table)
            .values((
                locations::id.eq(&location.id),
                locations::code.eq(&location.code),
                locations::kind.eq(&location.kind),
                locations::zone.eq(&location.zone),
                locations::walk_seq.eq(location.walk_seq),
                locations::created_at.eq(location.created_at),
                locations::created_by.eq(&location.created_by),
                locations::capacity.eq(location.capacity),
            ))
            .execute(c)?;
        Ok(location)
    })
}

pub fn list_locations(
    conn: &mut AnyConnection,
    kind: Option<String>,
    page: &PageRequest,
) -> Result<Page<Location>, AppError> {
    let mut query = locations::table
        .select(Location::as_select())
        .order(locations::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(locations::id.gt(after));
    }
    if let Some(kind) = kind {
        query = query.filter(locations::kind.eq(kind));
    }
    let rows = query.load(conn)?;
    Ok(Page::from_rows(rows, page, |l| &l.id))
}

/// A location by code, which must be of `kind`; `field` names the request
/// field for the 422 when it is not.
pub fn location_by_code(
    conn: &mut AnyConnection,
    code: &str,
    kind: &str,
    field: &str,
) -> Result<Location, AppError> {
    let found: Option<Location> = locations::table
        .filter(locations::code.eq(code))
        .select(Location::as_select())
        .first(conn)
        .optional()?;
    match found {
        None => Err(AppError::field(
            field,
            format!("no location with code {code}"),
        )),
        Some(l) if l.kind != kind => Err(AppError::field(
            field,
            format!("{code} is a {} location, not {kind}", l.kind),
        )),
        Some(l) => Ok(l),
    }
}

/// The first location of `kind` in walk order: where goods go when the
/// request names none.
pub fn default_location(conn: &mut AnyConnection, kind: &str) -> Result<Location, AppError> {
    locations::table
        .filter(locations::kind.eq(kind))
        .order((locations::walk_seq.asc(), locations::code.asc()))
        .select(Location::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::InvalidState(format!("no {kind} location is set up; create one first"))
        })
}

pub fn location_code(conn: &mut AnyConnection, id: &str) -> Result<String, AppError> {
    Ok(locations::table
        .find(id)
        .select(locations::code)
        .first(conn)?)
}

// ---------------------------------------------------------------- inspection templates

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InspectionCheck {
    pub code: String,
    pub description: String,
    pub defect_class: DefectClass,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AqlByClass {
    /// `0`: any critical defect rejects the lot.
    pub critical: String,
    pub major: String,
    pub minor: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InspectionTemplate {
    pub id: String,
    /// SKUs of this category are inspected with it; `default` serves the rest.
    pub category: String,
    pub checks: Vec<InspectionCheck>,
    pub aql: AqlByClass,
    /// ISO 2859-1 inspection level: S1..S4, I, II or III.
    pub level: String,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
}

pub struct NewTemplate {
    pub category: String,
    pub checks: Vec<InspectionCheck>,
    pub aql: AqlByClass,
    pub level: String,
}

pub const DEFAULT_CATEGORY: &str = "default";

/// Creates a template. Templates are never edited: the newest of a category
/// is used for new inspections, and an inspection keeps the one it started with.
pub fn create_template(
    conn: &mut AnyConnection,
    who: &Principal,
    new: NewTemplate,
) -> Result<InspectionTemplate, AppError> {
    db::write(conn, |c| {
        let id = new_id("tpl");
        let now = time::now();
        diesel::insert_into(inspection_templates::table)
            .values((
                inspection_templates::id.eq(&id),
                inspection_templates::category.eq(&new.category),
                inspection_templates::aql_critical.eq(&new.aql.critical),
                inspection_templates::aql_major.eq(&new.aql.major),
                inspection_templates::aql_minor.eq(&new.aql.minor),
                inspection_templates::level.eq(&new.level),
                inspection_templates::created_at.eq(now),
                inspection_templates::created_by.eq(&who.token_id),
            ))
            .execute(c)?;
        for (i, check) in new.checks.iter().enumerate() {
            diesel::insert_into(inspection_checks::table)
                .values((
                    inspection_checks::template_id.eq(&id),
                    inspection_checks::position.eq(i as i32 + 1),
                    inspection_checks::code.eq(&check.code),
                    inspection_checks::description.eq(&check.description),
                    inspection_checks::defect_class.eq(check.defect_class.as_str()),
                ))
                .execute(c)?;
        }
        get_template(c, &id)
    })
}

type TemplateRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    NaiveDateTime,
    Option<String>,
);

pub fn get_template(conn: &mut AnyConnection, id: &str) -> Result<InspectionTemplate, AppError> {
    let row: Option<TemplateRow> = inspection_templates::table
        .find(id)
        .select((
            inspection_templates::id,
            inspection_templates::category,
            inspection_templates::aql_critical,
            inspection_templates::aql_major,
            inspection_templates::aql_minor,
            inspection_templates::level,
            inspection_templates::created_at,
            inspection_templates::created_by,
        ))
        .first(conn)
        .optional()?;
    let Some((id, category, critical, major, minor, level, created_at, created_by)) = row else {
        return Err(AppError::not_found("inspection template", id));
    };
    let checks: Vec<(String, String, String)> = inspection_checks::table
        .filter(inspection_checks::template_id.eq(&id))
        .order(inspection_checks::position.asc())
        .select((
            inspection_checks::code,
            inspection_checks::description,
            inspection_checks::defect_class,
        ))
        .load(conn)?;
    let checks = checks
        .into_iter()
        .map(|(code, description, class)| {
            let defect_class = DefectClass::parse(&class).ok_or_else(|| {
                AppError::Internal(format!("template {id} has a check of class {class}"))
            })?;
            Ok(InspectionCheck {
                code,
                description,
                defect_class,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(InspectionTemplate {
        id,
        category,
        checks,
        aql: AqlByClass {
            critical,
            major,
            minor,
        },
        level,
        created_at,
        created_by,
    })
}

/// Templates, optionally of one category, in id order (the cursor's order).
/// Generated ids sort by creation time; the seeded `tpl_default` sorts last.
pub fn list_templates(
    conn: &mut AnyConnection,
    category: Option<String>,
    page: &PageRequest,
) -> Result<Page<InspectionTemplate>, AppError> {
    let mut query = inspection_templates::table
        .select(inspection_templates::id)
        .order(inspection_templates::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(inspection_templates::id.gt(after));
    }
    if let Some(category) = category {
        query = query.filter(inspection_templates::category.eq(category));
    }
    let ids: Vec<String> = query.load(conn)?;
    let templates = ids
        .iter()
        .map(|id| get_template(conn, id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(templates, page, |t| &t.id))
}

/// The template a SKU of `category` is inspected with: the newest of its
/// category, else the newest `default` one. Newest by creation time, not by
/// id: the seeded `tpl_default` sorts after every generated id, and would
/// otherwise never give way to a `default` template created later.
pub fn template_for(
    conn: &mut AnyConnection,
    category: Option<&str>,
) -> Result<InspectionTemplate, AppError> {
    for candidate in [category, Some(DEFAULT_CATEGORY)].into_iter().flatten() {
        let id: Option<String> = inspection_templates::table
            .filter(inspection_templates::category.eq(candidate))
            .order((
                inspection_templates::created_at.desc(),
                inspection_templates::id.desc(),
            ))
            .select(inspection_templates::id)
            .first(conn)
            .optional()?;
        if let Some(id) = id {
            return get_template(conn, &id);
        }
    }
    Err(AppError::InvalidState(
        "no default inspection template exists".into(),
    ))
}

/// Field errors of a template's checks: codes unique, at least one check.
pub fn check_template_checks(checks: &[InspectionCheck]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if checks.is_empty() {
        errors.push(FieldError::new("checks", "must have at least one check"));
    }
    for (i, check) in checks.iter().enumerate() {
        if checks[..i].iter().any(|c| c.code == check.code) {
            errors.push(FieldError::new(
                format!("checks[{i}].code"),
                "appears twice",
            ));
        }
    }
    errors
}
