//! The one place for SQL that differs between SQLite and PostgreSQL.
//!
//! Services call these functions, or the [`on_backend!`](crate::on_backend)
//! macro for a statement diesel's multi-backend cannot express (multi-row
//! inserts, ON CONFLICT); they never match on [`AnyConnection`] themselves.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};

use super::schema::{orders, stock};

use super::{AnyConnection, Backend};
use crate::error::AppError;

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

/// The database server's name and version, e.g. `SQLite 3.50.2`; a cheap
/// round trip that proves the database answers.
pub fn server_version(conn: &mut AnyConnection) -> Result<String, AppError> {
    let sql = match conn.backend() {
        Backend::Sqlite => "SELECT 'SQLite ' || sqlite_version() AS version",
        Backend::Postgres => "SELECT 'PostgreSQL ' || current_setting('server_version') AS version",
    };
    let row: Version = diesel::sql_query(sql).get_result(conn)?;
    Ok(row.version)
}

/// Inside a write transaction, makes concurrent first-start checks (is there
/// any token yet?) wait for each other, so that two depot processes starting
/// on an empty database cannot both create a first admin token. SQLite's
/// `BEGIN IMMEDIATE` already serialises writers; PostgreSQL takes a
/// transaction-scoped advisory lock.
pub fn serialize_bootstrap(conn: &mut AnyConnection) -> Result<(), AppError> {
    if conn.backend() == Backend::Postgres {
        diesel::sql_query("SELECT pg_advisory_xact_lock(7234110213437236596)").execute(conn)?;
    }
    Ok(())
}

/// How a transaction holds the SKUs whose sellable stock it reads or changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkuLock {
    /// Reserving from the stock as it is (order ingest): many at once.
    Shared,
    /// Making stock sellable or taking reservations back (putaway, a released
    /// hold, a cancel, a rejected correction) and serving back-orders: one
    /// at a time, and none while an ingest holds the SKU.
    Exclusive,
}

/// Inside a write transaction, locks the SKUs' rows until it ends
/// (PostgreSQL: `FOR SHARE` or `FOR NO KEY UPDATE`, in id order, neither of
/// which blocks the foreign-key checks of new order lines). It is the first
/// lock such a transaction takes, so that no two wait on each other in a
/// cycle over stock rows, and so that an ingest never reads stock that a
/// putaway is adding while the putaway reads a back-order queue that does
/// not yet hold the ingest's orders: one of them waits for the other's
/// commit. SQLite's `BEGIN IMMEDIATE` already makes writers take turns.
pub fn lock_skus(
    conn: &mut AnyConnection,
    sku_ids: &[String],
    mode: SkuLock,
) -> Result<(), AppError> {
    if sku_ids.is_empty() {
        return Ok(());
    }
    if let AnyConnection::Postgresql(pg) = conn {
        let sql = match mode {
            SkuLock::Shared => "SELECT 1 FROM skus WHERE id = ANY($1) ORDER BY id FOR SHARE",
            SkuLock::Exclusive => {
                "SELECT 1 FROM skus WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE"
            }
        };
        diesel::sql_query(sql)
            .bind::<Array<Text>, _>(sku_ids)
            .execute(pg)?;
    }
    Ok(())
}

/// Inside a write transaction, locks the storage-location stock rows of
/// these SKUs (PostgreSQL: `FOR UPDATE`, in lot × location order so that two
/// transactions never wait on each other in a cycle) until the transaction
/// ends: a read after it is stock no one else can change before the commit.
/// SQLite's `BEGIN IMMEDIATE` already makes writers take turns.
pub fn lock_stock_of_skus(conn: &mut AnyConnection, sku_ids: &[String]) -> Result<(), AppError> {
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query(
            "SELECT 1 FROM stock s JOIN lots l ON l.id = s.lot_id \
             JOIN locations c ON c.id = s.location_id \
             WHERE l.sku_id = ANY($1) AND c.kind = 'storage' \
             ORDER BY s.lot_id, s.location_id FOR UPDATE OF s",
        )
        .bind::<Array<Text>, _>(sku_ids)
        .execute(pg)?;
    }
    Ok(())
}

/// Adds reservations to stock rows, each guarded so that `reserved` never
/// exceeds `on_hand`: all rows or none (false when a guard finds less than
/// asked, and the caller must roll back what it wrote). `rows` are
/// (lot, location, units) in (lot, location) order.
///
/// PostgreSQL: one statement locks the rows in that order (so concurrent
/// pushes cannot deadlock), one UPDATE adds to them all — two round trips
/// however many rows. SQLite: the writer lock is held; one guarded UPDATE
/// per row, each a call into the library.
pub fn add_reserved(
    conn: &mut AnyConnection,
    rows: &[(&str, &str, i64)],
) -> Result<bool, AppError> {
    if rows.is_empty() {
        return Ok(true);
    }
    match conn {
        AnyConnection::Postgresql(pg) => {
            let lots: Vec<&str> = rows.iter().map(|r| r.0).collect();
            let locations: Vec<&str> = rows.iter().map(|r| r.1).collect();
            let units: Vec<i64> = rows.iter().map(|r| r.2).collect();
            diesel::sql_query(
                "SELECT 1 FROM stock s \
                 JOIN unnest($1::text[], $2::text[]) AS w(lot_id, location_id) \
                   ON s.lot_id = w.lot_id AND s.location_id = w.location_id \
                 ORDER BY s.lot_id, s.location_id FOR UPDATE OF s",
            )
            .bind::<Array<Text>, _>(&lots)
            .bind::<Array<Text>, _>(&locations)
            .execute(pg)?;
            let updated = diesel::sql_query(
                "UPDATE stock s SET reserved = s.reserved + w.qty \
                 FROM unnest($1::text[], $2::text[], $3::bigint[]) AS w(lot_id, location_id, qty) \
                 WHERE s.lot_id = w.lot_id AND s.location_id = w.location_id \
                   AND s.on_hand - s.reserved >= w.qty",
            )
            .bind::<Array<Text>, _>(&lots)
            .bind::<Array<Text>, _>(&locations)
            .bind::<Array<BigInt>, _>(&units)
            .execute(pg)?;
            Ok(updated == rows.len())
        }
        AnyConnection::Sqlite(_) => {
            for (lot, location, qty) in rows {
                let updated = diesel::update(
                    stock::table
                        .filter(stock::lot_id.eq(*lot))
                        .filter(stock::location_id.eq(*location))
                        .filter((stock::on_hand - stock::reserved).ge(*qty)),
                )
                .set(stock::reserved.eq(stock::reserved + *qty))
                .execute(conn)?;
                if updated == 0 {
                    return Ok(false);
                }
            }
            Ok(true)
        }
    }
}

/// An order found by its idempotency key.
#[derive(Debug, Clone, QueryableByName, Queryable)]
pub struct OrderKey {
    #[diesel(sql_type = Text)]
    pub merchant_id: String,
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Text)]
    pub external_id: String,
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub body_hash: String,
}

/// Orders stored under any combination of these merchants, channels and
/// external ids (the unique idempotency key).
///
/// PostgreSQL: one probe of the unique index per external id (a LATERAL
/// lookup with all three columns equal), whatever the planner's statistics
/// say: with `col = ANY(list)` on a table that was empty when it was last
/// analysed, it walks every order of the merchant instead. SQLite picks the
/// unique index for the IN lists on its own.
pub fn find_order_keys(
    conn: &mut AnyConnection,
    merchants: &[&str],
    channels: &[&str],
    external_ids: &[&str],
) -> Result<Vec<OrderKey>, AppError> {
    if merchants.is_empty() || channels.is_empty() || external_ids.is_empty() {
        return Ok(Vec::new());
    }
    match conn {
        AnyConnection::Postgresql(pg) => Ok(diesel::sql_query(
            "SELECT o.merchant_id, o.channel, o.external_id, o.id, o.body_hash \
             FROM unnest($1::text[]) AS m(merchant_id) \
             CROSS JOIN unnest($2::text[]) AS ch(channel) \
             CROSS JOIN unnest($3::text[]) AS e(external_id) \
             CROSS JOIN LATERAL (SELECT * FROM orders x \
                 WHERE x.merchant_id = m.merchant_id AND x.channel = ch.channel \
                   AND x.external_id = e.external_id LIMIT 1) o",
        )
        .bind::<Array<Text>, _>(merchants)
        .bind::<Array<Text>, _>(channels)
        .bind::<Array<Text>, _>(external_ids)
        .load(pg)?),
        AnyConnection::Sqlite(_) => Ok(orders::table
            .filter(orders::merchant_id.eq_any(merchants))
            .filter(orders::channel.eq_any(channels))
            .filter(orders::external_id.eq_any(external_ids))
            .select((
                orders::merchant_id,
                orders::channel,
                orders::external_id,
                orders::id,
                orders::body_hash,
            ))
            .load(conn)?),
    }
}

/// A number series unique across every depot instance on the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serial {
    /// SSCC serial references.
    Sscc,
    /// Generated tracking numbers.
    TrackingNo,
}

#[derive(QueryableByName)]
struct SerialValue {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

/// The next `n` numbers of `serial`, ascending; never handed out again.
///
/// PostgreSQL: a sequence, one statement for all `n`; `nextval` never blocks
/// another packer and a rolled-back number is skipped, not reused. SQLite: a
/// counter row raised by `n` inside the caller's write transaction (the
/// writer lock makes it unique); a rollback undoes it with the rest.
pub fn next_serials(
    conn: &mut AnyConnection,
    serial: Serial,
    n: usize,
) -> Result<Vec<i64>, AppError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    match conn {
        AnyConnection::Postgresql(pg) => {
            let sql = match serial {
                Serial::Sscc => {
                    "SELECT nextval('sscc_serial_seq') AS value FROM generate_series(1, $1)"
                }
                Serial::TrackingNo => {
                    "SELECT nextval('tracking_no_seq') AS value FROM generate_series(1, $1)"
                }
            };
            let mut values: Vec<i64> = diesel::sql_query(sql)
                .bind::<BigInt, _>(n as i64)
                .load::<SerialValue>(pg)?
                .into_iter()
                .map(|v| v.value)
                .collect();
            values.sort_unstable();
            Ok(values)
        }
        AnyConnection::Sqlite(_) => {
            use super::schema::counters;
            let name = match serial {
                Serial::Sscc => "sscc_serial",
                Serial::TrackingNo => "tracking_no",
            };
            let last: i64 = diesel::update(counters::table.find(name))
                .set(counters::value.eq(counters::value + n as i64))
                .returning(counters::value)
                .get_result(conn)?;
            Ok((last - n as i64 + 1..=last).collect())
        }
    }
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Inside a write transaction, `count` new trace sequence numbers, ascending,
/// for events the caller is about to insert (it hashes them first).
///
/// SQLite: the writer lock is held (`BEGIN IMMEDIATE`), so the numbers follow
/// the largest one written, and transactions commit in the order of their
/// numbers. PostgreSQL: `trace_event_seq`, which hands out numbers without
/// waiting, so transactions may commit out of order and numbers of
/// transactions that roll back are never used. The transaction first gets
/// its transaction id (`pg_current_xact_id()`), *before* it takes a number:
/// [`settled_trace_seq`] relies on every number being held by a transaction
/// with an id.
pub fn next_trace_seqs(conn: &mut AnyConnection, count: usize) -> Result<Vec<i64>, AppError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    match conn {
        AnyConnection::Sqlite(c) => {
            let last: Number =
                diesel::sql_query("SELECT COALESCE(MAX(seq), 0) AS n FROM trace_events")
                    .get_result(c)?;
            Ok((1..=count as i64).map(|i| last.n + i).collect())
        }
        AnyConnection::Postgresql(c) => {
            diesel::sql_query("SELECT pg_current_xact_id()").execute(c)?;
            let mut seqs: Vec<i64> = diesel::sql_query(
                "SELECT nextval('trace_event_seq') AS n FROM generate_series(1, $1)",
            )
            .bind::<BigInt, _>(count as i64)
            .load::<Number>(c)?
            .into_iter()
            .map(|r| r.n)
            .collect();
            seqs.sort_unstable();
            Ok(seqs)
        }
    }
}

/// The largest trace sequence number below which every number is settled:
/// its event is committed (and visible to a transaction begun after this
/// returns) or will never be. Outside a transaction. `None`: not known yet
/// (a long transaction is still running); try again later.
///
/// SQLite: the largest committed number (writers take numbers under the
/// write lock and commit in their order). PostgreSQL: the sequence's last
/// value L is read first; then a transaction id N is taken (and committed at
/// once: one statement), so every transaction that holds a number ≤ L, having
/// had its id before it took the number, has an id below N. Once the oldest
/// running transaction id (the snapshot's xmin) is at least N, all of them
/// have ended. That is waited for here, up to `wait`, polling: writers'
/// transactions are short, so the sealer never blocks them nor seals past a
/// number that may still commit. (The snapshot's own xmax will not do: it is
/// one past the latest *completed* id, so a running writer whose id is newer
/// than every completed one is below no xmax and in no xip list.)
pub fn settled_trace_seq(
    conn: &mut AnyConnection,
    wait: std::time::Duration,
) -> Result<Option<i64>, AppError> {
    match conn {
        AnyConnection::Sqlite(c) => {
            let last: Number =
                diesel::sql_query("SELECT COALESCE(MAX(seq), 0) AS n FROM trace_events")
                    .get_result(c)?;
            Ok(Some(last.n))
        }
        AnyConnection::Postgresql(c) => {
            let last: Number = diesel::sql_query(
                "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS n \
                 FROM trace_event_seq",
            )
            .get_result(c)?;
            let newer: Number = diesel::sql_query("SELECT pg_current_xact_id()::text::bigint AS n")
                .get_result(c)?;
            let xmin_sql = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS n";
            let deadline = std::time::Instant::now() + wait;
            while diesel::sql_query(xmin_sql).get_result::<Number>(c)?.n < newer.n {
                if std::time::Instant::now() >= deadline {
                    return Ok(None);
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Ok(Some(last.n))
        }
    }
}

/// Inside the sealer's write transaction: whether this instance may seal.
/// PostgreSQL: a transaction-scoped advisory lock, tried (not waited for),
/// so that only one instance seals at a time and the others skip their
/// turn. SQLite: `BEGIN IMMEDIATE` already made this the only writer.
pub fn try_lock_sealer(conn: &mut AnyConnection) -> Result<bool, AppError> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        locked: bool,
    }
    match conn {
        AnyConnection::Sqlite(_) => Ok(true),
        AnyConnection::Postgresql(c) => {
            let row: Locked = diesel::sql_query(format!(
                "SELECT pg_try_advisory_xact_lock({SEALER_LOCK_KEY}) AS locked"
            ))
            .get_result(c)?;
            Ok(row.locked)
        }
    }
}

/// PostgreSQL: the advisory lock key of the trace sealer ("depot_sl").
const SEALER_LOCK_KEY: i64 = 0x6465_706f_745f_736c;
