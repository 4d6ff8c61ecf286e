//! ISO 2859-1 clause 9 switching rules per merchant × SKU, end to end:
//! normal → tightened → normal, discontinuation until an admin resumes, and
//! normal → reduced (switching score 30 with staff's approval) → normal.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::inspection::Floor;
use crate::on_both_backends;

on_both_backends!(
    two_lots_not_accepted_within_five_tighten_inspection,
    two_lots_not_accepted_six_apart_stay_normal,
    five_accepted_in_a_row_on_tightened_restore_normal,
    five_not_accepted_on_tightened_discontinue_until_an_admin_resumes,
    accepted_lots_reaching_a_score_of_30_with_approval_switch_to_reduced,
    a_score_of_30_without_approval_stays_normal_until_staff_approve,
    a_lot_not_accepted_on_reduced_inspection_reinstates_normal,
    withdrawing_the_approval_reinstates_normal_and_bad_requests_change_nothing,
    accepted_lots_score_three_only_when_also_accepted_one_aql_step_tighter,
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

/// Lots of 500 (code letter H at level II) with the default template: each
/// accepted lot on normal inspection adds 2 to the switching score (the
/// critical class's zero acceptance is a plan with Ac 0; the major class's 3/4
/// would add 3), so fifteen lots make 30.
const LOTS_TO_30: usize = 15;

async fn approve(app: &TestApp, floor: &Floor, enabled: bool, reason: &str) -> Value {
    app.post(
        &format!(
            "/api/v1/skus/{}/inspection-switching/reduced-approval",
            floor.sku_id
        ),
        &floor.staff_token,
        json!({"enabled": enabled, "reason": reason}),
    )
    .await
    .ok(200)
}

async fn accepted_lots_reaching_a_score_of_30_with_approval_switch_to_reduced(app: TestApp) {
    // Arrange: staff approve reduced inspection for the SKU before the run.
    // (ASCII codes: Chinese codes are another point of this issue.)
    let floor = Floor::new(&app, "HONEY-COOP", "HONEY-500G").await;
    let lots = floor
        .receive(&app, "HONEY-500G", "ASN-1202", &[500; LOTS_TO_30 + 1])
        .await;
    let approved = approve(&app, &floor, true, "产线稳定，质量部批准放宽检验").await;
    assert_eq!(approved["state"], "normal");
    assert_eq!(approved["reduced_approved"], true);
    assert_eq!(
        approved["reduced_approval"]["reason"],
        "产线稳定，质量部批准放宽检验"
    );
    assert!(approved["reduced_approval"]["by"].is_string());
    assert!(approved["reduced_approval"]["at"].is_string());

    // Act: fourteen accepted lots make 28; the fifteenth makes 30.
    run(&app, &floor, &lots[..LOTS_TO_30 - 1], &[A; LOTS_TO_30 - 1]).await;
    let before = state(&app, &floor).await;
    assert_eq!(before["state"], "normal");
    assert_eq!(before["switching_score"], 28);
    run(&app, &floor, &lots[LOTS_TO_30 - 1..LOTS_TO_30], &[A]).await;

    // Assert: clause 9.3.3.1 — score 30 and the approval: reduced inspection.
    let now = state(&app, &floor).await;
    assert_eq!(now["state"], "reduced");
    assert_eq!(now["severity"], "reduced");
    let last = now["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event"], "lot_accepted", "{now}");
    assert_eq!(last["switching_score_after"], 30);
    assert_eq!(last["state_after"], "reduced");
    // The next lot is sampled by Table 2-C: H's reduced sample is 20, and
    // H at AQL 2.5 is Ac 2 Re 3 (normal: 50, 3/4).
    let next = floor.start(&app, &lots[LOTS_TO_30]).await;
    assert_eq!(next["severity"], "reduced");
    assert_eq!(next["plans"]["major"]["sample_size"], 20);
    assert_eq!(next["plans"]["major"]["accept"], 2);
    assert_eq!(next["plans"]["major"]["reject"], 3);
    assert_eq!(next["plans"]["critical"]["sample_size"], 20);
    assert_eq!(next["required_units"], 20);
    // Accepted on reduced inspection: it stays reduced.
    let done = floor.finish(&app, &next, 2).await;
    assert_eq!(done["verdict"], "accepted");
    assert_eq!(state(&app, &floor).await["state"], "reduced");
}

async fn a_score_of_30_without_approval_stays_normal_until_staff_approve(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor
        .receive(&app, "TEA", "ASN-1", &[500; LOTS_TO_30 + 2])
        .await;

    run(&app, &floor, &lots[..LOTS_TO_30 + 1], &[A; LOTS_TO_30 + 1]).await;

    // Score 32, but production steady / the authority's approval is missing.
    let now = state(&app, &floor).await;
    assert_eq!(now["state"], "normal");
    assert_eq!(now["switching_score"], 32);
    assert_eq!(now["reduced_approved"], false);
    assert_eq!(now["reduced_approval"], Value::Null);
    assert_eq!(
        floor.start(&app, &lots[LOTS_TO_30 + 1]).await["severity"],
        "normal"
    );

    // The approval, given with the score already at 30 or more, switches at once.
    let approved = approve(&app, &floor, true, "steady production since October").await;
    assert_eq!(approved["state"], "reduced");
    assert_eq!(approved["severity"], "reduced");
    let last = approved["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["event"], "reduced_approved");
    assert_eq!(last["reason"], "steady production since October");
    // Asking again changes nothing and records nothing.
    let rows = app.count("SELECT COUNT(*) AS n FROM reduced_inspection_approvals");
    let again = approve(&app, &floor, true, "again").await;
    assert_eq!(again["state"], "reduced");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM reduced_inspection_approvals"),
        rows
    );
}

async fn a_lot_not_accepted_on_reduced_inspection_reinstates_normal(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor
        .receive(&app, "TEA", "ASN-1", &[500; LOTS_TO_30 + 2])
        .await;
    approve(&app, &floor, true, "steady").await;
    run(&app, &floor, &lots[..LOTS_TO_30], &[A; LOTS_TO_30]).await;
    assert_eq!(state(&app, &floor).await["state"], "reduced");

    // Act: the first lot on reduced inspection is rejected (Re = Ac + 1 = 3).
    run(&app, &floor, &lots[LOTS_TO_30..LOTS_TO_30 + 1], &[R]).await;

    // Assert: clause 9.3.4 a) — normal again, the score from 0; the approval stands.
    let now = state(&app, &floor).await;
    assert_eq!(now["state"], "normal");
    assert_eq!(now["switching_score"], 0);
    assert_eq!(now["reduced_approved"], true);
    let next = floor.start(&app, &lots[LOTS_TO_30 + 1]).await;
    assert_eq!(next["severity"], "normal");
    assert_eq!(next["plans"]["major"]["sample_size"], 50);
    assert_eq!(next["plans"]["major"]["accept"], 3);
}

async fn withdrawing_the_approval_reinstates_normal_and_bad_requests_change_nothing(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor
        .receive(&app, "TEA", "ASN-1", &[500; LOTS_TO_30 + 1])
        .await;
    approve(&app, &floor, true, "steady").await;
    run(&app, &floor, &lots[..LOTS_TO_30], &[A; LOTS_TO_30]).await;
    assert_eq!(state(&app, &floor).await["state"], "reduced");
    let path = format!(
        "/api/v1/skus/{}/inspection-switching/reduced-approval",
        floor.sku_id
    );
    let rows = app.count("SELECT COUNT(*) AS n FROM reduced_inspection_approvals");

    // Bad requests: a blank reason, a missing field, a merchant, another SKU.
    let problem = app
        .post(
            &path,
            &floor.staff_token,
            json!({"enabled": false, "reason": " "}),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "reason");
    app.post(&path, &floor.staff_token, json!({"reason": "no flag"}))
        .await
        .problem(400);
    app.post(
        &path,
        &floor.merchant_token,
        json!({"enabled": false, "reason": "we say so"}),
    )
    .await
    .problem(403);
    app.post(
        "/api/v1/skus/sku_unknown/inspection-switching/reduced-approval",
        &floor.staff_token,
        json!({"enabled": false, "reason": "x"}),
    )
    .await
    .problem(404);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM reduced_inspection_approvals"),
        rows
    );
    assert_eq!(state(&app, &floor).await["state"], "reduced");

    // Act: clause 9.3.4 b) — production became irregular.
    let withdrawn = approve(&app, &floor, false, "生产线停工检修，生产不稳定").await;

    // Assert: normal inspection, the flag cleared with who and why.
    assert_eq!(withdrawn["state"], "normal");
    assert_eq!(withdrawn["switching_score"], 0);
    assert_eq!(withdrawn["reduced_approved"], false);
    assert_eq!(withdrawn["reduced_approval"]["enabled"], false);
    assert_eq!(
        withdrawn["reduced_approval"]["reason"],
        "生产线停工检修，生产不稳定"
    );
    let last = withdrawn["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["event"], "reduced_approval_withdrawn");
    assert_eq!(last["state_after"], "normal");
    assert_eq!(
        floor.start(&app, &lots[LOTS_TO_30]).await["severity"],
        "normal"
    );
}

async fn accepted_lots_score_three_only_when_also_accepted_one_aql_step_tighter(app: TestApp) {
    // Arrange: a template with major checks only (AQL 2.5), so a lot's step is
    // the major plan's: lots of 500 are H, 50, Ac 3 Re 4; one AQL step
    // tighter (1.5) the same sample has Ac 2.
    let tea = Floor::new(&app, "HONEY-COOP", "TEA").await;
    app.post(
        "/api/v1/inspection-templates",
        &tea.staff_token,
        json!({"category": "honey", "aql": {"critical": "0", "major": "2.5", "minor": "4.0"},
               "checks": [{"code": "function", "description": "蜂蜜结晶或渗漏", "defect_class": "major"}]}),
    )
    .await
    .ok(201);
    let sku = app
        .post(
            "/api/v1/skus",
            &tea.merchant_token,
            json!({"code": "HONEY-500G", "name": "槐花蜂蜜 500 g", "category": "honey"}),
        )
        .await
        .ok(201);
    let floor = Floor {
        sku_id: sku["id"].as_str().unwrap().to_string(),
        ..tea
    };
    let lots = floor.receive(&app, "HONEY-500G", "ASN-1", &[500; 21]).await;
    approve(&app, &floor, true, "steady").await;
    let inspect = |lot: String, defects: i64| {
        let (app, floor) = (&app, &floor);
        async move {
            let started = floor.start(app, &lot).await;
            assert_eq!(started["plans"]["major"]["accept"], 3);
            let done = floor.finish(app, &started, defects).await;
            assert_eq!(done["verdict"], "accepted");
        }
    };

    // Nine lots with no defects: +3 each.
    for lot in &lots[..9] {
        inspect(lot.clone(), 0).await;
    }
    assert_eq!(state(&app, &floor).await["switching_score"], 27);
    // Accepted with 3 defects, but 3 > 2 at AQL 1.5: the score resets.
    inspect(lots[9].clone(), 3).await;
    let reset = state(&app, &floor).await;
    assert_eq!(
        (reset["state"].clone(), reset["switching_score"].clone()),
        (json!("normal"), json!(0))
    );
    // Ten lots with 2 defects (accepted at 1.5 too): +3 each, 30 → reduced.
    for lot in &lots[10..19] {
        inspect(lot.clone(), 2).await;
    }
    assert_eq!(state(&app, &floor).await["switching_score"], 27);
    inspect(lots[19].clone(), 2).await;
    let now = state(&app, &floor).await;
    assert_eq!(
        (now["state"].clone(), now["switching_score"].clone()),
        (json!("reduced"), json!(30))
    );
    // Table 2-C, H at 2.5: n = 20, 2/3.
    let next = floor.start(&app, &lots[20]).await;
    assert_eq!(next["plans"]["major"]["sample_size"], 20);
    assert_eq!(next["plans"]["major"]["accept"], 2);
}
