//! depot: the system of record of a live-commerce base warehouse.
//!
//! Layers, from the outside in: [`http`] (thin handlers) → [`services`] (one
//! use case, one transaction) → [`domain`] (pure rules) and [`db`] (one
//! connection type over SQLite and PostgreSQL). [`error`] maps every failure
//! to an RFC 9457 problem. See docs/ARCHITECTURE.md.

pub mod bench;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod labels;
pub mod services;
pub mod startup;

// Cargo features only add: `--features system-libpq` on top of the default
// `bundled-libpq` would still compile libpq from source. Say so rather than
// hand a packager a binary that is not what was asked for.
#[cfg(all(feature = "bundled-libpq", feature = "system-libpq"))]
compile_error!(
    "the feature system-libpq needs the default features off: \
     cargo build --release --no-default-features --features system-libpq"
);
