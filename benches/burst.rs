//! `cargo bench`: the burst and single-order benchmarks of `depot bench`,
//! run with their defaults on a fresh SQLite database, and on PostgreSQL
//! when `DEPOT_BENCH_PG_URL` is set. For other sizes and options use the
//! binary: `cargo run --release -- bench burst --help`.

use depot::bench::burst::{self, BurstOptions};
use depot::bench::single::{self, SingleOptions};
use depot::bench::{print_report, ServerOptions, Target};

fn main() {
    // `cargo bench -- <filter>` runs only the benchmarks whose name
    // (burst/sqlite, single/postgres, …) contains the filter.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f));
    let mut targets = vec![("sqlite", Target::Sqlite)];
    match std::env::var("DEPOT_BENCH_PG_URL") {
        Ok(url) if !url.is_empty() => targets.push(("postgres", Target::Postgres(url))),
        _ => eprintln!("DEPOT_BENCH_PG_URL is not set: PostgreSQL skipped"),
    }
    let mut failed = false;
    for (name, target) in targets {
        let server = ServerOptions {
            target,
            ..ServerOptions::default()
        };
        if wants(&format!("burst/{name}")) {
            let options = BurstOptions {
                server: server.clone(),
                ..BurstOptions::default()
            };
            let outcome = burst::run(&options).and_then(|r| print_report(&r, r.failures()));
            if let Err(e) = outcome {
                eprintln!("burst/{name}: {e}");
                failed = true;
            }
        }
        if wants(&format!("single/{name}")) {
            let options = SingleOptions {
                server,
                ..SingleOptions::default()
            };
            let outcome = single::run(&options).and_then(|r| print_report(&r, r.failures()));
            if let Err(e) = outcome {
                eprintln!("single/{name}: {e}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
