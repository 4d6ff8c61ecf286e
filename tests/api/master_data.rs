//! Master data corrected and retired: PATCH of SKUs, locations, merchants and
//! carriers, the change log, what an inactive object refuses, the default
//! location of each kind, and the messages and reasons of inspection.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::inspection::Floor;
use crate::on_both_backends;

on_both_backends!(
    a_sku_is_corrected_and_every_change_is_logged_with_who_and_when,
    a_gtin_changes_only_while_no_lot_of_the_sku_exists,
    patch_bodies_refuse_empty_unknown_and_uncleared_fields,
    another_merchants_sku_cannot_be_patched,
    an_inactive_location_takes_no_new_stock,
    an_inactive_merchant_reads_but_creates_nothing,
    an_inactive_carrier_takes_no_new_orders,
    the_default_location_of_a_kind_is_marked_and_the_mark_moves,
    a_rejected_lot_goes_to_the_default_quarantine_and_the_answer_says_where,
    arrivals_without_a_location_go_to_the_default_receiving_dock,
    inspected_qty_over_the_lot_size_says_the_lot_size,
    a_correction_carries_its_reason_into_the_record_and_the_trace,
);

async fn patch(app: &TestApp, path: &str, token: &str, body: Value) -> crate::helpers::Reply {
    app.call("PATCH", path, Some(token), Some(&body)).await
}

fn changes_of(list: &Value) -> Vec<(String, Value, Value)> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap().to_string(),
                c["old_value"].clone(),
                c["new_value"].clone(),
            )
        })
        .collect()
}

async fn location_id(app: &TestApp, code: &str) -> String {
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/locations?limit=500&cursor={c}"),
            None => "/api/v1/locations?limit=500".to_string(),
        };
        let page = app.get(&path, &app.admin_token).await.ok(200);
        if let Some(found) = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["code"] == code)
        {
            return found["id"].as_str().unwrap().to_string();
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => panic!("no location {code}"),
        }
    }
}

async fn bin(app: &TestApp, body: Value) -> Value {
    app.post("/api/v1/locations", &app.admin_token, body)
        .await
        .ok(201)
}

async fn a_sku_is_corrected_and_every_change_is_logged_with_who_and_when(app: TestApp) {
    let merchant = app.merchant("tea-co").await;
    let (token_id, token) = app.token("merchant", Some(&merchant), None).await;
    let sku = app
        .post(
            "/api/v1/skus",
            &token,
            json!({"code": "GT-100", "name": "Green tea", "category": "tea",
                   "shelf_life_days": 365, "storage_zone": "A"}),
        )
        .await
        .ok(201);
    let id = sku["id"].as_str().unwrap();

    let changed = patch(
        &app,
        &format!("/api/v1/skus/{id}"),
        &token,
        json!({"name": "西湖龙井 100 克", "category": null, "shelf_life_days": 540,
               "storage_zone": null}),
    )
    .await
    .ok(200);

    assert_eq!(changed["name"], "西湖龙井 100 克");
    assert_eq!(changed["category"], Value::Null);
    assert_eq!(changed["shelf_life_days"], 540);
    assert_eq!(changed["storage_zone"], Value::Null);
    assert_eq!(changed["code"], "GT-100", "the code is not patchable");
    let read = app.get(&format!("/api/v1/skus/{id}"), &token).await.ok(200);
    assert_eq!(read, changed);
    let log = app
        .get(
            &format!("/api/v1/master-data-changes?entity=sku&entity_id={id}"),
            &app.admin_token,
        )
        .await
        .ok(200);
    assert_eq!(
        changes_of(&log),
        [
            ("name".into(), json!("Green tea"), json!("西湖龙井 100 克")),
            ("category".into(), json!("tea"), Value::Null),
            ("shelf_life_days".into(), json!(365), json!(540)),
            ("storage_zone".into(), json!("A"), Value::Null),
        ]
    );
    for item in log["items"].as_array().unwrap() {
        assert_eq!(item["changed_by"], json!(token_id));
        assert_eq!(item["entity"], "sku");
        assert!(item["changed_at"].as_str().unwrap().ends_with('Z'));
    }

    // The same values again change nothing and log nothing.
    patch(
        &app,
        &format!("/api/v1/skus/{id}"),
        &token,
        json!({"name": "西湖龙井 100 克"}),
    )
    .await
    .ok(200);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM master_data_changes"),
        4
    );
}

async fn a_gtin_changes_only_while_no_lot_of_the_sku_exists(app: TestApp) {
    let floor = Floor::new(&app, "gtin-co", "TEA").await;
    let other = app
        .post(
            "/api/v1/skus",
            &floor.merchant_token,
            json!({"code": "COFFEE", "name": "Coffee", "gtin": "6901234567892"}),
        )
        .await
        .ok(201);
    let path = format!("/api/v1/skus/{}", floor.sku_id);

    // A bad check digit is a 422 naming the field; another SKU's GTIN a 409.
    let bad = patch(
        &app,
        &path,
        &floor.staff_token,
        json!({"gtin": "6901234567891"}),
    )
    .await
    .problem(422);
    assert_eq!(bad["errors"][0]["field"], "gtin");
    let taken = patch(
        &app,
        &path,
        &floor.staff_token,
        json!({"gtin": other["gtin"]}),
    )
    .await
    .problem(409);
    assert!(
        taken["detail"].as_str().unwrap().contains("COFFEE"),
        "{taken}"
    );

    // Before any lot: the GTIN changes, and can be cleared.
    let cleared = patch(&app, &path, &floor.staff_token, json!({"gtin": null}))
        .await
        .ok(200);
    assert_eq!(cleared["gtin"], Value::Null);
    let set = patch(&app, &path, &floor.staff_token, json!({"gtin": "96385074"}))
        .await
        .ok(200);
    assert_eq!(set["gtin"], "96385074");

    // Once a lot exists: 409, and nothing changes.
    floor.receive(&app, "TEA", "RCV-1202", &[10]).await;
    let refused = patch(
        &app,
        &path,
        &floor.staff_token,
        json!({"gtin": "6291041500213", "name": "Renamed"}),
    )
    .await
    .problem(409);
    assert!(
        refused["detail"].as_str().unwrap().contains("lot"),
        "{refused}"
    );
    let read = app.get(&path, &floor.staff_token).await.ok(200);
    assert_eq!(read["gtin"], "96385074");
    assert_eq!(read["name"], "Green tea 100 g");
    // Its own GTIN again is no change; other fields still change.
    let renamed = patch(
        &app,
        &path,
        &floor.staff_token,
        json!({"gtin": "96385074", "name": "Renamed"}),
    )
    .await
    .ok(200);
    assert_eq!(renamed["name"], "Renamed");
}

async fn patch_bodies_refuse_empty_unknown_and_uncleared_fields(app: TestApp) {
    let floor = Floor::new(&app, "body-co", "TEA").await;
    let merchant = app.merchant("body-co2").await;
    let carrier = app.carrier("sf").await;
    let sku = format!("/api/v1/skus/{}", floor.sku_id);
    for path in [
        sku.clone(),
        "/api/v1/locations/loc_receiving".to_string(),
        format!("/api/v1/merchants/{merchant}"),
        format!("/api/v1/carriers/{carrier}"),
    ] {
        let empty = patch(&app, &path, &app.admin_token, json!({}))
            .await
            .problem(422);
        assert!(
            empty["detail"].as_str().is_some()
                && empty["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("at least one of"),
            "{path}: {empty}"
        );
        let unknown = patch(&app, &path, &app.admin_token, json!({"code": "NEW"}))
            .await
            .problem(400);
        assert!(
            unknown["detail"].as_str().unwrap().contains("code"),
            "{unknown}"
        );
    }
    let name = patch(&app, &sku, &app.admin_token, json!({"name": null}))
        .await
        .problem(422);
    assert_eq!(name["errors"][0]["field"], "name");
    let active = patch(
        &app,
        &format!("/api/v1/merchants/{merchant}"),
        &app.admin_token,
        json!({"active": null}),
    )
    .await
    .problem(422);
    assert_eq!(active["errors"][0]["field"], "active");
    let mark = patch(
        &app,
        "/api/v1/locations/loc_receiving",
        &app.admin_token,
        json!({"default": false}),
    )
    .await
    .problem(422);
    assert_eq!(mark["errors"][0]["field"], "default");
    let missing = patch(
        &app,
        "/api/v1/locations/loc_NOPE",
        &app.admin_token,
        json!({"walk_seq": 3}),
    )
    .await;
    missing.problem(404);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM master_data_changes"),
        0
    );
}

async fn another_merchants_sku_cannot_be_patched(app: TestApp) {
    let floor = Floor::new(&app, "mine-co", "TEA").await;
    let (_, their_token) = app.merchant_token("theirs-co").await;
    let reply = patch(
        &app,
        &format!("/api/v1/skus/{}", floor.sku_id),
        &their_token,
        json!({"name": "Stolen"}),
    )
    .await;
    reply.problem(404);
    let read = app
        .get(
            &format!("/api/v1/skus/{}", floor.sku_id),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(read["name"], "Green tea 100 g");
}

async fn an_inactive_location_takes_no_new_stock(app: TestApp) {
    let floor = Floor::new(&app, "loc-co", "TEA").await;
    let old = bin(
        &app,
        json!({"code": "C-COLD-01", "kind": "storage", "zone": "冷", "walk_seq": 1}),
    )
    .await;
    bin(
        &app,
        json!({"code": "C-COLD-02", "kind": "storage", "zone": "冷", "walk_seq": 2}),
    )
    .await;
    let old_id = old["id"].as_str().unwrap();
    assert_eq!(old["active"], true);

    let retired = patch(
        &app,
        &format!("/api/v1/locations/{old_id}"),
        &app.admin_token,
        json!({"active": false, "zone": null, "walk_seq": 9}),
    )
    .await
    .ok(200);
    assert_eq!(
        (&retired["active"], &retired["zone"], &retired["walk_seq"]),
        (&json!(false), &Value::Null, &json!(9))
    );
    let read = app
        .get(&format!("/api/v1/locations/{old_id}"), &floor.staff_token)
        .await
        .ok(200);
    assert_eq!(read, retired);

    let lots = floor.receive(&app, "TEA", "RCV-LOC", &[20]).await;
    floor.inspect(&app, &lots[0], true).await;
    // Putaway into it: 422 naming the field; nothing moves.
    let refused = app
        .post(
            &format!("/api/v1/lots/{}/putaway", lots[0]),
            &floor.staff_token,
            json!({"qty": 5, "location_code": "C-COLD-01"}),
        )
        .await
        .problem(422);
    assert_eq!(refused["errors"][0]["field"], "location_code");
    assert!(refused["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("inactive"));
    // A suggested bin is never the inactive one.
    let suggested = app
        .post(
            &format!("/api/v1/lots/{}/putaway", lots[0]),
            &floor.staff_token,
            json!({"qty": 10}),
        )
        .await
        .ok(200);
    assert_eq!(suggested["location_code"], "C-COLD-02", "{suggested}");
    // A move into it: 422 on to_location_code.
    let moved = app
        .post(
            "/api/v1/stock/moves",
            &floor.staff_token,
            json!({"lot_id": lots[0], "from_location_code": "C-COLD-02",
                   "to_location_code": "C-COLD-01", "qty": 1}),
        )
        .await
        .problem(422);
    assert_eq!(moved["errors"][0]["field"], "to_location_code");
    // An arrival into a retired dock: 422 on location_code.
    bin(&app, json!({"code": "DOCK-2", "kind": "receiving"})).await;
    let dock = location_id(&app, "DOCK-2").await;
    patch(
        &app,
        &format!("/api/v1/locations/{dock}"),
        &app.admin_token,
        json!({"active": false}),
    )
    .await
    .ok(200);
    let receipt = app
        .post(
            "/api/v1/receipts",
            &floor.merchant_token,
            json!({"reference": "RCV-DOCK", "lines": [{"sku_code": "TEA", "lot_code": "D1", "expected_qty": 5}]}),
        )
        .await
        .ok(201);
    let arrival = app
        .post(
            &format!(
                "/api/v1/receipts/{}/arrival",
                receipt["id"].as_str().unwrap()
            ),
            &floor.staff_token,
            json!({"location_code": "DOCK-2",
                   "lines": [{"line_id": receipt["lines"][0]["id"], "received_qty": 5}]}),
        )
        .await
        .problem(422);
    assert_eq!(arrival["errors"][0]["field"], "location_code");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM stock WHERE location_id IN ('{old_id}', '{dock}') AND on_hand > 0"
        )),
        0
    );
    let log = app
        .get(
            &format!("/api/v1/master-data-changes?entity=location&entity_id={old_id}"),
            &floor.staff_token,
        )
        .await
        .ok(200);
    assert_eq!(
        changes_of(&log),
        [
            ("walk_seq".into(), json!(1), json!(9)),
            ("zone".into(), json!("冷"), Value::Null),
            ("active".into(), json!(true), json!(false)),
        ]
    );
}

async fn an_inactive_merchant_reads_but_creates_nothing(app: TestApp) {
    let floor = Floor::new(&app, "retired-co", "TEA").await;
    let merchant: String = app.text("SELECT id AS v FROM merchants WHERE code = 'retired-co'");
    let path = format!("/api/v1/merchants/{merchant}");

    let retired = patch(
        &app,
        &path,
        &app.admin_token,
        json!({"active": false, "name": "退休茶行"}),
    )
    .await
    .ok(200);
    assert_eq!(
        (&retired["active"], &retired["name"]),
        (&json!(false), &json!("退休茶行"))
    );

    // Its token reads…
    app.get("/api/v1/skus", &floor.merchant_token).await.ok(200);
    app.get(&path, &floor.merchant_token).await.ok(200);
    // …but every write is a 403 saying why.
    let writes = [
        (
            "POST",
            "/api/v1/skus".to_string(),
            json!({"code": "NEW", "name": "New"}),
        ),
        (
            "PATCH",
            format!("/api/v1/skus/{}", floor.sku_id),
            json!({"name": "New"}),
        ),
        (
            "POST",
            "/api/v1/receipts".to_string(),
            json!({"reference": "R", "lines": [{"sku_code": "TEA", "lot_code": "L", "expected_qty": 1}]}),
        ),
        (
            "POST",
            "/api/v1/orders".to_string(),
            json!({"channel": "douyin", "external_id": "DY-1",
                   "ship_to": {"name": "李雷", "phone": "13800138000", "address": "茶路 1 号",
                               "city": "杭州", "province": "浙江"},
                   "lines": [{"sku_code": "TEA", "qty": 1}]}),
        ),
    ];
    for (method, path, body) in &writes {
        let reply = app
            .call(method, path, Some(&floor.merchant_token), Some(body))
            .await;
        let problem = reply.problem(403);
        assert!(
            problem["detail"].as_str().unwrap().contains("inactive"),
            "{method} {path}: {problem}"
        );
    }
    // Staff create nothing for it either: 422 on merchant_id.
    let sku = app
        .post(
            "/api/v1/skus",
            &floor.staff_token,
            json!({"merchant_id": merchant, "code": "NEW", "name": "New"}),
        )
        .await
        .problem(422);
    assert_eq!(sku["errors"][0]["field"], "merchant_id");
    let receipt = app
        .post(
            "/api/v1/receipts",
            &floor.staff_token,
            json!({"merchant_id": merchant, "reference": "R",
                   "lines": [{"sku_code": "TEA", "lot_code": "L", "expected_qty": 1}]}),
        )
        .await
        .problem(422);
    assert_eq!(receipt["errors"][0]["field"], "merchant_id");
    let mut order = writes[3].2.clone();
    order["merchant_id"] = json!(merchant);
    let bulk = app
        .post(
            "/api/v1/orders/bulk",
            &floor.staff_token,
            json!({"orders": [order]}),
        )
        .await
        .ok(200);
    assert_eq!(bulk["results"][0]["status"], "rejected", "{bulk}");
    assert_eq!(
        bulk["results"][0]["error"]["errors"][0]["field"],
        "orders[0].merchant_id"
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM orders"), 0);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM receipts"), 0);

    // Active again: its token writes again.
    patch(&app, &path, &app.admin_token, json!({"active": true}))
        .await
        .ok(200);
    app.post(
        "/api/v1/skus",
        &floor.merchant_token,
        json!({"code": "NEW", "name": "New"}),
    )
    .await
    .ok(201);
    let log = app
        .get(
            &format!("/api/v1/master-data-changes?entity=merchant&entity_id={merchant}"),
            &app.admin_token,
        )
        .await
        .ok(200);
    assert_eq!(
        changes_of(&log),
        [
            ("name".into(), json!("retired-co Ltd"), json!("退休茶行")),
            ("active".into(), json!(true), json!(false)),
            ("active".into(), json!(false), json!(true)),
        ]
    );
}

async fn an_inactive_carrier_takes_no_new_orders(app: TestApp) {
    let floor = Floor::new(&app, "ship-co", "TEA").await;
    let carrier = app.carrier("zto").await;
    let retired = patch(
        &app,
        &format!("/api/v1/carriers/{carrier}"),
        &app.admin_token,
        json!({"active": false, "name": "中通快递"}),
    )
    .await
    .ok(200);
    assert_eq!(
        (&retired["active"], &retired["name"]),
        (&json!(false), &json!("中通快递"))
    );
    let order = |id: &str, carrier: Option<&str>| {
        json!({"channel": "douyin", "external_id": id, "carrier_code": carrier,
               "ship_to": {"name": "韩梅梅", "phone": "13900000001", "address": "花园路 2 号",
                           "city": "上海", "province": "上海"},
               "lines": [{"sku_code": "TEA", "qty": 1}]})
    };
    let bulk = app
        .post(
            "/api/v1/orders/bulk",
            &floor.merchant_token,
            json!({"orders": [order("DY-1", Some("zto")), order("DY-2", None)]}),
        )
        .await
        .ok(200);
    assert_eq!(bulk["results"][0]["status"], "rejected", "{bulk}");
    let error = &bulk["results"][0]["error"]["errors"][0];
    assert_eq!(error["field"], "orders[0].carrier_code");
    assert!(error["message"].as_str().unwrap().contains("inactive"));
    assert_eq!(bulk["results"][1]["status"], "backordered", "{bulk}");
    // The carrier can still be read.
    let read = app
        .get(
            &format!("/api/v1/carriers/{carrier}"),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(read["active"], false);
}

async fn the_default_location_of_a_kind_is_marked_and_the_mark_moves(app: TestApp) {
    let seeded = app
        .get("/api/v1/locations/loc_quarantine", &app.admin_token)
        .await
        .ok(200);
    assert_eq!(seeded["default"], true);
    // The first of a kind is its default; the second is not unless it asks.
    let first = bin(&app, json!({"code": "A-01", "kind": "storage"})).await;
    let second = bin(&app, json!({"code": "A-02", "kind": "storage"})).await;
    assert_eq!(
        (&first["default"], &second["default"]),
        (&json!(true), &json!(false))
    );
    let third = bin(
        &app,
        json!({"code": "A-03", "kind": "storage", "default": true}),
    )
    .await;
    assert_eq!(third["default"], true);
    let first_now = app
        .get(
            &format!("/api/v1/locations/{}", first["id"].as_str().unwrap()),
            &app.admin_token,
        )
        .await
        .ok(200);
    assert_eq!(first_now["default"], false, "the mark moved");
    // PATCH moves it again; one default per kind at all times.
    let second_id = second["id"].as_str().unwrap();
    patch(
        &app,
        &format!("/api/v1/locations/{second_id}"),
        &app.admin_token,
        json!({"default": true}),
    )
    .await
    .ok(200);
    assert_eq!(
        app.text("SELECT code AS v FROM locations WHERE kind = 'storage' AND is_default = TRUE"),
        "A-02"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM locations WHERE kind = 'storage' AND is_default = TRUE"
        ),
        1
    );
    // Every move of the mark is logged, on both locations.
    let log = app
        .get(
            "/api/v1/master-data-changes?entity=location",
            &app.admin_token,
        )
        .await
        .ok(200);
    let moves: Vec<(&str, &Value)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["entity_id"].as_str().unwrap(), &c["new_value"]))
        .collect();
    assert_eq!(
        moves,
        [
            (first["id"].as_str().unwrap(), &json!(false)),
            (third["id"].as_str().unwrap(), &json!(false)),
            (second_id, &json!(true)),
        ]
    );
    // The default quarantine cannot be retired until another takes the mark
    // (depot sends rejected lots there); a default bin can.
    let refused = patch(
        &app,
        "/api/v1/locations/loc_quarantine",
        &app.admin_token,
        json!({"active": false}),
    )
    .await
    .problem(409);
    assert!(
        refused["detail"].as_str().unwrap().contains("default"),
        "{refused}"
    );
    patch(
        &app,
        &format!("/api/v1/locations/{second_id}"),
        &app.admin_token,
        json!({"active": false}),
    )
    .await
    .ok(200);
}

async fn a_rejected_lot_goes_to_the_default_quarantine_and_the_answer_says_where(app: TestApp) {
    let floor = Floor::new(&app, "quar-co", "TEA").await;
    bin(
        &app,
        json!({"code": "QUAR-2", "kind": "quarantine", "walk_seq": 0}),
    )
    .await;
    let lots = floor.receive(&app, "TEA", "RCV-Q", &[100, 100]).await;

    // QUAR is still the default: the rejected lot goes there.
    let rejected = floor.inspect(&app, &lots[0], false).await;
    assert_eq!(rejected["verdict"], "rejected");
    assert_eq!(rejected["location_code"], "QUAR", "{rejected}");

    // Moving the mark moves where the next rejected lot goes.
    let cage = location_id(&app, "QUAR-2").await;
    patch(
        &app,
        &format!("/api/v1/locations/{cage}"),
        &app.admin_token,
        json!({"default": true}),
    )
    .await
    .ok(200);
    let rejected = floor.inspect(&app, &lots[1], false).await;
    assert_eq!(rejected["location_code"], "QUAR-2", "{rejected}");
    let lot = app
        .get(&format!("/api/v1/lots/{}", lots[1]), &floor.staff_token)
        .await
        .ok(200);
    let codes: Vec<&str> = lot["stock"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["on_hand"].as_i64().unwrap() > 0)
        .map(|s| s["location_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["QUAR-2"]);
    // Read back later, the answer still says where it went.
    let read = app
        .get(
            &format!("/api/v1/inspections/{}", rejected["id"].as_str().unwrap()),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(read["location_code"], "QUAR-2");
}

async fn arrivals_without_a_location_go_to_the_default_receiving_dock(app: TestApp) {
    let floor = Floor::new(&app, "dock-co", "TEA").await;
    let dock = bin(
        &app,
        json!({"code": "RECV-2", "kind": "receiving", "default": true}),
    )
    .await;
    assert_eq!(dock["default"], true);
    let recv = app
        .get("/api/v1/locations/loc_receiving", &app.admin_token)
        .await
        .ok(200);
    assert_eq!(recv["default"], false);
    let lots = floor.receive(&app, "TEA", "RCV-D", &[7]).await;
    let lot = app
        .get(&format!("/api/v1/lots/{}", lots[0]), &floor.staff_token)
        .await
        .ok(200);
    assert_eq!(lot["stock"][0]["location_code"], "RECV-2", "{lot}");
}

async fn inspected_qty_over_the_lot_size_says_the_lot_size(app: TestApp) {
    let floor = Floor::new(&app, "qty-co", "TEA").await;
    let lots = floor.receive(&app, "TEA", "RCV-QTY", &[10]).await;
    let started = floor.start(&app, &lots[0]).await;
    let problem = app
        .post(
            &format!(
                "/api/v1/inspections/{}/results",
                started["id"].as_str().unwrap()
            ),
            &floor.staff_token,
            json!({"inspected_qty": 11}),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "inspected_qty");
    assert_eq!(
        problem["errors"][0]["message"],
        "must be at most 10: the lot has only 10 unit(s)"
    );
}

async fn a_correction_carries_its_reason_into_the_record_and_the_trace(app: TestApp) {
    let floor = Floor::new(&app, "fix-co", "TEA").await;
    let lots = floor.receive(&app, "TEA", "RCV-FIX", &[100]).await;
    let first = floor.inspect(&app, &lots[0], true).await;
    let reason = "复核：称重记录抄错";
    let correction = app
        .post(
            &format!(
                "/api/v1/inspections/{}/correction",
                first["id"].as_str().unwrap()
            ),
            &floor.staff_token,
            json!({"reason": reason}),
        )
        .await
        .ok(201);
    assert_eq!(correction["reason"], reason);
    assert_eq!(correction["supersedes_id"], first["id"]);
    let read = app
        .get(
            &format!("/api/v1/inspections/{}", correction["id"].as_str().unwrap()),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(read["reason"], reason);
    assert_eq!(first["reason"], Value::Null);
    let details: Value = serde_json::from_str(&app.text(&format!(
        "SELECT details AS v FROM trace_events WHERE lot_id = '{}' AND biz_step = 'inspecting' \
         AND disposition = 'in_progress' ORDER BY id DESC LIMIT 1",
        lots[0]
    )))
    .unwrap();
    assert_eq!(details["reason"], reason);
    assert_eq!(details["supersedes_id"], first["id"]);
    // A reason too long is a 422 naming it, and starts nothing.
    let long = app
        .post(
            &format!(
                "/api/v1/inspections/{}/correction",
                correction["id"].as_str().unwrap()
            ),
            &floor.staff_token,
            json!({"reason": "x".repeat(2001)}),
        )
        .await
        .problem(422);
    assert_eq!(long["errors"][0]["field"], "reason");
}
