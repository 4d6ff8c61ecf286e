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
