//! Inspection reports: JSON pages and CSV, own data only for merchants, time
//! ranges, and the pass rate per merchant × SKU counting current verdicts.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::inspection::Floor;
use crate::on_both_backends;

on_both_backends!(
    the_inspection_report_lists_each_finished_inspection_with_its_correction,
    the_inspection_report_downloads_as_csv,
    quality_counts_each_lots_current_verdict_per_sku_and_check,
    report_filters_are_checked,
);

/// TEAHOUSE: lot 0 accepted with 2 cosmetic defects, lot 1 rejected then
/// corrected to accepted. RIVAL: one lot rejected.
async fn history(app: &TestApp) -> (Floor, Floor) {
    let tea = Floor::new(app, "TEAHOUSE", "TEA").await;
    let lots = tea.receive(app, "TEA", "ASN-1", &[100, 100]).await;
    let started = tea.start(app, &lots[0]).await;
    app.post(
        &format!(
            "/api/v1/inspections/{}/results",
            started["id"].as_str().unwrap()
        ),
        &tea.staff_token,
        json!({"inspected_qty": started["required_units"],
               "findings": [{"check_code": "cosmetic", "defects": 2}],
               "notes": "=HYPERLINK(\"x\"), scuffs"}),
    )
    .await
    .ok(200);
    let rejected = tea.inspect(app, &lots[1], false).await;
    let correction = app
        .post(
            &format!(
                "/api/v1/inspections/{}/correction",
                rejected["id"].as_str().unwrap()
            ),
            &tea.staff_token,
            json!({}),
        )
        .await
        .ok(201);
    tea.finish(app, &correction, 0).await;
    let rival = Floor::new(app, "RIVAL", "MUG").await;
    let rival_lots = rival.receive(app, "MUG", "R-1", &[50]).await;
    rival.inspect(app, &rival_lots[0], false).await;
    (tea, rival)
}

fn items(reply: &Value) -> &Vec<Value> {
    reply["items"].as_array().unwrap()
}

async fn the_inspection_report_lists_each_finished_inspection_with_its_correction(app: TestApp) {
    let (tea, _) = history(&app).await;

    let all = app
        .get("/api/v1/reports/inspections", &tea.staff_token)
        .await
        .ok(200);
    let own = app
        .get("/api/v1/reports/inspections", &tea.merchant_token)
        .await
        .ok(200);

    assert_eq!(items(&all).len(), 4);
    let own = items(&own);
    assert_eq!(own.len(), 3, "a merchant sees only its own inspections");
    assert!(own.iter().all(|l| l["merchant_code"] == "TEAHOUSE"));
    let superseded: Vec<&Value> = own.iter().filter(|l| l["current"] == false).collect();
    assert_eq!(superseded.len(), 1);
    assert_eq!(superseded[0]["verdict"], "rejected");
    let correction = own
        .iter()
        .find(|l| l["supersedes_id"] == superseded[0]["inspection_id"])
        .unwrap();
    assert_eq!(correction["verdict"], "accepted");
    assert_eq!(superseded[0]["superseded_by"], correction["inspection_id"]);
    assert_eq!(own[0]["minor_defects"], 2);

    // Pages of one.
    let first = app
        .get("/api/v1/reports/inspections?limit=1", &tea.merchant_token)
        .await
        .ok(200);
    assert_eq!(items(&first).len(), 1);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/reports/inspections?limit=1&cursor={cursor}"),
            &tea.merchant_token,
        )
        .await
        .ok(200);
    assert_ne!(
        items(&second)[0]["inspection_id"],
        items(&first)[0]["inspection_id"]
    );
}

async fn the_inspection_report_downloads_as_csv(app: TestApp) {
    let (tea, _) = history(&app).await;

    let reply = app
        .get(
            "/api/v1/reports/inspections?format=csv",
            &tea.merchant_token,
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        reply.content_type.starts_with("text/csv"),
        "{}",
        reply.content_type
    );
    let records: Vec<&str> = reply.text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        records.len(),
        4,
        "a header and three inspections:\n{}",
        reply.text
    );
    assert!(records[0].starts_with("inspection_id,finished_at,merchant_id,merchant_code"));
    // The notes are quoted and cannot run as a formula.
    assert!(
        reply.text.contains("\"'=HYPERLINK(\"\"x\"\"), scuffs\""),
        "{}",
        reply.text
    );
    assert!(!reply.text.contains("RIVAL"));
}

async fn quality_counts_each_lots_current_verdict_per_sku_and_check(app: TestApp) {
    let (tea, _) = history(&app).await;

    let all = app
        .get("/api/v1/reports/inspection-quality", &tea.staff_token)
        .await
        .ok(200);

    let rows = items(&all);
    assert_eq!(rows.len(), 2);
    let tea_row = rows.iter().find(|r| r["sku_code"] == "TEA").unwrap();
    // The corrected lot counts once, as accepted.
    assert_eq!(tea_row["lots_inspected"], 2);
    assert_eq!(tea_row["lots_accepted"], 2);
    assert_eq!(tea_row["pass_rate"], 1.0);
    assert_eq!(tea_row["minor_defects"], 2);
    assert_eq!(
        tea_row["major_defects"], 0,
        "the superseded rejection is not counted"
    );
    let cosmetic = tea_row["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check_code"] == "cosmetic")
        .unwrap();
    assert_eq!(cosmetic["defects"], 2);
    assert_eq!(cosmetic["inspections_with_defects"], 1);
    let mug = rows.iter().find(|r| r["sku_code"] == "MUG").unwrap();
    assert_eq!(mug["pass_rate"], 0.0);
    assert_eq!(mug["lots_rejected"], 1);

    let own = app
        .get(
            "/api/v1/reports/inspection-quality?format=csv",
            &tea.merchant_token,
        )
        .await;
    assert_eq!(own.status, 200);
    let records: Vec<&str> = own.text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        records.len(),
        1 + 5,
        "a header and one row per check of TEA's template"
    );
    assert!(
        records[1..]
            .iter()
            .all(|r| r.contains(",TEA,2,2,0,1.0000,")),
        "{}",
        own.text
    );
}

async fn report_filters_are_checked(app: TestApp) {
    let (tea, rival) = history(&app).await;

    for (query, field) in [
        ("from=yesterday", "from"),
        ("from=2026-11-25&to=2026-11-24", "to"),
        ("format=xml", "format"),
        ("limit=0", "limit"),
        ("sku_code=%20-x", "sku_code"),
    ] {
        let problem = app
            .get(
                &format!("/api/v1/reports/inspections?{query}"),
                &tea.staff_token,
            )
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], field, "{query}");
    }
    let rival_id = items(
        &app.get("/api/v1/reports/inspections", &rival.merchant_token)
            .await
            .ok(200),
    )[0]["merchant_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.get(
        &format!("/api/v1/reports/inspections?merchant_id={rival_id}"),
        &tea.merchant_token,
    )
    .await
    .problem(404);
    let only_rival = app
        .get(
            &format!("/api/v1/reports/inspections?merchant_id={rival_id}"),
            &tea.staff_token,
        )
        .await
        .ok(200);
    assert_eq!(items(&only_rival).len(), 1);
    // A range that ends before anything finished is empty; one from then holds all.
    let empty = app
        .get(
            "/api/v1/reports/inspections?to=2020-01-01",
            &tea.staff_token,
        )
        .await
        .ok(200);
    assert!(items(&empty).is_empty());
    let since = app
        .get(
            "/api/v1/reports/inspections?from=2020-01-01T00:00:00Z&sku_code=TEA",
            &tea.staff_token,
        )
        .await
        .ok(200);
    assert_eq!(items(&since).len(), 3);
}
