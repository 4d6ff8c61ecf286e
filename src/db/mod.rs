//! The database: one connection type over SQLite and PostgreSQL, its pool, its
//! migrations, and the two helpers every caller uses —
//! [`run`] (diesel work off the async threads) and [`write`] (one write
//! transaction).
//!
//! Backend-specific SQL lives only here and in [`backend`]; services call the
//! functions of `backend` and never match on [`AnyConnection`] themselves.

pub mod backend;
pub mod schema;

use std::time::Duration;

use actix_web::web;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::DatabaseUrl;
use crate::error::AppError;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Runs one diesel statement on the inner connection of whichever backend
/// `conn` is: for multi-row inserts and `ON CONFLICT`, which diesel's
/// multi-backend does not compile. The body is written once and type-checked
/// for both backends.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::AnyConnection::Postgresql($c) => $body,
            $crate::db::AnyConnection::Sqlite($c) => $body,
        }
    };
}

/// A connection to either backend. Plain diesel queries work on it as they are;
/// what differs between the backends goes through [`backend`].
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl AnyConnection {
    pub fn backend(&self) -> Backend {
        match self {
            AnyConnection::Postgresql(_) => Backend::Postgres,
            AnyConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

pub type DbPool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// SQLite: how long a writer waits for the single write lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;
/// SQLite: page cache per connection (KiB; SQLite's default is 2 MiB), so the
/// indexes a burst of orders walks stay in memory as the tables grow.
const SQLITE_CACHE_KIB: u32 = 32 * 1024;
/// PostgreSQL: how long a statement waits for a row or table lock.
const PG_LOCK_TIMEOUT_MS: u32 = 10_000;
/// PostgreSQL: an arbitrary, fixed key for the advisory lock that serialises
/// migrations when several depot instances start at once.
const MIGRATION_LOCK_KEY: i64 = 0x6465_706f_745f_6d67;

/// Opens connections of the configured backend. Written by hand rather than
/// diesel's `ConnectionManager<AnyConnection>`, which would try each backend
/// in turn and could open an SQLite file named after a PostgreSQL URL.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        ConnectionManager { url }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = AnyConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, Self::Error> {
        establish(&self.url).map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        matches!(
            AnyConnection::transaction_manager_status_mut(conn).transaction_depth(),
            Err(_) | Ok(Some(_))
        )
    }
}

/// One connection, set up for depot: SQLite gets its per-connection pragmas.
pub fn establish(url: &DatabaseUrl) -> diesel::ConnectionResult<AnyConnection> {
    match url {
        DatabaseUrl::Postgres(url) => {
            let mut conn = PgConnection::establish(url)?;
            // A lock not granted in this time is a 503 to retry rather than a
            // request (and the single-order writer behind it) that waits
            // without end; SQLite's busy timeout is the same idea.
            conn.batch_execute(&format!("SET lock_timeout = '{PG_LOCK_TIMEOUT_MS}ms'"))
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            Ok(AnyConnection::Postgresql(conn))
        }
        DatabaseUrl::Sqlite(path) => {
            let mut conn = SqliteConnection::establish(path)?;
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                 PRAGMA foreign_keys = ON;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA cache_size = -{SQLITE_CACHE_KIB};
                 PRAGMA temp_store = MEMORY;"
            ))
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            Ok(AnyConnection::Sqlite(conn))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("cannot open the database {url}: {cause}")]
    Connect { url: String, cause: String },
    #[error("migrations failed on {url}: {cause}")]
    Migrate { url: String, cause: String },
}

/// Prepares the database (WAL for SQLite, pending migrations) on a single
/// connection, then opens the pool. Doing the set-up before the pool exists
/// avoids racing pooled connections for SQLite's write lock.
pub fn connect(url: &DatabaseUrl, pool_size: u32) -> Result<DbPool, DbSetupError> {
    migrate(url)?;
    r2d2::Pool::builder()
        .max_size(pool_size)
        // A PostgreSQL connection can be lost (a restart, a proxy): test it
        // at checkout. An SQLite connection is a file handle; testing it
        // would only add a statement to every request.
        .test_on_check_out(matches!(url, DatabaseUrl::Postgres(_)))
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(10))
        .build(ConnectionManager::new(url.clone()))
        .map_err(|e| DbSetupError::Connect {
            url: url.redacted(),
            cause: e.to_string(),
        })
}

/// Runs pending migrations. Returns the versions it applied.
pub fn migrate(url: &DatabaseUrl) -> Result<Vec<String>, DbSetupError> {
    let connect_error = |cause: String| DbSetupError::Connect {
        url: url.redacted(),
        cause,
    };
    let migrate_error = |cause: String| DbSetupError::Migrate {
        url: url.redacted(),
        cause,
    };
    let mut conn = establish(url).map_err(|e| connect_error(e.to_string()))?;
    let applied = match &mut conn {
        AnyConnection::Sqlite(c) => {
            // WAL lets readers run beside the one writer; it is a property of
            // the file, so setting it once here holds for every connection.
            diesel::sql_query("PRAGMA journal_mode = WAL")
                .execute(c)
                .map_err(|e| connect_error(e.to_string()))?;
            versions(c.run_pending_migrations(SQLITE_MIGRATIONS)).map_err(migrate_error)?
        }
        AnyConnection::Postgresql(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .map_err(|e| connect_error(e.to_string()))?;
            let result = versions(c.run_pending_migrations(POSTGRES_MIGRATIONS));
            let _ = c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"));
            result.map_err(migrate_error)?
        }
    };
    Ok(applied)
}

fn versions(
    applied: diesel::migration::Result<Vec<diesel::migration::MigrationVersion<'_>>>,
) -> Result<Vec<String>, String> {
    applied
        .map(|versions| versions.iter().map(|v| v.to_string()).collect())
        .map_err(|e| e.to_string())
}

/// Runs blocking diesel work on actix's blocking thread pool. The pool
/// checkout happens inside, because waiting for a connection blocks too.
pub async fn run<T, F>(pool: &DbPool, work: F) -> Result<T, AppError>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    web::block(move || {
        let mut conn = pool.get()?;
        work(&mut conn)
    })
    .await?
}

/// The queue of this process's SQLite writers (see [`write`]). One for the
/// process rather than per file: a depot process serves one database, and
/// tests that run several side by side only wait a little longer.
static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// One write transaction: commits when `work` returns `Ok`, rolls back
/// otherwise. On SQLite it starts with `BEGIN IMMEDIATE`, taking the write
/// lock up front, so that a transaction that reads before it writes cannot
/// fail half-way with `SQLITE_BUSY` when another writer got in first.
pub fn write<T, F>(conn: &mut AnyConnection, work: F) -> Result<T, AppError>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, AppError>,
{
    // SQLite has one writer at a time. Writers of this process queue on a
    // mutex, handed over the moment a transaction ends; without it they
    // would wait inside SQLite's busy handler, which sleeps and polls (1 ms
    // growing to 100 ms) and leaves the lock idle between its polls. Other
    // processes on the same file still meet the busy timeout.
    let _writer = match conn {
        AnyConnection::Sqlite(c) => {
            let guard = SQLITE_WRITER
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
            Some(guard)
        }
        AnyConnection::Postgresql(c) => {
            AnsiTransactionManager::begin_transaction(c)?;
            None
        }
    };
    match work(conn) {
        Ok(value) => {
            AnyConnection::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback) = AnyConnection::rollback_transaction(conn) {
                log::error!("rollback failed: {rollback}");
            }
            Err(error)
        }
    }
}

/// Runs `work` inside a savepoint of the current write transaction (the same
/// SQL on both backends): kept when it answers `Some`, rolled back when it
/// answers `None` or an error, so the caller can try another way without
/// losing the rest of its transaction.
pub fn savepoint<T, F>(conn: &mut AnyConnection, work: F) -> Result<Option<T>, AppError>
where
    F: FnOnce(&mut AnyConnection) -> Result<Option<T>, AppError>,
{
    conn.batch_execute("SAVEPOINT depot_attempt")?;
    match work(conn) {
        Ok(Some(value)) => {
            conn.batch_execute("RELEASE SAVEPOINT depot_attempt")?;
            Ok(Some(value))
        }
        Ok(None) => {
            conn.batch_execute(
                "ROLLBACK TO SAVEPOINT depot_attempt; RELEASE SAVEPOINT depot_attempt",
            )?;
            Ok(None)
        }
        Err(error) => {
            let _ = conn.batch_execute(
                "ROLLBACK TO SAVEPOINT depot_attempt; RELEASE SAVEPOINT depot_attempt",
            );
            Err(error)
        }
    }
}

/// A query that is planned for its actual values every time it runs: it is
/// never kept as a prepared statement. diesel keeps most SELECTs prepared,
/// and after five runs PostgreSQL may switch a prepared statement to a
/// generic plan, chosen while a table was small and kept as it grows; for
/// `col = ANY($1)` over a table of orders that plan can be a scan of every
/// row. Wrap lookups by a list of keys in a large table with [`fresh`].
#[derive(Debug, Clone, Copy)]
pub struct Fresh<Q>(Q);

/// See [`Fresh`].
pub fn fresh<Q>(query: Q) -> Fresh<Q> {
    Fresh(query)
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for Fresh<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, DB> diesel::query_builder::QueryFragment<DB> for Fresh<Q>
where
    DB: diesel::backend::Backend,
    Q: diesel::query_builder::QueryFragment<DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut pass: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        pass.unsafe_to_cache_prepared();
        self.0.walk_ast(pass)
    }
}

impl<Q> diesel::query_builder::QueryId for Fresh<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, C> RunQueryDsl<C> for Fresh<Q> {}
