//! The trace step of `depot bench burst`, after the day: the lot that
//! reached the most parcels is traced forward and recalled through the API,
//! and its recall list read as JSON and CSV, each timed end to end (the
//! request, the server's reads, the answer's transfer and parsing).
//! Measured outside the day's stages: a recall is not part of a live
//! session.

use std::fmt;
use std::time::{Duration, Instant};

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::{json, Value};

use super::client::{text, Api};
use super::stats::grouped;
use crate::db::AnyConnection;
use crate::domain::returns::SHIPPED_PARCEL_STATES;

/// What the step measured.
#[derive(Debug, Clone, Default)]
pub struct TraceReport {
    pub lot_id: String,
    /// Parcels that carried the lot, as the recall list counts them
    /// (parcels taken off a manifest and packed again too).
    pub parcels: usize,
    /// Of them, parcels handed over to a carrier (or further).
    pub shipped_parcels: usize,
    pub forward: Duration,
    /// Units the forward trace counts as shipped.
    pub shipped_units: i64,
    pub recall: Duration,
    pub list_json: Duration,
    pub list_json_bytes: usize,
    pub list_csv: Duration,
    pub list_csv_bytes: usize,
}

#[derive(QueryableByName)]
struct LotId {
    #[diesel(sql_type = Text)]
    lot_id: String,
}

/// PostgreSQL plans from table statistics, which autovacuum gathers a
/// minute or so after a table changes much; the day has just written
/// every parcel, so they are gathered here (`ANALYZE`) as a warehouse's
/// database has them by the time anybody traces. SQLite: nothing to do.
pub fn settle_statistics(conn: &mut AnyConnection) -> Result<(), String> {
    if conn.backend() == crate::db::Backend::Postgres {
        diesel::sql_query("ANALYZE")
            .execute(conn)
            .map_err(|e| format!("ANALYZE: {e}"))?;
    }
    Ok(())
}

/// The lot in the most parcels (None: no parcel at all).
pub fn most_parcelled_lot(conn: &mut AnyConnection) -> Result<Option<String>, String> {
    let sql = "SELECT lot_id FROM parcel_lines GROUP BY lot_id \
               ORDER BY COUNT(DISTINCT parcel_id) DESC, lot_id LIMIT 1";
    let found: Vec<LotId> = diesel::sql_query(sql)
        .load(conn)
        .map_err(|e| format!("{sql}: {e}"))?;
    Ok(found.into_iter().next().map(|l| l.lot_id))
}

/// Traces and recalls `lot_id` (None: no parcel left the warehouse, so
/// nothing to measure).
pub async fn run(api: &Api, staff: &str, lot_id: Option<String>) -> Result<TraceReport, String> {
    let Some(lot_id) = lot_id else {
        return Ok(TraceReport::default());
    };
    let mut report = TraceReport {
        lot_id: lot_id.clone(),
        ..TraceReport::default()
    };
    let started = Instant::now();
    let forward = api
        .get(&format!("/api/v1/trace/lots/{lot_id}/forward"), staff)
        .await?;
    report.forward = started.elapsed();
    report.shipped_units = forward["totals"]["shipped"].as_i64().unwrap_or(0);

    let started = Instant::now();
    let recall = api
        .post(
            &format!("/api/v1/lots/{lot_id}/recall"),
            staff,
            &json!({"reason": "bench: 召回 the most shipped lot", "open_orders": "backorder"}),
            201,
        )
        .await?;
    report.recall = started.elapsed();
    let recall_id = text(&recall, "id")?;

    let started = Instant::now();
    let list = api
        .get_bytes(&format!("/api/v1/recalls/{recall_id}"), staff)
        .await?;
    report.list_json_bytes = list.body.len();
    let list: Value = list.json()?;
    report.list_json = started.elapsed();
    for group in list["parcels"].as_array().into_iter().flatten() {
        let n = group["parcels"].as_array().map_or(0, Vec::len);
        report.parcels += n;
        if SHIPPED_PARCEL_STATES.contains(&group["status"].as_str().unwrap_or_default()) {
            report.shipped_parcels += n;
        }
    }

    let started = Instant::now();
    let csv = api
        .get_bytes(&format!("/api/v1/recalls/{recall_id}.csv"), staff)
        .await?;
    report.list_csv = started.elapsed();
    report.list_csv_bytes = csv.body.len();
    let rows = csv.body.iter().filter(|b| **b == b'\n').count();
    if rows != report.parcels + 1 {
        return Err(format!(
            "the recall list's CSV has {rows} lines for {} parcels (and a header)",
            report.parcels
        ));
    }
    Ok(report)
}

impl fmt::Display for TraceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "trace (after the day, the lot that reached the most parcels):"
        )?;
        if self.lot_id.is_empty() {
            return writeln!(f, "  no parcel left the warehouse: nothing traced");
        }
        let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
        writeln!(
            f,
            "  forward trace   {} parcels ({} handed over), {} units shipped: GET /trace/lots/{{id}}/forward in {:.0} ms",
            grouped(self.parcels as u64),
            grouped(self.shipped_parcels as u64),
            grouped(self.shipped_units.max(0) as u64),
            self.forward.as_secs_f64() * 1e3
        )?;
        writeln!(
            f,
            "  recall          POST /lots/{{id}}/recall in {:.0} ms",
            self.recall.as_secs_f64() * 1e3
        )?;
        write!(
            f,
            "  recall list     JSON {:.1} MiB in {:.0} ms, CSV {:.1} MiB in {:.0} ms",
            mib(self.list_json_bytes),
            self.list_json.as_secs_f64() * 1e3,
            mib(self.list_csv_bytes),
            self.list_csv.as_secs_f64() * 1e3
        )
    }
}
