//! The libpq depot is linked with can speak TLS to PostgreSQL.
//!
//! By default libpq is compiled from source (pq-sys `bundled`) with OpenSSL
//! compiled from source too (openssl-sys `vendored`); a libpq built without
//! OpenSSL would still connect, but refuse every `sslmode=require` URL. These
//! tests tell the two apart. `.ci/run` checks with `ldd` that the release
//! binary links no system libpq, libssl or libcrypto.

use diesel::sql_types::Bool;
use diesel::{sql_query, QueryableByName, RunQueryDsl};

use depot::config::DatabaseUrl;
use depot::db::{self, AnyConnection};

/// What libpq says to `sslmode=require` when it was built without TLS
/// (fe-connect.c: "sslmode value \"require\" invalid when SSL support is not
/// compiled in").
const BUILT_WITHOUT_TLS: &str = "not compiled in";
/// What it says when it can speak TLS but the server does not (fe-connect.c).
const SERVER_WITHOUT_TLS: &str = "server does not support SSL";

#[cfg(feature = "bundled-libpq")]
#[test]
fn the_bundled_libpq_is_compiled_with_openssl() {
    // PQsslAttribute(NULL, "library") names the TLS library libpq was
    // compiled with, and is NULL when there is none (libpq 16 and later; the
    // bundled one is newer).
    // SAFETY: a NULL connection is allowed here, and the attribute name is a
    // NUL-terminated literal; the answer is a static string or NULL.
    let library = unsafe { pq_sys::PQsslAttribute(std::ptr::null_mut(), c"library".as_ptr()) };

    assert!(!library.is_null(), "libpq was compiled without TLS");
    // SAFETY: not NULL, and libpq answers a NUL-terminated static string.
    let library = unsafe { std::ffi::CStr::from_ptr(library) };
    assert_eq!(library.to_str(), Ok("OpenSSL"));
}

#[derive(QueryableByName)]
struct SslInUse {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

#[test]
fn sslmode_require_gets_an_encrypted_session_or_is_refused_by_the_server_only() {
    let Ok(base) = std::env::var("DEPOT_TEST_PG_URL") else {
        eprintln!("skipped: DEPOT_TEST_PG_URL is not set (a PostgreSQL to connect to with sslmode=require)");
        return;
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = DatabaseUrl::parse(&format!("{base}{separator}sslmode=require"))
        .expect("DEPOT_TEST_PG_URL is a PostgreSQL URL");

    // Through depot's own connection set-up, the one `depot serve` uses.
    match db::establish(&url) {
        Ok(AnyConnection::Postgresql(mut conn)) => {
            let session: SslInUse =
                sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                    .get_result(&mut conn)
                    .expect("pg_stat_ssl has a row for every backend");
            assert!(
                session.ssl,
                "connected with sslmode=require, yet unencrypted"
            );
        }
        Ok(AnyConnection::Sqlite(_)) => panic!("a postgres:// URL opened SQLite"),
        Err(error) => {
            // A server with `ssl = off` refuses, and that is the only refusal
            // that is not depot's fault.
            let message = error.to_string();
            assert!(
                !message.contains(BUILT_WITHOUT_TLS),
                "libpq was built without TLS: {message}"
            );
            assert!(
                message.contains(SERVER_WITHOUT_TLS),
                "unexpected refusal: {message}"
            );
            eprintln!("the server has TLS off; libpq asked for it, as it should: {message}");
        }
    }
}
