//! `depot bench burst`: a live session's orders pushed in bulk by concurrent
//! clients, with deliberate retries, against a real server on a fresh
//! database; then the checks that nothing was oversold and that stock equals
//! the ledger, and the figures against the database's raw insert ceiling;
//! then the batching step ([`super::batching`]): the session's reserved
//! orders batched, timed, and compared with a FIFO baseline; at the end the
//! trace log is sealed (what the server's sealer left) and verified.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde_json::json;

use super::batching::{self, BatchingReport};
use super::client::Api;
use super::dispatch::{self, DispatchReport};
use super::packing::{self, PackingReport};
use super::raw::{self, RawCeiling};
use super::session::{self, Floor, SessionShape};
use super::stats::{grouped, ms, Percentiles};
use super::trace::{self, TraceReport};
use super::{BenchServer, Progress, ServerOptions, Setting};
use crate::db::AnyConnection;
use crate::services::storage;
use crate::services::trace_seal::{self, Verification};

/// The defaults of `depot bench burst` and `cargo bench`.
pub mod defaults {
    pub const ORDERS: usize = 100_000;
    pub const PER_REQUEST: usize = 1_000;
    pub const CLIENTS: usize = 4;
    pub const RETRY_SHARE: f64 = 0.01;
    pub const RAW_ROWS: usize = 200_000;
}

#[derive(Debug, Clone)]
pub struct BurstOptions {
    pub server: ServerOptions,
    pub shape: SessionShape,
    /// Orders of the session.
    pub orders: usize,
    /// Orders per bulk request (at most 1,000).
    pub per_request: usize,
    /// Concurrent clients, each with one request in flight.
    pub clients: usize,
    /// Share of requests sent again later, as a client retries after a timeout.
    pub retry_share: f64,
    /// Rows inserted to measure the raw ceiling.
    pub raw_rows: usize,
    pub progress: bool,
}

impl Default for BurstOptions {
    fn default() -> Self {
        BurstOptions {
            server: ServerOptions::default(),
            shape: SessionShape::default(),
            orders: defaults::ORDERS,
            per_request: defaults::PER_REQUEST,
            clients: defaults::CLIENTS,
            retry_share: defaults::RETRY_SHARE,
            raw_rows: defaults::RAW_ROWS,
            progress: true,
        }
    }
}

/// What a burst did, and what the checks found.
#[derive(Debug, Clone)]
pub struct BurstReport {
    pub setting: Setting,
    pub skus: usize,
    pub lots: usize,
    pub bins: usize,
    pub stock_units: i64,
    pub setup: Duration,
    pub orders: usize,
    pub requests: usize,
    pub retried_requests: usize,
    pub per_request: usize,
    pub clients: usize,
    pub elapsed: Duration,
    pub latency: Option<Percentiles>,
    pub reserved: u64,
    pub backordered: u64,
    pub duplicate: u64,
    pub rejected: u64,
    pub failed_requests: u64,
    pub checks: Checks,
    pub raw: RawCeiling,
    /// The session's shape, in words.
    pub session: String,
    pub batching: BatchingReport,
    /// The picking and packing step after batching.
    pub packing: PackingReport,
    /// The dispatch step after packing.
    pub dispatch: DispatchReport,
    /// From the first order sent to the last parcel handed over, with the
    /// benchmark's own measurements (batching's dry runs, the downloads).
    pub day_wall: Duration,
    /// Orders neither dispatched nor back-ordered at the end of the day.
    pub orders_left: i64,
    /// The forward trace and recall of the lot in the most parcels.
    pub trace: TraceReport,
    /// The trace log sealed and verified at the end.
    pub sealing: SealingReport,
}

impl BurstReport {
    /// The whole day's stages, in order, with their times.
    pub fn stages(&self) -> Vec<(&'static str, Duration)> {
        vec![
            ("ingest+reserve", self.elapsed),
            ("batch", self.packing.build),
            ("pick", self.packing.pick),
            ("pack", self.packing.batch_pack + self.packing.single_pack),
            ("close", self.dispatch.close),
            ("handover", self.dispatch.handover),
            ("seal the rest", self.sealing.seal_time),
        ]
    }
}

/// The last stage: what the server's sealer sealed while the session ran,
/// the time to seal the rest, and `trace verify` over all of it.
#[derive(Debug, Clone)]
pub struct SealingReport {
    /// The server's sealer ran during the burst.
    pub sealer_ran: bool,
    /// Blocks and events sealed when the server stopped.
    pub blocks_during: i64,
    pub events_during: i64,
    /// Events left to seal then, and the time it took.
    pub events_left: usize,
    pub blocks_left: usize,
    pub seal_time: Duration,
    pub verify_time: Duration,
    pub verification: Verification,
}

impl SealingReport {
    pub fn failures(&self) -> Vec<String> {
        match &self.verification.first_broken {
            None => Vec::new(),
            Some(broken) => vec![format!("the trace log does not verify: {broken}")],
        }
    }
}

impl fmt::Display for SealingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "depot bench burst: sealing")?;
        writeln!(
            f,
            "  during the run  {} events in {} blocks sealed by the server's sealer{}",
            grouped(self.events_during as u64),
            self.blocks_during,
            if self.sealer_ran {
                ""
            } else {
                " (off: --no-seal)"
            }
        )?;
        writeln!(
            f,
            "  seal the rest   {} events into {} blocks in {:.2} s",
            grouped(self.events_left as u64),
            self.blocks_left,
            self.seal_time.as_secs_f64()
        )?;
        let v = &self.verification;
        write!(
            f,
            "  trace verify    {} ({} blocks, {} events, {} unsealed; {:.2} s)",
            match &v.first_broken {
                None => "ok".to_string(),
                Some(b) => format!("BROKEN: {b}"),
            },
            v.blocks,
            grouped(v.events_sealed as u64),
            v.unsealed,
            self.verify_time.as_secs_f64()
        )
    }
}

/// Seals what the server's sealer left, timed, then verifies everything.
fn seal_and_verify(conn: &mut AnyConnection, sealer_ran: bool) -> Result<SealingReport, String> {
    let e = |e: crate::error::AppError| e.to_string();
    let blocks_during = count(conn, "SELECT COUNT(*) AS n FROM trace_blocks")?;
    let events_during = count(
        conn,
        "SELECT CAST(COALESCE(SUM(event_count), 0) AS BIGINT) AS n FROM trace_blocks",
    )?;
    let started = Instant::now();
    let (mut blocks_left, mut events_left) = (0, 0);
    loop {
        let run = trace_seal::seal(
            conn,
            crate::config::DEFAULT_TRACE_BLOCK_SIZE,
            trace_seal::sealer::MAX_BLOCKS_PER_RUN,
        )
        .map_err(e)?;
        blocks_left += run.blocks;
        events_left += run.events;
        if !run.more {
            break;
        }
    }
    let seal_time = started.elapsed();
    let started = Instant::now();
    let verification = trace_seal::verify(conn).map_err(e)?;
    Ok(SealingReport {
        sealer_ran,
        blocks_during,
        events_during,
        events_left,
        blocks_left,
        seal_time,
        verify_time: started.elapsed(),
        verification,
    })
}

impl Checks {
    /// What the database says is wrong: oversold or drifting stock rows,
    /// reserved units that are not the reserved orders', a ledger that
    /// differs from stock. Empty when none.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.oversold_rows != 0 {
            out.push(format!("{} stock rows are oversold", self.oversold_rows));
        }
        if self.drifting_rows != 0 {
            out.push(format!(
                "{} stock rows' reserved differs from their reservations",
                self.drifting_rows
            ));
        }
        if self.reserved_units != self.reserved_order_units {
            out.push(format!(
                "stock holds {} units reserved, reserved orders {}",
                self.reserved_units, self.reserved_order_units
            ));
        }
        if !self.ledger_ok {
            out.push("stock differs from the ledger".into());
        }
        out
    }
}

/// What the database says after the burst.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// Stock rows with more reserved than on hand: must be 0.
    pub oversold_rows: i64,
    /// Stock rows whose `reserved` is not the sum of their reservations: must be 0.
    pub drifting_rows: i64,
    /// Units reserved (stock) and units of reserved orders: must be equal.
    pub reserved_units: i64,
    pub reserved_order_units: i64,
    /// Orders stored, and of them reserved.
    pub stored_orders: i64,
    pub stored_reserved: i64,
    /// Rows the burst wrote: orders, lines, reservations, trace events.
    pub rows_written: i64,
    pub ledger_ok: bool,
    pub ledger_pairs: usize,
}

impl BurstReport {
    pub fn orders_per_second(&self) -> f64 {
        (self.reserved + self.backordered) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Every check that failed, in words; empty when the burst was correct.
    pub fn failures(&self) -> Vec<String> {
        let c = &self.checks;
        let mut out = c.failures();
        let new = self.reserved + self.backordered;
        if new != self.orders as u64 || c.stored_orders != self.orders as i64 {
            out.push(format!(
                "{} orders pushed, {new} answered as new, {} stored",
                self.orders, c.stored_orders
            ));
        }
        if c.stored_reserved != self.reserved as i64 {
            out.push(format!(
                "{} answered reserved, {} stored reserved",
                self.reserved, c.stored_reserved
            ));
        }
        if self.rejected != 0 || self.failed_requests != 0 {
            out.push(format!(
                "{} orders rejected, {} requests failed",
                self.rejected, self.failed_requests
            ));
        }
        out.extend(self.packing.failures());
        out.extend(self.dispatch.failures());
        if self.orders_left != 0 {
            out.push(format!(
                "{} orders are neither dispatched nor back-ordered",
                self.orders_left
            ));
        }
        out.extend(self.sealing.failures());
        out
    }
}

impl fmt::Display for BurstReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ops = self.orders_per_second();
        let raw = self.raw.rows_per_second();
        let rows_per_s = self.checks.rows_written as f64 / self.elapsed.as_secs_f64().max(1e-9);
        self.setting.write_header(f, "depot bench burst")?;
        writeln!(
            f,
            "  floor           {} SKUs, {} lots in {} bins, {} units sellable (set up through the API in {:.1} s)",
            self.skus, self.lots, self.bins, grouped(self.stock_units as u64), self.setup.as_secs_f64()
        )?;
        writeln!(
            f,
            "  session         {} orders in {} bulk requests of {} by {} clients, plus {} retried requests",
            grouped(self.orders as u64),
            self.requests,
            self.per_request,
            self.clients,
            self.retried_requests
        )?;
        writeln!(
            f,
            "  ingest+reserve  {} orders/s  ({:.2} s)",
            grouped(ops as u64),
            self.elapsed.as_secs_f64()
        )?;
        if let Some(p) = &self.latency {
            writeln!(
                f,
                "  request latency p50 {}  p95 {}  p99 {}  max {}  ({} requests)",
                ms(p.p50),
                ms(p.p95),
                ms(p.p99),
                ms(p.max),
                p.count
            )?;
        }
        writeln!(
            f,
            "  answers         {} reserved, {} backordered, {} duplicate, {} rejected; {} failed requests",
            grouped(self.reserved),
            grouped(self.backordered),
            grouped(self.duplicate),
            self.rejected,
            self.failed_requests
        )?;
        let c = &self.checks;
        writeln!(
            f,
            "  oversell check  {} oversold stock rows, {} drifting; {} units reserved = {} units of reserved orders",
            c.oversold_rows,
            c.drifting_rows,
            grouped(c.reserved_units as u64),
            grouped(c.reserved_order_units as u64)
        )?;
        writeln!(
            f,
            "  ledger check    {} ({} lot × location pairs)",
            if c.ledger_ok {
                "stock equals the ledger"
            } else {
                "STOCK DIFFERS FROM THE LEDGER"
            },
            c.ledger_pairs
        )?;
        writeln!(
            f,
            "  raw ceiling     {} rows/s ({} rows, {}-row INSERTs, one connection)",
            grouped(raw as u64),
            grouped(self.raw.rows as u64),
            raw::ROWS_PER_INSERT
        )?;
        writeln!(
            f,
            "  ratio           orders/s ÷ raw rows/s = {:.3}; depot wrote {} rows ({:.1} per order) at {} rows/s = {:.2} of raw",
            ops / raw.max(1e-9),
            grouped(c.rows_written as u64),
            c.rows_written as f64 / self.orders.max(1) as f64,
            grouped(rows_per_s as u64),
            rows_per_s / raw.max(1e-9)
        )?;
        writeln!(f, "  shape           {}", self.session)?;
        writeln!(f, "{}", self.batching)?;
        writeln!(f, "{}", self.packing)?;
        let raw = self.raw.rows_per_second();
        writeln!(
            f,
            "  packing ratio   order packing parcels/s ÷ raw rows/s = {:.3}; batch packing {:.3}",
            self.packing.single_rate() / raw.max(1e-9),
            self.packing.batch_rate() / raw.max(1e-9)
        )?;
        writeln!(f, "{}", self.dispatch)?;
        writeln!(
            f,
            "  dispatch ratio  handover parcels/s ÷ raw rows/s = {:.3}",
            self.dispatch.handover_rate() / raw.max(1e-9)
        )?;
        writeln!(f, "{}", self.trace)?;
        writeln!(f, "{}", self.sealing)?;
        let stages = self.stages();
        let total: Duration = stages.iter().map(|(_, d)| *d).sum();
        writeln!(f, "the whole day")?;
        for (name, took) in &stages {
            writeln!(
                f,
                "  {name:<15} {:>7.2} s  ({:>4.1} %)",
                took.as_secs_f64(),
                100.0 * took.as_secs_f64() / total.as_secs_f64().max(1e-9)
            )?;
        }
        writeln!(
            f,
            "  stages          {:>7.2} s; wall {:.2} s with the benchmark's own measuring (dry runs, downloads)",
            total.as_secs_f64(),
            self.day_wall.as_secs_f64()
        )?;
        writeln!(
            f,
            "  day checks      {} oversold rows; ledger {}; trace verify {}; {} orders neither dispatched nor back-ordered",
            self.checks.oversold_rows,
            if self.checks.ledger_ok && self.packing.ledger_ok && self.dispatch.ledger_ok {
                "equal after every stage"
            } else {
                "DIFFERS"
            },
            if self.sealing.verification.first_broken.is_none() {
                "ok"
            } else {
                "BROKEN"
            },
            self.orders_left
        )?;
        let failures = self.failures();
        if failures.is_empty() {
            write!(f, "  result          OK: nothing oversold, nothing lost")
        } else {
            write!(f, "  result          FAILED: {}", failures.join("; "))
        }
    }
}

/// One request to send: which bulk body, and whether it is a retry.
#[derive(Debug, Clone, Copy)]
struct Send {
    body: usize,
    retry: bool,
}

#[derive(Deserialize)]
struct BulkAnswer {
    results: Vec<BulkResult>,
}

#[derive(Deserialize)]
struct BulkResult {
    status: String,
}

#[derive(Default)]
struct Tally {
    reserved: u64,
    backordered: u64,
    duplicate: u64,
    rejected: u64,
    failed: u64,
    first_error: Option<String>,
    latencies: Vec<Duration>,
    answered_orders: u64,
}

pub fn run(options: &BurstOptions) -> Result<BurstReport, String> {
    let per_request = options
        .per_request
        .clamp(1, crate::domain::orders::MAX_BULK);
    let client_count = options.clients.max(1);
    let shape = &options.shape;
    let orders = session::generate_orders(shape, options.orders, "BURST-");
    let stock = session::stock_for(shape, &session::demand(shape.skus, &orders));

    let mut server = BenchServer::start(&options.server)?;
    let setting = Setting::of(&server, &options.server)?;
    let setup_started = Instant::now();
    let api = Api::new(&server.base_url, options.clients.max(1) + 2);
    let admin = server.admin_token.clone();
    let floor: Floor = actix_web::rt::System::new()
        .block_on(async { session::set_up(&api, &admin, &stock).await })?;
    let setup = setup_started.elapsed();

    let raw = {
        let mut conn = server.pool.get().map_err(|e| e.to_string())?;
        raw::measure(&mut conn, options.raw_rows).map_err(|e| e.to_string())?
    };

    // The requests, serialised before the clock starts; retries re-send an
    // earlier body unchanged.
    let bodies: Vec<Bytes> = orders
        .chunks(per_request)
        .map(|chunk| {
            let list: Vec<_> = chunk
                .iter()
                .map(|o| session::order_json(o, "bench-night", &floor.carrier_code))
                .collect();
            Bytes::from(serde_json::to_vec(&json!({ "orders": list })).unwrap_or_default())
        })
        .collect();
    let sizes: Vec<u64> = orders.chunks(per_request).map(|c| c.len() as u64).collect();
    let mut rng = StdRng::seed_from_u64(shape.seed ^ 0x5e55_1011);
    let mut sends = Vec::with_capacity(bodies.len() * 2);
    for body in 0..bodies.len() {
        sends.push(Send { body, retry: false });
        if body > 0 && rng.random::<f64>() < options.retry_share {
            sends.push(Send {
                body: rng.random_range(0..body),
                retry: true,
            });
        }
    }
    let retried_requests = sends.iter().filter(|s| s.retry).count();
    let total_answers: u64 = sends.iter().map(|s| sizes[s.body]).sum();

    let tally = Rc::new(RefCell::new(Tally::default()));
    let started = Instant::now();
    actix_web::rt::System::new().block_on(async {
        let next = Rc::new(Cell::new(0usize));
        let finished = Rc::new(Cell::new(0usize));
        let sends = Rc::new(sends);
        let bodies = Rc::new(bodies);
        let mut clients = Vec::new();
        for _ in 0..client_count {
            let (api, token) = (api.clone(), floor.merchant_token.clone());
            let (next, finished, sends, bodies, tally) = (
                next.clone(),
                finished.clone(),
                sends.clone(),
                bodies.clone(),
                tally.clone(),
            );
            let sizes = sizes.clone();
            clients.push(actix_web::rt::spawn(async move {
                loop {
                    let i = next.get();
                    if i >= sends.len() {
                        break;
                    }
                    next.set(i + 1);
                    let send = sends[i];
                    let sent = Instant::now();
                    let answer = api
                        .post_bytes("/api/v1/orders/bulk", &token, bodies[send.body].clone())
                        .await;
                    let took = sent.elapsed();
                    let mut t = tally.borrow_mut();
                    t.latencies.push(took);
                    t.answered_orders += sizes[send.body];
                    match answer.and_then(|a| {
                        if a.status == 200 {
                            serde_json::from_slice::<BulkAnswer>(&a.body).map_err(|e| e.to_string())
                        } else {
                            Err(format!(
                                "status {}: {}",
                                a.status,
                                String::from_utf8_lossy(&a.body)
                            ))
                        }
                    }) {
                        Ok(answer) => {
                            for r in answer.results {
                                match r.status.as_str() {
                                    "reserved" => t.reserved += 1,
                                    "backordered" => t.backordered += 1,
                                    "duplicate" => t.duplicate += 1,
                                    _ => t.rejected += 1,
                                }
                            }
                        }
                        Err(e) => {
                            t.failed += 1;
                            t.first_error.get_or_insert(e);
                        }
                    }
                }
                finished.set(finished.get() + 1);
            }));
        }
        if options.progress {
            let tally = tally.clone();
            let finished = finished.clone();
            let clients_n = clients.len();
            actix_web::rt::spawn(async move {
                let mut bar = Progress::new(total_answers);
                while finished.get() < clients_n {
                    bar.show(tally.borrow().answered_orders, "orders answered");
                    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
                }
                bar.show(tally.borrow().answered_orders, "orders answered");
                bar.finish();
            });
        }
        for c in clients {
            let _ = c.await;
        }
        // Let the progress bar draw its last line.
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
    });
    let elapsed = started.elapsed();

    let mut tally = std::mem::take(&mut *tally.borrow_mut());
    if let Some(e) = &tally.first_error {
        log::error!("a bulk request failed: {e}");
    }
    let (checks, batching) = {
        let mut conn = server.pool.get().map_err(|e| e.to_string())?;
        let checks = check(&mut conn)?;
        (checks, batching::measure(&mut conn)?)
    };
    // Then the session really leaves: batched, picked and packed through the API.
    let mut packing = actix_web::rt::System::new().block_on(packing::run(
        &api,
        &admin,
        &floor.staff_token,
        client_count,
    ))?;
    {
        let mut conn = server.pool.get().map_err(|e| e.to_string())?;
        packing::check(&mut conn, &mut packing)?;
    }
    // Then it is handed to the carrier: close, download, handover.
    let mut dispatch = actix_web::rt::System::new().block_on(dispatch::run(
        &api,
        &floor.staff_token,
        client_count,
        &server.database.url,
    ))?;
    let day_wall = started.elapsed();
    // After the day: the lot in the most parcels, traced and recalled.
    let lot = {
        let mut conn = server.pool.get().map_err(|e| e.to_string())?;
        trace::settle_statistics(&mut conn)?;
        trace::most_parcelled_lot(&mut conn)?
    };
    let trace = actix_web::rt::System::new().block_on(trace::run(&api, &floor.staff_token, lot))?;
    drop(api);
    server.stop();
    let orders_left = {
        let mut conn = server.pool.get().map_err(|e| e.to_string())?;
        dispatch::check(&mut conn, &mut dispatch)?;
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM orders WHERE status NOT IN ('dispatched', 'backordered')",
        )?
    };
    let sealing = {
        let mut conn = server.pool.get().map_err(|e| e.to_string())?;
        seal_and_verify(&mut conn, options.server.seal)?
    };
    let latency = Percentiles::of(&mut tally.latencies);
    Ok(BurstReport {
        setting,
        skus: shape.skus,
        lots: floor.lots,
        bins: floor.bins,
        stock_units: stock.iter().sum(),
        setup,
        orders: orders.len(),
        requests: sizes.len(),
        retried_requests,
        per_request,
        clients: client_count,
        elapsed,
        latency,
        reserved: tally.reserved,
        backordered: tally.backordered,
        duplicate: tally.duplicate,
        rejected: tally.rejected,
        failed_requests: tally.failed,
        checks,
        raw,
        session: shape.describe(),
        batching,
        packing,
        dispatch,
        day_wall,
        orders_left,
        trace,
        sealing,
    })
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub(super) fn count(conn: &mut AnyConnection, sql: &str) -> Result<i64, String> {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .map(|c| c.n)
        .map_err(|e| format!("{sql}: {e}"))
}

/// The checks after a burst, read from the database itself.
pub fn check(conn: &mut AnyConnection) -> Result<Checks, String> {
    let ledger = storage::check_ledger(conn).map_err(|e| e.to_string())?;
    Ok(Checks {
        oversold_rows: count(
            conn,
            "SELECT COUNT(*) AS n FROM stock WHERE reserved > on_hand OR reserved < 0",
        )?,
        drifting_rows: count(
            conn,
            "SELECT COUNT(*) AS n FROM stock s WHERE s.reserved <> \
             (SELECT CAST(COALESCE(SUM(r.qty), 0) AS BIGINT) FROM reservations r \
              WHERE r.lot_id = s.lot_id AND r.location_id = s.location_id)",
        )?,
        reserved_units: count(
            conn,
            "SELECT CAST(COALESCE(SUM(reserved), 0) AS BIGINT) AS n FROM stock",
        )?,
        reserved_order_units: count(
            conn,
            "SELECT CAST(COALESCE(SUM(units), 0) AS BIGINT) AS n FROM orders WHERE status = 'reserved'",
        )?,
        stored_orders: count(conn, "SELECT COUNT(*) AS n FROM orders")?,
        stored_reserved: count(
            conn,
            "SELECT COUNT(*) AS n FROM orders WHERE status = 'reserved'",
        )?,
        rows_written: count(
            conn,
            "SELECT (SELECT COUNT(*) FROM orders) + (SELECT COUNT(*) FROM order_lines) \
             + (SELECT COUNT(*) FROM reservations) \
             + (SELECT COUNT(*) FROM trace_events WHERE biz_tx_type IS NOT NULL \
                AND biz_tx_id LIKE '%order%') AS n",
        )?,
        ledger_ok: ledger.ok,
        ledger_pairs: ledger.pairs,
    })
}
