//! Inspection: plans from ISO 2859-1, the verdict depot computes, quarantine,
//! dispositions and corrections — with the ledger and the trace log behind them.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    a_merchant_follows_one_lot_accepted_and_one_quarantined_then_screened,
    another_merchant_sees_nothing_of_an_inspection,
    fewer_units_than_the_plan_requires_is_422_and_changes_nothing,
    bad_findings_and_evidence_are_422_naming_each_field,
    results_for_a_finished_inspection_are_409_and_change_nothing,
    only_a_received_lot_can_be_inspected,
    a_disposition_needs_a_quarantined_lot_and_valid_quantities,
    return_and_scrap_empty_the_quarantine_through_the_ledger,
    a_correction_supersedes_and_the_lot_follows_the_newest,
    a_level_can_be_chosen_and_a_bad_one_is_422,
    racing_results_finish_an_inspection_once,
);

/// A merchant with a SKU, a staff token and a merchant token.
pub struct Floor {
    pub merchant_token: String,
    pub staff_token: String,
    pub sku_id: String,
}

impl Floor {
    pub async fn new(app: &TestApp, merchant_code: &str, sku_code: &str) -> Floor {
        let (_, merchant_token) = app.merchant_token(merchant_code).await;
        let (_, staff_token) = app.token("staff", None, None).await;
        let sku = app
            .post(
                "/api/v1/skus",
                &merchant_token,
                json!({"code": sku_code, "name": "Green tea 100 g", "gtin": "6291041500213"}),
            )
            .await
            .ok(201);
        Floor {
            merchant_token,
            staff_token,
            sku_id: sku["id"].as_str().unwrap().to_string(),
        }
    }

    /// Announces one receipt of SKU `sku_code` with a line per quantity and
    /// records their arrival in full; returns the lot ids in line order.
    pub async fn receive(
        &self,
        app: &TestApp,
        sku_code: &str,
        reference: &str,
        qtys: &[i64],
    ) -> Vec<String> {
        let lines: Vec<Value> = qtys
            .iter()
            .enumerate()
            .map(|(i, q)| json!({"sku_code": sku_code, "lot_code": format!("{reference}-{i}"), "expected_qty": q}))
            .collect();
        let receipt = app
            .post(
                "/api/v1/receipts",
                &self.merchant_token,
                json!({"reference": reference, "lines": lines}),
            )
            .await
            .ok(201);
        let counts: Vec<Value> = receipt["lines"]
            .as_array()
            .unwrap()
            .iter()
            .zip(qtys)
            .map(|(l, q)| json!({"line_id": l["id"], "received_qty": q}))
            .collect();
        let arrival = app
            .post(
                &format!(
                    "/api/v1/receipts/{}/arrival",
                    receipt["id"].as_str().unwrap()
                ),
                &self.staff_token,
                json!({"lines": counts}),
            )
            .await
            .ok(200);
        arrival["lots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// Receives `qty` units of `sku` as one lot (lot code `reference`),
    /// accepts it and puts it all away into `bin`; returns the lot id.
    pub async fn stock_up(
        &self,
        app: &TestApp,
        sku: &str,
        reference: &str,
        qty: i64,
        expiry: Option<&str>,
        bin: &str,
    ) -> String {
        let lot = app
            .receive_lot(
                &self.merchant_token,
                &self.staff_token,
                reference,
                json!({"sku_code": sku, "lot_code": reference, "expected_qty": qty, "expiry_date": expiry}),
            )
            .await;
        self.inspect(app, &lot, true).await;
        app.post(
            &format!("/api/v1/lots/{lot}/putaway"),
            &self.staff_token,
            json!({"qty": qty, "location_code": bin}),
        )
        .await
        .ok(200);
        lot
    }

    pub async fn start(&self, app: &TestApp, lot: &str) -> Value {
        app.post(
            &format!("/api/v1/lots/{lot}/inspections"),
            &self.staff_token,
            json!({}),
        )
        .await
        .ok(201)
    }

    /// Records the plan's required units with `major` major defects.
    pub async fn finish(&self, app: &TestApp, inspection: &Value, major: i64) -> Value {
        app.post(
            &format!(
                "/api/v1/inspections/{}/results",
                inspection["id"].as_str().unwrap()
            ),
            &self.staff_token,
            json!({"inspected_qty": inspection["required_units"],
                   "findings": [{"check_code": "function", "defects": major}]}),
        )
        .await
        .ok(200)
    }

    /// Inspects a received lot: accepted (0 defects) or rejected (major defects at Re).
    pub async fn inspect(&self, app: &TestApp, lot: &str, accept: bool) -> Value {
        let started = self.start(app, lot).await;
        let major = if accept {
            0
        } else {
            started["plans"]["major"]["reject"].as_i64().unwrap()
        };
        self.finish(app, &started, major).await
    }
}

/// The sum of the ledger equals the stock table for every lot × location.
pub fn assert_ledger_matches_stock(app: &TestApp) {
    let mismatches = app.count(
        "SELECT COUNT(*) AS n FROM (
             SELECT l.lot_id, l.location_id, SUM(l.delta) AS total
             FROM ledger_entries l GROUP BY l.lot_id, l.location_id
         ) AS sums
         LEFT JOIN stock s ON s.lot_id = sums.lot_id AND s.location_id = sums.location_id
         WHERE COALESCE(s.on_hand, 0) <> sums.total",
    );
    assert_eq!(mismatches, 0, "stock differs from the ledger");
    let negative = app.count("SELECT COUNT(*) AS n FROM stock WHERE on_hand < 0");
    assert_eq!(negative, 0);
}

fn on_hand_at(lot: &Value, location: &str) -> i64 {
    lot["stock"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["location_code"] == location)
        .map(|s| s["on_hand"].as_i64().unwrap())
        .sum()
}

fn trace_steps(app: &TestApp, lot: &str, step: &str, disposition: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) AS n FROM trace_events WHERE lot_id = '{lot}' \
         AND biz_step = '{step}' AND disposition = '{disposition}'"
    ))
}

async fn a_merchant_follows_one_lot_accepted_and_one_quarantined_then_screened(app: TestApp) {
    // Arrange: the merchant announces two lines; staff count one short.
    let floor = Floor::new(&app, "TEAHOUSE", "TEA-100G").await;
    let receipt = app
        .post(
            "/api/v1/receipts",
            &floor.merchant_token,
            json!({"reference": "ASN-7", "lines": [
                {"sku_code": "TEA-100G", "lot_code": "L-GOOD", "expected_qty": 500},
                {"sku_code": "TEA-100G", "lot_code": "L-BAD", "expected_qty": 500}]}),
        )
        .await
        .ok(201);
    let lines = receipt["lines"].as_array().unwrap();
    let arrival = app
        .post(
            &format!(
                "/api/v1/receipts/{}/arrival",
                receipt["id"].as_str().unwrap()
            ),
            &floor.staff_token,
            json!({"lines": [{"line_id": lines[0]["id"], "received_qty": 500},
                             {"line_id": lines[1]["id"], "received_qty": 480}]}),
        )
        .await
        .ok(200);
    let good = arrival["lots"][0]["id"].as_str().unwrap().to_string();
    let bad = arrival["lots"][1]["id"].as_str().unwrap().to_string();

    // Act 1: inspect the good lot. 500 units at level II: code letter H, n = 50
    // (ISO 2859-1 Table 1); Table 2-A H: AQL 2.5 → Ac 3 Re 4, AQL 4.0 → Ac 5 Re 6.
    let started = floor.start(&app, &good).await;
    assert_eq!(started["status"], "in_progress");
    assert_eq!(started["severity"], "normal");
    assert_eq!(started["level"], "II");
    assert_eq!(started["required_units"], 50);
    assert_eq!(started["plans"]["major"]["code_letter"], "H");
    assert_eq!(started["plans"]["major"]["sample_size"], 50);
    assert_eq!(started["plans"]["major"]["accept"], 3);
    assert_eq!(started["plans"]["major"]["reject"], 4);
    assert_eq!(started["plans"]["minor"]["accept"], 5);
    assert_eq!(started["plans"]["critical"]["accept"], 0);
    assert_eq!(started["plans"]["critical"]["reject"], 1);
    let lot = app
        .get(&format!("/api/v1/lots/{good}"), &floor.merchant_token)
        .await
        .ok(200);
    assert_eq!(lot["status"], "inspecting");

    let sha = "9f".repeat(32);
    let accepted = app
        .post(
            &format!(
                "/api/v1/inspections/{}/results",
                started["id"].as_str().unwrap()
            ),
            &floor.staff_token,
            json!({"inspected_qty": 50,
                   "findings": [{"check_code": "function", "defects": 3},
                                {"check_code": "cosmetic", "defects": 2}],
                   "evidence": [{"uri": "https://photos.example/l-good/1.jpg", "sha256": sha}],
                   "notes": "3 units did not seal"}),
        )
        .await
        .ok(200);

    // Assert: 3 major defects is Ac: accepted.
    assert_eq!(accepted["verdict"], "accepted");
    assert_eq!(accepted["status"], "finished");
    assert_eq!(accepted["lot_status"], "accepted");
    let major = accepted["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == "major")
        .unwrap();
    assert_eq!(major["defects"], 3);
    assert_eq!(major["verdict"], "accepted");
    assert_eq!(
        accepted["findings"].as_array().unwrap().len(),
        5,
        "every template check"
    );

    // Act 2: the bad lot (480 units, still H) with 4 major defects: Re.
    let started = floor.start(&app, &bad).await;
    let rejected = floor.finish(&app, &started, 4).await;
    assert_eq!(rejected["verdict"], "rejected");
    assert_eq!(rejected["lot_status"], "quarantined");
    let lot = app
        .get(&format!("/api/v1/lots/{bad}"), &floor.merchant_token)
        .await
        .ok(200);
    assert_eq!(lot["status"], "quarantined");
    assert_eq!(on_hand_at(&lot, "QUAR"), 480);
    assert_eq!(on_hand_at(&lot, "RECV"), 0);

    // Act 3: screen it: 470 good, 10 scrapped.
    let screened = app
        .post(
            &format!("/api/v1/lots/{bad}/disposition"),
            &floor.staff_token,
            json!({"action": "screen", "good_qty": 470, "notes": "sorted by hand"}),
        )
        .await
        .ok(200);
    assert_eq!(screened["status"], "accepted");
    assert_eq!(screened["on_hand"], 470);
    assert_eq!(on_hand_at(&screened, "RECV"), 470);
    assert_eq!(screened["disposition"]["action"], "screen");
    assert_eq!(screened["disposition"]["removed_qty"], 10);

    // Assert: the merchant sees each lot's state, plan, findings, evidence, verdict.
    let lots = app.get("/api/v1/lots", &floor.merchant_token).await.ok(200);
    let states: Vec<&str> = lots["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["accepted", "accepted"]);
    let good_lot = app
        .get(&format!("/api/v1/lots/{good}"), &floor.merchant_token)
        .await
        .ok(200);
    let seen = app
        .get(
            &format!(
                "/api/v1/inspections/{}",
                good_lot["inspection_id"].as_str().unwrap()
            ),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(seen["verdict"], "accepted");
    assert_eq!(seen["plans"]["major"]["reject"], 4);
    assert_eq!(seen["evidence"][0]["sha256"], json!(sha));
    assert_eq!(seen["notes"], "3 units did not seal");
    let function = seen["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check_code"] == "function")
        .unwrap();
    assert_eq!(function["defects"], 3);
    assert_eq!(function["defect_class"], "major");

    // The trace: receiving → inspecting (in progress) → non-conformant → holding
    // → conformant after screening → destroying the rest.
    assert_eq!(trace_steps(&app, &bad, "receiving", "in_progress"), 1);
    assert_eq!(trace_steps(&app, &bad, "inspecting", "in_progress"), 1);
    assert_eq!(trace_steps(&app, &bad, "inspecting", "non_conformant"), 1);
    assert_eq!(trace_steps(&app, &bad, "holding", "non_conformant"), 1);
    assert_eq!(trace_steps(&app, &bad, "inspecting", "conformant"), 1);
    assert_eq!(trace_steps(&app, &bad, "destroying", "destroyed"), 1);
    assert_eq!(trace_steps(&app, &good, "inspecting", "conformant"), 1);
    assert_ledger_matches_stock(&app);
}

async fn another_merchant_sees_nothing_of_an_inspection(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[100]).await;
    let inspection = floor.inspect(&app, &lots[0], true).await;
    let (_, rival) = app.merchant_token("RIVAL").await;

    let id = inspection["id"].as_str().unwrap();
    app.get(&format!("/api/v1/inspections/{id}"), &rival)
        .await
        .problem(404);
    app.get(&format!("/api/v1/lots/{}/inspections", lots[0]), &rival)
        .await
        .problem(404);
    app.get(
        &format!("/api/v1/skus/{}/inspection-switching", floor.sku_id),
        &rival,
    )
    .await
    .problem(404);
    let mine = app
        .get(
            &format!("/api/v1/lots/{}/inspections", lots[0]),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
}

fn inspection_rows(app: &TestApp) -> (i64, i64, i64, i64, i64) {
    (
        app.count("SELECT COUNT(*) AS n FROM inspections WHERE status = 'finished'"),
        app.count("SELECT COUNT(*) AS n FROM inspection_findings"),
        app.count("SELECT COUNT(*) AS n FROM inspection_evidence"),
        app.count("SELECT COUNT(*) AS n FROM ledger_entries"),
        app.count("SELECT COUNT(*) AS n FROM trace_events"),
    )
}

async fn fewer_units_than_the_plan_requires_is_422_and_changes_nothing(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[500]).await;
    let started = floor.start(&app, &lots[0]).await;
    let before = inspection_rows(&app);

    let problem = app
        .post(
            &format!(
                "/api/v1/inspections/{}/results",
                started["id"].as_str().unwrap()
            ),
            &floor.staff_token,
            json!({"inspected_qty": 49, "findings": []}),
        )
        .await
        .problem(422);

    assert_eq!(problem["errors"][0]["field"], "inspected_qty");
    assert!(problem["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("50"));
    assert_eq!(inspection_rows(&app), before);
    let lot = app
        .get(&format!("/api/v1/lots/{}", lots[0]), &floor.staff_token)
        .await
        .ok(200);
    assert_eq!(lot["status"], "inspecting");
}

async fn bad_findings_and_evidence_are_422_naming_each_field(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[500]).await;
    let started = floor.start(&app, &lots[0]).await;
    let path = format!(
        "/api/v1/inspections/{}/results",
        started["id"].as_str().unwrap()
    );
    let before = inspection_rows(&app);
    let sha = "ab".repeat(32);

    let problem = app
        .post(
            &path,
            &floor.staff_token,
            json!({"inspected_qty": 50,
                   "findings": [{"check_code": "smell", "defects": 1},
                                {"check_code": "function", "defects": -1},
                                {"check_code": "cosmetic", "defects": 1},
                                {"check_code": "cosmetic", "defects": 2}],
                   "evidence": [{"uri": "https://x.example/1.jpg", "sha256": "abc"},
                                {"uri": format!("/api/v1/evidence/{sha}"), "sha256": sha},
                                {"uri": "file:///etc/passwd", "sha256": sha}]}),
        )
        .await
        .problem(422);

    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "findings[0].check_code",
            "findings[1].defects",
            "findings[3].check_code",
            "evidence[0].sha256",
            "evidence[1].uri",
            "evidence[2].uri",
        ]
    );
    assert_eq!(inspection_rows(&app), before);
    // A wrong type is a 400 naming the field, and changes nothing either.
    let problem = app
        .post(&path, &floor.staff_token, json!({"inspected_qty": "fifty"}))
        .await
        .problem(400);
    assert_eq!(problem["errors"][0]["field"], "inspected_qty");
    assert_eq!(inspection_rows(&app), before);
}

async fn results_for_a_finished_inspection_are_409_and_change_nothing(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[100]).await;
    let finished = floor.inspect(&app, &lots[0], true).await;
    let before = inspection_rows(&app);

    let problem = app
        .post(
            &format!(
                "/api/v1/inspections/{}/results",
                finished["id"].as_str().unwrap()
            ),
            &floor.staff_token,
            json!({"inspected_qty": finished["required_units"],
                   "findings": [{"check_code": "safety", "defects": 1}]}),
        )
        .await
        .problem(409);

    assert!(problem["detail"].as_str().unwrap().contains("finished"));
    assert_eq!(inspection_rows(&app), before);
    let again = app
        .get(
            &format!("/api/v1/inspections/{}", finished["id"].as_str().unwrap()),
            &floor.staff_token,
        )
        .await
        .ok(200);
    assert_eq!(again["verdict"], "accepted");
}

async fn only_a_received_lot_can_be_inspected(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[100]).await;
    floor.start(&app, &lots[0]).await;

    let problem = app
        .post(
            &format!("/api/v1/lots/{}/inspections", lots[0]),
            &floor.staff_token,
            json!({}),
        )
        .await
        .problem(409);
    assert!(
        problem["detail"].as_str().unwrap().contains("inspecting"),
        "{problem}"
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM inspections"), 1);
    app.post(
        "/api/v1/lots/lot_missing/inspections",
        &floor.staff_token,
        json!({}),
    )
    .await
    .problem(404);
    // Merchants follow inspections but do not run them.
    app.post(
        &format!("/api/v1/lots/{}/inspections", lots[0]),
        &floor.merchant_token,
        json!({}),
    )
    .await
    .problem(403);
}

async fn a_disposition_needs_a_quarantined_lot_and_valid_quantities(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[100, 200]).await;
    floor.inspect(&app, &lots[0], true).await;
    floor.inspect(&app, &lots[1], false).await;
    let before = inspection_rows(&app);
    let dispositions = || app.count("SELECT COUNT(*) AS n FROM lot_dispositions");

    let problem = app
        .post(
            &format!("/api/v1/lots/{}/disposition", lots[0]),
            &floor.staff_token,
            json!({"action": "scrap"}),
        )
        .await
        .problem(409);
    assert!(
        problem["detail"].as_str().unwrap().contains("accepted"),
        "{problem}"
    );

    let quarantined = format!("/api/v1/lots/{}/disposition", lots[1]);
    for (body, field) in [
        (json!({"action": "screen"}), "good_qty"),
        (json!({"action": "screen", "good_qty": 201}), "good_qty"),
        (json!({"action": "screen", "good_qty": -1}), "good_qty"),
        (json!({"action": "return", "good_qty": 5}), "good_qty"),
        (json!({"action": "burn"}), "action"),
    ] {
        let problem = app
            .post(&quarantined, &floor.staff_token, body.clone())
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    assert_eq!(inspection_rows(&app), before);
    assert_eq!(dispositions(), 0);

    // Screening that finds nothing good scraps the whole lot.
    let lot = app
        .post(
            &quarantined,
            &floor.staff_token,
            json!({"action": "screen", "good_qty": 0}),
        )
        .await
        .ok(200);
    assert_eq!(lot["status"], "scrapped");
    assert_eq!(lot["on_hand"], 0);
    // A second disposition is refused.
    app.post(
        &quarantined,
        &floor.staff_token,
        json!({"action": "return"}),
    )
    .await
    .problem(409);
    assert_eq!(dispositions(), 1);
    assert_ledger_matches_stock(&app);
}

async fn return_and_scrap_empty_the_quarantine_through_the_ledger(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[100, 60]).await;
    floor.inspect(&app, &lots[0], false).await;
    floor.inspect(&app, &lots[1], false).await;

    let returned = app
        .post(
            &format!("/api/v1/lots/{}/disposition", lots[0]),
            &floor.staff_token,
            json!({"action": "return"}),
        )
        .await
        .ok(200);
    let scrapped = app
        .post(
            &format!("/api/v1/lots/{}/disposition", lots[1]),
            &floor.staff_token,
            json!({"action": "scrap"}),
        )
        .await
        .ok(200);

    assert_eq!(returned["status"], "returned");
    assert_eq!(returned["on_hand"], 0);
    assert_eq!(returned["disposition"]["removed_qty"], 100);
    assert_eq!(scrapped["status"], "scrapped");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM ledger_entries WHERE lot_id = '{}' AND kind = 'return' AND delta = -100",
            lots[0]
        )),
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM ledger_entries WHERE lot_id = '{}' AND kind = 'scrap' AND delta = -60",
            lots[1]
        )),
        1
    );
    assert_eq!(trace_steps(&app, &lots[0], "shipping", "returned"), 1);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE lot_id = '{}' AND action = 'DELETE' AND biz_step = 'destroying'",
            lots[1]
        )),
        1
    );
    assert_ledger_matches_stock(&app);
}

async fn a_correction_supersedes_and_the_lot_follows_the_newest(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[500]).await;
    let first = floor.inspect(&app, &lots[0], false).await;
    let first_id = first["id"].as_str().unwrap();
    assert_eq!(first["lot_status"], "quarantined");

    // A correction: the defects were miscounted.
    let correction = app
        .post(
            &format!("/api/v1/inspections/{first_id}/correction"),
            &floor.staff_token,
            json!({}),
        )
        .await
        .ok(201);
    assert_eq!(correction["supersedes_id"], first_id);
    assert_eq!(correction["severity"], first["severity"]);
    assert_eq!(correction["lot_status"], "inspecting");
    // Only the newest can be corrected; the old one stays as it was.
    app.post(
        &format!("/api/v1/inspections/{first_id}/correction"),
        &floor.staff_token,
        json!({}),
    )
    .await
    .problem(409);
    let corrected = floor.finish(&app, &correction, 1).await;
    // The lot's inspections, a page at a time, oldest first.
    let page = app
        .get(
            &format!("/api/v1/lots/{}/inspections?limit=1", lots[0]),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(page["items"][0]["id"], first_id);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!(
                "/api/v1/lots/{}/inspections?limit=1&cursor={cursor}",
                lots[0]
            ),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(rest["items"][0]["id"], correction["id"]);
    assert!(rest["next_cursor"].is_null());

    assert_eq!(corrected["verdict"], "accepted");
    let lot = app
        .get(&format!("/api/v1/lots/{}", lots[0]), &floor.merchant_token)
        .await
        .ok(200);
    assert_eq!(lot["status"], "accepted");
    assert_eq!(lot["inspection_id"], corrected["id"]);
    assert_eq!(on_hand_at(&lot, "RECV"), 500, "released from quarantine");
    assert_eq!(on_hand_at(&lot, "QUAR"), 0);
    let old = app
        .get(
            &format!("/api/v1/inspections/{first_id}"),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(
        old["verdict"], "rejected",
        "a finished inspection is never edited"
    );
    assert_eq!(old["superseded_by"], corrected["id"]);
    let history = app
        .get(
            &format!("/api/v1/skus/{}/inspection-switching", floor.sku_id),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(history["history"][0]["event"], "lot_accepted", "{history}");
    assert_eq!(history["history"].as_array().unwrap().len(), 1);
    assert_ledger_matches_stock(&app);
}

async fn a_level_can_be_chosen_and_a_bad_one_is_422(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[500]).await;
    let path = format!("/api/v1/lots/{}/inspections", lots[0]);

    let problem = app
        .post(&path, &floor.staff_token, json!({"level": "IV"}))
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "level");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM inspections"), 0);

    // 500 units at level S3: code letter D, n = 8 (Table 1).
    let started = app
        .post(&path, &floor.staff_token, json!({"level": "S3"}))
        .await
        .ok(201);
    assert_eq!(started["level"], "S3");
    assert_eq!(started["plans"]["critical"]["code_letter"], "D");
    assert_eq!(started["plans"]["critical"]["sample_size"], 8);
}

async fn racing_results_finish_an_inspection_once(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[500]).await;
    let started = floor.start(&app, &lots[0]).await;
    let path = format!(
        "/api/v1/inspections/{}/results",
        started["id"].as_str().unwrap()
    );

    // Eight inspectors submit at once: half would accept, half reject.
    let submissions = (0..8).map(|i| {
        app.post(
            &path,
            &floor.staff_token,
            json!({"inspected_qty": 50, "findings": [{"check_code": "function", "defects": (i % 2) * 4}]}),
        )
    });
    let replies = futures_util::future::join_all(submissions).await;

    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 409, 503].contains(s)),
        "{statuses:?}"
    );
    let winner = replies.iter().find(|r| r.status == 200).unwrap().json();
    let lot = app
        .get(&format!("/api/v1/lots/{}", lots[0]), &floor.staff_token)
        .await
        .ok(200);
    let expected = if winner["verdict"] == "accepted" {
        "accepted"
    } else {
        "quarantined"
    };
    assert_eq!(lot["status"], expected);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM inspection_findings"),
        5
    );
    assert_ledger_matches_stock(&app);
}
