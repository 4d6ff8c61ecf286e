//! The one place for SQL that differs between SQLite and PostgreSQL.
//!
//! Services call these functions; they never match on [`AnyConnection`]
//! themselves. Later stages add multi-row inserts, upserts and row locks here.

use diesel::sql_types::Text;
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
