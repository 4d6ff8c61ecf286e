//! Orders from live sessions: bulk idempotent ingest, reservation that never
//! oversells, backorders, cancel.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::inspection::Floor;
use crate::on_both_backends;

on_both_backends!(
    sixty_four_clients_race_for_the_last_hundred_units,
    a_bulk_push_answers_each_order_in_input_order,
    a_retried_push_is_a_duplicate_and_a_changed_body_a_conflict,
    identical_pushes_racing_each_other_make_one_order,
    an_order_reserves_all_its_lines_or_none,
    new_stock_serves_backorders_in_order_time,
    cancelling_releases_the_reservation_to_the_queue,
    reservations_follow_fefo_across_lots_and_bins,
    bad_pushes_are_4xx_and_change_nothing,
    a_merchant_sees_only_its_own_orders,
    two_servers_on_one_database_never_oversell,
    single_orders_racing_for_the_last_units_never_oversell,
    identical_single_orders_racing_each_other_make_one_order,
    a_rejected_correction_takes_the_lot_back_from_its_orders,
);

/// A merchant with SKUs `HOT` and `CUP`, a storage bin `A-01`, and `qty`
/// sellable units of each put away there.
async fn shop(app: &TestApp, hot: i64, cup: i64) -> Floor {
    let floor = Floor::new(app, "LIVESHOP", "TEA").await;
    for code in ["HOT", "CUP"] {
        app.post(
            "/api/v1/skus",
            &floor.merchant_token,
            json!({"code": code, "name": code}),
        )
        .await
        .ok(201);
    }
    app.post(
        "/api/v1/locations",
        &app.admin_token,
        json!({"code": "A-01", "kind": "storage", "walk_seq": 1}),
    )
    .await
    .ok(201);
    for (sku, qty) in [("HOT", hot), ("CUP", cup)] {
        if qty > 0 {
            floor
                .stock_up(app, sku, &format!("ASN-{sku}"), qty, None, "A-01")
                .await;
        }
    }
    floor
}

fn order(external_id: &str, lines: &[(&str, i64)]) -> Value {
    json!({
        "channel": "douyin",
        "external_id": external_id,
        "live_session": "night-1",
        "ship_to": {"name": "Han Meimei", "phone": "+86 139 1234 5678", "address": "8 Silk Lane",
                    "city": "Hangzhou", "province": "Zhejiang", "postcode": "310000"},
        "lines": lines.iter().map(|(sku, qty)| json!({"sku_code": sku, "qty": qty})).collect::<Vec<_>>(),
    })
}

async fn push(app: &TestApp, token: &str, orders: Vec<Value>) -> Vec<Value> {
    let answer = app
        .post("/api/v1/orders/bulk", token, json!({"orders": orders}))
        .await
        .ok(200);
    answer["results"].as_array().unwrap().clone()
}

/// Units reserved never exceed on-hand, and each stock row's `reserved` is
/// the sum of its reservations.
fn assert_no_oversell(app: &TestApp) {
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM stock WHERE reserved > on_hand"),
        0
    );
    let drift = app.count(
        "SELECT COUNT(*) AS n FROM stock s WHERE s.reserved <> \
         (SELECT CAST(COALESCE(SUM(r.qty), 0) AS BIGINT) FROM reservations r \
          WHERE r.lot_id = s.lot_id AND r.location_id = s.location_id)",
    );
    assert_eq!(drift, 0, "stock.reserved differs from the reservations");
}

fn reserved_units(app: &TestApp) -> i64 {
    app.count("SELECT CAST(COALESCE(SUM(reserved), 0) AS BIGINT) AS n FROM stock")
}

async fn sixty_four_clients_race_for_the_last_hundred_units(app: TestApp) {
    let floor = shop(&app, 100, 0).await;

    // 64 clients push 5 single-unit orders each for the hot SKU, all at once.
    let pushes = (0..64).map(|client| {
        let orders: Vec<Value> = (0..5)
            .map(|i| order(&format!("C{client}-{i}"), &[("HOT", 1)]))
            .collect();
        app.post(
            "/api/v1/orders/bulk",
            &floor.merchant_token,
            json!({"orders": orders}),
        )
    });
    let replies = futures_util::future::join_all(pushes).await;

    let mut reserved = 0;
    let mut backordered = 0;
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text);
        for r in reply.json()["results"].as_array().unwrap() {
            match r["status"].as_str().unwrap() {
                "reserved" => reserved += 1,
                "backordered" => backordered += 1,
                other => panic!("unexpected {other}: {r}"),
            }
        }
    }
    assert_eq!(reserved, 100, "exactly the last 100 units are reserved");
    assert_eq!(backordered, 220);
    assert_eq!(reserved_units(&app), 100);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM orders WHERE status = 'reserved'"),
        100
    );
    assert_no_oversell(&app);
}

async fn a_bulk_push_answers_each_order_in_input_order(app: TestApp) {
    let floor = shop(&app, 10, 10).await;
    let mut bad_phone = order("B-3", &[("HOT", 1)]);
    bad_phone["ship_to"]["phone"] = json!("12345");
    let mut wrong_type = order("B-5", &[("HOT", 1)]);
    wrong_type["lines"][0]["qty"] = json!("one");

    let results = push(
        &app,
        &floor.merchant_token,
        vec![
            order("B-1", &[("HOT", 2)]),
            order("B-2", &[("NOPE", 1)]),
            bad_phone,
            order("B-4", &[("HOT", 100)]),
            wrong_type,
            order("B-6", &[("CUP", 1), ("HOT", 1)]),
        ],
    )
    .await;

    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "reserved",
            "rejected",
            "rejected",
            "backordered",
            "rejected",
            "reserved"
        ]
    );
    let ids: Vec<&str> = results
        .iter()
        .map(|r| r["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["B-1", "B-2", "B-3", "B-4", "B-5", "B-6"]);
    assert_eq!(
        results[1]["error"]["errors"][0]["field"],
        "orders[1].lines[0].sku_code"
    );
    assert_eq!(results[1]["error"]["status"], 422);
    assert_eq!(
        results[2]["error"]["errors"][0]["field"],
        "orders[2].ship_to.phone"
    );
    assert_eq!(
        results[4]["error"]["errors"][0]["field"],
        "orders[4].lines[0].qty"
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM orders"), 3);
    assert_eq!(reserved_units(&app), 4);
    let one = app
        .get(
            &format!(
                "/api/v1/orders/{}",
                results[5]["order_id"].as_str().unwrap()
            ),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(one["status"], "reserved");
    assert_eq!(one["ship_to"]["phone"], "13912345678");
    assert_eq!(one["reservations"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM trace_events WHERE event_type = 'TransactionEvent' AND action = 'ADD' AND biz_tx_type = 'po' AND disposition = ''"),
        3
    );
    assert_no_oversell(&app);
}

async fn a_retried_push_is_a_duplicate_and_a_changed_body_a_conflict(app: TestApp) {
    let floor = shop(&app, 10, 0).await;
    let first = push(
        &app,
        &floor.merchant_token,
        vec![order("R-1", &[("HOT", 1)])],
    )
    .await;
    let id = first[0]["order_id"].clone();

    // The same push again (keys in another order): a duplicate of the first.
    let same: Value =
        serde_json::from_str(&serde_json::to_string(&order("R-1", &[("HOT", 1)])).unwrap())
            .unwrap();
    let again = push(&app, &floor.merchant_token, vec![same.clone()]).await;
    assert_eq!(again[0]["status"], "duplicate");
    assert_eq!(again[0]["order_id"], id);
    // One order per request too: 200 with the existing order.
    let single = app
        .post("/api/v1/orders", &floor.merchant_token, same)
        .await
        .ok(200);
    assert_eq!(single["id"], id);

    // The same key with another body: a conflict, and nothing is overwritten.
    let changed = push(
        &app,
        &floor.merchant_token,
        vec![order("R-1", &[("HOT", 2)])],
    )
    .await;
    assert_eq!(changed[0]["status"], "rejected");
    assert_eq!(changed[0]["error"]["status"], 409);
    let problem = app
        .post(
            "/api/v1/orders",
            &floor.merchant_token,
            order("R-1", &[("HOT", 3)]),
        )
        .await
        .problem(409);
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("different body"));
    // Twice in one push: the second is a duplicate of the first.
    let twice = push(
        &app,
        &floor.merchant_token,
        vec![order("R-2", &[("HOT", 1)]), order("R-2", &[("HOT", 1)])],
    )
    .await;
    assert_eq!(twice[0]["status"], "reserved");
    assert_eq!(twice[1]["status"], "duplicate");
    assert_eq!(twice[1]["order_id"], twice[0]["order_id"]);

    assert_eq!(app.count("SELECT COUNT(*) AS n FROM orders"), 2);
    assert_eq!(reserved_units(&app), 2);
    assert_eq!(
        app.get(
            &format!("/api/v1/orders/{}", id.as_str().unwrap()),
            &floor.merchant_token
        )
        .await
        .ok(200)["units"],
        1
    );
    assert_no_oversell(&app);
}

async fn identical_pushes_racing_each_other_make_one_order(app: TestApp) {
    let floor = shop(&app, 50, 0).await;
    let batch: Vec<Value> = (0..20)
        .map(|i| order(&format!("S-{i}"), &[("HOT", 1)]))
        .collect();

    let replies = futures_util::future::join_all((0..8).map(|_| {
        app.post(
            "/api/v1/orders/bulk",
            &floor.merchant_token,
            json!({"orders": batch.clone()}),
        )
    }))
    .await;

    let mut by_key: std::collections::HashMap<String, std::collections::HashSet<String>> =
        Default::default();
    let mut fresh = 0;
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text);
        for r in reply.json()["results"].as_array().unwrap() {
            let status = r["status"].as_str().unwrap();
            assert!(["reserved", "duplicate"].contains(&status), "{r}");
            if status == "reserved" {
                fresh += 1;
            }
            by_key
                .entry(r["external_id"].as_str().unwrap().to_string())
                .or_default()
                .insert(r["order_id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(fresh, 20, "each order is new exactly once");
    assert!(by_key.values().all(|ids| ids.len() == 1), "one id per key");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM orders"), 20);
    assert_eq!(reserved_units(&app), 20);
    assert_no_oversell(&app);
}

async fn an_order_reserves_all_its_lines_or_none(app: TestApp) {
    let floor = shop(&app, 5, 1).await;

    let results = push(
        &app,
        &floor.merchant_token,
        vec![
            order("M-1", &[("HOT", 2), ("CUP", 2)]),
            order("M-2", &[("HOT", 2), ("CUP", 1)]),
        ],
    )
    .await;

    // M-1 cannot have 2 cups: it holds nothing, and M-2 gets its hot units.
    assert_eq!(results[0]["status"], "backordered");
    assert_eq!(results[1]["status"], "reserved");
    assert_eq!(reserved_units(&app), 3);
    let m1 = app
        .get(
            &format!(
                "/api/v1/orders/{}",
                results[0]["order_id"].as_str().unwrap()
            ),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert!(m1["reservations"].as_array().unwrap().is_empty());
    assert_no_oversell(&app);
}

async fn new_stock_serves_backorders_in_order_time(app: TestApp) {
    let floor = shop(&app, 0, 0).await;
    let results = push(
        &app,
        &floor.merchant_token,
        vec![
            order("Q-1", &[("HOT", 3)]),
            order("Q-2", &[("HOT", 5)]),
            order("Q-3", &[("HOT", 2)]),
        ],
    )
    .await;
    assert!(results.iter().all(|r| r["status"] == "backordered"));

    // 6 units arrive: Q-1 (3) first; Q-2 (5) does not fit what is left; Q-3 (2) does.
    floor
        .stock_up(&app, "HOT", "ASN-LATE", 6, None, "A-01")
        .await;

    let status = |i: usize| {
        let id = results[i]["order_id"].as_str().unwrap().to_string();
        let app = &app;
        let token = floor.merchant_token.clone();
        async move {
            app.get(&format!("/api/v1/orders/{id}"), &token)
                .await
                .ok(200)["status"]
                .clone()
        }
    };
    assert_eq!(status(0).await, "reserved");
    assert_eq!(status(1).await, "backordered");
    assert_eq!(status(2).await, "reserved");
    assert_eq!(reserved_units(&app), 5);
    let waiting = app
        .get("/api/v1/orders?status=backordered", &floor.merchant_token)
        .await
        .ok(200);
    assert_eq!(waiting["items"].as_array().unwrap().len(), 1);
    assert_no_oversell(&app);
}

async fn cancelling_releases_the_reservation_to_the_queue(app: TestApp) {
    let floor = shop(&app, 4, 0).await;
    let results = push(
        &app,
        &floor.merchant_token,
        vec![order("X-1", &[("HOT", 4)]), order("X-2", &[("HOT", 3)])],
    )
    .await;
    assert_eq!(results[1]["status"], "backordered");
    let first = results[0]["order_id"].as_str().unwrap();

    let cancelled = app
        .post(
            &format!("/api/v1/orders/{first}/cancel"),
            &floor.merchant_token,
            json!({}),
        )
        .await
        .ok(200);

    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["reservations"].as_array().unwrap().is_empty());
    let second = app
        .get(
            &format!(
                "/api/v1/orders/{}",
                results[1]["order_id"].as_str().unwrap()
            ),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(
        second["status"], "reserved",
        "the released units serve the queue"
    );
    assert_eq!(reserved_units(&app), 3);
    app.post(
        &format!("/api/v1/orders/{first}/cancel"),
        &floor.merchant_token,
        json!({}),
    )
    .await
    .problem(409);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM trace_events WHERE event_type = 'TransactionEvent' AND action = 'DELETE'"),
        1
    );
    assert_no_oversell(&app);
}

async fn reservations_follow_fefo_across_lots_and_bins(app: TestApp) {
    let floor = shop(&app, 0, 0).await;
    let later = floor
        .stock_up(&app, "HOT", "LATE", 5, Some("2099-12-01"), "A-01")
        .await;
    let sooner = floor
        .stock_up(&app, "HOT", "SOON", 3, Some("2099-01-01"), "A-01")
        .await;

    let results = push(
        &app,
        &floor.merchant_token,
        vec![order("F-1", &[("HOT", 4)])],
    )
    .await;

    let placed = app
        .get(
            &format!(
                "/api/v1/orders/{}",
                results[0]["order_id"].as_str().unwrap()
            ),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    let taken: Vec<(String, i64)> = placed["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["lot_id"].as_str().unwrap().to_string(),
                r["qty"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        taken.contains(&(sooner.clone(), 3)),
        "the lot that expires first goes first: {taken:?}"
    );
    assert!(taken.contains(&(later, 1)), "{taken:?}");
    // Reserved units cannot be moved away: all 3 of SOON are held for F-1.
    let problem = app
        .post(
            "/api/v1/stock/moves",
            &floor.staff_token,
            json!({"lot_id": sooner, "from_location_code": "A-01", "to_location_code": "QUAR", "qty": 1, "reason": "x"}),
        )
        .await;
    assert_eq!(problem.status, 409, "{}", problem.text);
    assert!(problem.text.contains("only 0 unit(s)"), "{}", problem.text);
    assert_no_oversell(&app);
}

async fn bad_pushes_are_4xx_and_change_nothing(app: TestApp) {
    let floor = shop(&app, 5, 0).await;
    let orders = || app.count("SELECT COUNT(*) AS n FROM orders");

    let too_many: Vec<Value> = (0..1001)
        .map(|i| order(&format!("T-{i}"), &[("HOT", 1)]))
        .collect();
    let problem = app
        .post(
            "/api/v1/orders/bulk",
            &floor.merchant_token,
            json!({"orders": too_many}),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "orders");
    app.post(
        "/api/v1/orders/bulk",
        &floor.merchant_token,
        json!({"orders": []}),
    )
    .await
    .problem(422);
    let mut bad = order("T-1", &[("HOT", 0)]);
    bad["channel"] = json!("tiktok");
    let problem = app
        .post("/api/v1/orders", &floor.merchant_token, bad)
        .await
        .problem(422);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["channel", "lines[0].qty"]);
    let mut unknown_carrier = order("T-2", &[("HOT", 1)]);
    unknown_carrier["carrier_code"] = json!("NOPE");
    let problem = app
        .post("/api/v1/orders", &floor.merchant_token, unknown_carrier)
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "carrier_code");
    // Staff must name the merchant.
    let problem = app
        .post(
            "/api/v1/orders",
            &floor.staff_token,
            order("T-3", &[("HOT", 1)]),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "merchant_id");
    app.get("/api/v1/orders?status=lost", &floor.merchant_token)
        .await
        .problem(422);
    app.post(
        "/api/v1/orders/ord_nope/cancel",
        &floor.merchant_token,
        json!({}),
    )
    .await
    .problem(404);
    assert_eq!(orders(), 0);
    assert_eq!(reserved_units(&app), 0);
}

async fn a_merchant_sees_only_its_own_orders(app: TestApp) {
    let floor = shop(&app, 5, 0).await;
    let results = push(
        &app,
        &floor.merchant_token,
        vec![order("V-1", &[("HOT", 1)])],
    )
    .await;
    let id = results[0]["order_id"].as_str().unwrap();
    let (_, rival_token) = app.merchant_token("RIVAL").await;

    app.get(&format!("/api/v1/orders/{id}"), &rival_token)
        .await
        .problem(404);
    app.post(
        &format!("/api/v1/orders/{id}/cancel"),
        &rival_token,
        json!({}),
    )
    .await
    .problem(404);
    let listed = app.get("/api/v1/orders", &rival_token).await.ok(200);
    assert!(listed["items"].as_array().unwrap().is_empty());
    // The rival's push of the same external id is its own order, with its own
    // SKUs: it has no HOT.
    let theirs = push(&app, &rival_token, vec![order("V-1", &[("HOT", 1)])]).await;
    assert_eq!(theirs[0]["status"], "rejected");
    let staff = app
        .get("/api/v1/orders?live_session=night-1", &floor.staff_token)
        .await
        .ok(200);
    assert_eq!(staff["items"].as_array().unwrap().len(), 1);
}

async fn two_servers_on_one_database_never_oversell(app: TestApp) {
    let floor = shop(&app, 100, 0).await;
    let second = app.second_server();

    // 64 clients, half on each server, 5 single-unit orders each; every
    // client also retries its push once on the other server.
    let pushes = (0..64).flat_map(|client| {
        let orders: Vec<Value> = (0..5)
            .map(|i| order(&format!("D{client}-{i}"), &[("HOT", 1)]))
            .collect();
        let (first, other) = if client % 2 == 0 {
            (app.address.clone(), second.address.clone())
        } else {
            (second.address.clone(), app.address.clone())
        };
        let body = json!({"orders": orders});
        [(first, body.clone()), (other, body)]
    });
    let replies = futures_util::future::join_all(pushes.map(|(base, body)| {
        let token = floor.merchant_token.clone();
        let app = &app;
        async move {
            app.post_at(&base, "/api/v1/orders/bulk", &token, body)
                .await
        }
    }))
    .await;

    let mut counts = std::collections::HashMap::new();
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text);
        for r in reply.json()["results"].as_array().unwrap() {
            *counts
                .entry(r["status"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    assert_eq!(counts.get("reserved"), Some(&100), "{counts:?}");
    assert_eq!(counts.get("backordered"), Some(&220), "{counts:?}");
    assert_eq!(counts.get("duplicate"), Some(&320), "{counts:?}");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM orders"), 320);
    assert_eq!(reserved_units(&app), 100);
    assert_no_oversell(&app);
}

async fn single_orders_racing_for_the_last_units_never_oversell(app: TestApp) {
    let floor = shop(&app, 30, 0).await;

    // 80 single-order requests at once, one unit each, for 30 units: the
    // writer ingests those waiting together, and exactly 30 are reserved.
    let replies = futures_util::future::join_all((0..80).map(|i| {
        app.post(
            "/api/v1/orders",
            &floor.merchant_token,
            order(&format!("ONE-{i}"), &[("HOT", 1)]),
        )
    }))
    .await;

    let mut statuses = std::collections::HashMap::new();
    let mut ids = std::collections::HashSet::new();
    for reply in &replies {
        assert_eq!(reply.status, 201, "{}", reply.text);
        let body = reply.json();
        *statuses
            .entry(body["status"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
        // Each answer is the stored order itself, with what it holds.
        let held: i64 = body["reservations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["qty"].as_i64().unwrap())
            .sum();
        assert_eq!(held, if body["status"] == "reserved" { 1 } else { 0 });
        ids.insert(body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(statuses.get("reserved"), Some(&30), "{statuses:?}");
    assert_eq!(statuses.get("backordered"), Some(&50), "{statuses:?}");
    assert_eq!(ids.len(), 80);
    assert_eq!(reserved_units(&app), 30);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM orders"), 80);
    assert_no_oversell(&app);
}

async fn identical_single_orders_racing_each_other_make_one_order(app: TestApp) {
    let floor = shop(&app, 10, 0).await;

    // The same order pushed 12 times at once: one is created (201), the
    // others answer 200 with that same order.
    let replies = futures_util::future::join_all((0..12).map(|_| {
        app.post(
            "/api/v1/orders",
            &floor.merchant_token,
            order("TWIN-1", &[("HOT", 2)]),
        )
    }))
    .await;

    let created = replies.iter().filter(|r| r.status == 201).count();
    let repeated = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        (created, repeated),
        (1, 11),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let ids: std::collections::HashSet<String> = replies
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM orders"), 1);
    assert_eq!(reserved_units(&app), 2);
    assert_no_oversell(&app);
}

async fn a_rejected_correction_takes_the_lot_back_from_its_orders(app: TestApp) {
    let floor = shop(&app, 0, 0).await;
    let early = floor
        .stock_up(&app, "HOT", "ASN-EARLY", 10, Some("2027-03-01"), "A-01")
        .await;
    let late = floor
        .stock_up(&app, "HOT", "ASN-LATE", 10, Some("2027-06-01"), "A-01")
        .await;
    // FEFO: the first two take 8 of the early lot, the third its last 2 and 2 of the late.
    let results = push(
        &app,
        &floor.merchant_token,
        (1..=3)
            .map(|i| order(&format!("K-{i}"), &[("HOT", 4)]))
            .collect(),
    )
    .await;
    assert!(
        results.iter().all(|r| r["status"] == "reserved"),
        "{results:?}"
    );

    // A complaint: the early lot is inspected again and rejected.
    let lot = app
        .get(&format!("/api/v1/lots/{early}"), &floor.staff_token)
        .await
        .ok(200);
    let correction = app
        .post(
            &format!(
                "/api/v1/inspections/{}/correction",
                lot["inspection_id"].as_str().unwrap()
            ),
            &floor.staff_token,
            json!({}),
        )
        .await
        .ok(201);
    let major = correction["plans"]["major"]["reject"].as_i64().unwrap();
    let verdict = floor.finish(&app, &correction, major).await;
    assert_eq!(verdict["verdict"], "rejected");
    assert_eq!(verdict["lot_status"], "quarantined");

    // Every order that held any of it gave it all up and was served again,
    // oldest first, from the late lot: 4 + 4 of its 10; the third waits.
    let mut statuses = Vec::new();
    for r in &results {
        let o = app
            .get(
                &format!("/api/v1/orders/{}", r["order_id"].as_str().unwrap()),
                &floor.merchant_token,
            )
            .await
            .ok(200);
        for held in o["reservations"].as_array().unwrap() {
            assert_eq!(held["lot_id"], late.as_str(), "{o}");
        }
        statuses.push(o["status"].as_str().unwrap().to_string());
    }
    assert_eq!(statuses, ["reserved", "reserved", "backordered"]);
    assert_eq!(reserved_units(&app), 8);
    let quarantined = app
        .count(&format!(
            "SELECT CAST(COALESCE(SUM(s.on_hand), 0) AS BIGINT) AS n FROM stock s \
             JOIN locations l ON l.id = s.location_id WHERE s.lot_id = '{early}' AND l.kind = 'quarantine'"
        ));
    assert_eq!(quarantined, 10);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE lot_id = '{early}' \
             AND event_type = 'TransactionEvent' AND action = 'DELETE' AND disposition = 'non_conformant'"
        )),
        3
    );
    assert_no_oversell(&app);
}
