//! The dispatch step of `depot bench burst`, after picking and packing:
//!
//! 1. the open manifests are closed (`POST /manifests/{id}/close`);
//! 2. a reference manifest of [`REFERENCE_PARCELS`] parcels is made from the
//!    largest one: that many parcels are taken off it (`…/remove`), re-packed
//!    one per request onto the carrier's next manifest, which is closed too;
//! 3. the largest manifest and the reference one are each downloaded as CSV
//!    and as JSON from a **separate `depot serve` process** on the same
//!    database, whose peak resident memory (`VmHWM` in `/proc/<pid>/status`)
//!    is read before and after: a streamed manifest needs the same memory at
//!    any size;
//! 4. every manifest is handed over by scan, [`SCAN_CHUNK`] SSCCs per call
//!    (a cage at the dock), by K concurrent clients;
//! 5. checks: nothing waits, every packed order is dispatched, stock equals
//!    the ledger, no reservation drift.

use std::cell::RefCell;
use std::fmt;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};

use super::burst::count;
use super::client::{text, Api};
use super::packing::concurrently;
use super::stats::grouped;
use crate::config::DatabaseUrl;
use crate::db::AnyConnection;
use crate::services::storage;

/// Parcels of the reference manifest.
pub const REFERENCE_PARCELS: usize = 500;
/// SSCCs per handover call.
pub const SCAN_CHUNK: usize = 1_000;

/// A manifest downloaded from a fresh server process.
#[derive(Debug, Clone)]
pub struct Download {
    pub parcels: i64,
    pub csv_bytes: u64,
    pub csv_rows: u64,
    pub csv_time: Duration,
    pub json_bytes: u64,
    pub json_time: Duration,
    /// The server process's peak resident memory after start-up, and
    /// after both downloads, in KiB.
    pub rss_start_kib: u64,
    pub rss_peak_kib: u64,
}

#[derive(Debug, Clone, Default)]
pub struct DispatchReport {
    pub manifests: usize,
    pub close: Duration,
    pub largest: Option<Download>,
    pub reference: Option<Download>,
    pub handover: Duration,
    pub handover_calls: usize,
    pub handed_over: usize,
    pub waiting_after: i64,
    pub packed_orders_left: i64,
    pub dispatched_orders: i64,
    pub ledger_ok: bool,
    pub drifting_rows: i64,
    pub first_error: Option<String>,
}

impl DispatchReport {
    pub fn handover_rate(&self) -> f64 {
        self.handed_over as f64 / self.handover.as_secs_f64().max(1e-9)
    }

    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.ledger_ok {
            out.push("stock differs from the ledger after handover".to_string());
        }
        if self.drifting_rows > 0 {
            out.push(format!(
                "{} stock rows drift from their reservations after handover",
                self.drifting_rows
            ));
        }
        if self.waiting_after > 0 {
            out.push(format!(
                "{} parcels still wait for pickup after every manifest was handed over",
                self.waiting_after
            ));
        }
        if self.packed_orders_left > 0 {
            out.push(format!(
                "{} packed orders were not dispatched",
                self.packed_orders_left
            ));
        }
        for d in [&self.largest, &self.reference].into_iter().flatten() {
            if d.csv_rows != d.parcels as u64 {
                out.push(format!(
                    "a manifest of {} parcels downloaded as {} CSV rows",
                    d.parcels, d.csv_rows
                ));
            }
        }
        if let Some(e) = &self.first_error {
            out.push(format!("a dispatch call failed: {e}"));
        }
        out
    }
}

/// (id, parcel count) of the manifests with `status`.
async fn manifests(api: &Api, staff: &str, status: &str) -> Result<Vec<(String, i64)>, String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => format!("/api/v1/manifests?status={status}&limit=500"),
            Some(c) => format!("/api/v1/manifests?status={status}&limit=500&cursor={c}"),
        };
        let page = api.get(&path, staff).await?;
        for m in page["items"].as_array().into_iter().flatten() {
            out.push((text(m, "id")?, m["parcel_count"].as_i64().unwrap_or(0)));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return Ok(out),
        }
    }
}

/// (SSCC, order id) of a manifest's parcels, from its JSON.
async fn parcels_of(api: &Api, staff: &str, id: &str) -> Result<Vec<(String, String)>, String> {
    let m = api.get(&format!("/api/v1/manifests/{id}"), staff).await?;
    m["parcels"]
        .as_array()
        .ok_or_else(|| format!("manifest {id} has no parcels list"))?
        .iter()
        .map(|p| Ok((text(p, "sscc")?, text(p, "order_id")?)))
        .collect()
}

pub async fn run(
    api: &Api,
    staff: &str,
    clients: usize,
    database_url: &DatabaseUrl,
) -> Result<DispatchReport, String> {
    let mut report = DispatchReport::default();
    let open = manifests(api, staff, "open").await?;
    let started = Instant::now();
    for (id, parcels) in &open {
        if *parcels > 0 {
            api.post(
                &format!("/api/v1/manifests/{id}/close"),
                staff,
                &json!({}),
                200,
            )
            .await?;
        }
    }
    report.close = started.elapsed();
    let Some((largest, largest_count)) = open.iter().max_by_key(|m| m.1).cloned() else {
        return Ok(report);
    };

    // The reference manifest: parcels off the largest, re-packed.
    if largest_count as usize > 2 * REFERENCE_PARCELS {
        let moved: Vec<(String, String)> = parcels_of(api, staff, &largest)
            .await?
            .into_iter()
            .take(REFERENCE_PARCELS)
            .collect();
        let mut new_manifest = None;
        for (sscc, order_id) in &moved {
            api.post(
                &format!("/api/v1/manifests/{largest}/parcels/{sscc}/remove"),
                staff,
                &json!({"reason": "bench: the reference manifest"}),
                200,
            )
            .await?;
            let p = api
                .post(
                    &format!("/api/v1/orders/{order_id}/parcels"),
                    staff,
                    &json!({"weight_g": 500}),
                    201,
                )
                .await?;
            new_manifest = Some(text(&p, "manifest_id")?);
        }
        if let Some(m) = &new_manifest {
            api.post(
                &format!("/api/v1/manifests/{m}/close"),
                staff,
                &json!({}),
                200,
            )
            .await?;
            report.reference = Some(download(database_url, staff, m).await?);
        }
    }
    report.largest = Some(download(database_url, staff, &largest).await?);

    // Handover by scan, a cage of SSCCs per call.
    let closed = manifests(api, staff, "closed").await?;
    report.manifests = closed.len();
    let mut calls: Vec<(String, Vec<String>)> = Vec::new();
    for (id, _) in &closed {
        let ssccs: Vec<String> = parcels_of(api, staff, id)
            .await?
            .into_iter()
            .map(|p| p.0)
            .collect();
        for chunk in ssccs.chunks(SCAN_CHUNK) {
            calls.push((id.clone(), chunk.to_vec()));
        }
    }
    report.handover_calls = calls.len();
    let handed = Rc::new(RefCell::new(0usize));
    let calls = Rc::new(calls);
    let (took, error) = {
        let (api, staff, handed, calls) = (
            api.clone(),
            staff.to_string(),
            handed.clone(),
            calls.clone(),
        );
        concurrently(clients, calls.len(), move |i| {
            let (api, staff, handed, calls) =
                (api.clone(), staff.clone(), handed.clone(), calls.clone());
            async move {
                let (id, ssccs) = &calls[i];
                let answer = api
                    .post(
                        &format!("/api/v1/manifests/{id}/handover"),
                        &staff,
                        &json!({ "sscc": ssccs }),
                        200,
                    )
                    .await?;
                let n = answer["handed_over"].as_array().map_or(0, Vec::len);
                let unknown = answer["unknown"].as_array().map_or(0, Vec::len);
                if unknown > 0 {
                    return Err(format!("handover of {id}: {unknown} scans unknown"));
                }
                *handed.borrow_mut() += n;
                Ok(())
            }
        })
        .await
    };
    report.handover = took;
    report.handed_over = *handed.borrow();
    report.first_error = error;
    Ok(report)
}

/// The checks after the dispatch step, read from the database.
pub fn check(conn: &mut AnyConnection, report: &mut DispatchReport) -> Result<(), String> {
    report.ledger_ok = storage::check_ledger(conn).map_err(|e| e.to_string())?.ok;
    report.drifting_rows = count(
        conn,
        "SELECT COUNT(*) AS n FROM stock s WHERE s.reserved <> \
         (SELECT COALESCE(SUM(r.qty), 0) FROM reservations r \
          WHERE r.lot_id = s.lot_id AND r.location_id = s.location_id)",
    )?;
    report.waiting_after = count(
        conn,
        "SELECT COUNT(*) AS n FROM parcels WHERE status = 'packed'",
    )?;
    report.packed_orders_left = count(
        conn,
        "SELECT COUNT(*) AS n FROM orders WHERE status = 'packed'",
    )?;
    report.dispatched_orders = count(
        conn,
        "SELECT COUNT(*) AS n FROM orders WHERE status = 'dispatched'",
    )?;
    Ok(())
}

/// A `depot serve` process of this binary on the benchmark's database.
struct ChildServer {
    child: Child,
    base: String,
    _data: tempfile::TempDir,
}

impl ChildServer {
    async fn start(database_url: &DatabaseUrl) -> Result<ChildServer, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let data = tempfile::tempdir().map_err(|e| e.to_string())?;
        let url = match database_url {
            DatabaseUrl::Sqlite(path) => path.clone(),
            DatabaseUrl::Postgres(url) => url.clone(),
        };
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let child = Command::new(exe)
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("DEPOT_BIND", format!("127.0.0.1:{port}"))
            .env("DEPOT_DATA_DIR", data.path())
            .env("DEPOT_WORKERS", "2")
            // The benchmark's own server seals (unless --no-seal); this one
            // only answers downloads, whose memory it measures.
            .env("DEPOT_TRACE_SEAL_INTERVAL_MS", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start a depot serve process: {e}"))?;
        let server = ChildServer {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _data: data,
        };
        let client = awc::Client::default();
        for _ in 0..600 {
            if let Ok(r) = client.get(format!("{}/readyz", server.base)).send().await {
                if r.status().is_success() {
                    return Ok(server);
                }
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        Err("the depot serve process did not become ready in 30 s".into())
    }

    /// Peak resident memory so far (Linux), in KiB.
    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Streams `path` to the end, counting bytes and line ends; never holds
/// the body.
async fn fetch(base: &str, path: &str, token: &str) -> Result<(u64, u64, Duration), String> {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(600))
        .finish();
    let started = Instant::now();
    let mut response = client
        .get(format!("{base}{path}"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .send()
        .await
        .map_err(|e| format!("GET {path}: {e}"))?;
    if response.status().as_u16() != 200 {
        return Err(format!("GET {path}: status {}", response.status()));
    }
    let (mut bytes, mut lines) = (0u64, 0u64);
    while let Some(chunk) = response.next().await {
        let chunk = chunk.map_err(|e| format!("GET {path}: {e}"))?;
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    Ok((bytes, lines, started.elapsed()))
}

/// Downloads manifest `id` as CSV and as JSON from a fresh server process.
async fn download(database_url: &DatabaseUrl, token: &str, id: &str) -> Result<Download, String> {
    let server = ChildServer::start(database_url).await?;
    let head: Value = {
        let client = awc::Client::default();
        let mut r = client
            .get(format!("{}/api/v1/manifests?limit=500", server.base))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body = r.body().limit(16 << 20).await.map_err(|e| e.to_string())?;
        serde_json::from_slice(&body).map_err(|e| e.to_string())?
    };
    let parcels = head["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["id"] == id)
        .and_then(|m| m["parcel_count"].as_i64())
        .unwrap_or(0);
    let rss_start_kib = server.peak_rss_kib();
    let (csv_bytes, csv_lines, csv_time) =
        fetch(&server.base, &format!("/api/v1/manifests/{id}.csv"), token).await?;
    let (json_bytes, _, json_time) =
        fetch(&server.base, &format!("/api/v1/manifests/{id}"), token).await?;
    Ok(Download {
        parcels,
        csv_bytes,
        csv_rows: csv_lines.saturating_sub(1),
        csv_time,
        json_bytes,
        json_time,
        rss_start_kib,
        rss_peak_kib: server.peak_rss_kib(),
    })
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

impl fmt::Display for Download {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} parcels: CSV {} in {:.2} s, JSON {} in {:.2} s; server peak RSS {} (at start {})",
            grouped(self.parcels as u64),
            mib(self.csv_bytes / 1024),
            self.csv_time.as_secs_f64(),
            mib(self.json_bytes / 1024),
            self.json_time.as_secs_f64(),
            mib(self.rss_peak_kib),
            mib(self.rss_start_kib),
        )
    }
}

impl fmt::Display for DispatchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "dispatch (close, download, handover by scan):")?;
        writeln!(
            f,
            "  closed {} manifests in {:.2} s",
            self.manifests,
            self.close.as_secs_f64()
        )?;
        if let Some(d) = &self.largest {
            writeln!(f, "  largest manifest, {d}")?;
        }
        if let Some(d) = &self.reference {
            writeln!(f, "  reference manifest, {d}")?;
        }
        if let (Some(l), Some(r)) = (&self.largest, &self.reference) {
            writeln!(
                f,
                "  peak RSS largest ÷ reference: {:.2}x for {:.0}x the parcels",
                l.rss_peak_kib as f64 / r.rss_peak_kib.max(1) as f64,
                l.parcels as f64 / r.parcels.max(1) as f64
            )?;
        }
        writeln!(
            f,
            "  handover: {} parcels in {} calls of up to {} SSCCs, {:.2} s = {} parcels/s",
            grouped(self.handed_over as u64),
            self.handover_calls,
            SCAN_CHUNK,
            self.handover.as_secs_f64(),
            grouped(self.handover_rate() as u64)
        )?;
        write!(
            f,
            "  checks: {} orders dispatched, {} packed left, {} parcels waiting, ledger {}, {} drifting rows",
            grouped(self.dispatched_orders as u64),
            self.packed_orders_left,
            self.waiting_after,
            if self.ledger_ok { "ok" } else { "DIFFERS" },
            self.drifting_rows
        )
    }
}
