//! The raw ceiling of the database: how many rows a second it takes when
//! nothing but inserting happens — multi-row INSERTs of 1,000 rows shaped
//! like an order (a dozen columns: ids, ship-to text, status, units, time),
//! one transaction each, from one connection, into a scratch table that is
//! dropped afterwards. The burst's orders/s are reported against it.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::db::{self, AnyConnection};
use crate::domain::time;
use crate::error::AppError;
use crate::on_backend;

diesel::table! {
    bench_raw_orders (id) {
        id -> Text,
        merchant_id -> Text,
        channel -> Text,
        external_id -> Text,
        ship_name -> Text,
        ship_phone -> Text,
        ship_address -> Text,
        ship_city -> Text,
        status -> Text,
        units -> BigInt,
        created_at -> Timestamp,
    }
}

/// Rows per INSERT (the ingest writes its wider rows 500 at a time, within
/// SQLite's limit of bound parameters per statement).
pub const ROWS_PER_INSERT: usize = 1_000;

#[derive(Debug, Clone, Copy)]
pub struct RawCeiling {
    pub rows: usize,
    pub elapsed: Duration,
}

impl RawCeiling {
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Inserts `rows` rows (rounded up to whole INSERTs) and times it.
pub fn measure(conn: &mut AnyConnection, rows: usize) -> Result<RawCeiling, AppError> {
    conn.batch_execute(
        "CREATE TABLE bench_raw_orders (
            id TEXT PRIMARY KEY NOT NULL, merchant_id TEXT NOT NULL, channel TEXT NOT NULL,
            external_id TEXT NOT NULL, ship_name TEXT NOT NULL, ship_phone TEXT NOT NULL,
            ship_address TEXT NOT NULL, ship_city TEXT NOT NULL, status TEXT NOT NULL,
            units BIGINT NOT NULL, created_at TIMESTAMP NOT NULL)",
    )?;
    let now = time::now();
    let batches = rows.div_ceil(ROWS_PER_INSERT).max(1);
    let started = Instant::now();
    for batch in 0..batches {
        let ids: Vec<String> = (0..ROWS_PER_INSERT)
            .map(|i| format!("raw_{batch:06}_{i:04}"))
            .collect();
        let values: Vec<_> = ids
            .iter()
            .map(|id| {
                (
                    bench_raw_orders::id.eq(id),
                    bench_raw_orders::merchant_id.eq("mer_01JBENCHMERCHANT000000000"),
                    bench_raw_orders::channel.eq("douyin"),
                    bench_raw_orders::external_id.eq(id),
                    bench_raw_orders::ship_name.eq("Buyer 12345"),
                    bench_raw_orders::ship_phone.eq("13912345678"),
                    bench_raw_orders::ship_address.eq("512 Wensan Road, Building 7"),
                    bench_raw_orders::ship_city.eq("Hangzhou"),
                    bench_raw_orders::status.eq("reserved"),
                    bench_raw_orders::units.eq(1i64),
                    bench_raw_orders::created_at.eq(now),
                )
            })
            .collect();
        db::write(conn, |c| {
            on_backend!(c, |inner| diesel::insert_into(bench_raw_orders::table)
                .values(&values)
                .execute(inner))?;
            Ok(())
        })?;
    }
    let elapsed = started.elapsed();
    conn.batch_execute("DROP TABLE bench_raw_orders")?;
    Ok(RawCeiling {
        rows: batches * ROWS_PER_INSERT,
        elapsed,
    })
}
