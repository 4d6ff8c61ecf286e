//! The batching step of `depot bench burst`, after the burst: the session's
//! reserved orders batched through the real service path — a dry run of
//! `POST /api/v1/batches` ([`batching::build`] with `dry_run`, which loads
//! every reserved, unbatched order with its reservations and plans the
//! batches, and creates nothing) — timed whole; then the same orders, as the
//! service loads them ([`batching::open_orders`]), planned again by depot
//! and by the FIFO baseline (fixed-size batches in order-time order, same
//! limits, same carrier separation), and the quality of both.
//!
//! Quality: **location visits per order** — the distinct bins of each batch
//! (each one a stop of the picker), summed over the batches, per order — and
//! **aisles entered per batch** — how often the aisle changes walking a
//! batch's pick list in walk order. The bench's bins are numbered along the
//! walk and every 20 consecutive bins are one aisle ([`super::session::aisle_of`]).

use std::fmt;
use std::time::{Duration, Instant};

use crate::db::AnyConnection;
use crate::domain::access::{Principal, Role};
use crate::domain::batching::{self as plan, Options, Quality, Strategy};
use crate::services::batching::{self, BuildOptions};

use super::stats::grouped;

/// What the batching step measured.
#[derive(Debug, Clone)]
pub struct BatchingReport {
    /// Reserved orders batched (the back-ordered ones wait for stock).
    pub orders: usize,
    /// The dry run of `POST /api/v1/batches` through the service: load + plan.
    pub dry_run: Duration,
    pub dry_run_batches: usize,
    /// Loading the orders and their reservations alone.
    pub load: Duration,
    /// Planning alone (the pure `build_batches`), on the loaded orders.
    pub plan: Duration,
    /// Planning the FIFO baseline on the same orders.
    pub fifo_plan: Duration,
    pub depot: Quality,
    pub fifo: Quality,
    /// (strategy, batches, orders) of depot's batches.
    pub strategies: Vec<(Strategy, usize, usize)>,
}

impl BatchingReport {
    /// FIFO's location visits per order ÷ depot's: how many times fewer stops.
    pub fn location_ratio(&self) -> f64 {
        self.fifo.locations_per_order() / self.depot.locations_per_order().max(1e-9)
    }

    /// FIFO's aisle entries per order ÷ depot's (per order, since the two
    /// make different numbers of batches).
    pub fn aisle_ratio(&self) -> f64 {
        let per_order = |q: &Quality| q.aisle_entries as f64 / q.orders.max(1) as f64;
        per_order(&self.fifo) / per_order(&self.depot).max(1e-9)
    }
}

/// Runs the step on the database the burst filled.
pub fn measure(conn: &mut AnyConnection) -> Result<BatchingReport, String> {
    let staff = Principal {
        token_id: "bench".into(),
        role: Role::Staff,
        merchant_id: None,
        carrier_id: None,
    };
    let options = Options::default();
    let started = Instant::now();
    let dry = batching::build(
        conn,
        &staff,
        BuildOptions {
            max_orders: options.max_orders,
            max_units: options.max_units,
            carrier_code: None,
            dry_run: true,
        },
    )
    .map_err(|e| format!("the dry run of POST /batches: {e}"))?;
    let dry_run = started.elapsed();

    let started = Instant::now();
    let orders = batching::open_orders(conn).map_err(|e| e.to_string())?;
    let load = started.elapsed();
    let started = Instant::now();
    let ours = plan::build_batches(&orders, &options);
    let plan_time = started.elapsed();
    let started = Instant::now();
    let fifo = plan::fifo_baseline(&orders, &options);
    let fifo_plan = started.elapsed();

    let mut strategies: Vec<(Strategy, usize, usize)> = Vec::new();
    for b in &ours {
        match strategies.iter_mut().find(|(s, _, _)| *s == b.strategy) {
            Some(entry) => {
                entry.1 += 1;
                entry.2 += b.order_ids.len();
            }
            None => strategies.push((b.strategy, 1, b.order_ids.len())),
        }
    }
    strategies.sort();
    Ok(BatchingReport {
        orders: orders.len(),
        dry_run,
        dry_run_batches: dry.batches.len(),
        load,
        plan: plan_time,
        fifo_plan,
        depot: plan::quality(&ours),
        fifo: plan::quality(&fifo),
        strategies,
    })
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

impl fmt::Display for BatchingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "  batching        {} reserved orders -> {} batches in {} (dry run of POST /batches: load {} + plan {}; FIFO plan {})",
            grouped(self.orders as u64),
            grouped(self.dry_run_batches as u64),
            secs(self.dry_run),
            secs(self.load),
            secs(self.plan),
            secs(self.fifo_plan),
        )?;
        let (d, q) = (&self.depot, &self.fifo);
        writeln!(
            f,
            "  batch quality   depot {:.3} locations/order, {:.2} aisles/batch ({} batches); FIFO {:.3} locations/order, {:.2} aisles/batch ({} batches)",
            d.locations_per_order(),
            d.aisles_per_batch(),
            grouped(d.batches as u64),
            q.locations_per_order(),
            q.aisles_per_batch(),
            grouped(q.batches as u64),
        )?;
        writeln!(
            f,
            "  batch ratio     FIFO ÷ depot = {:.2}x location visits per order, {:.2}x aisle entries per order",
            self.location_ratio(),
            self.aisle_ratio(),
        )?;
        let parts: Vec<String> = self
            .strategies
            .iter()
            .map(|(s, batches, orders)| {
                format!(
                    "{} {} batches ({} orders)",
                    s.as_str(),
                    grouped(*batches as u64),
                    grouped(*orders as u64)
                )
            })
            .collect();
        write!(f, "  strategies      {}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quality(
        batches: usize,
        orders: usize,
        location_visits: usize,
        aisle_entries: usize,
    ) -> Quality {
        Quality {
            batches,
            orders,
            location_visits,
            aisle_entries,
        }
    }

    #[test]
    fn ratios_compare_fifo_with_depot_per_order() {
        let report = BatchingReport {
            orders: 600,
            dry_run: Duration::from_millis(300),
            dry_run_batches: 30,
            load: Duration::from_millis(250),
            plan: Duration::from_millis(40),
            fifo_plan: Duration::from_millis(10),
            // depot: 30 batches, 60 stops, 45 aisle entries; FIFO: 20 batches, 240 stops, 90 entries.
            depot: quality(30, 600, 60, 45),
            fifo: quality(20, 600, 240, 90),
            strategies: vec![(Strategy::HotSku, 25, 500), (Strategy::Cluster, 5, 100)],
        };

        assert!((report.location_ratio() - 4.0).abs() < 1e-9);
        assert!((report.aisle_ratio() - 2.0).abs() < 1e-9);
        let text = report.to_string();
        assert!(
            text.contains("FIFO ÷ depot = 4.00x location visits per order"),
            "{text}"
        );
        assert!(
            text.contains("hot_sku 25 batches (500 orders), cluster 5 batches (100 orders)"),
            "{text}"
        );
    }
}
