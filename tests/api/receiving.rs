//! Receiving: SKUs, announcing a receipt, arrival, lots — and bad input that changes nothing.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    a_merchant_announces_and_staff_record_a_short_arrival,
    a_receipt_cannot_arrive_twice,
    a_merchant_sees_nothing_of_another_merchant,
    bad_announcements_are_refused_and_change_nothing,
    a_wrong_gtin_check_digit_is_422_naming_the_field,
    arrival_needs_every_line_once,
    an_over_delivery_is_recorded_and_its_event_says_what_where_why_and_who,
);

struct Setup {
    merchant: String,
    merchant_token: String,
    staff_token: String,
}

async fn setup(app: &TestApp) -> Setup {
    let merchant = app.merchant("TEAHOUSE").await;
    let (_, merchant_token) = app.token("merchant", Some(&merchant), None).await;
    let (_, staff_token) = app.token("staff", None, None).await;
    for (code, gtin) in [("TEA-100G", Some("6291041500213")), ("CUP", None)] {
        app.post(
            "/api/v1/skus",
            &merchant_token,
            json!({"code": code, "name": code, "gtin": gtin}),
        )
        .await
        .ok(201);
    }
    Setup {
        merchant,
        merchant_token,
        staff_token,
    }
}

fn two_lines() -> Value {
    json!({"reference": "ASN-1", "lines": [
        {"sku_code": "TEA-100G", "lot_code": "L2611", "expected_qty": 100,
         "production_date": "2026-11-01", "expiry_date": "2027-11-01"},
        {"sku_code": "CUP", "lot_code": "C1", "expected_qty": 50}
    ]})
}

fn counts(app: &TestApp) -> (i64, i64, i64, i64) {
    (
        app.count("SELECT COUNT(*) AS n FROM receipts"),
        app.count("SELECT COUNT(*) AS n FROM lots"),
        app.count("SELECT COUNT(*) AS n FROM ledger_entries"),
        app.count("SELECT COUNT(*) AS n FROM trace_events"),
    )
}

async fn a_merchant_announces_and_staff_record_a_short_arrival(app: TestApp) {
    let s = setup(&app).await;
    let receipt = app
        .post("/api/v1/receipts", &s.merchant_token, two_lines())
        .await
        .ok(201);
    assert_eq!(receipt["status"], "announced");
    assert_eq!(receipt["merchant_id"], json!(s.merchant));
    let id = receipt["id"].as_str().unwrap();
    let lines: Vec<_> = receipt["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].clone())
        .collect();

    let arrival = app
        .post(
            &format!("/api/v1/receipts/{id}/arrival"),
            &s.staff_token,
            json!({"lines": [{"line_id": lines[0], "received_qty": 96}, {"line_id": lines[1], "received_qty": 50}]}),
        )
        .await
        .ok(200);
    assert_eq!(arrival["receipt"]["status"], "arrived");
    assert_eq!(
        arrival["receipt"]["lines"][0]["variance"], -4,
        "one line short by 4"
    );
    assert_eq!(arrival["lots"].as_array().unwrap().len(), 2);
    let lot = &arrival["lots"][0];
    assert_eq!(
        (lot["quantity"].clone(), lot["status"].clone()),
        (json!(96), json!("received"))
    );

    let lot_id = lot["id"].as_str().unwrap();
    let read = app
        .get(&format!("/api/v1/lots/{lot_id}"), &s.merchant_token)
        .await
        .ok(200);
    assert_eq!(read["on_hand"], 96);
    assert_eq!(read["stock"][0]["location_code"], "RECV");
    assert_eq!(read["expiry_date"], "2027-11-01");
    let received = app
        .get("/api/v1/lots?status=received", &s.merchant_token)
        .await
        .ok(200);
    assert_eq!(received["items"].as_array().unwrap().len(), 2);

    // The ledger holds one receive movement per lot, and stock equals it.
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM ledger_entries WHERE kind = 'receive'"),
        2
    );
    assert_eq!(
        app.count("SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) AS n FROM ledger_entries"),
        146
    );
    assert_eq!(
        app.count("SELECT CAST(COALESCE(SUM(on_hand), 0) AS BIGINT) AS n FROM stock"),
        146
    );
    // One receiving event per lot; the GTIN lot is named by its GS1 Digital Link class.
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM trace_events WHERE biz_step = 'receiving'"),
        2
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM trace_events WHERE what_class = 'https://id.gs1.org/01/06291041500213/10/L2611'"
        ),
        1
    );
}

async fn a_receipt_cannot_arrive_twice(app: TestApp) {
    let s = setup(&app).await;
    let receipt = app
        .post("/api/v1/receipts", &s.merchant_token, two_lines())
        .await
        .ok(201);
    let id = receipt["id"].as_str().unwrap();
    let body = json!({"lines": [{"line_id": receipt["lines"][0]["id"], "received_qty": 1},
                                {"line_id": receipt["lines"][1]["id"], "received_qty": 0}]});
    app.post(
        &format!("/api/v1/receipts/{id}/arrival"),
        &s.staff_token,
        body.clone(),
    )
    .await
    .ok(200);
    let before = counts(&app);
    let problem = app
        .post(
            &format!("/api/v1/receipts/{id}/arrival"),
            &s.staff_token,
            body,
        )
        .await
        .problem(409);
    assert_eq!(problem["type"], "/problems/invalid-state");
    assert_eq!(counts(&app), before);
    assert_eq!(before.1, 1, "a line of 0 makes no lot");
}

async fn a_merchant_sees_nothing_of_another_merchant(app: TestApp) {
    let s = setup(&app).await;
    let receipt = app
        .post("/api/v1/receipts", &s.merchant_token, two_lines())
        .await
        .ok(201);
    let other = app.merchant("OTHER").await;
    let (_, other_token) = app.token("merchant", Some(&other), None).await;
    let id = receipt["id"].as_str().unwrap();
    app.get(&format!("/api/v1/receipts/{id}"), &other_token)
        .await
        .problem(404);
    let arrival = app
        .post(
            &format!("/api/v1/receipts/{id}/arrival"),
            &s.staff_token,
            json!({"lines": [{"line_id": receipt["lines"][0]["id"], "received_qty": 5},
                             {"line_id": receipt["lines"][1]["id"], "received_qty": 5}]}),
        )
        .await
        .ok(200);
    let lot_id = arrival["lots"][0]["id"].as_str().unwrap();
    app.get(&format!("/api/v1/lots/{lot_id}"), &other_token)
        .await
        .problem(404);
    assert_eq!(
        app.get("/api/v1/lots", &other_token).await.ok(200)["items"],
        json!([])
    );
    assert_eq!(
        app.get("/api/v1/skus", &other_token).await.ok(200)["items"],
        json!([])
    );
    // Nor may it announce for the other merchant.
    let mut body = two_lines();
    body["merchant_id"] = json!(s.merchant);
    app.post("/api/v1/receipts", &other_token, body)
        .await
        .problem(422);
}

async fn bad_announcements_are_refused_and_change_nothing(app: TestApp) {
    let s = setup(&app).await;
    let cases = [
        (
            json!({"sku_code": "NOPE", "lot_code": "L", "expected_qty": 1}),
            "lines[0].sku_code",
        ),
        (
            json!({"sku_code": "CUP", "lot_code": "L", "expected_qty": 0}),
            "lines[0].expected_qty",
        ),
        (
            json!({"sku_code": "CUP", "lot_code": "L", "expected_qty": -3}),
            "lines[0].expected_qty",
        ),
        (
            json!({"sku_code": "CUP", "lot_code": "L", "expected_qty": 1,
                   "production_date": "2026-06-01", "expiry_date": "2026-05-01"}),
            "lines[0].expiry_date",
        ),
        (
            json!({"sku_code": "CUP", "lot_code": "L", "expected_qty": 1, "expiry_date": "2020-01-01"}),
            "lines[0].expiry_date",
        ),
    ];
    for (line, field) in cases {
        let problem = app
            .post(
                "/api/v1/receipts",
                &s.merchant_token,
                json!({"reference": "R", "lines": [line]}),
            )
            .await
            .problem(422);
        let fields: Vec<_> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].clone())
            .collect();
        assert!(fields.contains(&json!(field)), "{line}: {problem}");
    }
    // Staff must say for which merchant.
    app.post("/api/v1/receipts", &s.staff_token, two_lines())
        .await
        .problem(422);
    assert_eq!(counts(&app), (0, 0, 0, 0));
    // A reference used before is a conflict.
    app.post("/api/v1/receipts", &s.merchant_token, two_lines())
        .await
        .ok(201);
    app.post("/api/v1/receipts", &s.merchant_token, two_lines())
        .await
        .problem(409);
    assert_eq!(counts(&app).0, 1);
}

async fn a_wrong_gtin_check_digit_is_422_naming_the_field(app: TestApp) {
    let s = setup(&app).await;
    let problem = app
        .post(
            "/api/v1/skus",
            &s.merchant_token,
            json!({"code": "BAD", "name": "Bad", "gtin": "6291041500214"}),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "gtin");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM skus WHERE code = 'BAD'"),
        0
    );
}

async fn arrival_needs_every_line_once(app: TestApp) {
    let s = setup(&app).await;
    let receipt = app
        .post("/api/v1/receipts", &s.merchant_token, two_lines())
        .await
        .ok(201);
    let id = receipt["id"].as_str().unwrap();
    let first = receipt["lines"][0]["id"].clone();
    for body in [
        json!({"lines": [{"line_id": first, "received_qty": 1}]}),
        json!({"lines": [{"line_id": first, "received_qty": 1}, {"line_id": first, "received_qty": 1}]}),
        json!({"lines": [{"line_id": first, "received_qty": -1}, {"line_id": receipt["lines"][1]["id"], "received_qty": 1}]}),
        json!({"lines": [{"line_id": "rcl_NOPE", "received_qty": 1}]}),
    ] {
        app.post(
            &format!("/api/v1/receipts/{id}/arrival"),
            &s.staff_token,
            body,
        )
        .await
        .problem(422);
    }
    assert_eq!(counts(&app), (1, 0, 0, 0));
    assert_eq!(
        app.get(&format!("/api/v1/receipts/{id}"), &s.staff_token)
            .await
            .ok(200)["status"],
        "announced"
    );
}

async fn an_over_delivery_is_recorded_and_its_event_says_what_where_why_and_who(app: TestApp) {
    let s = setup(&app).await;
    let (staff_id, staff_token) = app.token("staff", None, None).await;
    let receipt = app
        .post("/api/v1/receipts", &s.merchant_token, two_lines())
        .await
        .ok(201);
    let id = receipt["id"].as_str().unwrap();
    let lines = receipt["lines"].as_array().unwrap();

    // 5 cups more than announced: recorded against the expected quantity.
    let arrival = app
        .post(
            &format!("/api/v1/receipts/{id}/arrival"),
            &staff_token,
            json!({"lines": [{"line_id": lines[0]["id"], "received_qty": 100},
                             {"line_id": lines[1]["id"], "received_qty": 55}]}),
        )
        .await
        .ok(200);
    assert_eq!(arrival["receipt"]["lines"][1]["expected_qty"], 50);
    assert_eq!(arrival["receipt"]["lines"][1]["received_qty"], 55);
    assert_eq!(arrival["receipt"]["lines"][1]["variance"], 5);
    let cups = arrival["lots"][1]["id"].as_str().unwrap();
    assert_eq!(arrival["lots"][1]["quantity"], 55);

    // The EPCIS ObjectEvent: what (the lot's class and quantity), when (UTC),
    // where (the receiving location), why (receiving, in progress, the
    // receipt as a despatch advice) and who (the staff token).
    let event = |column: &str| {
        app.text(&format!(
            "SELECT CAST({column} AS TEXT) AS v FROM trace_events \
             WHERE lot_id = '{cups}' AND biz_step = 'receiving'"
        ))
    };
    assert_eq!(event("event_type"), "ObjectEvent");
    assert_eq!(event("action"), "OBSERVE");
    assert_eq!(event("disposition"), "in_progress");
    assert_eq!(event("what_class"), format!("urn:depot:lot:{cups}"));
    assert_eq!(event("quantity"), "55");
    assert_eq!(event("event_tz_offset"), "+00:00");
    assert_eq!(
        event("location_id"),
        app.text("SELECT id AS v FROM locations WHERE code = 'RECV'")
    );
    assert_eq!(event("biz_tx_type"), "desadv");
    assert_eq!(event("biz_tx_id"), format!("urn:depot:receipt:{id}"));
    assert_eq!(event("actor"), staff_id);
}
