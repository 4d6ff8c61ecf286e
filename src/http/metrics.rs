//! Prometheus metrics: requests by route, method and status; a latency
//! histogram per route; the database pool's state. Kept by hand — a few
//! counters under one mutex — rather than with a metrics crate.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

use crate::db::DbPool;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Registry {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
}

#[derive(Default)]
pub struct Metrics {
    registry: Mutex<Registry>,
}

impl Metrics {
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let Ok(mut registry) = self.registry.lock() else {
            return;
        };
        *registry
            .requests
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        let histogram = registry.latency.entry(route.to_string()).or_default();
        histogram.count += 1;
        histogram.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                histogram.counts[i] += 1;
            }
        }
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, pool: &DbPool) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock() {
            out.push_str("# HELP depot_http_requests_total HTTP requests answered, by route, method and status.\n");
            out.push_str("# TYPE depot_http_requests_total counter\n");
            for ((route, method, status), n) in &registry.requests {
                let _ = writeln!(
                    out,
                    "depot_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                    escape(route),
                    escape(method)
                );
            }
            out.push_str(
                "# HELP depot_http_request_duration_seconds Time to answer a request, by route.\n",
            );
            out.push_str("# TYPE depot_http_request_duration_seconds histogram\n");
            for (route, h) in &registry.latency {
                let route = escape(route);
                for (bound, n) in BUCKETS.iter().zip(h.counts) {
                    let _ = writeln!(
                        out,
                        "depot_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                    );
                }
                let _ = writeln!(
                    out,
                    "depot_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "depot_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "depot_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count
                );
            }
        }
        let state = pool.state();
        out.push_str(
            "# HELP depot_db_pool_connections Database connections of this process, by state.\n",
        );
        out.push_str("# TYPE depot_db_pool_connections gauge\n");
        let _ = writeln!(
            out,
            "depot_db_pool_connections{{state=\"idle\"}} {}",
            state.idle_connections
        );
        let _ = writeln!(
            out,
            "depot_db_pool_connections{{state=\"in_use\"}} {}",
            state.connections - state.idle_connections
        );
        out.push_str("# HELP depot_db_pool_max_connections The pool's maximum size.\n");
        out.push_str("# TYPE depot_db_pool_max_connections gauge\n");
        let _ = writeln!(out, "depot_db_pool_max_connections {}", pool.max_size());
        out
    }
}

/// Label values escape `\`, `"` and newlines.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Times every request and counts it under its route pattern (not its raw
/// path, which would give one series per id).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().to_string();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let res = next.call(req).await?;
    if let Some(metrics) = metrics {
        metrics.observe(
            &route,
            &method,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative() {
        let metrics = Metrics::default();
        metrics.observe("/x", "GET", 200, 0.003);
        metrics.observe("/x", "GET", 404, 0.2);
        let registry = metrics.registry.lock().unwrap();
        let h = &registry.latency["/x"];
        assert_eq!(h.count, 2);
        assert_eq!(h.counts[0], 0); // ≤ 1 ms
        assert_eq!(h.counts[2], 1); // ≤ 5 ms
        assert_eq!(h.counts[7], 2); // ≤ 250 ms
        assert_eq!(registry.requests[&("/x".into(), "GET".into(), 404)], 1);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }
}
