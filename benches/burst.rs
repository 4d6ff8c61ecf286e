//! `cargo bench`: the burst and single-order benchmarks of `depot bench`,
//! run with their defaults on a fresh SQLite database, and on PostgreSQL
//! when `DEPOT_BENCH_PG_URL` is set. For other sizes and options use the
//! binary: `cargo run --release -- bench burst --help`.

use depot::bench::burst::{self, BurstOptions};
use depot::bench::session::SessionShape;
use depot::bench::single::{self, SingleOptions};
use depot::bench::{ServerOptions, Target};

fn main() {
    // `cargo bench -- <filter>` passes a filter; `cargo test --benches`
    // passes --bench. Neither applies here beyond choosing what runs.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wants = |name: &str| {
        let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
        filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
    };
    let mut targets = vec![("sqlite", Target::Sqlite)];
    if let Ok(url) = std::env::var("DEPOT_BENCH_PG_URL") {
        if !url.is_empty() {
            targets.push(("postgres", Target::Postgres(url)));
        } else {
            eprintln!("DEPOT_BENCH_PG_URL is empty: PostgreSQL skipped");
        }
    } else {
        eprintln!("DEPOT_BENCH_PG_URL is not set: PostgreSQL skipped");
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut failed = false;
    for (name, target) in targets {
        let server = ServerOptions {
            target,
            workers: cores,
            pool_size: 8,
        };
        if wants(&format!("burst/{name}")) {
            let options = BurstOptions {
                server: server.clone(),
                shape: SessionShape::default(),
                orders: 100_000,
                per_request: 1_000,
                clients: 4,
                retry_share: 0.01,
                raw_rows: 200_000,
                progress: true,
            };
            match burst::run(&options) {
                Ok(report) => {
                    println!("{report}\n");
                    failed |= !report.failures().is_empty();
                }
                Err(e) => {
                    eprintln!("burst/{name}: {e}");
                    failed = true;
                }
            }
        }
        if wants(&format!("single/{name}")) {
            let options = SingleOptions {
                server,
                shape: SessionShape::default(),
                rate: 2_000,
                seconds: 10,
                connections: 256,
                progress: true,
            };
            match single::run(&options) {
                Ok(report) => {
                    println!("{report}\n");
                    failed |= !report.failures().is_empty();
                }
                Err(e) => {
                    eprintln!("single/{name}: {e}");
                    failed = true;
                }
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
