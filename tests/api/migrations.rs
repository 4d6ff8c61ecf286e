//! Migrations: both backends have the same versions, and run up on a fresh database.

use std::collections::BTreeSet;

use crate::helpers::{Backend, TestApp, TestDatabase};
use crate::on_both_backends;

on_both_backends!(
    migrations_run_up_on_a_fresh_database,
    migrating_again_applies_nothing,
    the_database_refuses_to_rewrite_history
);

fn versions(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
        .expect("the migrations directory")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn both_backends_have_the_same_migration_versions() {
    let sqlite = versions("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, versions("postgres"));
}

async fn migrations_run_up_on_a_fresh_database(app: TestApp) {
    let expected = versions("sqlite").len() as i64;
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM __diesel_schema_migrations"),
        expected
    );
    for table in ["merchants", "carriers", "api_tokens"] {
        // Every table exists and is queryable on this backend.
        app.count(&format!("SELECT COUNT(*) AS n FROM {table}"));
    }
}

async fn migrating_again_applies_nothing(app: TestApp) {
    let database = TestDatabase::new(app.backend).expect("a second test database");
    let first = depot::db::migrate(&database.url).expect("first run");
    assert_eq!(first.len(), versions("sqlite").len());
    assert!(depot::db::migrate(&database.url)
        .expect("second run")
        .is_empty());
    if app.backend == Backend::Sqlite {
        assert!(database.dir.path().join("depot.db").exists());
    }
}

/// The trace log, the ledger and finished inspections refuse UPDATE and DELETE
/// at the database itself, whoever asks.
async fn the_database_refuses_to_rewrite_history(app: TestApp) {
    use diesel::RunQueryDsl;
    let floor = crate::inspection::Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[100]).await;
    floor.inspect(&app, &lots[0], false).await;
    let before = (
        app.count("SELECT COUNT(*) AS n FROM trace_events"),
        app.count("SELECT COUNT(*) AS n FROM ledger_entries"),
    );
    let mut conn = app.pool.get().expect("a connection");

    for sql in [
        "UPDATE trace_events SET disposition = 'conformant'",
        "DELETE FROM trace_events",
        "UPDATE ledger_entries SET delta = 1000",
        "DELETE FROM ledger_entries",
        "UPDATE inspection_findings SET defects = 0",
        "DELETE FROM inspection_findings",
        "UPDATE inspections SET verdict = 'accepted'",
        "DELETE FROM inspections",
    ] {
        let refused = diesel::sql_query(sql).execute(&mut *conn);
        assert!(refused.is_err(), "{sql} was allowed");
    }

    assert_eq!(
        (
            app.count("SELECT COUNT(*) AS n FROM trace_events"),
            app.count("SELECT COUNT(*) AS n FROM ledger_entries"),
        ),
        before
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM inspections WHERE verdict = 'rejected'"),
        1
    );
}
