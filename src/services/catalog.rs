//! Master data: SKUs, locations and inspection templates.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{inspection_checks, inspection_templates, locations, skus};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::gs1::Gtin;
use crate::domain::ids::new_id;
use crate::domain::inspection::DefectClass;
use crate::domain::page::{Page, PageRequest};
use crate::domain::time;
use crate::error::{AppError, FieldError};
use crate::services::{master_data, merchants};

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
        merchants::require_active(c, who, &new.merchant_id)?;
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
        if let Some(gtin) = &new.gtin {
            check_gtin_free(c, &new.merchant_id, gtin, None)?;
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

/// A merchant uses a GTIN for one SKU only (409 naming `gtin`; the unique
/// index `skus_merchant_gtin` backs it). Another merchant may use the same
/// GTIN: two merchants may sell the same product. `except_sku_id` leaves
/// out the SKU being changed.
pub fn check_gtin_free(
    c: &mut AnyConnection,
    merchant_id: &str,
    gtin: &str,
    except_sku_id: Option<&str>,
) -> Result<(), AppError> {
    // GTIN-8, -12 and -13 are GTIN-14 with leading zeros left out: the same
    // number may be written in several lengths (GS1 General Specifications 3.3.2).
    let gtin14 = Gtin::parse(gtin)
        .map(|g| g.to_gtin14())
        .unwrap_or_else(|_| gtin.to_string());
    let mut forms: Vec<String> = [8usize, 12, 13, 14]
        .into_iter()
        .filter(|n| gtin14.len() == 14 && gtin14[..14 - n].bytes().all(|b| b == b'0'))
        .map(|n| gtin14[14 - n..].to_string())
        .collect();
    forms.push(gtin.to_string());
    let mut query = skus::table
        .filter(skus::merchant_id.eq(merchant_id))
        .filter(skus::gtin.eq_any(forms))
        .select(skus::code)
        .into_boxed();
    if let Some(id) = except_sku_id {
        query = query.filter(skus::id.ne(id));
    }
    let holder: Option<String> = query.first(c).optional()?;
    match holder {
        Some(code) => {
            let message = format!("this merchant already uses GTIN {gtin} for SKU {code}");
            Err(AppError::ConflictFields(
                message.clone(),
                vec![FieldError::new("gtin", message)],
            ))
        }
        None => Ok(()),
    }
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
    /// receiving, quarantine, storage, packing, dispatch or returns.
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
    /// An inactive location takes no new stock (putaway, moves, arrivals);
    /// what it holds can still leave.
    pub active: bool,
    /// The location of its kind that depot uses when a request names none
    /// (arrivals, quarantine of a rejected lot): exactly one per kind.
    #[serde(rename = "default")]
    pub is_default: bool,
}

pub const LOCATION_KINDS: [&str; 6] = [
    "receiving",
    "quarantine",
    "storage",
    "packing",
    "dispatch",
    "returns",
];

pub struct NewLocation {
    pub code: String,
    pub kind: String,
    pub zone: Option<String>,
    pub walk_seq: i32,
    pub capacity: Option<i64>,
    /// Take the default mark of the kind from the location that has it.
    pub is_default: bool,
}

/// Creates a location. The first of its kind is the kind's default; a later
/// one is when it asks to be (`default: true`), and takes the mark over.
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
        let others: i64 = locations::table
            .filter(locations::kind.eq(&new.kind))
            .count()
            .get_result(c)?;
        let is_default = new.is_default || others == 0;
        if is_default {
            let previous: Option<String> = locations::table
                .filter(locations::kind.eq(&new.kind))
                .filter(locations::is_default.eq(true))
                .select(locations::id)
                .first(c)
                .optional()?;
            clear_default(c, &new.kind)?;
            if let Some(previous) = previous {
                master_data::record_default_lost(c, who, &previous)?;
            }
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
            active: true,
            is_default,
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
                locations::active.eq(location.active),
                locations::is_default.eq(location.is_default),
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

/// The location of `kind` marked `default`: where goods go when the request
/// names none (arrivals; a rejected lot's quarantine).
pub fn default_location(conn: &mut AnyConnection, kind: &str) -> Result<Location, AppError> {
    locations::table
        .filter(locations::kind.eq(kind))
        .filter(locations::is_default.eq(true))
        .select(Location::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::InvalidState(format!("no {kind} location is set up; create one first"))
        })
}

/// Takes the default mark of `kind` off whichever location has it; the
/// caller gives it to another in the same transaction (the unique index on
/// the mark refuses two defaults, so the order of the two updates matters).
pub fn clear_default(conn: &mut AnyConnection, kind: &str) -> Result<(), AppError> {
    diesel::update(
        locations::table
            .filter(locations::kind.eq(kind))
            .filter(locations::is_default.eq(true)),
    )
    .set(locations::is_default.eq(false))
    .execute(conn)?;
    Ok(())
}

/// One location by id.
pub fn get_location(conn: &mut AnyConnection, id: &str) -> Result<Location, AppError> {
    locations::table
        .find(id)
        .select(Location::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("location", id))
}

/// Refuses new stock into an inactive location: a 422 on `field`, the
/// request field that named it.
pub fn ensure_takes_stock(location: &Location, field: &str) -> Result<(), AppError> {
    if location.active {
        return Ok(());
    }
    Err(AppError::field(
        field,
        format!(
            "location {} is inactive and takes no new stock",
            location.code
        ),
    ))
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
    /// The one merchant whose SKUs it serves; null: every merchant's (a
    /// merchant's own template wins over the general one).
    pub merchant_id: Option<String>,
    /// 1, 2, …: the how-manyth template of its category and scope. The
    /// highest is used for new inspections; older ones stay readable, and
    /// inspections keep the version they started with.
    pub version: i32,
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
    pub merchant_id: Option<String>,
    pub checks: Vec<InspectionCheck>,
    pub aql: AqlByClass,
    pub level: String,
}

pub const DEFAULT_CATEGORY: &str = "default";

/// Creates a template: the next version of its (category, scope). Templates
/// are never edited: the newest version is used for new inspections, and an
/// inspection keeps the one it started with. Two concurrent creations of the
/// same version meet the unique index, and the later one is a 409 to retry.
pub fn create_template(
    conn: &mut AnyConnection,
    who: &Principal,
    new: NewTemplate,
) -> Result<InspectionTemplate, AppError> {
    db::write(conn, |c| {
        if let Some(merchant_id) = &new.merchant_id {
            merchants::require_active(c, who, merchant_id)?;
        }
        let mut latest = inspection_templates::table
            .filter(inspection_templates::category.eq(&new.category))
            .select(diesel::dsl::max(inspection_templates::version))
            .into_boxed();
        latest = match &new.merchant_id {
            Some(merchant_id) => latest.filter(inspection_templates::merchant_id.eq(merchant_id)),
            None => latest.filter(inspection_templates::merchant_id.is_null()),
        };
        let latest: Option<i32> = latest.first(c)?;
        let version = latest.unwrap_or(0) + 1;
        let id = new_id("tpl");
        let now = time::now();
        diesel::insert_into(inspection_templates::table)
            .values((
                inspection_templates::id.eq(&id),
                inspection_templates::category.eq(&new.category),
                inspection_templates::merchant_id.eq(&new.merchant_id),
                inspection_templates::version.eq(version),
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
        load_template(c, &id)
    })
}

type TemplateRow = (
    String,
    String,
    Option<String>,
    i32,
    String,
    String,
    String,
    String,
    NaiveDateTime,
    Option<String>,
);

/// One template as `who` may see it: a template of another merchant is a 404.
pub fn get_template(
    conn: &mut AnyConnection,
    who: &Principal,
    id: &str,
) -> Result<InspectionTemplate, AppError> {
    let template = load_template(conn, id)?;
    match &template.merchant_id {
        Some(owner) if !who.sees_merchant(owner) => {
            Err(AppError::not_found("inspection template", id))
        }
        _ => Ok(template),
    }
}

/// One template, whoever it serves (for inspections, which refer to it).
pub fn load_template(conn: &mut AnyConnection, id: &str) -> Result<InspectionTemplate, AppError> {
    let row: Option<TemplateRow> = inspection_templates::table
        .find(id)
        .select((
            inspection_templates::id,
            inspection_templates::category,
            inspection_templates::merchant_id,
            inspection_templates::version,
            inspection_templates::aql_critical,
            inspection_templates::aql_major,
            inspection_templates::aql_minor,
            inspection_templates::level,
            inspection_templates::created_at,
            inspection_templates::created_by,
        ))
        .first(conn)
        .optional()?;
    let Some((
        id,
        category,
        merchant_id,
        version,
        critical,
        major,
        minor,
        level,
        created_at,
        created_by,
    )) = row
    else {
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
        merchant_id,
        version,
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

/// Which templates a list shows.
#[derive(Debug, Default)]
pub struct TemplateFilter {
    pub category: Option<String>,
    /// Only the templates of this merchant (not the general ones).
    pub merchant_id: Option<String>,
}

/// Templates, in id order (the cursor's order): every version, general and
/// merchant-specific; a merchant token sees the general ones and its own.
/// Generated ids sort by creation time; the seeded `tpl_default` sorts last.
pub fn list_templates(
    conn: &mut AnyConnection,
    who: &Principal,
    filter: TemplateFilter,
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
    if let Some(category) = filter.category {
        query = query.filter(inspection_templates::category.eq(category));
    }
    if let Some(merchant_id) = filter.merchant_id {
        query = query.filter(inspection_templates::merchant_id.eq(merchant_id));
    }
    if let Some(own) = &who.merchant_id {
        query = query.filter(
            inspection_templates::merchant_id
                .is_null()
                .or(inspection_templates::merchant_id.eq(own)),
        );
    }
    let ids: Vec<String> = query.load(conn)?;
    let templates = ids
        .iter()
        .map(|id| load_template(conn, id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(templates, page, |t| &t.id))
}

/// The template a SKU of `merchant_id` and `category` is inspected with: the
/// newest version of, in this order, the merchant's own template of the
/// category, the general one of the category, the merchant's own `default`,
/// the general `default`. The category comes before the scope because it
/// says what the goods are; the merchant's own before the general because
/// it is the merchant's agreement with the warehouse.
pub fn template_for(
    conn: &mut AnyConnection,
    merchant_id: &str,
    category: Option<&str>,
) -> Result<InspectionTemplate, AppError> {
    for candidate in [category, Some(DEFAULT_CATEGORY)].into_iter().flatten() {
        for scope in [Some(merchant_id), None] {
            let mut query = inspection_templates::table
                .filter(inspection_templates::category.eq(candidate))
                .order(inspection_templates::version.desc())
                .select(inspection_templates::id)
                .into_boxed();
            query = match scope {
                Some(merchant_id) => {
                    query.filter(inspection_templates::merchant_id.eq(merchant_id))
                }
                None => query.filter(inspection_templates::merchant_id.is_null()),
            };
            let id: Option<String> = query.first(conn).optional()?;
            if let Some(id) = id {
                return load_template(conn, &id);
            }
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
