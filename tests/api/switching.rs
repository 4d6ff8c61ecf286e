//! ISO 2859-1 clause 9 switching rules per merchant × SKU, end to end:
//! normal → tightened → normal, and discontinuation until an admin resumes.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::inspection::Floor;
use crate::on_both_backends;

on_both_backends!(
    two_lots_not_accepted_within_five_tighten_inspection,
    two_lots_not_accepted_six_apart_stay_normal,
    five_accepted_in_a_row_on_tightened_restore_normal,
    five_not_accepted_on_tightened_discontinue_until_an_admin_resumes,
);

const A: bool = true;
const R: bool = false;

async fn state(app: &TestApp, floor: &Floor) -> Value {
    app.get(
        &format!("/api/v1/skus/{}/inspection-switching", floor.sku_id),
        &floor.merchant_token,
    )
    .await
    .ok(200)
}

/// Inspects `lots` in order with the given outcomes.
async fn run(app: &TestApp, floor: &Floor, lots: &[String], outcomes: &[bool]) {
    for (lot, accept) in lots.iter().zip(outcomes) {
        let done = floor.inspect(app, lot, *accept).await;
        let expected = if *accept { "accepted" } else { "rejected" };
        assert_eq!(done["verdict"], expected);
    }
}

async fn two_lots_not_accepted_within_five_tighten_inspection(app: TestApp) {
    // Arrange: four lots of 500 units (code letter H at level II).
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[500; 4]).await;

    // Act: rejected, accepted, rejected.
    run(&app, &floor, &lots[..3], &[R, A, R]).await;

    // Assert: clause 9.3.2, 2 of the last 5 (or fewer) not accepted → tightened.
    let now = state(&app, &floor).await;
    assert_eq!(now["state"], "tightened");
    assert_eq!(now["severity"], "tightened");
    let after: Vec<&str> = now["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state_after"].as_str().unwrap())
        .collect();
    assert_eq!(after, ["normal", "normal", "tightened"]);
    assert_eq!(now["history"][0]["event"], "lot_not_accepted");
    assert_eq!(now["history"][0]["lot_id"], json!(lots[0]));
    // The next lot is sampled by Table 2-B: H at AQL 2.5 is Ac 2 Re 3 (normal: 3/4).
    let next = floor.start(&app, &lots[3]).await;
    assert_eq!(next["severity"], "tightened");
    assert_eq!(next["plans"]["major"]["sample_size"], 50);
    assert_eq!(next["plans"]["major"]["accept"], 2);
    assert_eq!(next["plans"]["major"]["reject"], 3);
}

async fn two_lots_not_accepted_six_apart_stay_normal(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[50; 6]).await;

    run(&app, &floor, &lots, &[R, A, A, A, A, R]).await;

    // The first rejection is no longer among the last five lots.
    let now = state(&app, &floor).await;
    assert_eq!(now["state"], "normal");
    assert_eq!(
        now["recent_on_normal"],
        json!([
            "accepted",
            "accepted",
            "accepted",
            "accepted",
            "not_accepted"
        ])
    );
}

async fn five_accepted_in_a_row_on_tightened_restore_normal(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[50; 7]).await;
    run(&app, &floor, &lots[..2], &[R, R]).await;
    assert_eq!(state(&app, &floor).await["state"], "tightened");

    run(&app, &floor, &lots[2..6], &[A, A, A, A]).await;
    let four = state(&app, &floor).await;
    assert_eq!(four["state"], "tightened");
    assert_eq!(four["consecutive_accepted_on_tightened"], 4);

    run(&app, &floor, &lots[6..], &[A]).await;

    // Clause 9.3.3: five consecutive lots accepted on tightened → normal.
    let now = state(&app, &floor).await;
    assert_eq!(now["state"], "normal");
    assert_eq!(now["severity"], "normal");
    assert_eq!(now["history"].as_array().unwrap().len(), 7);
}

async fn five_not_accepted_on_tightened_discontinue_until_an_admin_resumes(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[50; 10]).await;
    // Two rejections tighten; then four more not accepted (one accepted between:
    // clause 9.4 counts in total, not in a row).
    run(&app, &floor, &lots[..7], &[R, R, R, A, R, R, R]).await;
    let four = state(&app, &floor).await;
    assert_eq!(four["state"], "tightened");
    assert_eq!(four["not_accepted_on_tightened"], 4);
    // A lot whose inspection started before the scheme is discontinued.
    let pending = floor.start(&app, &lots[8]).await;

    run(&app, &floor, &lots[7..8], &[R]).await;

    // Clause 9.4: the fifth lot not accepted on tightened discontinues inspection.
    let now = state(&app, &floor).await;
    assert_eq!(now["state"], "discontinued");
    assert_eq!(now["severity"], Value::Null);
    let before = app.count("SELECT COUNT(*) AS n FROM inspections");
    let problem = app
        .post(
            &format!("/api/v1/lots/{}/inspections", lots[9]),
            &floor.staff_token,
            json!({}),
        )
        .await
        .problem(409);
    assert!(
        problem["detail"].as_str().unwrap().contains("discontinued"),
        "{problem}"
    );
    let problem = app
        .post(
            &format!(
                "/api/v1/inspections/{}/results",
                pending["id"].as_str().unwrap()
            ),
            &floor.staff_token,
            json!({"inspected_qty": pending["required_units"], "findings": []}),
        )
        .await
        .problem(409);
    assert!(problem["detail"].as_str().unwrap().contains("discontinued"));
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM inspections"), before);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM inspections WHERE status = 'finished'"),
        8
    );

    // Only an admin resumes, with a reason.
    let resume = format!("/api/v1/skus/{}/inspection-switching/resume", floor.sku_id);
    app.post(
        &resume,
        &floor.staff_token,
        json!({"reason": "new supplier"}),
    )
    .await
    .problem(403);
    let problem = app
        .post(&resume, &app.admin_token, json!({"reason": "  "}))
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "reason");
    let resumed = app
        .post(
            &resume,
            &app.admin_token,
            json!({"reason": "supplier replaced the sealing line"}),
        )
        .await
        .ok(200);

    // Resumed on tightened inspection; the pending lot and new lots go on.
    assert_eq!(resumed["state"], "tightened");
    let last = resumed["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["event"], "resumed");
    assert_eq!(last["reason"], "supplier replaced the sealing line");
    app.post(&resume, &app.admin_token, json!({"reason": "again"}))
        .await
        .problem(409);
    floor.finish(&app, &pending, 0).await;
    let next = floor.start(&app, &lots[9]).await;
    assert_eq!(next["severity"], "tightened");
}
