//! End-to-end tests over HTTP. Every test in an `on_both_backends!` list runs
//! on SQLite, and on PostgreSQL when `DEPOT_TEST_PG_URL` is set.

mod helpers;

mod access;
mod batches;
mod dispatch;
mod epcis;
mod evidence;
mod inspection;
mod master_data;
mod migrations;
mod operations;
mod orders;
mod packing;
mod partners;
mod picks;
mod problems;
mod queries;
mod receiving;
mod reports;
mod reservations;
mod returns;
mod sampling;
mod seal;
mod share;
mod ship_by;
mod short_picks;
mod startup;
mod storage;
mod switching;
mod templates;
mod tour;
mod trace;
mod webhooks;
