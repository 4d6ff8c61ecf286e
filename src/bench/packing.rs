//! The picking and packing step of `depot bench burst`: after the burst and
//! the batching dry run, the session's reserved orders are really batched
//! (`POST /batches`), every batch is picked in full (`GET /batches/{id}`,
//! `POST /batches/{id}/picks`) and every order packed, by K concurrent
//! clients through the API:
//!
//! - `hot_sku` and `identical` batches by batch packing (`POST
//!   /batches/{id}/parcels`, one parcel per order, one call per batch: every
//!   order of such a batch holds the same goods);
//! - the orders of `cluster` batches one per request (`POST
//!   /orders/{id}/parcels`).
//!
//! Then the ledger check and the reservation drift check run again.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::client::{text, Api};
use super::stats::grouped;
use crate::db::AnyConnection;
use crate::services::storage;

/// The batch size of the real build: the API's largest.
const BUILD_MAX_ORDERS: i64 = 1_000;
const BUILD_MAX_UNITS: i64 = 100_000;

/// What the step measured.
#[derive(Debug, Clone)]
pub struct PackingReport {
    pub clients: usize,
    pub build: Duration,
    pub batches: usize,
    pub orders_batched: u64,
    pub pick: Duration,
    pub pick_calls: usize,
    pub picked_units: i64,
    pub batch_pack: Duration,
    pub batch_pack_calls: usize,
    pub batch_parcels: usize,
    pub single_pack: Duration,
    pub single_parcels: usize,
    pub ledger_ok: bool,
    pub drifting_rows: i64,
    pub packed_orders: i64,
    pub first_error: Option<String>,
}

impl PackingReport {
    pub fn single_rate(&self) -> f64 {
        self.single_parcels as f64 / self.single_pack.as_secs_f64().max(1e-9)
    }

    pub fn batch_rate(&self) -> f64 {
        self.batch_parcels as f64 / self.batch_pack.as_secs_f64().max(1e-9)
    }

    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.ledger_ok {
            out.push("stock differs from the ledger after packing".to_string());
        }
        if self.drifting_rows > 0 {
            out.push(format!(
                "{} stock rows drift from their reservations after packing",
                self.drifting_rows
            ));
        }
        if let Some(e) = &self.first_error {
            out.push(format!("a picking or packing call failed: {e}"));
        }
        out
    }
}

/// Runs `jobs` on `clients` concurrent tasks of one client thread, each
/// with one request in flight; answers the time and the first error.
pub(super) async fn concurrently<F, Fut>(
    clients: usize,
    jobs: usize,
    job: F,
) -> (Duration, Option<String>)
where
    F: Fn(usize) -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + 'static,
{
    let next = Rc::new(Cell::new(0usize));
    let error: Rc<RefCell<Option<String>>> = Rc::new(RefCell::new(None));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let (next, error, job) = (next.clone(), error.clone(), job.clone());
        tasks.push(actix_web::rt::spawn(async move {
            loop {
                let i = next.get();
                if i >= jobs {
                    break;
                }
                next.set(i + 1);
                if let Err(e) = job(i).await {
                    error.borrow_mut().get_or_insert(e);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let took = started.elapsed();
    let first = error.borrow_mut().take();
    (took, first)
}

/// Batches, picks and packs the session through the API.
pub async fn run(
    api: &Api,
    admin: &str,
    staff: &str,
    clients: usize,
) -> Result<PackingReport, String> {
    for (code, kind) in [("PACK-BENCH", "packing"), ("DOCK-BENCH", "dispatch")] {
        api.post(
            "/api/v1/locations",
            admin,
            &json!({"code": code, "kind": kind}),
            201,
        )
        .await?;
    }
    // Batch everything (a call batches every reserved, unbatched order;
    // again until none is left), at the API's largest batch size: a live
    // session's hot SKU goes to the packing station as a stack of up to
    // 1,000 orders (the batching step above measured the default size).
    let started = Instant::now();
    let mut batches: Vec<(String, String, u64)> = Vec::new();
    loop {
        let built = api
            .post(
                "/api/v1/batches",
                staff,
                &json!({"max_orders": BUILD_MAX_ORDERS, "max_units": BUILD_MAX_UNITS}),
                201,
            )
            .await?;
        let list = built["batches"].as_array().cloned().unwrap_or_default();
        if list.is_empty() {
            break;
        }
        for b in list {
            batches.push((
                text(&b, "id")?,
                text(&b, "strategy")?,
                b["order_count"].as_u64().unwrap_or(0),
            ));
        }
    }
    let build = started.elapsed();
    let orders_batched = batches.iter().map(|b| b.2).sum();

    // Pick every batch in full; keep the orders of those packed one by one.
    let batches = Rc::new(batches);
    let singles: Rc<RefCell<Vec<String>>> = Rc::new(RefCell::new(Vec::new()));
    let units = Rc::new(Cell::new(0i64));
    let (pick, pick_error) = {
        let (api, staff, batches, singles, units) = (
            api.clone(),
            staff.to_string(),
            batches.clone(),
            singles.clone(),
            units.clone(),
        );
        concurrently(clients, batches.len(), move |i| {
            let (api, staff, batches, singles, units) = (
                api.clone(),
                staff.clone(),
                batches.clone(),
                singles.clone(),
                units.clone(),
            );
            async move {
                let (id, strategy, _) = &batches[i];
                let batch = api.get(&format!("/api/v1/batches/{id}"), &staff).await?;
                let lines: Vec<Value> = batch["lines"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|l| json!({"line_id": l["id"], "picked_qty": l["qty"]}))
                    .collect();
                let picked: i64 = lines
                    .iter()
                    .map(|l| l["picked_qty"].as_i64().unwrap_or(0))
                    .sum();
                api.post(
                    &format!("/api/v1/batches/{id}/picks"),
                    &staff,
                    &json!({ "lines": lines }),
                    200,
                )
                .await?;
                units.set(units.get() + picked);
                if strategy == "cluster" {
                    let orders = batch["orders"].as_array().cloned().unwrap_or_default();
                    singles
                        .borrow_mut()
                        .extend(orders.iter().filter_map(|o| o.as_str().map(str::to_string)));
                }
                Ok(())
            }
        })
        .await
    };

    let hot: Rc<Vec<String>> = Rc::new(
        batches
            .iter()
            .filter(|b| b.1 != "cluster")
            .map(|b| b.0.clone())
            .collect(),
    );
    let batch_parcels = Rc::new(Cell::new(0usize));
    let (batch_pack, batch_error) = {
        let (api, staff, hot, count) = (
            api.clone(),
            staff.to_string(),
            hot.clone(),
            batch_parcels.clone(),
        );
        concurrently(clients, hot.len(), move |i| {
            let (api, staff, hot, count) = (api.clone(), staff.clone(), hot.clone(), count.clone());
            async move {
                let packed = api
                    .post(
                        &format!("/api/v1/batches/{}/parcels", hot[i]),
                        &staff,
                        &json!({"weight_g": 320}),
                        201,
                    )
                    .await?;
                count.set(count.get() + packed["parcels"].as_array().map_or(0, Vec::len));
                Ok(())
            }
        })
        .await
    };

    let singles: Rc<Vec<String>> = Rc::new(std::mem::take(&mut *singles.borrow_mut()));
    let (single_pack, single_error) = {
        let (api, staff, singles) = (api.clone(), staff.to_string(), singles.clone());
        concurrently(clients, singles.len(), move |i| {
            let (api, staff, singles) = (api.clone(), staff.clone(), singles.clone());
            async move {
                api.post(
                    &format!("/api/v1/orders/{}/parcels", singles[i]),
                    &staff,
                    &json!({"weight_g": 640}),
                    201,
                )
                .await
                .map(|_| ())
            }
        })
        .await
    };

    Ok(PackingReport {
        clients,
        build,
        batches: batches.len(),
        orders_batched,
        pick,
        pick_calls: batches.len(),
        picked_units: units.get(),
        batch_pack,
        batch_pack_calls: hot.len(),
        batch_parcels: batch_parcels.get(),
        single_pack,
        single_parcels: singles.len(),
        ledger_ok: false,
        drifting_rows: 0,
        packed_orders: 0,
        first_error: pick_error.or(batch_error).or(single_error),
    })
}

/// The checks after packing: stock equals the ledger, reservations equal
/// stock's reserved column, and how many orders are packed.
pub fn check(conn: &mut AnyConnection, report: &mut PackingReport) -> Result<(), String> {
    let ledger = storage::check_ledger(conn).map_err(|e| e.to_string())?;
    report.ledger_ok = ledger.ok;
    report.drifting_rows = super::burst::count(
        conn,
        "SELECT COUNT(*) AS n FROM stock s WHERE s.reserved <> \
         (SELECT CAST(COALESCE(SUM(r.qty), 0) AS BIGINT) FROM reservations r \
          WHERE r.lot_id = s.lot_id AND r.location_id = s.location_id)",
    )?;
    report.packed_orders = super::burst::count(
        conn,
        "SELECT COUNT(*) AS n FROM orders WHERE status = 'packed'",
    )?;
    Ok(())
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

impl fmt::Display for PackingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "  batch build     {} orders -> {} batches in {} (POST /batches, created, up to 1,000 orders a batch)",
            grouped(self.orders_batched),
            grouped(self.batches as u64),
            secs(self.build)
        )?;
        writeln!(
            f,
            "  picking         {} batches, {} units in {} = {:.0} batches/s ({} clients: GET the batch, POST its picks)",
            grouped(self.pick_calls as u64),
            grouped(self.picked_units as u64),
            secs(self.pick),
            self.pick_calls as f64 / self.pick.as_secs_f64().max(1e-9),
            self.clients
        )?;
        writeln!(
            f,
            "  batch packing   {} parcels in {} calls, {} = {} parcels/s (POST /batches/{{id}}/parcels, hot_sku and identical batches)",
            grouped(self.batch_parcels as u64),
            grouped(self.batch_pack_calls as u64),
            secs(self.batch_pack),
            grouped(self.batch_rate() as u64)
        )?;
        writeln!(
            f,
            "  order packing   {} parcels, {} = {} parcels/s (POST /orders/{{id}}/parcels, one per request: cluster batches)",
            grouped(self.single_parcels as u64),
            secs(self.single_pack),
            grouped(self.single_rate() as u64)
        )?;
        write!(
            f,
            "  after packing   {} orders packed; {}; {} drifting stock rows",
            grouped(self.packed_orders as u64),
            if self.ledger_ok {
                "stock equals the ledger"
            } else {
                "STOCK DIFFERS FROM THE LEDGER"
            },
            self.drifting_rows
        )
    }
}
