//! Tamper evidence of the trace log: a sealed log verifies; an insider who
//! drops the append-only triggers and edits, deletes or reorders one event
//! row is named; deleting the newest blocks is caught against a checkpoint.

use std::process::Command;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use serde_json::Value;

use depot::config::{Config, SealSettings, SigningKeySeed};
use depot::services::trace_seal::{self, BrokenKind};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::trace::pipeline;

on_both_backends!(
    config = no_background_sealer;
    a_sealed_log_verifies_and_an_edited_event_is_named,
    a_deleted_event_is_named_by_its_seq_and_block,
    reordered_events_are_named,
    an_event_changed_with_its_hash_breaks_its_block,
    deleting_the_newest_blocks_is_caught_against_a_checkpoint,
);
on_both_backends!(config = quick_sealer; the_sealer_seals_in_the_background);

const DEPOT: &str = env!("CARGO_BIN_EXE_depot");
/// RFC 8032 §7.1 TEST 1's secret key, as a checkpoint key for tests.
const KEY: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

fn no_background_sealer(config: &mut Config) {
    config.seal = SealSettings {
        interval: None,
        ..SealSettings::default()
    };
}

fn quick_sealer(config: &mut Config) {
    config.seal = SealSettings {
        interval: Some(Duration::from_millis(50)),
        block_size: 8,
        signing_key: None,
    };
}

/// Seals everything now, in blocks of 4 events (so the pipeline's events
/// make several blocks).
fn seal_all(app: &TestApp) -> usize {
    let mut conn = app.pool.get().expect("a connection");
    let mut blocks = 0;
    loop {
        let run = trace_seal::seal(&mut conn, 4, 1_000).expect("sealing runs");
        blocks += run.blocks;
        if !run.more {
            return blocks;
        }
    }
}

async fn verify(app: &TestApp) -> Value {
    app.get("/api/v1/trace/verify", &app.admin_token)
        .await
        .ok(200)
}

/// What an insider with the database's owner rights does first.
fn drop_append_only_triggers(app: &TestApp) {
    let sql = match app.backend {
        Backend::Sqlite => {
            "DROP TRIGGER trace_events_no_update; DROP TRIGGER trace_events_no_delete; \
             DROP TRIGGER trace_blocks_no_update; DROP TRIGGER trace_blocks_no_delete;"
        }
        Backend::Postgres => {
            "DROP TRIGGER trace_events_append_only ON trace_events; \
             DROP TRIGGER trace_blocks_append_only ON trace_blocks;"
        }
    };
    insider(app, sql);
}

fn insider(app: &TestApp, sql: &str) {
    let mut conn = app.pool.get().expect("a connection");
    conn.batch_execute(sql).expect("the insider's SQL runs");
}

/// The id of the event at `seq`.
fn event_at(app: &TestApp, seq: i64) -> String {
    app.text(&format!(
        "SELECT id AS v FROM trace_events WHERE seq = {seq}"
    ))
}

/// The seq of the `k`-th event (from 0): seqs need not be contiguous
/// (on PostgreSQL a rolled-back transaction leaves its numbers unused).
fn nth_seq(app: &TestApp, k: i64) -> i64 {
    app.count(&format!(
        "SELECT seq AS n FROM trace_events ORDER BY seq LIMIT 1 OFFSET {k}"
    ))
}

/// The block holding `seq`.
fn block_of(app: &TestApp, seq: i64) -> i64 {
    app.count(&format!(
        "SELECT number AS n FROM trace_blocks WHERE first_seq <= {seq} AND last_seq >= {seq}"
    ))
}

async fn sealed_pipeline(app: &TestApp) -> i64 {
    pipeline(app, "TEA").await;
    let events = app.count("SELECT COUNT(*) AS n FROM trace_events");
    assert!(events >= 12, "the pipeline wrote {events} events");
    assert!(seal_all(app) >= 3);
    events
}

async fn a_sealed_log_verifies_and_an_edited_event_is_named(app: TestApp) {
    // Arrange: receiving, inspection, putaway, orders, picking, packing, handover.
    let events = sealed_pipeline(&app).await;
    let report = verify(&app).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["events_sealed"], events, "{report}");
    assert_eq!(report["unsealed"], 0, "{report}");
    assert!(report["first_broken"].is_null(), "{report}");
    let blocks = report["blocks"].as_i64().unwrap();
    assert_eq!(blocks, app.count("SELECT COUNT(*) AS n FROM trace_blocks"));
    assert_eq!(
        report["events"].as_i64().unwrap(),
        app.count("SELECT COUNT(*) AS n FROM trace_events")
    );
    // Every event carries its hash, written with it.
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM trace_events WHERE hash IS NULL"),
        0
    );
    // Only the warehouse verifies.
    let (_, merchant_token) = app.merchant_token("OTHER").await;
    app.get("/api/v1/trace/verify", &merchant_token)
        .await
        .problem(403);
    let (_, staff_token) = app.token("staff", None, None).await;
    app.get("/api/v1/trace/verify", &staff_token)
        .await
        .problem(403);

    // Act: an insider drops the triggers and changes one event's quantity.
    drop_append_only_triggers(&app);
    let seq = nth_seq(&app, events / 2);
    let id = event_at(&app, seq);
    insider(
        &app,
        &format!("UPDATE trace_events SET quantity = COALESCE(quantity, 0) + 1 WHERE seq = {seq}"),
    );

    // Assert: verify fails and names that event.
    let report = verify(&app).await;
    assert_eq!(report["ok"], false, "{report}");
    let broken = &report["first_broken"];
    assert_eq!(broken["kind"], "event", "{report}");
    assert_eq!(broken["id"], id.as_str(), "{report}");
    assert_eq!(broken["seq"], seq, "{report}");
    assert_eq!(broken["block"], block_of(&app, seq), "{report}");
    // The command line says the same, and exits non-zero.
    let out = depot_cli(&app, &["trace", "verify"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("event {id} (seq {seq})")),
        "{stderr}"
    );
}

async fn a_deleted_event_is_named_by_its_seq_and_block(app: TestApp) {
    let events = sealed_pipeline(&app).await;
    drop_append_only_triggers(&app);
    let seq = nth_seq(&app, events / 3);
    let block = block_of(&app, seq);
    insider(&app, &format!("DELETE FROM trace_events WHERE seq = {seq}"));

    let report = verify(&app).await;
    assert_eq!(report["ok"], false, "{report}");
    let broken = &report["first_broken"];
    assert_eq!(broken["kind"], "event", "{report}");
    assert_eq!(broken["seq"], seq, "{report}");
    assert_eq!(broken["block"], block, "{report}");
    assert!(broken["id"].is_null(), "{report}");
    assert!(
        broken["reason"].as_str().unwrap().contains("missing"),
        "{report}"
    );
}

async fn reordered_events_are_named(app: TestApp) {
    let events = sealed_pipeline(&app).await;
    drop_append_only_triggers(&app);
    // Two events swap places: the later one takes the earlier one's seq.
    let (a, b) = (nth_seq(&app, events / 4), nth_seq(&app, events / 4 + 5));
    let moved = event_at(&app, b);
    insider(
        &app,
        &format!(
            "UPDATE trace_events SET seq = -1 WHERE seq = {a}; \
             UPDATE trace_events SET seq = {a} WHERE seq = {b}; \
             UPDATE trace_events SET seq = {b} WHERE seq = -1;"
        ),
    );

    let report = verify(&app).await;
    assert_eq!(report["ok"], false, "{report}");
    let broken = &report["first_broken"];
    assert_eq!(broken["kind"], "event", "{report}");
    assert_eq!(broken["seq"], a, "{report}");
    assert_eq!(broken["id"], moved.as_str(), "{report}");
}

async fn an_event_changed_with_its_hash_breaks_its_block(app: TestApp) {
    // An insider who knows the hashing: the event's own hash is made to
    // match its new content, so only the block's Merkle root can tell.
    let events = sealed_pipeline(&app).await;
    drop_append_only_triggers(&app);
    let seq = nth_seq(&app, events / 2);
    let block = block_of(&app, seq);
    insider(
        &app,
        &format!("UPDATE trace_events SET actor = 'tok_somebody_else' WHERE seq = {seq}"),
    );
    let broken = verify(&app).await["first_broken"].clone();
    assert_eq!(broken["kind"], "event", "{broken}");
    let rehashed = rehash(&app, seq);
    insider(
        &app,
        &format!("UPDATE trace_events SET hash = '{rehashed}' WHERE seq = {seq}"),
    );

    let report = verify(&app).await;
    assert_eq!(report["ok"], false, "{report}");
    let broken = &report["first_broken"];
    assert_eq!(broken["kind"], "block", "{report}");
    assert_eq!(broken["block"], block, "{report}");
    assert!(
        broken["reason"].as_str().unwrap().contains("Merkle root"),
        "{report}"
    );
}

/// The hash the event at `seq` has now, computed as depot computes it.
fn rehash(app: &TestApp, seq: i64) -> String {
    let text = |column: &str| -> Option<String> {
        let v = app.text(&format!(
            "SELECT COALESCE(CAST({column} AS TEXT), '<null>') AS v FROM trace_events WHERE seq = {seq}"
        ));
        (v != "<null>").then_some(v)
    };
    let time = |column: &str| {
        let raw = text(column).unwrap();
        chrono::NaiveDateTime::parse_from_str(&raw, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    };
    let columns: Vec<Option<String>> = [
        "id",
        "event_type",
        "action",
        "event_tz_offset",
        "biz_step",
        "disposition",
        "lot_id",
        "what_class",
        "location_id",
        "biz_tx_type",
        "biz_tx_id",
        "actor",
        "details",
        "parent_id",
    ]
    .iter()
    .map(|c| text(c))
    .collect();
    let c = |i: usize| columns[i].as_deref();
    let quantity = text("quantity").map(|q| q.parse::<i64>().unwrap());
    let content = depot::domain::seal::EventContent {
        seq,
        id: c(0).unwrap(),
        event_type: c(1).unwrap(),
        action: c(2).unwrap(),
        event_time: time("event_time"),
        event_tz_offset: c(3).unwrap(),
        biz_step: c(4).unwrap(),
        disposition: c(5).unwrap(),
        lot_id: c(6),
        what_class: c(7).unwrap(),
        quantity,
        location_id: c(8),
        biz_tx_type: c(9),
        biz_tx_id: c(10),
        actor: c(11),
        recorded_at: time("recorded_at"),
        details: c(12),
        parent_id: c(13),
    };
    depot::domain::seal::hex(&content.hash())
}

async fn deleting_the_newest_blocks_is_caught_against_a_checkpoint(app: TestApp) {
    sealed_pipeline(&app).await;
    let key = SigningKeySeed::parse(KEY).unwrap().key();
    let checkpoint = {
        let mut conn = app.pool.get().unwrap();
        trace_seal::checkpoint(&mut conn, &key).expect("a checkpoint of a log that verifies")
    };
    let blocks = checkpoint.blocks;
    assert_eq!(blocks, app.count("SELECT COUNT(*) AS n FROM trace_blocks"));
    let file = app.data_dir.join("checkpoint.json");
    std::fs::create_dir_all(&app.data_dir).unwrap();
    std::fs::write(&file, serde_json::to_string_pretty(&checkpoint).unwrap()).unwrap();
    // The command line agrees while nothing is touched.
    let out = depot_cli_keyed(
        &app,
        &["trace", "verify", "--checkpoint", file.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Act: the newest two blocks go, and their events with them.
    drop_append_only_triggers(&app);
    let keep = blocks - 2;
    let cut = app.count(&format!(
        "SELECT last_seq AS n FROM trace_blocks WHERE number = {keep}"
    ));
    insider(
        &app,
        &format!(
            "DELETE FROM trace_events WHERE seq > {cut}; DELETE FROM trace_blocks WHERE number > {keep};"
        ),
    );

    // Assert: what is left is a consistent chain on its own …
    let report = verify(&app).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["blocks"], keep, "{report}");
    // … but not against the checkpoint, which names the first missing block.
    let mut conn = app.pool.get().unwrap();
    let against = trace_seal::verify_with_checkpoint(&mut conn, &checkpoint, Some(&key)).unwrap();
    assert!(!against.ok);
    let broken = against.first_broken.expect("something is broken");
    assert_eq!(broken.kind, BrokenKind::Block);
    assert_eq!(broken.block, Some(keep + 1), "{broken}");
    // A forged checkpoint of the shorter chain does not hold.
    let mut forged = checkpoint.clone();
    forged.blocks = keep;
    forged.root = report["root"].as_str().unwrap().into();
    let forged = trace_seal::verify_with_checkpoint(&mut conn, &forged, Some(&key)).unwrap();
    assert_eq!(forged.first_broken.unwrap().kind, BrokenKind::Checkpoint);
    drop(conn);
    // The command line fails and names the block.
    let out = depot_cli_keyed(
        &app,
        &["trace", "verify", "--checkpoint", file.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("block {}", keep + 1)), "{stderr}");
    // Without a key, no checkpoint is signed.
    let out = depot_cli(&app, &["trace", "checkpoint"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DEPOT_TRACE_SIGNING_KEY"), "{stderr}");
}

async fn the_sealer_seals_in_the_background(app: TestApp) {
    pipeline(&app, "TEA").await;
    let events = app.count("SELECT COUNT(*) AS n FROM trace_events");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let report = verify(&app).await;
        assert_eq!(report["ok"], true, "{report}");
        if report["unsealed"] == 0 && report["events_sealed"] == events {
            assert!(report["blocks"].as_i64().unwrap() >= events / 8);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not sealed in time: {report}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

fn depot_cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(DEPOT)
        .args(args)
        .env("DATABASE_URL", app.database_url())
        .env_remove("DEPOT_TRACE_SIGNING_KEY")
        .env("RUST_LOG", "warn")
        .output()
        .expect("depot runs")
}

fn depot_cli_keyed(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(DEPOT)
        .args(args)
        .env("DATABASE_URL", app.database_url())
        .env("DEPOT_TRACE_SIGNING_KEY", KEY)
        .env("RUST_LOG", "warn")
        .output()
        .expect("depot runs")
}
