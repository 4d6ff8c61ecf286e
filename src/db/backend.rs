//! The one place for SQL that differs between SQLite and PostgreSQL.
//!
//! Services call these functions, or the [`on_backend!`](crate::on_backend)
//! macro for a statement diesel's multi-backend cannot express (multi-row
//! inserts, ON CONFLICT); they never match on [`AnyConnection`] themselves.

use diesel::sql_types::{Array, Text};
use diesel::{QueryableByName, RunQueryDsl};

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

/// Inside a write transaction, locks the stock rows of these SKUs (PostgreSQL:
/// `FOR UPDATE`, in lot × location order so that two transactions never wait
/// on each other in a cycle) until the transaction ends. Reservations read the
/// stock after this, so concurrent reservations of a SKU — on any number of
/// depot instances — see each other's and cannot oversell. SQLite's
/// `BEGIN IMMEDIATE` already makes writers take turns.
pub fn lock_stock_of_skus(conn: &mut AnyConnection, sku_ids: &[String]) -> Result<(), AppError> {
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query(
            "SELECT 1 FROM stock s JOIN lots l ON l.id = s.lot_id \
             WHERE l.sku_id = ANY($1) ORDER BY s.lot_id, s.location_id FOR UPDATE OF s",
        )
        .bind::<Array<Text>, _>(sku_ids)
        .execute(pg)?;
    }
    Ok(())
}
