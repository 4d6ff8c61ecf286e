//! Stock that matches the shelf: a count, a scrap, a hold or an expiry run
//! that leaves orders' reservations uncovered takes them back (youngest
//! order first, whole orders) and places them again in order time from other
//! sellable stock (FEFO), or back-orders them; the answer lists the orders
//! that moved. `available` never counts unsellable stock.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::inspection::Floor;
use crate::on_both_backends;

on_both_backends!(
    a_count_below_reservations_re_reserves_from_the_next_lot_in_fefo_order,
    a_count_with_no_other_stock_backorders_whole_orders_youngest_first,
    a_count_that_finds_more_units_serves_the_backorder_queue,
    a_scrap_of_reserved_units_moves_the_youngest_order,
    a_hold_on_reserved_stock_re_reserves_or_backorders_its_orders,
    a_hold_of_one_bin_takes_back_only_that_bins_reservations,
    an_expiry_run_takes_expired_stock_back_from_its_orders,
    available_is_zero_on_held_quarantined_expired_and_waiting_lines,
    orders_pushed_while_a_hold_is_placed_never_keep_held_stock,
    two_sku_orders_racing_a_hold_are_placed_whole,
);

/// A merchant with SKUs `HOT` and `CUP` and two storage bins, `A-01`
/// (walk 1) and `B-01` (walk 2); nothing in stock yet.
async fn shop(app: &TestApp) -> Floor {
    let floor = Floor::new(app, "HONEYSHOP", "TEA").await;
    for code in ["HOT", "CUP"] {
        app.post(
            "/api/v1/skus",
            &floor.merchant_token,
            json!({"code": code, "name": format!("{code} 蜂蜜 500 g")}),
        )
        .await
        .ok(201);
    }
    for (code, walk) in [("A-01", 1), ("B-01", 2)] {
        app.post(
            "/api/v1/locations",
            &app.admin_token,
            json!({"code": code, "kind": "storage", "walk_seq": walk}),
        )
        .await
        .ok(201);
    }
    floor
}

fn order(external_id: &str, lines: &[(&str, i64)]) -> Value {
    json!({
        "channel": "douyin",
        "external_id": external_id,
        "live_session": "蜂蜜专场-1202",
        "ship_to": {"name": "韩梅梅", "phone": "13912345678", "address": "丝绸路 8 号",
                    "city": "杭州", "province": "浙江", "postcode": "310000"},
        "lines": lines.iter().map(|(sku, qty)| json!({"sku_code": sku, "qty": qty})).collect::<Vec<_>>(),
    })
}

/// Pushes the orders one request each, in turn, so that their ids (and so
/// their order time) follow the list; answers their ids.
async fn push_in_turn(app: &TestApp, floor: &Floor, orders: Vec<Value>) -> Vec<String> {
    let mut ids = Vec::new();
    for o in orders {
        let answer = app
            .post(
                "/api/v1/orders/bulk",
                &floor.merchant_token,
                json!({"orders": [o]}),
            )
            .await
            .ok(200);
        let result = &answer["results"][0];
        assert!(
            ["reserved", "backordered"].contains(&result["status"].as_str().unwrap()),
            "{answer}"
        );
        ids.push(result["order_id"].as_str().unwrap().to_string());
        // Ids sort by the millisecond: keep each order in a later one.
        actix_web::rt::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    ids
}

/// (status, [(lot id, location code, qty)]) of an order.
async fn order_state(
    app: &TestApp,
    floor: &Floor,
    id: &str,
) -> (String, Vec<(String, String, i64)>) {
    let o = app
        .get(&format!("/api/v1/orders/{id}"), &floor.merchant_token)
        .await
        .ok(200);
    let held = o["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["lot_id"].as_str().unwrap().to_string(),
                r["location_code"].as_str().unwrap().to_string(),
                r["qty"].as_i64().unwrap(),
            )
        })
        .collect();
    (o["status"].as_str().unwrap().to_string(), held)
}

/// (order id, external id, from, to) of each moved order, as answered.
fn moved(answer: &Value) -> Vec<(String, String, String, String)> {
    answer["orders_moved"]
        .as_array()
        .unwrap_or_else(|| panic!("no orders_moved: {answer}"))
        .iter()
        .map(|m| {
            (
                m["order_id"].as_str().unwrap().to_string(),
                m["external_id"].as_str().unwrap().to_string(),
                m["from"].as_str().unwrap().to_string(),
                m["to"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn mv(id: &str, external: &str, from: &str, to: &str) -> (String, String, String, String) {
    (id.into(), external.into(), from.into(), to.into())
}

/// Reserved never exceeds on-hand, each stock row's `reserved` is the sum of
/// its reservations, and no reservation sits on stock that is not sellable
/// (held, or of a lot that is not accepted, or outside storage).
fn assert_reservations_truthful(app: &TestApp) {
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM stock WHERE reserved > on_hand"),
        0
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM stock s WHERE s.reserved <> \
             (SELECT CAST(COALESCE(SUM(r.qty), 0) AS BIGINT) FROM reservations r \
              WHERE r.lot_id = s.lot_id AND r.location_id = s.location_id)"
        ),
        0,
        "stock.reserved differs from the reservations"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM reservations r \
             JOIN lots l ON l.id = r.lot_id JOIN locations c ON c.id = r.location_id \
             WHERE l.status <> 'accepted' OR c.kind <> 'storage' OR EXISTS \
               (SELECT 1 FROM stock_holds h WHERE h.lot_id = r.lot_id AND h.released_at IS NULL \
                AND (h.location_id IS NULL OR h.location_id = r.location_id))"
        ),
        0,
        "a reservation sits on stock that is not sellable"
    );
    // Every reserved order holds exactly its units; a back-ordered one nothing.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM orders o WHERE o.status IN ('reserved', 'backordered') AND \
             (SELECT CAST(COALESCE(SUM(r.qty), 0) AS BIGINT) FROM reservations r WHERE r.order_id = o.id) \
             <> CASE WHEN o.status = 'reserved' THEN o.units ELSE 0 END"
        ),
        0,
        "an order holds part of its units"
    );
}

fn stock_row(app: &TestApp, lot: &str, bin: &str) -> (i64, i64) {
    let sql = |col: &str| {
        format!(
            "SELECT s.{col} AS n FROM stock s JOIN locations l ON l.id = s.location_id \
             WHERE s.lot_id = '{lot}' AND l.code = '{bin}'"
        )
    };
    (app.count(&sql("on_hand")), app.count(&sql("reserved")))
}

async fn count(app: &TestApp, floor: &Floor, lot: &str, bin: &str, counted: i64) -> Value {
    app.post(
        "/api/v1/stock/adjustments",
        &floor.staff_token,
        json!({"lot_id": lot, "location_code": bin, "counted_qty": counted, "reason": "盘点：少了几瓶"}),
    )
    .await
    .ok(200)
}

async fn a_count_below_reservations_re_reserves_from_the_next_lot_in_fefo_order(app: TestApp) {
    let floor = shop(&app).await;
    let early = floor
        .stock_up(&app, "HOT", "EARLY-1", 10, Some("2027-03-01"), "A-01")
        .await;
    let late = floor
        .stock_up(&app, "HOT", "LATE-2", 10, Some("2027-09-01"), "B-01")
        .await;
    let ids = push_in_turn(
        &app,
        &floor,
        (1..=3)
            .map(|i| order(&format!("抖音-{i}"), &[("HOT", 3)]))
            .collect(),
    )
    .await;
    assert_eq!(stock_row(&app, &early, "A-01"), (10, 9));

    // The shelf holds 5 of the 9 reserved: the two youngest give theirs back.
    let answer = count(&app, &floor, &early, "A-01", 5).await;

    assert_eq!(answer["expected_qty"], 10);
    assert_eq!(answer["adjustment"], -5);
    assert_eq!(
        moved(&answer),
        [
            mv(&ids[1], "抖音-2", "reserved", "reserved"),
            mv(&ids[2], "抖音-3", "reserved", "reserved"),
        ]
    );
    // The oldest keeps its 3 early units; the second, older, takes the early
    // lot's last 2 and 1 of the late (FEFO), the youngest 3 of the late.
    assert_eq!(
        order_state(&app, &floor, &ids[0]).await,
        ("reserved".into(), vec![(early.clone(), "A-01".into(), 3)])
    );
    let (status, mut held) = order_state(&app, &floor, &ids[1]).await;
    held.sort();
    let mut want = vec![
        (early.clone(), "A-01".into(), 2),
        (late.clone(), "B-01".into(), 1),
    ];
    want.sort();
    assert_eq!((status.as_str(), held), ("reserved", want));
    assert_eq!(
        order_state(&app, &floor, &ids[2]).await,
        ("reserved".into(), vec![(late.clone(), "B-01".into(), 3)])
    );
    assert_eq!(stock_row(&app, &early, "A-01"), (5, 5));
    assert_eq!(stock_row(&app, &late, "B-01"), (10, 4));
    // Each re-reservation is traced: the early units given back, the new ones taken.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE event_type = 'TransactionEvent' \
             AND action = 'DELETE' AND lot_id = '{early}'"
        )),
        2
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE event_type = 'TransactionEvent' \
             AND action = 'ADD' AND lot_id = '{late}'"
        )),
        2
    );
    assert_reservations_truthful(&app);
}

async fn a_count_with_no_other_stock_backorders_whole_orders_youngest_first(app: TestApp) {
    let floor = shop(&app).await;
    let hot = floor
        .stock_up(&app, "HOT", "ASN-HOT", 10, None, "A-01")
        .await;
    floor
        .stock_up(&app, "CUP", "ASN-CUP", 5, None, "B-01")
        .await;
    let ids = push_in_turn(
        &app,
        &floor,
        vec![
            order("快手-001", &[("HOT", 3)]),
            order("快手-002", &[("HOT", 2), ("CUP", 1)]),
            order("快手-003", &[("HOT", 3)]),
        ],
    )
    .await;

    // 8 reserved, 4 found: the youngest two go back to the queue whole.
    let answer = count(&app, &floor, &hot, "A-01", 4).await;

    assert_eq!(
        moved(&answer),
        [
            mv(&ids[1], "快手-002", "reserved", "backordered"),
            mv(&ids[2], "快手-003", "reserved", "backordered"),
        ]
    );
    assert_eq!(answer["orders_moved"][0]["channel"], "douyin");
    assert_eq!(order_state(&app, &floor, &ids[0]).await.0, "reserved");
    // Never a part: the second gave its cup back too, though cups are plenty.
    assert_eq!(
        order_state(&app, &floor, &ids[1]).await,
        ("backordered".into(), vec![])
    );
    assert_eq!(
        order_state(&app, &floor, &ids[2]).await,
        ("backordered".into(), vec![])
    );
    assert_eq!(stock_row(&app, &hot, "A-01"), (4, 3));
    let stock = app
        .get("/api/v1/stock?sku_code=CUP", &floor.staff_token)
        .await
        .ok(200);
    assert_eq!(stock["totals"]["reserved"], 0);
    assert_eq!(stock["totals"]["available"], 5);
    // The count and its adjustment are recorded as the shelf said.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM stock_counts WHERE lot_id = '{hot}' AND counted_qty = 4 AND expected_qty = 10"
        )),
        1
    );
    assert_reservations_truthful(&app);
}

async fn a_count_that_finds_more_units_serves_the_backorder_queue(app: TestApp) {
    let floor = shop(&app).await;
    let hot = floor
        .stock_up(&app, "HOT", "ASN-HOT", 2, None, "A-01")
        .await;
    let ids = push_in_turn(&app, &floor, vec![order("小红书-9", &[("HOT", 3)])]).await;
    assert_eq!(order_state(&app, &floor, &ids[0]).await.0, "backordered");

    let answer = count(&app, &floor, &hot, "A-01", 5).await;

    assert_eq!(answer["adjustment"], 3);
    assert_eq!(
        moved(&answer),
        [mv(&ids[0], "小红书-9", "backordered", "reserved")]
    );
    assert_eq!(stock_row(&app, &hot, "A-01"), (5, 3));
    assert_reservations_truthful(&app);
}

async fn a_scrap_of_reserved_units_moves_the_youngest_order(app: TestApp) {
    let floor = shop(&app).await;
    let hot = floor
        .stock_up(&app, "HOT", "ASN-HOT", 10, None, "A-01")
        .await;
    let ids = push_in_turn(
        &app,
        &floor,
        vec![order("DY-1", &[("HOT", 4)]), order("DY-2", &[("HOT", 4)])],
    )
    .await;

    // 5 of the 10 are broken: 5 left cover the first order, not both.
    let answer = app
        .post(
            "/api/v1/stock/scrap",
            &floor.staff_token,
            json!({"lot_id": hot, "location_code": "A-01", "qty": 5, "reason": "瓶子碎了"}),
        )
        .await
        .ok(200);

    assert_eq!(answer["qty"], 5);
    assert_eq!(
        moved(&answer),
        [mv(&ids[1], "DY-2", "reserved", "backordered")]
    );
    assert_eq!(order_state(&app, &floor, &ids[0]).await.0, "reserved");
    assert_eq!(stock_row(&app, &hot, "A-01"), (5, 4));
    // More than the bin holds is still a 409 that changes nothing.
    let problem = app
        .post(
            "/api/v1/stock/scrap",
            &floor.staff_token,
            json!({"lot_id": hot, "location_code": "A-01", "qty": 6, "reason": "瓶子碎了"}),
        )
        .await
        .problem(409);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("only 5 unit(s)"),
        "{problem}"
    );
    assert_eq!(order_state(&app, &floor, &ids[0]).await.0, "reserved");
    assert_eq!(stock_row(&app, &hot, "A-01"), (5, 4));
    assert_reservations_truthful(&app);
}

async fn a_hold_on_reserved_stock_re_reserves_or_backorders_its_orders(app: TestApp) {
    let floor = shop(&app).await;
    let suspect = floor
        .stock_up(&app, "HOT", "ASN-SUSPECT", 6, Some("2027-03-01"), "A-01")
        .await;
    let other = floor
        .stock_up(&app, "HOT", "ASN-OTHER", 4, Some("2027-09-01"), "B-01")
        .await;
    let ids = push_in_turn(
        &app,
        &floor,
        vec![order("DY-1", &[("HOT", 4)]), order("DY-2", &[("HOT", 2)])],
    )
    .await;
    assert_eq!(stock_row(&app, &suspect, "A-01"), (6, 6));

    // A complaint: the first lot is held for the lab.
    let hold = app
        .post(
            "/api/v1/holds",
            &floor.staff_token,
            json!({"lot_id": suspect, "reason": "顾客投诉：送检"}),
        )
        .await
        .ok(201);

    assert_eq!(hold["kind"], "quality");
    assert!(hold["id"].is_string(), "{hold}");
    // Both gave it back; the oldest is re-reserved from the other lot, the
    // younger waits.
    assert_eq!(
        moved(&hold),
        [
            mv(&ids[0], "DY-1", "reserved", "reserved"),
            mv(&ids[1], "DY-2", "reserved", "backordered"),
        ]
    );
    assert_eq!(
        order_state(&app, &floor, &ids[0]).await,
        ("reserved".into(), vec![(other.clone(), "B-01".into(), 4)])
    );
    assert_eq!(stock_row(&app, &suspect, "A-01"), (6, 0));
    let stock = app
        .get(
            &format!("/api/v1/stock?lot_id={suspect}"),
            &floor.staff_token,
        )
        .await
        .ok(200);
    assert_eq!(stock["items"][0]["on_hold"], true);
    assert_eq!(stock["items"][0]["available"], 0);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE event_type = 'TransactionEvent' \
             AND action = 'DELETE' AND lot_id = '{suspect}' AND disposition = 'non_sellable_other'"
        )),
        2
    );
    assert_reservations_truthful(&app);

    // Found fine: the release serves the one still waiting.
    app.post(
        &format!("/api/v1/holds/{}/release", hold["id"].as_str().unwrap()),
        &floor.staff_token,
        json!({}),
    )
    .await
    .ok(200);
    assert_eq!(
        order_state(&app, &floor, &ids[1]).await,
        ("reserved".into(), vec![(suspect.clone(), "A-01".into(), 2)])
    );
    assert_reservations_truthful(&app);
}

async fn a_hold_of_one_bin_takes_back_only_that_bins_reservations(app: TestApp) {
    let floor = shop(&app).await;
    let lot = floor
        .stock_up(&app, "HOT", "ASN-SPLIT", 6, None, "A-01")
        .await;
    app.post(
        "/api/v1/stock/moves",
        &floor.staff_token,
        json!({"lot_id": lot, "from_location_code": "A-01", "to_location_code": "B-01", "qty": 3}),
    )
    .await
    .ok(200);
    // Walk order: A-01 first, so the first order takes A-01's 3 and the second B-01's.
    let ids = push_in_turn(
        &app,
        &floor,
        vec![order("DY-A", &[("HOT", 3)]), order("DY-B", &[("HOT", 3)])],
    )
    .await;

    let hold = app
        .post(
            "/api/v1/holds",
            &floor.staff_token,
            json!({"lot_id": lot, "location_code": "A-01", "reason": "货架漏水"}),
        )
        .await
        .ok(201);

    assert_eq!(hold["location_code"], "A-01");
    assert_eq!(
        moved(&hold),
        [mv(&ids[0], "DY-A", "reserved", "backordered")]
    );
    assert_eq!(
        order_state(&app, &floor, &ids[1]).await,
        ("reserved".into(), vec![(lot.clone(), "B-01".into(), 3)])
    );
    assert_reservations_truthful(&app);
}

async fn an_expiry_run_takes_expired_stock_back_from_its_orders(app: TestApp) {
    let floor = shop(&app).await;
    let old = floor
        .stock_up(&app, "HOT", "ASN-OLD", 5, Some("2099-01-01"), "A-01")
        .await;
    let fresh = floor
        .stock_up(&app, "HOT", "ASN-FRESH", 4, None, "B-01")
        .await;
    let ids = push_in_turn(
        &app,
        &floor,
        vec![order("DY-1", &[("HOT", 3)]), order("DY-2", &[("HOT", 2)])],
    )
    .await;
    assert_eq!(stock_row(&app, &old, "A-01"), (5, 5));
    // Time passes: the old lot reaches its expiry date.
    {
        use diesel::RunQueryDsl;
        let mut conn = app.pool.get().unwrap();
        diesel::sql_query(format!(
            "UPDATE lots SET expiry_date = CURRENT_DATE WHERE id = '{old}'"
        ))
        .execute(&mut *conn)
        .unwrap();
    }

    let run = app
        .post("/api/v1/stock/expiry-run", &floor.staff_token, json!({}))
        .await
        .ok(200);

    assert_eq!(run["items"].as_array().unwrap().len(), 1, "{run}");
    assert_eq!(run["items"][0]["lot_id"], old.as_str());
    assert_eq!(
        moved(&run),
        [
            mv(&ids[0], "DY-1", "reserved", "reserved"),
            mv(&ids[1], "DY-2", "reserved", "backordered"),
        ]
    );
    assert_eq!(
        order_state(&app, &floor, &ids[0]).await,
        ("reserved".into(), vec![(fresh.clone(), "B-01".into(), 3)])
    );
    assert_eq!(stock_row(&app, &old, "A-01"), (5, 0));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE event_type = 'TransactionEvent' \
             AND action = 'DELETE' AND lot_id = '{old}' AND disposition = 'expired'"
        )),
        2
    );
    // A second run holds nothing and moves nothing.
    let again = app
        .post("/api/v1/stock/expiry-run", &floor.staff_token, json!({}))
        .await
        .ok(200);
    assert_eq!(again["orders_moved"], json!([]));
    assert_reservations_truthful(&app);
}

async fn available_is_zero_on_held_quarantined_expired_and_waiting_lines(app: TestApp) {
    let floor = shop(&app).await;
    let good = floor
        .stock_up(&app, "HOT", "ASN-GOOD", 8, None, "A-01")
        .await;
    let held = floor
        .stock_up(&app, "HOT", "ASN-HELD", 5, None, "A-01")
        .await;
    // The oldest receipt first: the order takes the good lot.
    push_in_turn(&app, &floor, vec![order("DY-1", &[("HOT", 2)])]).await;
    let expired = floor
        .stock_up(&app, "HOT", "ASN-EXP", 4, Some("2099-01-01"), "B-01")
        .await;
    let rejected = floor.receive(&app, "HOT", "ASN-BAD", &[5]).await;
    floor.inspect(&app, &rejected[0], false).await;
    let waiting = floor.receive(&app, "HOT", "ASN-WAIT", &[3]).await;
    app.post(
        "/api/v1/holds",
        &floor.staff_token,
        json!({"lot_id": held, "reason": "质检复查"}),
    )
    .await
    .ok(201);
    {
        use diesel::RunQueryDsl;
        let mut conn = app.pool.get().unwrap();
        diesel::sql_query(format!(
            "UPDATE lots SET expiry_date = CURRENT_DATE WHERE id = '{expired}'"
        ))
        .execute(&mut *conn)
        .unwrap();
    }

    let stock = app
        .get("/api/v1/stock?sku_code=HOT", &floor.merchant_token)
        .await
        .ok(200);

    let line = |lot: &str| -> Value {
        stock["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["lot_id"] == lot)
            .unwrap_or_else(|| panic!("no line of {lot}: {stock}"))
            .clone()
    };
    let good_line = line(&good);
    assert_eq!(
        (
            &good_line["on_hand"],
            &good_line["reserved"],
            &good_line["available"]
        ),
        (&json!(8), &json!(2), &json!(6))
    );
    for (lot, why) in [
        (held.as_str(), "held"),
        (expired.as_str(), "expired"),
        (rejected[0].as_str(), "quarantined"),
        (waiting[0].as_str(), "in receiving"),
    ] {
        let l = line(lot);
        assert!(l["on_hand"].as_i64().unwrap() > 0, "{why}: {l}");
        assert_eq!(l["sellable"], false, "{why}: {l}");
        assert_eq!(l["available"], 0, "{why}: {l}");
    }
    assert_eq!(line(&held)["on_hold"], true);
    // Totals add up the lines as shown.
    assert_eq!(stock["totals"]["on_hand"], 8 + 5 + 4 + 5 + 3);
    assert_eq!(stock["totals"]["reserved"], 2);
    assert_eq!(stock["totals"]["available"], 6);
    assert_eq!(stock["totals"]["sellable"], 6);
    let csv = app
        .get("/api/v1/stock?sku_code=HOT&format=csv", &floor.staff_token)
        .await;
    let held_record = csv
        .text
        .split("\r\n")
        .find(|r| r.contains(&held))
        .unwrap_or_else(|| panic!("no record of the held lot: {}", csv.text));
    assert!(
        held_record.ends_with(",A-01,storage,5,0,0,true,false"),
        "{held_record}"
    );
}

async fn orders_pushed_while_a_hold_is_placed_never_keep_held_stock(app: TestApp) {
    let floor = shop(&app).await;
    let suspect = floor
        .stock_up(&app, "HOT", "ASN-SUSPECT", 50, Some("2027-03-01"), "A-01")
        .await;
    floor
        .stock_up(&app, "HOT", "ASN-OTHER", 50, Some("2027-09-01"), "B-01")
        .await;
    // A second depot on the same database places the hold, as behind a load balancer.
    let second = app.second_server();

    // 20 pushes of 5 one-unit orders (100 units asked for) race a hold on the
    // lot they take first.
    let pushes = (0..20).map(|p| {
        let orders: Vec<Value> = (0..5)
            .map(|i| order(&format!("直播-{p}-{i}"), &[("HOT", 1)]))
            .collect();
        app.post(
            "/api/v1/orders/bulk",
            &floor.merchant_token,
            json!({"orders": orders}),
        )
    });
    let hold = async {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        app.post_at(
            &second.address,
            "/api/v1/holds",
            &floor.staff_token,
            json!({"lot_id": suspect, "reason": "抽检不合格，待复检"}),
        )
        .await
    };
    let (replies, hold) =
        futures_util::future::join(futures_util::future::join_all(pushes), hold).await;

    assert_eq!(hold.status, 201, "{}", hold.text);
    // How the race went (orders that had taken the held lot first).
    eprintln!(
        "the hold moved {} order(s)",
        hold.json()["orders_moved"].as_array().map_or(0, Vec::len)
    );
    for r in &replies {
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // Whatever the interleaving: nothing is reserved on the held lot, the
    // other lot's 50 are reserved by exactly 50 whole orders, the rest wait.
    assert_eq!(stock_row(&app, &suspect, "A-01").1, 0);
    assert_eq!(
        app.count("SELECT CAST(COALESCE(SUM(reserved), 0) AS BIGINT) AS n FROM stock"),
        50
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM orders WHERE status = 'reserved'"),
        50
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM orders WHERE status = 'backordered'"),
        50
    );
    assert_reservations_truthful(&app);
}

async fn two_sku_orders_racing_a_hold_are_placed_whole(app: TestApp) {
    let floor = shop(&app).await;
    let suspect = floor
        .stock_up(&app, "HOT", "ASN-SUSPECT", 30, Some("2027-03-01"), "A-01")
        .await;
    floor
        .stock_up(&app, "HOT", "ASN-OTHER", 30, Some("2027-09-01"), "B-01")
        .await;
    floor
        .stock_up(&app, "CUP", "ASN-CUP", 200, None, "B-01")
        .await;
    let second = app.second_server();

    // Every order takes a cup too: releasing one frees a cup, and the hold
    // must lock both SKUs in the order ingest does.
    let pushes = (0..16).map(|p| {
        let orders: Vec<Value> = (0..5)
            .map(|i| order(&format!("双品-{p}-{i}"), &[("HOT", 1), ("CUP", 1)]))
            .collect();
        app.post(
            "/api/v1/orders/bulk",
            &floor.merchant_token,
            json!({"orders": orders}),
        )
    });
    let hold = async {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        app.post_at(
            &second.address,
            "/api/v1/holds",
            &floor.staff_token,
            json!({"lot_id": suspect, "reason": "抽检"}),
        )
        .await
    };
    let (replies, hold) =
        futures_util::future::join(futures_util::future::join_all(pushes), hold).await;

    assert_eq!(hold.status, 201, "{}", hold.text);
    for r in &replies {
        assert_eq!(r.status, 200, "{}", r.text);
        for result in r.json()["results"].as_array().unwrap() {
            assert!(
                ["reserved", "backordered"].contains(&result["status"].as_str().unwrap()),
                "{result}"
            );
        }
    }
    // 80 orders for the 30 sellable hot units: 30 reserved whole (a cup
    // each), 50 waiting with nothing, and nothing on the held lot.
    assert_eq!(stock_row(&app, &suspect, "A-01").1, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM orders WHERE status = 'reserved'"),
        30
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM orders WHERE status = 'backordered'"),
        50
    );
    assert_eq!(
        app.count("SELECT CAST(COALESCE(SUM(reserved), 0) AS BIGINT) AS n FROM stock"),
        60
    );
    assert_reservations_truthful(&app);
}
