//! Inspection reports: every finished inspection in a time range, and the
//! quality of each merchant × SKU (pass rate, defects per check), as rows the
//! HTTP layer writes as JSON or CSV.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{
    inspection_evidence, inspection_findings, inspection_templates, inspections, lots, merchants,
    skus,
};
use crate::db::AnyConnection;
use crate::domain::access::Principal;
use crate::domain::csv::write_record;
use crate::domain::inspection::{DefectClass, Verdict};
use crate::domain::page::{Page, PageRequest};
use crate::domain::time;
use crate::error::AppError;

/// A CSV report holds at most this many inspections; narrow the range for more.
pub const MAX_CSV_INSPECTIONS: i64 = 100_000;

/// Which inspections a report covers.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    /// Finished at or after.
    pub from: Option<NaiveDateTime>,
    /// Finished before.
    pub to: Option<NaiveDateTime>,
    /// Staff: one merchant. A merchant token always sees only its own.
    pub merchant_id: Option<String>,
    pub sku_code: Option<String>,
}

/// One finished inspection.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InspectionLine {
    pub inspection_id: String,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub finished_at: NaiveDateTime,
    pub merchant_id: String,
    pub merchant_code: String,
    pub sku_id: String,
    pub sku_code: String,
    pub lot_id: String,
    pub lot_code: String,
    pub lot_size: i64,
    /// The inspection template and the version of it the inspection used.
    pub template_id: String,
    pub template_version: i32,
    pub level: String,
    pub severity: String,
    pub inspected_qty: i64,
    pub critical_defects: i64,
    pub major_defects: i64,
    pub minor_defects: i64,
    pub verdict: Verdict,
    pub supersedes_id: Option<String>,
    pub superseded_by: Option<String>,
    /// Not replaced by a finished correction: the verdict the lot follows.
    pub current: bool,
    pub evidence_count: i64,
    pub notes: Option<String>,
    /// The token that recorded the results.
    pub inspector: Option<String>,
}

const INSPECTION_CSV_HEADER: [&str; 23] = [
    "inspection_id",
    "finished_at",
    "merchant_id",
    "merchant_code",
    "sku_id",
    "sku_code",
    "lot_id",
    "lot_code",
    "lot_size",
    "level",
    "severity",
    "inspected_qty",
    "critical_defects",
    "major_defects",
    "minor_defects",
    "verdict",
    "supersedes_id",
    "superseded_by",
    "current",
    "evidence_count",
    "notes",
    "template_id",
    "template_version",
];

type FinishedRow = (
    String,
    Option<NaiveDateTime>,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

fn finished(
    conn: &mut AnyConnection,
    who: &Principal,
    filter: &ReportFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<FinishedRow>, AppError> {
    let mut query = inspections::table
        .inner_join(lots::table.inner_join(skus::table.inner_join(merchants::table)))
        .filter(inspections::status.eq("finished"))
        .select((
            inspections::id,
            inspections::finished_at,
            merchants::id,
            merchants::code,
            skus::id,
            skus::code,
            lots::id,
            lots::lot_code,
            inspections::lot_size,
            inspections::level,
            inspections::severity,
            inspections::inspected_qty,
            inspections::verdict,
            inspections::supersedes_id,
            inspections::notes,
            inspections::finished_by,
            inspections::template_id,
        ))
        .order(inspections::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(inspections::id.gt(after.to_string()));
    }
    if let Some(from) = filter.from {
        query = query.filter(inspections::finished_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(inspections::finished_at.lt(to));
    }
    if let Some(own) = &who.merchant_id {
        query = query.filter(lots::merchant_id.eq(own.clone()));
    }
    if let Some(merchant) = &filter.merchant_id {
        query = query.filter(lots::merchant_id.eq(merchant.clone()));
    }
    if let Some(code) = &filter.sku_code {
        query = query.filter(skus::code.eq(code.clone()));
    }
    Ok(query.load(conn)?)
}

/// Defects per class, evidence counts and corrections of the given inspections.
fn details(
    conn: &mut AnyConnection,
    rows: &[FinishedRow],
) -> Result<Vec<InspectionLine>, AppError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let mut defects: HashMap<String, BTreeMap<DefectClass, i64>> = HashMap::new();
    let mut evidence: HashMap<String, i64> = HashMap::new();
    let mut superseded_by: HashMap<String, (String, bool)> = HashMap::new();
    let template_ids: HashSet<&str> = rows.iter().map(|r| r.16.as_str()).collect();
    let template_ids: Vec<&str> = template_ids.into_iter().collect();
    let mut versions: HashMap<String, i32> = HashMap::new();
    for chunk in template_ids.chunks(500) {
        let found: Vec<(String, i32)> = inspection_templates::table
            .filter(inspection_templates::id.eq_any(chunk))
            .select((inspection_templates::id, inspection_templates::version))
            .load(conn)?;
        versions.extend(found);
    }
    // Chunks keep the bound parameters well under SQLite's limit.
    for chunk in ids.chunks(500) {
        let found: Vec<(String, String, i64)> = inspection_findings::table
            .filter(inspection_findings::inspection_id.eq_any(chunk))
            .select((
                inspection_findings::inspection_id,
                inspection_findings::defect_class,
                inspection_findings::defects,
            ))
            .load(conn)?;
        for (id, class, n) in found {
            if let Some(class) = DefectClass::parse(&class) {
                *defects.entry(id).or_default().entry(class).or_insert(0) += n;
            }
        }
        let cited: Vec<String> = inspection_evidence::table
            .filter(inspection_evidence::inspection_id.eq_any(chunk))
            .select(inspection_evidence::inspection_id)
            .load(conn)?;
        for id in cited {
            *evidence.entry(id).or_insert(0) += 1;
        }
        let corrections: Vec<(Option<String>, String, String)> = inspections::table
            .filter(inspections::supersedes_id.eq_any(chunk))
            .select((
                inspections::supersedes_id,
                inspections::id,
                inspections::status,
            ))
            .load(conn)?;
        for (old, new, status) in corrections {
            if let Some(old) = old {
                superseded_by.insert(old, (new, status == "finished"));
            }
        }
    }
    rows.iter()
        .map(|r| {
            let by_class = defects.get(&r.0);
            let count = |class| by_class.and_then(|m| m.get(&class)).copied().unwrap_or(0);
            let correction = superseded_by.get(&r.0);
            Ok(InspectionLine {
                inspection_id: r.0.clone(),
                finished_at: r.1.ok_or_else(|| {
                    AppError::Internal(format!("finished inspection {} has no time", r.0))
                })?,
                merchant_id: r.2.clone(),
                merchant_code: r.3.clone(),
                sku_id: r.4.clone(),
                sku_code: r.5.clone(),
                lot_id: r.6.clone(),
                lot_code: r.7.clone(),
                lot_size: r.8,
                template_id: r.16.clone(),
                template_version: versions.get(&r.16).copied().ok_or_else(|| {
                    AppError::Internal(format!("inspection {} has no template {}", r.0, r.16))
                })?,
                level: r.9.clone(),
                severity: r.10.clone(),
                inspected_qty: r.11.unwrap_or(0),
                critical_defects: count(DefectClass::Critical),
                major_defects: count(DefectClass::Major),
                minor_defects: count(DefectClass::Minor),
                verdict: r.12.as_deref().and_then(Verdict::parse).ok_or_else(|| {
                    AppError::Internal(format!("finished inspection {} has no verdict", r.0))
                })?,
                supersedes_id: r.13.clone(),
                superseded_by: correction.map(|(id, _)| id.clone()),
                current: !correction.is_some_and(|(_, finished)| *finished),
                evidence_count: evidence.get(&r.0).copied().unwrap_or(0),
                notes: r.14.clone(),
                inspector: r.15.clone(),
            })
        })
        .collect()
}

/// One page of finished inspections, ordered by id (= by start).
pub fn inspections_page(
    conn: &mut AnyConnection,
    who: &Principal,
    filter: &ReportFilter,
    page: &PageRequest,
) -> Result<Page<InspectionLine>, AppError> {
    let rows = finished(conn, who, filter, page.after.as_deref(), page.fetch())?;
    let lines = details(conn, &rows)?;
    Ok(Page::from_rows(lines, page, |l| &l.inspection_id))
}

/// Every finished inspection of the filter as CSV (RFC 4180), at most
/// [`MAX_CSV_INSPECTIONS`]; more is a 422 asking for a narrower range.
pub fn inspections_csv(
    conn: &mut AnyConnection,
    who: &Principal,
    filter: &ReportFilter,
) -> Result<String, AppError> {
    let rows = finished(conn, who, filter, None, MAX_CSV_INSPECTIONS + 1)?;
    if rows.len() as i64 > MAX_CSV_INSPECTIONS {
        return Err(AppError::field(
            "from",
            format!("the range holds more than {MAX_CSV_INSPECTIONS} inspections; narrow it"),
        ));
    }
    let mut out = String::new();
    write_record(&mut out, &INSPECTION_CSV_HEADER);
    for line in details(conn, &rows)? {
        write_record(
            &mut out,
            &[
                line.inspection_id,
                time::rfc3339(&line.finished_at),
                line.merchant_id,
                line.merchant_code,
                line.sku_id,
                line.sku_code,
                line.lot_id,
                line.lot_code,
                line.lot_size.to_string(),
                line.level,
                line.severity,
                line.inspected_qty.to_string(),
                line.critical_defects.to_string(),
                line.major_defects.to_string(),
                line.minor_defects.to_string(),
                line.verdict.as_str().to_string(),
                line.supersedes_id.unwrap_or_default(),
                line.superseded_by.unwrap_or_default(),
                line.current.to_string(),
                line.evidence_count.to_string(),
                line.notes.unwrap_or_default(),
                line.template_id,
                line.template_version.to_string(),
            ],
        );
    }
    Ok(out)
}

/// Defects found for one check over the inspections of a SKU.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckDefects {
    pub check_code: String,
    pub defect_class: DefectClass,
    pub defects: i64,
    /// Inspections in which this check found at least one defect.
    pub inspections_with_defects: i64,
}

/// The quality of one merchant × SKU over the range, counting each lot's
/// current verdict once (a corrected inspection counts as its correction).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkuQuality {
    pub merchant_id: String,
    pub merchant_code: String,
    pub sku_id: String,
    pub sku_code: String,
    pub lots_inspected: i64,
    pub lots_accepted: i64,
    pub lots_rejected: i64,
    /// lots_accepted / lots_inspected, 0 to 1, rounded to 4 decimals.
    pub pass_rate: f64,
    pub units_inspected: i64,
    pub critical_defects: i64,
    pub major_defects: i64,
    pub minor_defects: i64,
    /// Per check, in check-code order; checks that found nothing are listed with 0.
    pub checks: Vec<CheckDefects>,
}

/// Quality per merchant × SKU, one page ordered by SKU id.
pub fn quality(
    conn: &mut AnyConnection,
    who: &Principal,
    filter: &ReportFilter,
    page: &PageRequest,
) -> Result<Page<SkuQuality>, AppError> {
    let mut rows: Vec<SkuQuality> = quality_all(conn, who, filter)?
        .into_iter()
        .filter(|q| {
            page.after
                .as_deref()
                .is_none_or(|after| q.sku_id.as_str() > after)
        })
        .collect();
    rows.truncate(page.fetch() as usize);
    Ok(Page::from_rows(rows, page, |q| &q.sku_id))
}

/// Quality of every merchant × SKU the filter covers, ordered by SKU id.
pub fn quality_all(
    conn: &mut AnyConnection,
    who: &Principal,
    filter: &ReportFilter,
) -> Result<Vec<SkuQuality>, AppError> {
    let rows = finished(conn, who, filter, None, MAX_CSV_INSPECTIONS + 1)?;
    if rows.len() as i64 > MAX_CSV_INSPECTIONS {
        return Err(AppError::field(
            "from",
            format!("the range holds more than {MAX_CSV_INSPECTIONS} inspections; narrow it"),
        ));
    }
    let lines = details(conn, &rows)?;
    let current: Vec<&InspectionLine> = lines.iter().filter(|l| l.current).collect();
    let ids: Vec<&str> = current.iter().map(|l| l.inspection_id.as_str()).collect();
    let mut per_check: HashMap<String, Vec<(String, String, i64)>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let found: Vec<(String, String, String, i64)> = inspection_findings::table
            .filter(inspection_findings::inspection_id.eq_any(chunk))
            .select((
                inspection_findings::inspection_id,
                inspection_findings::check_code,
                inspection_findings::defect_class,
                inspection_findings::defects,
            ))
            .load(conn)?;
        for (id, code, class, n) in found {
            per_check.entry(id).or_default().push((code, class, n));
        }
    }
    let mut by_sku: BTreeMap<String, SkuQuality> = BTreeMap::new();
    let mut seen_checks: HashSet<(String, String)> = HashSet::new();
    for line in current {
        let q = by_sku
            .entry(line.sku_id.clone())
            .or_insert_with(|| SkuQuality {
                merchant_id: line.merchant_id.clone(),
                merchant_code: line.merchant_code.clone(),
                sku_id: line.sku_id.clone(),
                sku_code: line.sku_code.clone(),
                lots_inspected: 0,
                lots_accepted: 0,
                lots_rejected: 0,
                pass_rate: 0.0,
                units_inspected: 0,
                critical_defects: 0,
                major_defects: 0,
                minor_defects: 0,
                checks: Vec::new(),
            });
        q.lots_inspected += 1;
        match line.verdict {
            Verdict::Accepted => q.lots_accepted += 1,
            Verdict::Rejected => q.lots_rejected += 1,
        }
        q.units_inspected += line.inspected_qty;
        q.critical_defects += line.critical_defects;
        q.major_defects += line.major_defects;
        q.minor_defects += line.minor_defects;
        for (code, class, n) in per_check.get(&line.inspection_id).into_iter().flatten() {
            let Some(class) = DefectClass::parse(class) else {
                continue;
            };
            if seen_checks.insert((line.sku_id.clone(), code.clone())) {
                q.checks.push(CheckDefects {
                    check_code: code.clone(),
                    defect_class: class,
                    defects: 0,
                    inspections_with_defects: 0,
                });
            }
            if let Some(check) = q.checks.iter_mut().find(|c| c.check_code == *code) {
                check.defects += n;
                if *n > 0 {
                    check.inspections_with_defects += 1;
                }
            }
        }
    }
    Ok(by_sku
        .into_values()
        .map(|mut q| {
            q.pass_rate = pass_rate(q.lots_accepted, q.lots_inspected);
            q.checks.sort_by(|a, b| a.check_code.cmp(&b.check_code));
            q
        })
        .collect())
}

/// The quality report as CSV: one record per merchant × SKU × check.
pub fn quality_csv(items: &[SkuQuality]) -> String {
    let mut out = String::new();
    write_record(
        &mut out,
        &[
            "merchant_id",
            "merchant_code",
            "sku_id",
            "sku_code",
            "lots_inspected",
            "lots_accepted",
            "lots_rejected",
            "pass_rate",
            "units_inspected",
            "check_code",
            "defect_class",
            "defects",
            "inspections_with_defects",
        ],
    );
    for q in items {
        for check in &q.checks {
            write_record(
                &mut out,
                &[
                    q.merchant_id.clone(),
                    q.merchant_code.clone(),
                    q.sku_id.clone(),
                    q.sku_code.clone(),
                    q.lots_inspected.to_string(),
                    q.lots_accepted.to_string(),
                    q.lots_rejected.to_string(),
                    format!("{:.4}", q.pass_rate),
                    q.units_inspected.to_string(),
                    check.check_code.clone(),
                    check.defect_class.as_str().to_string(),
                    check.defects.to_string(),
                    check.inspections_with_defects.to_string(),
                ],
            );
        }
    }
    out
}

/// accepted / inspected, rounded to 4 decimals; 0 when nothing was inspected.
fn pass_rate(accepted: i64, inspected: i64) -> f64 {
    if inspected == 0 {
        return 0.0;
    }
    (accepted as f64 / inspected as f64 * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_rate_is_a_rounded_fraction() {
        assert_eq!(pass_rate(2, 3), 0.6667);
        assert_eq!(pass_rate(0, 0), 0.0);
        assert_eq!(pass_rate(5, 5), 1.0);
    }
}
