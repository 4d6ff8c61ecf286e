//! `depot bench single`: one order per request at a fixed rate (an open
//! loop: requests leave on schedule whether or not earlier ones are back), so
//! the latency percentiles include any queueing the server causes.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

use super::client::Api;
use super::session::{self, SessionShape};
use super::stats::{grouped, ms, Percentiles};
use super::{burst, BenchServer, Progress, ServerOptions, Setting};

/// The defaults of `depot bench single` and `cargo bench`.
pub mod defaults {
    pub const RATE: u32 = 2_000;
    pub const SECONDS: u32 = 10;
    pub const CONNECTIONS: usize = 256;
}

#[derive(Debug, Clone)]
pub struct SingleOptions {
    pub server: ServerOptions,
    pub shape: SessionShape,
    /// Requests per second to offer.
    pub rate: u32,
    /// How long to offer them, after a warm-up of one second.
    pub seconds: u32,
    /// Most requests in flight at once (connections of the client).
    pub connections: usize,
    pub progress: bool,
}

impl Default for SingleOptions {
    fn default() -> Self {
        SingleOptions {
            server: ServerOptions::default(),
            shape: SessionShape::default(),
            rate: defaults::RATE,
            seconds: defaults::SECONDS,
            connections: defaults::CONNECTIONS,
            progress: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SingleReport {
    pub setting: Setting,
    pub rate: u32,
    pub offered: usize,
    pub elapsed: Duration,
    /// From the moment a request was due to leave to its answer.
    pub latency: Option<Percentiles>,
    pub created: u64,
    pub other_status: u64,
    pub failed: u64,
    pub checks: burst::Checks,
}

impl SingleReport {
    pub fn failures(&self) -> Vec<String> {
        let mut out = self.checks.failures();
        if self.failed != 0 || self.other_status != 0 {
            out.push(format!(
                "{} requests failed and {} answered other than 201",
                self.failed, self.other_status
            ));
        }
        out
    }
}

impl fmt::Display for SingleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.setting.write_header(f, "depot bench single")?;
        let achieved = self.created as f64 / self.elapsed.as_secs_f64().max(1e-9);
        writeln!(
            f,
            "  offered         {} single-order requests at {} /s; answered {} /s over {:.2} s",
            grouped(self.offered as u64),
            grouped(u64::from(self.rate)),
            grouped(achieved as u64),
            self.elapsed.as_secs_f64()
        )?;
        if let Some(p) = &self.latency {
            writeln!(
                f,
                "  latency         p50 {}  p95 {}  p99 {}  max {}  (from when each request was due)",
                ms(p.p50),
                ms(p.p95),
                ms(p.p99),
                ms(p.max)
            )?;
        }
        let c = &self.checks;
        writeln!(
            f,
            "  answers         {} created (201), {} other, {} failed; {} stored with the warm-up's, {} of them reserved",
            grouped(self.created),
            self.other_status,
            self.failed,
            grouped(c.stored_orders as u64),
            grouped(c.stored_reserved as u64)
        )?;
        writeln!(
            f,
            "  checks          {} oversold stock rows; ledger {}",
            c.oversold_rows,
            if c.ledger_ok {
                "equals stock"
            } else {
                "DIFFERS"
            }
        )?;
        let failures = self.failures();
        if failures.is_empty() {
            write!(f, "  result          OK")
        } else {
            write!(f, "  result          FAILED: {}", failures.join("; "))
        }
    }
}

#[derive(Default)]
struct Tally {
    created: u64,
    other: u64,
    failed: u64,
    latencies: Vec<Duration>,
    answered: u64,
}

pub fn run(options: &SingleOptions) -> Result<SingleReport, String> {
    let rate = options.rate.max(1);
    let warmup = rate as usize;
    let measured = rate as usize * options.seconds.max(1) as usize;
    let connections = options.connections.max(1);
    let shape = &options.shape;
    let orders = session::generate_orders(shape, warmup + measured, "ONE-");
    let stock = session::stock_for(shape, &session::demand(shape.skus, &orders));

    let mut server = BenchServer::start(&options.server)?;
    let setting = Setting::of(&server, &options.server)?;
    let api = Api::new(&server.base_url, connections);
    let admin = server.admin_token.clone();
    let floor = actix_web::rt::System::new()
        .block_on(async { session::set_up(&api, &admin, &stock).await })?;
    let bodies: Vec<Bytes> = orders
        .iter()
        .map(|o| {
            Bytes::from(
                serde_json::to_vec(&session::order_json(o, "bench-single", &floor.carrier_code))
                    .unwrap_or_default(),
            )
        })
        .collect();

    let tally = Rc::new(RefCell::new(Tally::default()));
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let mut measured_from = Instant::now();
    actix_web::rt::System::new().block_on(async {
        let start = Instant::now();
        let mut tasks = Vec::with_capacity(bodies.len());
        let mut bar = options.progress.then(|| Progress::new(measured as u64));
        for (i, body) in bodies.into_iter().enumerate() {
            let due = start + interval * i as u32;
            if i == warmup {
                measured_from = due;
            }
            let now = Instant::now();
            if due > now {
                actix_web::rt::time::sleep(due - now).await;
            }
            let (api, token, task_tally) =
                (api.clone(), floor.merchant_token.clone(), tally.clone());
            let counted = i >= warmup;
            tasks.push(actix_web::rt::spawn(async move {
                let answer = api.post_bytes("/api/v1/orders", &token, body).await;
                let took = due.elapsed();
                let mut t = task_tally.borrow_mut();
                if !counted {
                    return;
                }
                t.latencies.push(took);
                t.answered += 1;
                match answer {
                    Ok(a) if a.status == 201 => t.created += 1,
                    Ok(_) => t.other += 1,
                    Err(_) => t.failed += 1,
                }
            }));
            if let Some(bar) = bar.as_mut() {
                if i % 250 == 0 && counted {
                    bar.show(tally.borrow().answered, "orders answered");
                }
            }
        }
        for t in tasks {
            let _ = t.await;
        }
        if let Some(bar) = bar.as_mut() {
            bar.show(tally.borrow().answered, "orders answered");
            bar.finish();
        }
    });
    let elapsed = measured_from.elapsed();
    drop(api);
    server.stop();
    let mut tally = std::mem::take(&mut *tally.borrow_mut());
    let checks = {
        let mut conn = server.pool.get().map_err(|e| e.to_string())?;
        burst::check(&mut conn)?
    };
    Ok(SingleReport {
        setting,
        rate,
        offered: measured,
        elapsed,
        latency: Percentiles::of(&mut tally.latencies),
        created: tally.created,
        other_status: tally.other,
        failed: tally.failed,
        checks,
    })
}
