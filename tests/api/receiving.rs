//! Receiving: SKUs, announcing a receipt, arrival, lots — and bad input that changes nothing.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::inspection::{assert_ledger_matches_stock, Floor};
use crate::on_both_backends;

on_both_backends!(
    a_merchant_announces_and_staff_record_a_short_arrival,
    a_closed_receipt_takes_no_more_arrivals_and_closing_twice_is_409,
    a_merchant_sees_nothing_of_another_merchant,
    bad_announcements_are_refused_and_change_nothing,
    a_wrong_gtin_check_digit_is_422_naming_the_field,
    a_delivery_names_each_line_at_most_once_and_brings_something,
    an_over_delivery_is_recorded_and_its_event_says_what_where_why_and_who,
    staff_find_a_receipt_by_its_chinese_reference_and_merchants_only_their_own,
    bad_receipt_list_queries_are_refused,
    a_receipt_arrives_in_two_deliveries_into_one_lot_and_shows_short_and_over,
    closing_a_short_receipt_completes_its_lines_and_keeps_the_shortage,
    a_second_asn_of_the_same_lot_code_adds_to_the_lot_not_yet_inspected,
    units_added_to_an_accepted_lot_wait_for_their_own_inspection,
    added_units_that_fail_their_inspection_quarantine_the_lot,
    units_added_to_a_quarantined_lot_join_its_quarantine,
    dates_that_disagree_with_the_lot_are_422_at_announce_and_at_arrival,
    a_gtin_the_merchant_already_uses_is_409_but_another_merchant_may_use_it,
    deliveries_recorded_at_once_all_count,
    receipts_that_arrived_before_deliveries_were_kept_migrate_as_closed,
    units_arriving_during_an_inspection_wait_for_the_next_one,
);

struct Setup {
    merchant: String,
    merchant_token: String,
    staff_token: String,
}

async fn setup(app: &TestApp) -> Setup {
    let (merchant, merchant_token) = app.merchant_token("TEAHOUSE").await;
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
    assert_eq!(arrival["receipt"]["status"], "partially_received");
    assert_eq!(
        arrival["receipt"]["lines"][0]["variance"], -4,
        "one line short by 4"
    );
    assert_eq!(arrival["receipt"]["lines"][0]["short_qty"], 4);
    assert_eq!(arrival["receipt"]["lines"][0]["complete"], false);
    assert_eq!(arrival["receipt"]["lines"][1]["complete"], true);
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

async fn a_closed_receipt_takes_no_more_arrivals_and_closing_twice_is_409(app: TestApp) {
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
    let closed = app
        .post(
            &format!("/api/v1/receipts/{id}/close"),
            &s.staff_token,
            json!({}),
        )
        .await
        .ok(200);
    assert_eq!(closed["status"], "closed");
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
    assert!(
        problem["detail"].as_str().unwrap().contains("closed"),
        "{problem}"
    );
    let again = app
        .post(
            &format!("/api/v1/receipts/{id}/close"),
            &s.staff_token,
            json!({}),
        )
        .await
        .problem(409);
    assert_eq!(again["type"], "/problems/invalid-state");
    assert_eq!(counts(&app), before);
    assert_eq!(before.1, 1, "a line of 0 makes no lot");
    // A merchant may not close its own receipt: closing is the dock's call.
    app.post(
        &format!("/api/v1/receipts/{id}/close"),
        &s.merchant_token,
        json!({}),
    )
    .await
    .problem(403);
}

async fn a_merchant_sees_nothing_of_another_merchant(app: TestApp) {
    let s = setup(&app).await;
    let receipt = app
        .post("/api/v1/receipts", &s.merchant_token, two_lines())
        .await
        .ok(201);
    let (_, other_token) = app.merchant_token("OTHER").await;
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

async fn a_delivery_names_each_line_at_most_once_and_brings_something(app: TestApp) {
    let s = setup(&app).await;
    let receipt = app
        .post("/api/v1/receipts", &s.merchant_token, two_lines())
        .await
        .ok(201);
    let id = receipt["id"].as_str().unwrap();
    let first = receipt["lines"][0]["id"].clone();
    let second = receipt["lines"][1]["id"].clone();
    for (body, field) in [
        (json!({"lines": []}), "lines"),
        (
            json!({"lines": [{"line_id": first, "received_qty": 0}, {"line_id": second, "received_qty": 0}]}),
            "lines",
        ),
        (
            json!({"lines": [{"line_id": first, "received_qty": 1}, {"line_id": first, "received_qty": 1}]}),
            "lines[1].line_id",
        ),
        (
            json!({"lines": [{"line_id": first, "received_qty": -1}, {"line_id": second, "received_qty": 1}]}),
            "lines[0].received_qty",
        ),
        (
            json!({"lines": [{"line_id": "rcl_NOPE", "received_qty": 1}]}),
            "lines[0].line_id",
        ),
    ] {
        let problem = app
            .post(
                &format!("/api/v1/receipts/{id}/arrival"),
                &s.staff_token,
                body.clone(),
            )
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    assert_eq!(counts(&app), (1, 0, 0, 0));
    let read = app
        .get(&format!("/api/v1/receipts/{id}"), &s.staff_token)
        .await
        .ok(200);
    assert_eq!(read["status"], "announced");
    assert_eq!(read["arrivals"], json!([]));
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM receipt_arrival_lines"),
        0
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

/// Announces `lines` as the merchant of `token` under `reference`.
async fn announce(app: &TestApp, token: &str, reference: &str, lines: Value) -> Value {
    app.post(
        "/api/v1/receipts",
        token,
        json!({"reference": reference, "lines": lines}),
    )
    .await
    .ok(201)
}

/// Records one delivery of `receipt`: (line index, units) per line named.
async fn deliver(app: &TestApp, token: &str, receipt: &Value, counts: &[(usize, i64)]) -> Value {
    let lines: Vec<Value> = counts
        .iter()
        .map(|(i, q)| json!({"line_id": receipt["lines"][*i]["id"], "received_qty": q}))
        .collect();
    app.post(
        &format!(
            "/api/v1/receipts/{}/arrival",
            receipt["id"].as_str().unwrap()
        ),
        token,
        json!({"lines": lines}),
    )
    .await
    .ok(200)
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

async fn staff_find_a_receipt_by_its_chinese_reference_and_merchants_only_their_own(app: TestApp) {
    let s = setup(&app).await;
    let (_, other_token) = app.merchant_token("HONEYCOOP").await;
    app.post(
        "/api/v1/skus",
        &other_token,
        json!({"code": "HONEY", "name": "蜂蜜 500 g"}),
    )
    .await
    .ok(201);
    let tea = announce(
        &app,
        &s.merchant_token,
        "ASN-1202",
        json!([{"sku_code": "CUP", "lot_code": "C1", "expected_qty": 10}]),
    )
    .await;
    let second = announce(
        &app,
        &s.merchant_token,
        "ASN-1203",
        json!([{"sku_code": "CUP", "lot_code": "C2", "expected_qty": 10}]),
    )
    .await;
    // The delivery note reads 入库单-1202.
    let honey = announce(
        &app,
        &other_token,
        "入库单-1202",
        json!([{"sku_code": "HONEY", "lot_code": "H1", "expected_qty": 10}]),
    )
    .await;
    let (tea_id, honey_id) = (tea["id"].as_str().unwrap(), honey["id"].as_str().unwrap());
    assert_eq!(honey["reference"], "入库单-1202");
    deliver(&app, &s.staff_token, &second, &[(0, 4)]).await;

    // Staff see all, and find the ASN by the reference, exactly.
    let all = app.get("/api/v1/receipts", &s.staff_token).await.ok(200);
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    assert_eq!(all["next_cursor"], Value::Null);
    // 入库单-1202, percent-encoded as a browser sends it.
    let found = app
        .get(
            "/api/v1/receipts?reference=%E5%85%A5%E5%BA%93%E5%8D%95-1202",
            &s.staff_token,
        )
        .await
        .ok(200);
    assert_eq!(ids(&found), [honey_id]);
    assert_eq!(found["items"][0]["reference"], "入库单-1202");
    assert_eq!(found["items"][0]["lines"][0]["sku_code"], "HONEY");
    let partial = app
        .get(
            "/api/v1/receipts?reference=%E5%85%A5%E5%BA%93%E5%8D%95",
            &s.staff_token,
        )
        .await
        .ok(200);
    assert_eq!(partial["items"], json!([]), "the reference matches exactly");
    let by_merchant = app
        .get(
            &format!("/api/v1/receipts?merchant_id={}", s.merchant),
            &s.staff_token,
        )
        .await
        .ok(200);
    assert_eq!(by_merchant["items"].as_array().unwrap().len(), 2);
    let partial_ones = app
        .get("/api/v1/receipts?status=partially_received", &s.staff_token)
        .await
        .ok(200);
    assert_eq!(ids(&partial_ones), [second["id"].as_str().unwrap()]);
    let announced_tea = app
        .get(
            &format!(
                "/api/v1/receipts?status=announced&merchant_id={}&reference=ASN-1202",
                s.merchant
            ),
            &s.staff_token,
        )
        .await
        .ok(200);
    assert_eq!(ids(&announced_tea), [tea_id]);

    // Paged like every list.
    let page1 = app
        .get("/api/v1/receipts?limit=2", &s.staff_token)
        .await
        .ok(200);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2 = app
        .get(
            &format!("/api/v1/receipts?limit=2&cursor={cursor}"),
            &s.staff_token,
        )
        .await
        .ok(200);
    let mut paged = ids(&page1);
    paged.extend(ids(&page2));
    assert_eq!(paged, ids(&all));
    assert_eq!(page2["next_cursor"], Value::Null);

    // A merchant sees its own only, whatever it asks for.
    let own = app.get("/api/v1/receipts", &other_token).await.ok(200);
    assert_eq!(ids(&own), [honey_id]);
    let foreign = app
        .get(
            &format!("/api/v1/receipts?merchant_id={}", s.merchant),
            &other_token,
        )
        .await
        .ok(200);
    assert_eq!(foreign["items"], json!([]));
    let not_theirs = app
        .get("/api/v1/receipts?reference=ASN-1203", &other_token)
        .await
        .ok(200);
    assert_eq!(not_theirs["items"], json!([]));
}

async fn bad_receipt_list_queries_are_refused(app: TestApp) {
    let s = setup(&app).await;
    let problem = app
        .get("/api/v1/receipts?status=arrived", &s.staff_token)
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "status");
    let problem = app
        .get("/api/v1/receipts?limit=0", &s.staff_token)
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "limit");
    let problem = app
        .get("/api/v1/receipts?referense=ASN-1", &s.staff_token)
        .await
        .problem(400);
    assert!(
        problem["detail"].as_str().unwrap().contains("referense"),
        "an unknown parameter is named: {problem}"
    );
}

async fn a_receipt_arrives_in_two_deliveries_into_one_lot_and_shows_short_and_over(app: TestApp) {
    let s = setup(&app).await;
    let (first_clerk, first_token) = app.token("staff", None, None).await;
    let (second_clerk, second_token) = app.token("staff", None, None).await;
    let receipt = app
        .post("/api/v1/receipts", &s.merchant_token, two_lines())
        .await
        .ok(201);
    let id = receipt["id"].as_str().unwrap();

    // The first truck brings 60 of the 100 tea; the cups stay behind.
    let first = deliver(&app, &first_token, &receipt, &[(0, 60)]).await;
    assert_eq!(first["receipt"]["status"], "partially_received");
    let tea = &first["receipt"]["lines"][0];
    assert_eq!(
        (
            tea["received_qty"].clone(),
            tea["short_qty"].clone(),
            tea["complete"].clone()
        ),
        (json!(60), json!(40), json!(false))
    );
    assert_eq!(first["receipt"]["lines"][1]["received_qty"], 0);
    assert_eq!(first["lots"].as_array().unwrap().len(), 1);
    assert_eq!(first["lots"][0]["quantity"], 60);
    assert_eq!(first["lots"][0]["status"], "received");
    let lot = first["lots"][0]["id"].as_str().unwrap().to_string();

    // The second brings the other 40 tea and 55 cups: 5 over.
    let second = deliver(&app, &second_token, &receipt, &[(1, 55), (0, 40)]).await;
    let done = &second["receipt"];
    assert_eq!(done["status"], "received");
    assert_eq!(
        second["lots"][1]["id"],
        json!(lot),
        "the same lot, not a second one"
    );
    assert_eq!(second["lots"][1]["quantity"], 40);
    assert_eq!(done["lines"][0]["received_qty"], 100);
    assert_eq!(done["lines"][0]["short_qty"], 0);
    assert_eq!(done["lines"][0]["lot_id"], json!(lot));
    let cups = &done["lines"][1];
    assert_eq!(
        (
            cups["expected_qty"].clone(),
            cups["received_qty"].clone(),
            cups["over_qty"].clone(),
            cups["variance"].clone(),
            cups["complete"].clone()
        ),
        (json!(50), json!(55), json!(5), json!(5), json!(true))
    );
    // Each delivery is kept: who, when, where, what per line.
    let arrivals = done["arrivals"].as_array().unwrap();
    assert_eq!(arrivals.len(), 2);
    assert_eq!(
        (
            arrivals[0]["seq"].clone(),
            arrivals[0]["arrived_by"].clone()
        ),
        (json!(1), json!(first_clerk))
    );
    assert_eq!(arrivals[1]["arrived_by"], json!(second_clerk));
    assert_eq!(arrivals[1]["location_code"], "RECV");
    assert_eq!(arrivals[0]["lines"].as_array().unwrap().len(), 1);
    assert_eq!(arrivals[0]["lines"][0]["received_qty"], 60);
    assert_eq!(
        arrivals[1]["lines"][0]["line_id"],
        receipt["lines"][0]["id"]
    );
    assert_eq!(arrivals[1]["lines"][0]["received_qty"], 40);
    assert_eq!(arrivals[1]["lines"][0]["lot_id"], json!(lot));
    assert_eq!(second["arrival_id"], arrivals[1]["id"]);
    assert_eq!(done["arrived_by"], json!(first_clerk), "the first delivery");

    // Still open for a late over-delivery, then the lot holds it all.
    let late = deliver(&app, &s.staff_token, &receipt, &[(0, 3)]).await;
    assert_eq!(late["receipt"]["status"], "received");
    assert_eq!(late["receipt"]["lines"][0]["over_qty"], 3);
    let read = app
        .get(&format!("/api/v1/lots/{lot}"), &s.merchant_token)
        .await
        .ok(200);
    assert_eq!(
        (read["received_qty"].clone(), read["on_hand"].clone()),
        (json!(103), json!(103))
    );
    assert_eq!(read["uninspected_qty"], 0);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM lots"), 2);
    // Every delivery wrote its receive movement and its receiving event.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM ledger_entries WHERE kind = 'receive' AND lot_id = '{lot}'"
        )),
        3
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE biz_step = 'receiving' AND lot_id = '{lot}'"
        )),
        3
    );
    assert_eq!(
        app.count(&format!(
            "SELECT CAST(SUM(quantity) AS BIGINT) AS n FROM trace_events WHERE biz_step = 'receiving' AND lot_id = '{lot}'"
        )),
        103
    );
    assert_ledger_matches_stock(&app);
    let read = app
        .get(&format!("/api/v1/receipts/{id}"), &s.merchant_token)
        .await
        .ok(200);
    assert_eq!(read["arrivals"].as_array().unwrap().len(), 3);
}

async fn closing_a_short_receipt_completes_its_lines_and_keeps_the_shortage(app: TestApp) {
    let s = setup(&app).await;
    let (clerk, clerk_token) = app.token("staff", None, None).await;
    let receipt = app
        .post("/api/v1/receipts", &s.merchant_token, two_lines())
        .await
        .ok(201);
    let id = receipt["id"].as_str().unwrap();
    deliver(&app, &s.staff_token, &receipt, &[(0, 96)]).await;

    let closed = app
        .post(
            &format!("/api/v1/receipts/{id}/close"),
            &clerk_token,
            json!({}),
        )
        .await
        .ok(200);
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["closed_by"], json!(clerk));
    assert!(closed["closed_at"].is_string());
    let lines = closed["lines"].as_array().unwrap();
    assert_eq!(
        lines
            .iter()
            .map(|l| (l["complete"].clone(), l["short_qty"].clone()))
            .collect::<Vec<_>>(),
        [(json!(true), json!(4)), (json!(true), json!(50))]
    );
    let listed = app
        .get("/api/v1/receipts?status=closed", &s.merchant_token)
        .await
        .ok(200);
    assert_eq!(ids(&listed), [id]);
    // Closing moves no stock: no ledger row, no trace event of its own.
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM ledger_entries"), 1);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM trace_events"), 1);
}

/// A storage bin `A-01` and a receipt of one line of `lot_code` on the floor's
/// SKU `TEA`; answers the lot the delivery of all `qty` units went to.
async fn deliver_lot(
    app: &TestApp,
    floor: &Floor,
    reference: &str,
    lot_code: &str,
    qty: i64,
) -> Value {
    let receipt = announce(
        app,
        &floor.merchant_token,
        reference,
        json!([{"sku_code": "TEA", "lot_code": lot_code, "expected_qty": qty,
                "production_date": "2026-11-01", "expiry_date": "2027-11-01"}]),
    )
    .await;
    deliver(app, &floor.staff_token, &receipt, &[(0, qty)]).await["lots"][0].clone()
}

async fn bin(app: &TestApp) {
    app.post(
        "/api/v1/locations",
        &app.admin_token,
        json!({"code": "A-01", "kind": "storage"}),
    )
    .await
    .ok(201);
}

async fn lot(app: &TestApp, floor: &Floor, id: &str) -> Value {
    app.get(&format!("/api/v1/lots/{id}"), &floor.merchant_token)
        .await
        .ok(200)
}

async fn a_second_asn_of_the_same_lot_code_adds_to_the_lot_not_yet_inspected(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let first = deliver_lot(&app, &floor, "ASN-1", "LONGJING-2611", 300).await;
    let second = deliver_lot(&app, &floor, "ASN-2", "LONGJING-2611", 200).await;

    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["status"], "received");
    let id = first["id"].as_str().unwrap();
    let read = lot(&app, &floor, id).await;
    assert_eq!(read["received_qty"], 500);
    assert_eq!(
        read["uninspected_qty"], 0,
        "the coming inspection covers them"
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM lots"), 1);
    // The lots of the second receipt include the lot it added to.
    let second_receipt = app.text("SELECT id AS v FROM receipts WHERE reference = 'ASN-2'");
    let of_second = app
        .get(
            &format!("/api/v1/lots?receipt_id={second_receipt}"),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(ids(&of_second), [id]);
    // The inspection samples the whole lot of 500 (ISO 2859-1 Table 1: H).
    let inspection = floor.start(&app, id).await;
    assert_eq!(inspection["scope"], "lot");
    assert_eq!(inspection["lot_size"], 500);
    assert_eq!(inspection["plans"]["major"]["code_letter"], "H");
}

async fn units_added_to_an_accepted_lot_wait_for_their_own_inspection(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    bin(&app).await;
    let first = deliver_lot(&app, &floor, "ASN-1", "L2611", 200).await;
    let id = first["id"].as_str().unwrap();
    floor.inspect(&app, id, true).await;
    app.post(
        &format!("/api/v1/lots/{id}/putaway"),
        &floor.staff_token,
        json!({"qty": 200, "location_code": "A-01"}),
    )
    .await
    .ok(200);

    // A second ASN brings 80 more of the same lot.
    let added = deliver_lot(&app, &floor, "ASN-2", "L2611", 80).await;
    assert_eq!(added["id"], first["id"]);
    assert_eq!(
        added["status"], "accepted",
        "the inspected units stay accepted"
    );
    let read = lot(&app, &floor, id).await;
    assert_eq!(
        (
            read["received_qty"].clone(),
            read["uninspected_qty"].clone(),
            read["on_hand"].clone()
        ),
        (json!(280), json!(80), json!(280))
    );
    // They cannot be put away, and they are not sellable.
    let before = app.count("SELECT COUNT(*) AS n FROM ledger_entries");
    let problem = app
        .post(
            &format!("/api/v1/lots/{id}/putaway"),
            &floor.staff_token,
            json!({"qty": 1, "location_code": "A-01"}),
        )
        .await
        .problem(409);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("own inspection"),
        "{problem}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM ledger_entries"),
        before
    );
    let stock = app
        .get(&format!("/api/v1/stock?lot_id={id}"), &floor.staff_token)
        .await
        .ok(200);
    for line in stock["items"].as_array().unwrap() {
        let sellable = line["location_code"] == "A-01";
        assert_eq!(line["sellable"], json!(sellable), "{line}");
    }

    // Their own inspection: lot size 80, the lot stays accepted meanwhile.
    let inspection = floor.start(&app, id).await;
    assert_eq!(inspection["scope"], "added_units");
    assert_eq!(inspection["lot_size"], 80);
    assert_eq!(inspection["lot_status"], "accepted");
    let twice = app
        .post(
            &format!("/api/v1/lots/{id}/inspections"),
            &floor.staff_token,
            json!({}),
        )
        .await
        .problem(409);
    assert!(
        twice["detail"].as_str().unwrap().contains("in progress"),
        "{twice}"
    );
    let finished = floor.finish(&app, &inspection, 0).await;
    assert_eq!(finished["verdict"], "accepted");
    assert_eq!(finished["lot_status"], "accepted");
    assert_eq!(lot(&app, &floor, id).await["uninspected_qty"], 0);
    app.post(
        &format!("/api/v1/lots/{id}/putaway"),
        &floor.staff_token,
        json!({"qty": 80, "location_code": "A-01"}),
    )
    .await
    .ok(200);
    // The added units' inspection is traced with their number.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE lot_id = '{id}' AND biz_step = 'inspecting' \
             AND disposition = 'conformant' AND quantity = 80"
        )),
        1
    );
    // Nothing inspected is inspected again: no other lot was made.
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM lots"), 1);
    assert_ledger_matches_stock(&app);
}

async fn added_units_that_fail_their_inspection_quarantine_the_lot(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    bin(&app).await;
    let first = deliver_lot(&app, &floor, "ASN-1", "L2611", 200).await;
    let id = first["id"].as_str().unwrap();
    floor.inspect(&app, id, true).await;
    app.post(
        &format!("/api/v1/lots/{id}/putaway"),
        &floor.staff_token,
        json!({"qty": 150, "location_code": "A-01"}),
    )
    .await
    .ok(200);
    deliver_lot(&app, &floor, "ASN-2", "L2611", 80).await;

    let inspection = floor.start(&app, id).await;
    assert_eq!(inspection["scope"], "added_units");
    let major = inspection["plans"]["major"]["reject"].as_i64().unwrap();
    let finished = floor.finish(&app, &inspection, major).await;

    // The batch failed: all of it, shelf and dock, goes into quarantine.
    assert_eq!(finished["verdict"], "rejected");
    assert_eq!(finished["lot_status"], "quarantined");
    let read = lot(&app, &floor, id).await;
    assert_eq!(read["status"], "quarantined");
    assert_eq!(
        read["uninspected_qty"], 0,
        "the disposition decides for them"
    );
    let stock = read["stock"].as_array().unwrap();
    assert_eq!(stock.len(), 1, "{read}");
    assert_eq!(
        (
            stock[0]["location_code"].clone(),
            stock[0]["on_hand"].clone()
        ),
        (json!("QUAR"), json!(280))
    );
    // An added-units inspection is not corrected.
    let problem = app
        .post(
            &format!(
                "/api/v1/inspections/{}/correction",
                inspection["id"].as_str().unwrap()
            ),
            &floor.staff_token,
            json!({}),
        )
        .await
        .problem(409);
    assert!(
        problem["detail"].as_str().unwrap().contains("added"),
        "{problem}"
    );
    assert_ledger_matches_stock(&app);
}

async fn units_added_to_a_quarantined_lot_join_its_quarantine(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    let first = deliver_lot(&app, &floor, "ASN-1", "L2611", 100).await;
    let id = first["id"].as_str().unwrap();
    floor.inspect(&app, id, false).await;

    let added = deliver_lot(&app, &floor, "ASN-2", "L2611", 30).await;
    assert_eq!(added["id"], first["id"]);
    assert_eq!(added["status"], "quarantined");
    let read = lot(&app, &floor, id).await;
    assert_eq!(read["stock"].as_array().unwrap().len(), 1, "{read}");
    assert_eq!(read["stock"][0]["location_code"], "QUAR");
    assert_eq!(read["on_hand"], 130);
    // Received at the dock, then held with the batch: both are traced.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE lot_id = '{id}' AND biz_step = 'holding' AND quantity = 30"
        )),
        1
    );
    // Scrapping the lot takes the added units too.
    app.post(
        &format!("/api/v1/lots/{id}/disposition"),
        &floor.staff_token,
        json!({"action": "scrap"}),
    )
    .await
    .ok(200);
    assert_eq!(lot(&app, &floor, id).await["on_hand"], 0);
    // A scrapped lot takes no more units: a new ASN of it is refused by field.
    let problem = app
        .post(
            "/api/v1/receipts",
            &floor.merchant_token,
            json!({"reference": "ASN-3", "lines": [{"sku_code": "TEA", "lot_code": "L2611", "expected_qty": 5}]}),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "lines[0].lot_code");
    assert_ledger_matches_stock(&app);
}

async fn dates_that_disagree_with_the_lot_are_422_at_announce_and_at_arrival(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    // Two ASNs of one lot, announced before either arrived, disagree.
    let right = announce(
        &app,
        &floor.merchant_token,
        "ASN-1",
        json!([{"sku_code": "TEA", "lot_code": "L2611", "expected_qty": 10,
                "production_date": "2026-11-01", "expiry_date": "2027-11-01"}]),
    )
    .await;
    let wrong = announce(
        &app,
        &floor.merchant_token,
        "ASN-2",
        json!([{"sku_code": "TEA", "lot_code": "L2611", "expected_qty": 10,
                "production_date": "2026-10-01", "expiry_date": "2027-11-01"}]),
    )
    .await;
    deliver(&app, &floor.staff_token, &right, &[(0, 10)]).await;
    let before = (
        app.count("SELECT COUNT(*) AS n FROM ledger_entries"),
        app.count("SELECT COUNT(*) AS n FROM trace_events"),
        app.count("SELECT COUNT(*) AS n FROM receipt_arrivals"),
    );

    // At arrival: 422 naming the date, and nothing of the delivery stays.
    let problem = app
        .post(
            &format!("/api/v1/receipts/{}/arrival", wrong["id"].as_str().unwrap()),
            &floor.staff_token,
            json!({"lines": [{"line_id": wrong["lines"][0]["id"], "received_qty": 10}]}),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "lines[0].production_date");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("2026-11-01"),
        "{problem}"
    );
    assert_eq!(
        (
            app.count("SELECT COUNT(*) AS n FROM ledger_entries"),
            app.count("SELECT COUNT(*) AS n FROM trace_events"),
            app.count("SELECT COUNT(*) AS n FROM receipt_arrivals"),
        ),
        before
    );
    let unchanged = app
        .get(
            &format!("/api/v1/receipts/{}", wrong["id"].as_str().unwrap()),
            &floor.staff_token,
        )
        .await
        .ok(200);
    assert_eq!(unchanged["status"], "announced");
    assert_eq!(unchanged["lines"][0]["received_qty"], 0);

    // At announce time, once the lot exists: 422 naming the line's field.
    let problem = app
        .post(
            "/api/v1/receipts",
            &floor.merchant_token,
            json!({"reference": "ASN-3", "lines": [
                {"sku_code": "TEA", "lot_code": "OTHER", "expected_qty": 1},
                {"sku_code": "TEA", "lot_code": "L2611", "expected_qty": 10, "expiry_date": "2027-12-01"}]}),
        )
        .await
        .problem(422);
    let fields: Vec<_> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(fields, [json!("lines[1].expiry_date")]);
    // Agreeing dates, or none, are fine.
    announce(
        &app,
        &floor.merchant_token,
        "ASN-4",
        json!([{"sku_code": "TEA", "lot_code": "L2611", "expected_qty": 10}]),
    )
    .await;
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM receipts"), 3);
}

async fn a_gtin_the_merchant_already_uses_is_409_but_another_merchant_may_use_it(app: TestApp) {
    let s = setup(&app).await;
    let before = app.count("SELECT COUNT(*) AS n FROM skus");
    // TEA-100G holds 6291041500213; its GTIN-14 form is the same number.
    for gtin in ["6291041500213", "06291041500213"] {
        let problem = app
            .post(
                "/api/v1/skus",
                &s.merchant_token,
                json!({"code": "TEA-200G", "name": "绿茶 200 g", "gtin": gtin}),
            )
            .await
            .problem(409);
        assert_eq!(problem["type"], "/problems/conflict");
        assert_eq!(problem["errors"][0]["field"], "gtin", "{problem}");
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("TEA-100G"),
            "{problem}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM skus"), before);

    // Another merchant may sell the same product under its own SKU.
    let (_, other_token) = app.merchant_token("RESELLER").await;
    app.post(
        "/api/v1/skus",
        &other_token,
        json!({"code": "TEA-100G", "name": "绿茶 100 g", "gtin": "6291041500213"}),
    )
    .await
    .ok(201);
    // SKUs without a GTIN do not clash.
    app.post(
        "/api/v1/skus",
        &s.merchant_token,
        json!({"code": "SAUCER", "name": "茶托"}),
    )
    .await
    .ok(201);
}

async fn deliveries_recorded_at_once_all_count(app: TestApp) {
    let s = setup(&app).await;
    let receipt = app
        .post("/api/v1/receipts", &s.merchant_token, two_lines())
        .await
        .ok(201);
    let path = format!(
        "/api/v1/receipts/{}/arrival",
        receipt["id"].as_str().unwrap()
    );
    let body = json!({"lines": [{"line_id": receipt["lines"][0]["id"], "received_qty": 10}]});

    // Four docks record a delivery of the same receipt at once.
    let replies = futures_util::future::join_all(
        (0..4).map(|_| app.post(&path, &s.staff_token, body.clone())),
    )
    .await;

    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert!(
        statuses.iter().all(|s| [200, 409, 503].contains(s)),
        "{statuses:?}"
    );
    let recorded = statuses.iter().filter(|s| **s == 200).count() as i64;
    assert_eq!(
        recorded, 4,
        "each waits for the other, none is lost: {statuses:?}"
    );
    let read = app
        .get(
            &format!("/api/v1/receipts/{}", receipt["id"].as_str().unwrap()),
            &s.staff_token,
        )
        .await
        .ok(200);
    // What the answers acknowledged is exactly what the receipt and the lot hold.
    assert_eq!(read["arrivals"].as_array().unwrap().len() as i64, recorded);
    assert_eq!(read["lines"][0]["received_qty"], json!(10 * recorded));
    let lot = read["lines"][0]["lot_id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/lots/{lot}"), &s.staff_token)
            .await
            .ok(200)["on_hand"],
        json!(10 * recorded)
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM lots"), 1);
    assert_ledger_matches_stock(&app);
}

/// The migration keeps what older receipts said: one that arrived took its one
/// arrival (it is closed, with that arrival as its first delivery); one that
/// did not is still announced.
async fn receipts_that_arrived_before_deliveries_were_kept_migrate_as_closed(app: TestApp) {
    use depot::db::{AnyConnection, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
    use diesel::RunQueryDsl;
    use diesel_migrations::MigrationHarness;

    let s = setup(&app).await;
    let cup = app.text("SELECT id AS v FROM skus WHERE code = 'CUP'");
    let mut conn = app.pool.get().expect("a connection");
    // Back to the schema before this migration (and any later one).
    for _ in 0..20 {
        let reverted = match &mut *conn {
            AnyConnection::Sqlite(c) => c
                .revert_last_migration(SQLITE_MIGRATIONS)
                .map(|v| v.to_string()),
            AnyConnection::Postgresql(c) => c
                .revert_last_migration(POSTGRES_MIGRATIONS)
                .map(|v| v.to_string()),
        }
        .expect("the migration reverts");
        if reverted == "20261202000007" {
            break;
        }
    }
    let merchant = &s.merchant;
    for sql in [
        format!(
            "INSERT INTO receipts (id, merchant_id, reference, status, created_at, arrived_at, arrived_by) \
             VALUES ('rcp_OLD', '{merchant}', '旧-1', 'arrived', '2026-11-25 08:00:00', '2026-11-25 10:00:00', 'tok_CLERK')"
        ),
        format!(
            "INSERT INTO receipts (id, merchant_id, reference, status, created_at) \
             VALUES ('rcp_WAITING', '{merchant}', 'OLD-2', 'announced', '2026-11-25 08:00:00')"
        ),
        format!(
            "INSERT INTO receipt_lines (id, receipt_id, line_no, sku_id, lot_code, expected_qty, received_qty) \
             VALUES ('rcl_OLD1', 'rcp_OLD', 1, '{cup}', 'C-OLD', 50, 48), \
                    ('rcl_OLD2', 'rcp_OLD', 2, '{cup}', 'C-NONE', 10, 0), \
                    ('rcl_WAIT', 'rcp_WAITING', 1, '{cup}', 'C-W', 5, NULL)"
        ),
        format!(
            "INSERT INTO lots (id, merchant_id, sku_id, receipt_line_id, lot_code, status, received_qty, created_at, updated_at) \
             VALUES ('lot_OLD', '{merchant}', '{cup}', 'rcl_OLD1', 'C-OLD', 'received', 48, '2026-11-25 10:00:00', '2026-11-25 10:00:00')"
        ),
    ] {
        diesel::sql_query(&sql).execute(&mut *conn).expect(&sql);
    }
    match &mut *conn {
        AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        AnyConnection::Postgresql(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    }
    .expect("the migration runs again over the old rows");
    drop(conn);

    let old = app
        .get("/api/v1/receipts/rcp_OLD", &s.merchant_token)
        .await
        .ok(200);
    assert_eq!(old["status"], "closed");
    assert_eq!(old["closed_by"], "tok_CLERK");
    assert_eq!(old["closed_at"], old["arrived_at"]);
    let arrivals = old["arrivals"].as_array().unwrap();
    assert_eq!(arrivals.len(), 1);
    assert_eq!(arrivals[0]["location_code"], Value::Null);
    assert_eq!(arrivals[0]["lines"][0]["lot_id"], "lot_OLD");
    assert_eq!(arrivals[0]["lines"][1]["lot_id"], Value::Null);
    assert_eq!(old["lines"][0]["short_qty"], 2);
    assert_eq!(old["lines"][0]["lot_id"], "lot_OLD");
    assert_eq!(old["lines"][1]["complete"], true);
    let waiting = app
        .get("/api/v1/receipts/rcp_WAITING", &s.merchant_token)
        .await
        .ok(200);
    assert_eq!(waiting["status"], "announced");
    assert_eq!(waiting["arrivals"], json!([]));
    assert_eq!(waiting["lines"][0]["received_qty"], 0);
    assert_eq!(
        app.get("/api/v1/lots/lot_OLD", &s.merchant_token)
            .await
            .ok(200)["uninspected_qty"],
        0
    );
}

async fn units_arriving_during_an_inspection_wait_for_the_next_one(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    bin(&app).await;
    let first = deliver_lot(&app, &floor, "ASN-1", "L2611", 200).await;
    let id = first["id"].as_str().unwrap();
    let running = floor.start(&app, id).await;
    assert_eq!(running["lot_size"], 200);

    // A second truck arrives while the inspector samples the first 200.
    let added = deliver_lot(&app, &floor, "ASN-2", "L2611", 40).await;
    assert_eq!(added["status"], "inspecting");
    assert_eq!(lot(&app, &floor, id).await["uninspected_qty"], 40);
    floor.finish(&app, &running, 0).await;

    // The verdict covers the 200 it sampled; the 40 wait for their own.
    let read = lot(&app, &floor, id).await;
    assert_eq!(
        (read["status"].clone(), read["uninspected_qty"].clone()),
        (json!("accepted"), json!(40))
    );
    app.post(
        &format!("/api/v1/lots/{id}/putaway"),
        &floor.staff_token,
        json!({"qty": 200, "location_code": "A-01"}),
    )
    .await
    .ok(200);
    app.post(
        &format!("/api/v1/lots/{id}/putaway"),
        &floor.staff_token,
        json!({"qty": 1, "location_code": "A-01"}),
    )
    .await
    .problem(409);
    let next = floor.start(&app, id).await;
    assert_eq!(
        (next["scope"].clone(), next["lot_size"].clone()),
        (json!("added_units"), json!(40))
    );
    assert_ledger_matches_stock(&app);
}
