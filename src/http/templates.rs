//! `/api/v1/inspection-templates`: what inspectors check on a SKU category,
//! how each check's defects are classed, and the AQLs and level of the plan.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::{Caller, StaffOnly, StaffOrMerchant};
use super::body::Json;
use super::query::ListQuery;
use super::{ItemList, PageQuery};
use crate::db::{self, DbPool};
use crate::domain::inspection::DefectClass;
use crate::domain::sampling::{Aql, InspectionLevel};
use crate::domain::text::{parse_code, parse_text};
use crate::error::{check_field, validated, AppError, FieldError};
use crate::services::catalog::{
    self, check_template_checks, AqlByClass, InspectionCheck, InspectionTemplate, NewTemplate,
    TemplateFilter,
};

/// A template has at least one check and at most this many.
pub const MAX_CHECKS: usize = 100;
/// The longest check description, in characters.
pub const MAX_DESCRIPTION: usize = 500;

/// The defaults when a template names none: critical defects reject at any
/// count, and AQL 2.5 (major) and 4.0 (minor), customary for consumer goods;
/// general inspection level II (ISO 2859-1 clause 10.1).
const DEFAULT_AQL: [&str; 3] = ["0", "2.5", "4.0"];
const DEFAULT_LEVEL: &str = "II";

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplate {
    /// SKUs whose `category` is this are inspected with the template; the
    /// newest version of a category is used. `default` serves SKUs whose
    /// category has none. A template for a (category, scope) that has one is
    /// its next version.
    pub category: String,
    /// Scope the template to one merchant: it then serves that merchant's
    /// SKUs, in place of the general template of the category.
    pub merchant_id: Option<String>,
    /// 1 to 100 checks with distinct codes, in the order inspectors work through them.
    pub checks: Vec<CreateCheck>,
    /// Default: critical `0`, major `2.5`, minor `4.0`.
    pub aql: Option<CreateAql>,
    /// ISO 2859-1 inspection level: S1..S4, I, II or III (default II).
    pub level: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCheck {
    /// What findings name: `check_code` of an inspection result.
    pub code: String,
    /// What to look for, at most 500 characters.
    pub description: String,
    /// critical, major or minor.
    #[schema(value_type = DefectClass)]
    pub defect_class: String,
}

/// AQL per defect class: `0` (any defect of the class rejects the lot) or
/// one of ISO 2859-1's preferred AQLs 0.010 … 10, as a string or a number.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAql {
    /// Default `0`.
    pub critical: Option<AqlValue>,
    /// Default `2.5`.
    pub major: Option<AqlValue>,
    /// Default `4.0`.
    pub minor: Option<AqlValue>,
}

#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AqlValue {
    Text(String),
    Number(f64),
}

/// A template's AQL for one class, as stored: `0`, or the AQL as ISO 2859-1's
/// tables print it (`2.50` → `2.5`, `4` → `4.0`).
fn parse_template_aql(value: Option<AqlValue>, default: &str) -> Result<String, String> {
    let raw = match value {
        None => return Ok(default.to_string()),
        Some(AqlValue::Text(text)) => text,
        // f64's Display is the shortest text that reads back as the same number.
        Some(AqlValue::Number(n)) => n.to_string(),
    };
    if is_zero(&raw) {
        return Ok("0".to_string());
    }
    Aql::parse(&raw)
        .map(|aql| aql.as_str().to_string())
        .map_err(|e| format!("must be 0 (any defect rejects the lot) or a preferred AQL: {e}"))
}

/// `0`, `0.0`, `0,00`…: zero written as Aql::parse writes numbers.
fn is_zero(raw: &str) -> bool {
    let text = raw.trim();
    let marks = text.matches(['.', ',']).count();
    text.starts_with('0') && marks <= 1 && text.chars().all(|c| matches!(c, '0' | '.' | ','))
}

impl CreateTemplate {
    /// Every field checked; all offending fields reported together.
    fn parse(self) -> Result<NewTemplate, AppError> {
        let mut errors = Vec::new();
        let category = check_field(&mut errors, "category", parse_code(&self.category));
        let merchant_id = match self.merchant_id.map(|m| m.trim().to_string()) {
            Some(m) if m.is_empty() => {
                errors.push(FieldError::new(
                    "merchant_id",
                    "must be a merchant id, or left out for a general template",
                ));
                None
            }
            other => other,
        };
        if self.checks.len() > MAX_CHECKS {
            errors.push(FieldError::new(
                "checks",
                format!("must have at most {MAX_CHECKS} checks"),
            ));
        }
        let mut checks = Vec::with_capacity(self.checks.len());
        for (i, check) in self.checks.into_iter().enumerate() {
            let code = check_field(
                &mut errors,
                &format!("checks[{i}].code"),
                parse_code(&check.code),
            );
            let description = check_field(
                &mut errors,
                &format!("checks[{i}].description"),
                parse_text(&check.description, MAX_DESCRIPTION),
            );
            let defect_class = check_field(
                &mut errors,
                &format!("checks[{i}].defect_class"),
                DefectClass::parse(check.defect_class.trim())
                    .ok_or_else(|| "must be critical, major or minor".to_string()),
            );
            checks.push(InspectionCheck {
                code: code.unwrap_or_else(|| check.code.trim().to_string()),
                description: description.unwrap_or_default(),
                defect_class: defect_class.unwrap_or(DefectClass::Minor),
            });
        }
        // Distinct codes and at least one check; a code already reported as
        // malformed is not reported again as a duplicate.
        for error in check_template_checks(&checks) {
            if !errors.iter().any(|e| e.field == error.field) {
                errors.push(error);
            }
        }
        let (critical, major, minor) = match self.aql {
            Some(aql) => (aql.critical, aql.major, aql.minor),
            None => (None, None, None),
        };
        let [default_critical, default_major, default_minor] = DEFAULT_AQL;
        let critical = check_field(
            &mut errors,
            "aql.critical",
            parse_template_aql(critical, default_critical),
        );
        let major = check_field(
            &mut errors,
            "aql.major",
            parse_template_aql(major, default_major),
        );
        let minor = check_field(
            &mut errors,
            "aql.minor",
            parse_template_aql(minor, default_minor),
        );
        let level = check_field(
            &mut errors,
            "level",
            InspectionLevel::parse(self.level.as_deref().unwrap_or(DEFAULT_LEVEL))
                .map(|l| l.as_str().to_string())
                .map_err(|e| e.to_string()),
        );
        validated(errors)?;
        Ok(NewTemplate {
            category: category.unwrap_or_default(),
            merchant_id,
            checks,
            aql: AqlByClass {
                critical: critical.unwrap_or_default(),
                major: major.unwrap_or_default(),
                minor: minor.unwrap_or_default(),
            },
            level: level.unwrap_or_default(),
        })
    }
}

/// Create an inspection template, general or for one merchant. Templates are
/// never edited: a new one for the same category and scope is its next
/// version and takes over for inspections started after it.
#[utoipa::path(tag = "inspection", request_body = CreateTemplate, responses((status = 201, body = InspectionTemplate)))]
#[post("/inspection-templates")]
pub async fn create_template(
    who: Caller<StaffOnly>,
    pool: web::Data<DbPool>,
    body: Json<CreateTemplate>,
) -> Result<HttpResponse, AppError> {
    let new = body.into_inner().parse()?;
    let who = who.into_principal();
    let template = db::run(&pool, move |c| catalog::create_template(c, &who, new)).await?;
    Ok(HttpResponse::Created().json(template))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplateQuery {
    /// Only templates of this category.
    pub category: Option<String>,
    /// Only the templates scoped to this merchant.
    pub merchant_id: Option<String>,
}

/// List inspection templates in id order (every version), optionally of one
/// category or merchant; a merchant token sees the general ones and its own.
#[utoipa::path(tag = "inspection", params(PageQuery, TemplateQuery), responses((status = 200, body = ItemList<InspectionTemplate>)))]
#[get("/inspection-templates")]
pub async fn list_templates(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    query: ListQuery<TemplateQuery>,
) -> Result<HttpResponse, AppError> {
    let page = query.page;
    let category = match query.filter.category {
        Some(c) => Some(parse_code(&c).map_err(|m| AppError::field("category", m))?),
        None => None,
    };
    let filter = TemplateFilter {
        category,
        merchant_id: query.filter.merchant_id.filter(|m| !m.trim().is_empty()),
    };
    let who = who.into_principal();
    let found = db::run(&pool, move |c| {
        catalog::list_templates(c, &who, filter, &page)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ItemList::from(found)))
}

/// One inspection template, of any version; another merchant's is a 404.
#[utoipa::path(tag = "inspection", params(("id" = String, Path, description = "template id")), responses((status = 200, body = InspectionTemplate)))]
#[get("/inspection-templates/{id}")]
pub async fn get_template(
    who: Caller<StaffOrMerchant>,
    pool: web::Data<DbPool>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let who = who.into_principal();
    let template = db::run(&pool, move |c| catalog::get_template(c, &who, &id)).await?;
    Ok(HttpResponse::Ok().json(template))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Option<AqlValue> {
        Some(AqlValue::Text(s.to_string()))
    }

    #[test]
    fn aqls_default_and_are_written_as_the_tables_print_them() {
        assert_eq!(parse_template_aql(None, "2.5"), Ok("2.5".into()));
        assert_eq!(parse_template_aql(text("2.50"), "x"), Ok("2.5".into()));
        assert_eq!(parse_template_aql(text("4"), "x"), Ok("4.0".into()));
        assert_eq!(parse_template_aql(text(" 0,65 "), "x"), Ok("0.65".into()));
        assert_eq!(
            parse_template_aql(Some(AqlValue::Number(1.5)), "x"),
            Ok("1.5".into())
        );
        assert_eq!(
            parse_template_aql(Some(AqlValue::Number(10.0)), "x"),
            Ok("10".into())
        );
    }

    #[test]
    fn zero_means_any_defect_rejects() {
        for zero in ["0", "0.0", "0,00", " 0 "] {
            assert_eq!(
                parse_template_aql(text(zero), "x"),
                Ok("0".into()),
                "{zero}"
            );
        }
        assert_eq!(
            parse_template_aql(Some(AqlValue::Number(0.0)), "x"),
            Ok("0".into())
        );
    }

    #[test]
    fn other_aqls_are_refused() {
        for bad in ["3.0", "-0", ".", "0.0.0", "00x", "", "15", "abc"] {
            assert!(parse_template_aql(text(bad), "x").is_err(), "{bad}");
        }
        assert!(parse_template_aql(Some(AqlValue::Number(-1.0)), "x").is_err());
    }

    fn check(code: &str, class: &str) -> CreateCheck {
        CreateCheck {
            code: code.into(),
            description: "Look".into(),
            defect_class: class.into(),
        }
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let template = CreateTemplate {
            category: "bad category".into(),
            merchant_id: None,
            checks: vec![check("a", "major"), check("a", "fatal"), check("", "minor")],
            aql: Some(CreateAql {
                critical: None,
                major: text("3.0"),
                minor: None,
            }),
            level: Some("IV".into()),
        };
        let Err(AppError::Validation(errors)) = template.parse() else {
            panic!("expected a validation error");
        };
        let mut fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "aql.major",
                "category",
                "checks[1].code",
                "checks[1].defect_class",
                "checks[2].code",
                "level"
            ]
        );
    }

    #[test]
    fn defaults_fill_what_is_left_out() {
        let template = CreateTemplate {
            category: "cosmetics".into(),
            merchant_id: None,
            checks: vec![check("seal", "critical")],
            aql: None,
            level: Some("s-2".into()),
        }
        .parse()
        .unwrap();
        assert_eq!(
            (
                template.aql.critical.as_str(),
                template.aql.major.as_str(),
                template.aql.minor.as_str(),
                template.level.as_str()
            ),
            ("0", "2.5", "4.0", "S2")
        );
    }

    #[test]
    fn checks_are_bounded() {
        let none = CreateTemplate {
            category: "c".into(),
            merchant_id: None,
            checks: vec![],
            aql: None,
            level: None,
        };
        assert!(matches!(none.parse(), Err(AppError::Validation(e)) if e[0].field == "checks"));
        let many = CreateTemplate {
            category: "c".into(),
            merchant_id: None,
            checks: (0..=MAX_CHECKS)
                .map(|i| check(&format!("c{i}"), "minor"))
                .collect(),
            aql: None,
            level: None,
        };
        assert!(matches!(many.parse(), Err(AppError::Validation(e)) if e[0].field == "checks"));
    }
}
