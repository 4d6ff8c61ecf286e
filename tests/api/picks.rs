//! Picking a batch: confirmed quantities move units from their bins to the
//! packing location, in one call or several; the batch and its orders
//! become picked; more than a line asks is refused and changes nothing.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::inspection::Floor;
use crate::on_both_backends;

on_both_backends!(
    picking_every_line_moves_the_units_to_packing_and_marks_batch_and_orders_picked,
    a_line_picked_in_two_calls_adds_up_and_the_batch_is_picking_in_between,
    more_than_a_line_asks_or_a_line_twice_is_refused_and_changes_nothing,
    without_a_packing_location_picking_is_a_conflict_that_says_to_create_one,
);

/// HOT: 2 units (expiring first) in 货架-A-01, 10 in 货架-B-01; three
/// single-unit orders, so FEFO reserves two in A and one in B; one batch of
/// them with two lines. With `packing`, a packing location 打包台-1.
pub(crate) async fn batch_of_three(app: &TestApp, packing: bool) -> (Floor, Value, Vec<String>) {
    let floor = Floor::new(app, "HONEYSHOP", "TEA").await;
    app.post(
        "/api/v1/skus",
        &floor.merchant_token,
        json!({"code": "HOT", "name": "洋槐蜂蜜 500 克"}),
    )
    .await
    .ok(201);
    for (code, walk) in [("货架-A-01", 1), ("货架-B-01", 2)] {
        app.post(
            "/api/v1/locations",
            &app.admin_token,
            json!({"code": code, "kind": "storage", "walk_seq": walk}),
        )
        .await
        .ok(201);
    }
    if packing {
        app.post(
            "/api/v1/locations",
            &app.admin_token,
            json!({"code": "打包台-1", "kind": "packing"}),
        )
        .await
        .ok(201);
    }
    floor
        .stock_up(app, "HOT", "ASN-蜂蜜-1", 2, Some("2027-03-01"), "货架-A-01")
        .await;
    floor
        .stock_up(
            app,
            "HOT",
            "ASN-蜂蜜-2",
            10,
            Some("2027-09-01"),
            "货架-B-01",
        )
        .await;
    let orders: Vec<Value> = ["DY-1", "DY-2", "DY-3"]
        .iter()
        .map(|id| {
            json!({
                "channel": "douyin",
                "external_id": id,
                "live_session": "蜂蜜专场-1202",
                "ship_to": {"name": "韩梅梅", "phone": "13912345678", "address": "西湖区文三路 90 号",
                            "city": "杭州", "province": "浙江", "postcode": "310012"},
                "lines": [{"sku_code": "HOT", "qty": 1}],
            })
        })
        .collect();
    let answer = app
        .post(
            "/api/v1/orders/bulk",
            &floor.merchant_token,
            json!({"orders": orders}),
        )
        .await
        .ok(200);
    let order_ids: Vec<String> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["order_id"].as_str().unwrap().to_string())
        .collect();
    let built = app
        .post("/api/v1/batches", &floor.staff_token, json!({}))
        .await
        .ok(201);
    assert_eq!(built["batches"].as_array().unwrap().len(), 1, "{built}");
    let id = built["batches"][0]["id"].as_str().unwrap().to_string();
    let batch = app
        .get(&format!("/api/v1/batches/{id}"), &floor.staff_token)
        .await
        .ok(200);
    assert_eq!(batch["lines"].as_array().unwrap().len(), 2, "{batch}");
    (floor, batch, order_ids)
}

pub(crate) fn line<'a>(batch: &'a Value, bin: &str) -> &'a Value {
    batch["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["location_code"] == bin)
        .unwrap()
}

pub(crate) fn on_hand(app: &TestApp, code: &str) -> i64 {
    app.count(&format!(
        "SELECT CAST(COALESCE(SUM(s.on_hand), 0) AS BIGINT) AS n FROM stock s \
         JOIN locations l ON l.id = s.location_id WHERE l.code = '{code}'"
    ))
}

pub(crate) fn reserved(app: &TestApp, code: &str) -> i64 {
    app.count(&format!(
        "SELECT CAST(COALESCE(SUM(s.reserved), 0) AS BIGINT) AS n FROM stock s \
         JOIN locations l ON l.id = s.location_id WHERE l.code = '{code}'"
    ))
}

async fn picking_every_line_moves_the_units_to_packing_and_marks_batch_and_orders_picked(
    app: TestApp,
) {
    let (floor, batch, order_ids) = batch_of_three(&app, true).await;
    let (a, b) = (line(&batch, "货架-A-01"), line(&batch, "货架-B-01"));
    assert_eq!((a["qty"].as_i64(), b["qty"].as_i64()), (Some(2), Some(1)));

    let picked = app
        .post(
            &format!("/api/v1/batches/{}/picks", batch["id"].as_str().unwrap()),
            &floor.staff_token,
            json!({"lines": [
                {"line_id": a["id"], "picked_qty": 2},
                {"line_id": b["id"], "picked_qty": 1}]}),
        )
        .await
        .ok(200);

    assert_eq!(picked["status"], "picked", "{picked}");
    assert!(picked["lines"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["picked_qty"] == l["qty"]));
    assert_eq!(
        (on_hand(&app, "货架-A-01"), on_hand(&app, "货架-B-01")),
        (0, 9)
    );
    assert_eq!(on_hand(&app, "打包台-1"), 3);
    assert_eq!(reserved(&app, "打包台-1"), 3);
    assert_eq!(reserved(&app, "货架-A-01") + reserved(&app, "货架-B-01"), 0);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM ledger_entries l JOIN locations x ON x.id = l.location_id \
             WHERE l.kind = 'pick' AND x.code = '打包台-1' AND l.delta > 0"
        ),
        2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM trace_events WHERE biz_step = 'picking'"),
        2
    );
    for id in &order_ids {
        let order = app
            .get(&format!("/api/v1/orders/{id}"), &floor.staff_token)
            .await
            .ok(200);
        assert_eq!(order["status"], "picked", "{order}");
    }
    // "Cancel until picked": a picked order stays.
    app.post(
        &format!("/api/v1/orders/{}/cancel", order_ids[0]),
        &floor.merchant_token,
        json!({}),
    )
    .await
    .problem(409);
    // A picked batch takes no more picks.
    app.post(
        &format!("/api/v1/batches/{}/picks", batch["id"].as_str().unwrap()),
        &floor.staff_token,
        json!({"lines": [{"line_id": a["id"], "picked_qty": 1}]}),
    )
    .await
    .problem(409);
}

async fn a_line_picked_in_two_calls_adds_up_and_the_batch_is_picking_in_between(app: TestApp) {
    let (floor, batch, order_ids) = batch_of_three(&app, true).await;
    let path = format!("/api/v1/batches/{}/picks", batch["id"].as_str().unwrap());
    let (a, b) = (line(&batch, "货架-A-01"), line(&batch, "货架-B-01"));

    let first = app
        .post(
            &path,
            &floor.staff_token,
            json!({"lines": [{"line_id": a["id"], "picked_qty": 1}]}),
        )
        .await
        .ok(200);
    assert_eq!(first["status"], "picking");
    assert_eq!(line(&first, "货架-A-01")["picked_qty"], 1);
    assert_eq!(on_hand(&app, "打包台-1"), 1);
    // The first order (by id) holding A got its unit picked; the others wait.
    let picked = app.count("SELECT COUNT(*) AS n FROM orders WHERE status = 'picked'");
    assert_eq!(picked, 1);

    let second = app
        .post(
            &path,
            &floor.staff_token,
            json!({"lines": [
                {"line_id": a["id"], "picked_qty": 1},
                {"line_id": b["id"], "picked_qty": 1}]}),
        )
        .await
        .ok(200);
    assert_eq!(second["status"], "picked");
    assert_eq!(line(&second, "货架-A-01")["picked_qty"], 2);
    assert_eq!(on_hand(&app, "打包台-1"), 3);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM orders WHERE status = 'picked'"),
        order_ids.len() as i64
    );
}

async fn more_than_a_line_asks_or_a_line_twice_is_refused_and_changes_nothing(app: TestApp) {
    let (floor, batch, _) = batch_of_three(&app, true).await;
    let path = format!("/api/v1/batches/{}/picks", batch["id"].as_str().unwrap());
    let (a, b) = (line(&batch, "货架-A-01"), line(&batch, "货架-B-01"));
    let ledger_before = app.count("SELECT COUNT(*) AS n FROM ledger_entries");

    let too_many = app
        .post(
            &path,
            &floor.staff_token,
            json!({"lines": [
                {"line_id": b["id"], "picked_qty": 1},
                {"line_id": a["id"], "picked_qty": 3}]}),
        )
        .await
        .problem(422);
    assert_eq!(
        too_many["errors"][0]["field"], "lines[1].picked_qty",
        "{too_many}"
    );

    let twice = app
        .post(
            &path,
            &floor.staff_token,
            json!({"lines": [
                {"line_id": a["id"], "picked_qty": 1},
                {"line_id": a["id"], "picked_qty": 1}]}),
        )
        .await
        .problem(422);
    assert_eq!(twice["errors"][0]["field"], "lines[1].line_id", "{twice}");

    let zero = app
        .post(
            &path,
            &floor.staff_token,
            json!({"lines": [{"line_id": a["id"], "picked_qty": 0}]}),
        )
        .await
        .problem(422);
    assert_eq!(zero["errors"][0]["field"], "lines[0].picked_qty", "{zero}");

    let unknown = app
        .post(
            &path,
            &floor.staff_token,
            json!({"lines": [{"line_id": "bln_不存在", "picked_qty": 1}]}),
        )
        .await
        .problem(422);
    assert_eq!(
        unknown["errors"][0]["field"], "lines[0].line_id",
        "{unknown}"
    );

    // A reason is for a short pick: on a pick that completes the line it is
    // refused, naming it.
    let short = app
        .post(
            &path,
            &floor.staff_token,
            json!({"lines": [{"line_id": a["id"], "picked_qty": 2, "reason": "货架上只有 2 件"}]}),
        )
        .await
        .problem(422);
    assert_eq!(short["errors"][0]["field"], "lines[0].reason", "{short}");

    // A merchant cannot pick.
    app.post(
        &path,
        &floor.merchant_token,
        json!({"lines": [{"line_id": a["id"], "picked_qty": 1}]}),
    )
    .await
    .problem(403);

    let after = app
        .get(
            &format!("/api/v1/batches/{}", batch["id"].as_str().unwrap()),
            &floor.staff_token,
        )
        .await
        .ok(200);
    assert_eq!(after["status"], "open");
    assert!(after["lines"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["picked_qty"] == 0));
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM ledger_entries"),
        ledger_before
    );
    assert_eq!(on_hand(&app, "打包台-1"), 0);
}

async fn without_a_packing_location_picking_is_a_conflict_that_says_to_create_one(app: TestApp) {
    let (floor, batch, _) = batch_of_three(&app, false).await;
    let a = line(&batch, "货架-A-01");

    let problem = app
        .post(
            &format!("/api/v1/batches/{}/picks", batch["id"].as_str().unwrap()),
            &floor.staff_token,
            json!({"lines": [{"line_id": a["id"], "picked_qty": 1}]}),
        )
        .await
        .problem(409);

    assert!(
        problem["detail"].as_str().unwrap().contains("packing"),
        "{problem}"
    );
    assert_eq!(on_hand(&app, "货架-A-01"), 2);
}
