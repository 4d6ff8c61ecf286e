//! `depot bench`: the burst benchmark of a live session, and the single-order
//! latency benchmark, each on a fresh database of the chosen backend.
//!
//! A run builds the warehouse through the HTTP API of a real depot server
//! started in this process (merchant, SKUs, lots received, inspected and put
//! away), measures the raw insert ceiling of the same database, then drives
//! the order endpoints with concurrent clients and checks afterwards that
//! nothing was oversold and that stock equals the ledger. See
//! docs/PERFORMANCE.md for how to read the figures.

pub mod batching;
pub mod burst;
pub mod client;
pub mod dispatch;
pub mod packing;
pub mod raw;
pub mod session;
pub mod single;
pub mod stats;
pub mod trace;

use std::sync::mpsc;
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;
use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::config::{Config, DatabaseUrl};
use crate::db::DbPool;
use crate::startup::{self, Application};

/// The database a benchmark runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A new SQLite file in a temporary directory.
    Sqlite,
    /// A new schema in the PostgreSQL database at this URL, dropped afterwards.
    Postgres(String),
}

/// How the server under test is set up.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub target: Target,
    /// HTTP worker threads of the server.
    pub workers: usize,
    /// Database connections of the server.
    pub pool_size: u32,
    /// The server's trace sealer runs (at its default interval).
    pub seal: bool,
}

impl Default for ServerOptions {
    /// A new SQLite file; as many HTTP workers as cores; 8 connections (the
    /// server's own defaults).
    fn default() -> Self {
        ServerOptions {
            target: Target::Sqlite,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            pool_size: 8,
            seal: true,
        }
    }
}

/// Prints a benchmark's report; a failed check is the run's failure.
pub fn print_report(report: &dyn std::fmt::Display, failures: Vec<String>) -> Result<(), String> {
    println!("{report}");
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// A fresh database: a temporary SQLite file, or a PostgreSQL schema of its
/// own (`depot_bench_<random>`), removed when dropped.
pub struct BenchDatabase {
    pub url: DatabaseUrl,
    pub dir: tempfile::TempDir,
    pg_schema: Option<(String, String)>,
}

impl BenchDatabase {
    pub fn fresh(target: &Target) -> Result<BenchDatabase, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("a temporary directory: {e}"))?;
        match target {
            Target::Sqlite => Ok(BenchDatabase {
                url: DatabaseUrl::Sqlite(dir.path().join("bench.db").display().to_string()),
                dir,
                pg_schema: None,
            }),
            Target::Postgres(admin_url) => {
                let schema = format!("depot_bench_{:016x}", rand::random::<u64>());
                let mut conn = PgConnection::establish(admin_url)
                    .map_err(|e| format!("cannot connect to {admin_url}: {e}"))?;
                diesel::sql_query(format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .map_err(|e| format!("cannot create schema {schema}: {e}"))?;
                let separator = if admin_url.contains('?') { '&' } else { '?' };
                Ok(BenchDatabase {
                    url: DatabaseUrl::Postgres(format!(
                        "{admin_url}{separator}options=-csearch_path%3D{schema}"
                    )),
                    dir,
                    pg_schema: Some((admin_url.clone(), schema)),
                })
            }
        }
    }

    pub fn describe(&self) -> String {
        match &self.pg_schema {
            Some((url, schema)) => format!(
                "PostgreSQL, schema {schema} in {}",
                DatabaseUrl::Postgres(url.clone()).redacted()
            ),
            None => format!("SQLite (WAL) {}", self.url.redacted()),
        }
    }
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, schema)) = &self.pg_schema {
            if let Ok(mut conn) = PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .execute(&mut conn);
            }
        }
    }
}

/// A depot server on a fresh database, running on threads of its own so the
/// benchmark's clients measure it from the outside, as over a network.
pub struct BenchServer {
    pub base_url: String,
    pub admin_token: String,
    pub pool: DbPool,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
    pub database: BenchDatabase,
}

impl BenchServer {
    pub fn start(options: &ServerOptions) -> Result<BenchServer, String> {
        let database = BenchDatabase::fresh(&options.target)?;
        let config = Config {
            database_url: database.url.clone(),
            bind: "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
            data_dir: database.dir.path().join("data"),
            pool_size: options.pool_size,
            workers: options.workers,
            warehouse: Default::default(),
            ship_by_hours: Default::default(),
            label_font: None,
            label_zpl_font: crate::config::DEFAULT_LABEL_ZPL_FONT.into(),
            webhooks: Default::default(),
            seal: crate::config::SealSettings {
                interval: options
                    .seal
                    .then_some(crate::config::SealSettings::default().interval)
                    .flatten(),
                ..Default::default()
            },
        };
        let pool = startup::open_database(&config).map_err(|e| e.to_string())?;
        let admin = startup::bootstrap_admin(&pool)
            .map_err(|e| e.to_string())?
            .ok_or("the fresh database already had an admin token")?;
        let (tx, rx) = mpsc::channel();
        let server_pool = pool.clone();
        let thread = std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                match Application::build(&config, server_pool) {
                    Ok(app) => {
                        let _ = tx.send(Ok((app.port(), app.handle())));
                        if let Err(e) = app.run().await {
                            log::error!("the benchmark's server stopped: {e}");
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            });
        });
        let (port, handle) = rx
            .recv()
            .map_err(|_| "the server thread ended before it listened".to_string())??;
        Ok(BenchServer {
            base_url: format!("http://127.0.0.1:{port}"),
            admin_token: admin.token,
            pool,
            handle,
            thread: Some(thread),
            database,
        })
    }

    /// Stops the server and waits for its threads.
    pub fn stop(&mut self) {
        if let Some(thread) = self.thread.take() {
            // Every request has been answered by now: no need to drain.
            drop(self.handle.stop(false));
            let _ = thread.join();
        }
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where a benchmark ran: the database and the server's settings.
#[derive(Debug, Clone)]
pub struct Setting {
    pub database: String,
    pub server_version: String,
    pub cores: usize,
    pub workers: usize,
    pub pool_size: u32,
}

impl Setting {
    fn of(server: &BenchServer, options: &ServerOptions) -> Result<Setting, String> {
        let mut conn = server.pool.get().map_err(|e| e.to_string())?;
        Ok(Setting {
            database: server.database.describe(),
            server_version: crate::db::backend::server_version(&mut conn)
                .map_err(|e| e.to_string())?,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            workers: options.workers,
            pool_size: options.pool_size,
        })
    }

    /// The first lines of a report.
    fn write_header(&self, f: &mut std::fmt::Formatter<'_>, title: &str) -> std::fmt::Result {
        writeln!(f, "{title}")?;
        writeln!(
            f,
            "  database        {} ({})",
            self.database, self.server_version
        )?;
        writeln!(
            f,
            "  machine         {} cores; server: {} HTTP workers, {} connections",
            self.cores, self.workers, self.pool_size
        )
    }
}

/// A one-line progress bar on standard error, redrawn in place on a
/// terminal and printed every tenth of the way otherwise.
pub struct Progress {
    total: u64,
    terminal: bool,
    last_tenth: u64,
    started: std::time::Instant,
}

impl Progress {
    pub fn new(total: u64) -> Progress {
        use std::io::IsTerminal;
        Progress {
            total: total.max(1),
            terminal: std::io::stderr().is_terminal(),
            last_tenth: 0,
            started: std::time::Instant::now(),
        }
    }

    pub fn show(&mut self, done: u64, what: &str) {
        let fraction = (done as f64 / self.total as f64).min(1.0);
        let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        const WIDTH: usize = 30;
        let filled = (fraction * WIDTH as f64).round() as usize;
        let line = format!(
            "[{}{}] {:>3.0}%  {}/{} {what}  {}/s",
            "#".repeat(filled),
            "-".repeat(WIDTH - filled),
            fraction * 100.0,
            stats::grouped(done),
            stats::grouped(self.total),
            stats::grouped(rate as u64),
        );
        if self.terminal {
            eprint!("\r{line}");
        } else {
            let tenth = (fraction * 10.0).floor() as u64;
            if tenth > self.last_tenth {
                self.last_tenth = tenth;
                eprintln!("{line}");
            }
        }
    }

    pub fn finish(&mut self) {
        if self.terminal {
            eprintln!();
        }
    }
}
