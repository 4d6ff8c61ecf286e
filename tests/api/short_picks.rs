//! Short picks and batches that follow their orders: the missing units are
//! re-reserved on the batch or their orders are back-ordered and leave it,
//! the short bin waits for a count (and is not reserved again until then),
//! and a hold or a cancel of a batched order updates the pick list.
//!
//! The batch of `picks::batch_of_three`: HOT, lot 1 (2 units, expiring
//! first) in 货架-A-01 held by DY-1 and DY-2, lot 2 (10 units) in 货架-B-01,
//! one of them held by DY-3.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::inspection::Floor;
use crate::on_both_backends;
use crate::picks::{batch_of_three, line, on_hand, reserved};

on_both_backends!(
    a_short_pick_re_reserves_from_another_bin_on_a_new_line_and_the_bin_waits_for_a_count,
    a_short_pick_without_other_stock_backorders_the_order_out_of_the_batch,
    a_reason_on_a_pick_that_completes_the_line_is_refused_and_changes_nothing,
    a_hold_after_batching_moves_the_batch_lines_off_the_held_lot,
    cancelling_batched_orders_shrinks_the_batch_until_it_is_cancelled,
);

async fn ledger_ok(app: &TestApp) {
    let check = app
        .get("/api/v1/admin/ledger-check", &app.admin_token)
        .await
        .ok(200);
    assert_eq!(check["ok"], true, "{check}");
}

fn order_json(external_id: &str) -> Value {
    json!({
        "channel": "douyin",
        "external_id": external_id,
        "ship_to": {"name": "李雷", "phone": "13812345678", "address": "西湖区文三路 90 号",
                    "city": "杭州", "province": "浙江"},
        "lines": [{"sku_code": "HOT", "qty": 1}],
    })
}

async fn order_status(app: &TestApp, floor: &Floor, id: &str) -> Value {
    app.get(&format!("/api/v1/orders/{id}"), &floor.staff_token)
        .await
        .ok(200)
}

fn lines(batch: &Value) -> Vec<Value> {
    batch["lines"].as_array().unwrap().clone()
}

async fn a_short_pick_re_reserves_from_another_bin_on_a_new_line_and_the_bin_waits_for_a_count(
    app: TestApp,
) {
    let (floor, batch, order_ids) = batch_of_three(&app, true).await;
    app.post(
        "/api/v1/locations",
        &app.admin_token,
        json!({"code": "货架-C-01", "kind": "storage", "walk_seq": 3}),
    )
    .await
    .ok(201);
    // Lot 3 expires before lot 2: FEFO re-reserves from it.
    floor
        .stock_up(
            &app,
            "HOT",
            "ASN-蜂蜜-3",
            3,
            Some("2027-05-01"),
            "货架-C-01",
        )
        .await;
    let path = format!("/api/v1/batches/{}/picks", batch["id"].as_str().unwrap());
    let a = line(&batch, "货架-A-01").clone();

    let picked = app
        .post(
            &path,
            &floor.staff_token,
            json!({"lines": [{"line_id": a["id"], "picked_qty": 1, "reason": "  货位只剩 1 瓶  "}]}),
        )
        .await
        .ok(200);
    let short = &picked["short"][0];
    assert_eq!(short["line_id"], a["id"], "{picked}");
    assert_eq!(short["missing_qty"], 1);
    assert_eq!(short["backordered_orders"], json!([]));
    let re = &short["re_reserved"];
    assert_eq!(re.as_array().unwrap().len(), 1, "{picked}");
    assert_eq!(re[0]["location_code"], "货架-C-01");
    assert_eq!(re[0]["qty"], 1);
    // The short line is closed at what it gave; a new line at C asks for
    // the missing unit; B is as it was.
    assert_eq!(line(&picked, "货架-A-01")["qty"], 1);
    assert_eq!(line(&picked, "货架-A-01")["picked_qty"], 1);
    let c = line(&picked, "货架-C-01").clone();
    assert_eq!(
        (c["id"].clone(), c["qty"].as_i64()),
        (re[0]["line_id"].clone(), Some(1))
    );
    assert_ne!(c["id"], a["id"]);
    assert_eq!(line(&picked, "货架-B-01")["qty"], 1);
    assert_eq!(picked["status"], "picking");
    assert_eq!(picked["orders"].as_array().unwrap().len(), 3);
    // The youngest of A's orders lost its unit there; it holds C's now.
    let moved = order_status(&app, &floor, &order_ids[1]).await;
    assert_eq!(
        moved["reservations"][0]["location_code"], "货架-C-01",
        "{moved}"
    );
    assert_eq!(reserved(&app, "货架-A-01"), 0);
    assert_eq!(reserved(&app, "货架-C-01"), 1);
    ledger_ok(&app).await;

    // The count task: listed for staff, with what depot expected there.
    let tasks = app
        .get("/api/v1/count-tasks?status=open", &floor.staff_token)
        .await
        .ok(200);
    let task = &tasks["items"][0];
    assert_eq!(tasks["items"].as_array().unwrap().len(), 1, "{tasks}");
    assert_eq!(task["id"], short["count_task_id"]);
    assert_eq!(task["location_code"], "货架-A-01");
    assert_eq!(task["lot_id"], a["lot_id"]);
    assert_eq!(task["sku_code"], "HOT");
    assert_eq!(task["batch_id"], batch["id"]);
    assert_eq!(task["reason"], "货位只剩 1 瓶");
    assert_eq!(task["expected_qty"], 1);
    assert_eq!(task["status"], "open");
    app.get("/api/v1/count-tasks", &floor.merchant_token)
        .await
        .problem(403);
    app.get("/api/v1/count-tasks?status=later", &floor.staff_token)
        .await
        .problem(422);

    // The suspect unit at A (lot 1, the first to expire) is not reserved by
    // a new order before the count.
    let pushed = app
        .post("/api/v1/orders", &floor.merchant_token, order_json("DY-4"))
        .await
        .json();
    let dy4 = pushed["id"].as_str().unwrap().to_string();
    let dy4 = order_status(&app, &floor, &dy4).await;
    assert_eq!(dy4["status"], "reserved", "{dy4}");
    assert_ne!(
        dy4["reservations"][0]["location_code"], "货架-A-01",
        "{dy4}"
    );
    assert_eq!(reserved(&app, "货架-A-01"), 0);

    // Picking the new line and B completes the batch and its orders.
    let done = app
        .post(
            &path,
            &floor.staff_token,
            json!({"lines": [
                {"line_id": c["id"], "picked_qty": 1},
                {"line_id": line(&picked, "货架-B-01")["id"], "picked_qty": 1}]}),
        )
        .await
        .ok(200);
    assert_eq!(done["status"], "picked", "{done}");
    assert_eq!(done["short"], json!([]));
    for id in &order_ids {
        assert_eq!(order_status(&app, &floor, id).await["status"], "picked");
    }
    assert_eq!(on_hand(&app, "打包台-1"), 3);
    ledger_ok(&app).await;

    // The count finds the unit after all: the task is done, and the bin's
    // unit may be reserved again (FEFO: it expires first).
    let counted = app
        .post(
            "/api/v1/stock/adjustments",
            &floor.staff_token,
            json!({"lot_id": a["lot_id"], "location_code": "货架-A-01", "counted_qty": 1, "reason": "复盘：在货架后面"}),
        )
        .await
        .ok(200);
    let tasks = app
        .get("/api/v1/count-tasks?status=done", &floor.staff_token)
        .await
        .ok(200);
    assert_eq!(tasks["items"][0]["id"], short["count_task_id"], "{tasks}");
    assert_eq!(tasks["items"][0]["count_id"], counted["count_id"]);
    let open = app
        .get("/api/v1/count-tasks?status=open", &floor.staff_token)
        .await
        .ok(200);
    assert_eq!(open["items"], json!([]));
    let pushed = app
        .post("/api/v1/orders", &floor.merchant_token, order_json("DY-5"))
        .await
        .json();
    let dy5 = order_status(&app, &floor, pushed["id"].as_str().unwrap()).await;
    assert_eq!(
        dy5["reservations"][0]["location_code"], "货架-A-01",
        "{dy5}"
    );
    ledger_ok(&app).await;
}

async fn a_short_pick_without_other_stock_backorders_the_order_out_of_the_batch(app: TestApp) {
    let (floor, batch, order_ids) = batch_of_three(&app, true).await;
    let path = format!("/api/v1/batches/{}/picks", batch["id"].as_str().unwrap());
    let (a, b) = (
        line(&batch, "货架-A-01").clone(),
        line(&batch, "货架-B-01").clone(),
    );
    // B gives nothing; A's two units are DY-1's and DY-2's: no other stock.
    let picked = app
        .post(
            &path,
            &floor.staff_token,
            json!({"lines": [{"line_id": b["id"], "picked_qty": 0, "reason": "货位是空的"}]}),
        )
        .await
        .ok(200);
    let short = &picked["short"][0];
    assert_eq!(short["missing_qty"], 1, "{picked}");
    assert_eq!(short["re_reserved"], json!([]));
    assert_eq!(short["backordered_orders"], json!([order_ids[2]]));
    // The order left the batch; its line went (nothing of it was picked).
    assert_eq!(picked["orders"], json!([order_ids[0], order_ids[1]]));
    assert_eq!(lines(&picked).len(), 1, "{picked}");
    let dy3 = order_status(&app, &floor, &order_ids[2]).await;
    assert_eq!(dy3["status"], "backordered", "{dy3}");
    assert_eq!(dy3["reservations"], json!([]));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM orders WHERE id = '{}' AND batch_id IS NULL",
            order_ids[2]
        )),
        1
    );
    assert_eq!(reserved(&app, "货架-B-01"), 0);
    ledger_ok(&app).await;

    let done = app
        .post(
            &path,
            &floor.staff_token,
            json!({"lines": [{"line_id": a["id"], "picked_qty": 2}]}),
        )
        .await
        .ok(200);
    assert_eq!(done["status"], "picked", "{done}");
    ledger_ok(&app).await;

    // The count of B settles it: 9 units there after all, and the waiting
    // order is served from them.
    app.post(
        "/api/v1/stock/adjustments",
        &floor.staff_token,
        json!({"lot_id": b["lot_id"], "location_code": "货架-B-01", "counted_qty": 10, "reason": "盘点"}),
    )
    .await
    .ok(200);
    let dy3 = order_status(&app, &floor, &order_ids[2]).await;
    assert_eq!(dy3["status"], "reserved", "{dy3}");
    ledger_ok(&app).await;
}

async fn a_reason_on_a_pick_that_completes_the_line_is_refused_and_changes_nothing(app: TestApp) {
    let (floor, batch, _) = batch_of_three(&app, true).await;
    let path = format!("/api/v1/batches/{}/picks", batch["id"].as_str().unwrap());
    let a = line(&batch, "货架-A-01").clone();
    let refused = app
        .post(
            &path,
            &floor.staff_token,
            json!({"lines": [{"line_id": a["id"], "picked_qty": 2, "reason": "都拿到了"}]}),
        )
        .await
        .problem(422);
    assert_eq!(
        refused["errors"][0]["field"], "lines[0].reason",
        "{refused}"
    );
    for body in [
        json!({"lines": [{"line_id": a["id"], "picked_qty": 1, "reason": "   "}]}),
        json!({"lines": [{"line_id": a["id"], "picked_qty": 1, "reason": "少".repeat(501)}]}),
    ] {
        let refused = app.post(&path, &floor.staff_token, body).await.problem(422);
        assert_eq!(
            refused["errors"][0]["field"], "lines[0].reason",
            "{refused}"
        );
    }
    let zero = app
        .post(
            &path,
            &floor.staff_token,
            json!({"lines": [{"line_id": a["id"], "picked_qty": 0}]}),
        )
        .await
        .problem(422);
    assert_eq!(zero["errors"][0]["field"], "lines[0].picked_qty");
    let after = app
        .get(
            &format!("/api/v1/batches/{}", batch["id"].as_str().unwrap()),
            &floor.staff_token,
        )
        .await
        .ok(200);
    assert_eq!(after, batch);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM count_tasks"), 0);
    assert_eq!(on_hand(&app, "打包台-1"), 0);
    ledger_ok(&app).await;
}

async fn a_hold_after_batching_moves_the_batch_lines_off_the_held_lot(app: TestApp) {
    let (floor, batch, order_ids) = batch_of_three(&app, true).await;
    let a = line(&batch, "货架-A-01").clone();
    app.post(
        "/api/v1/holds",
        &floor.staff_token,
        json!({"lot_id": a["lot_id"], "reason": "客户投诉结晶异常"}),
    )
    .await
    .ok(201);
    // DY-1 and DY-2 are re-reserved from lot 2 at B: the pick list follows.
    let after = app
        .get(
            &format!("/api/v1/batches/{}", batch["id"].as_str().unwrap()),
            &floor.staff_token,
        )
        .await
        .ok(200);
    let after_lines = lines(&after);
    assert_eq!(after_lines.len(), 1, "{after}");
    assert_eq!(after_lines[0]["location_code"], "货架-B-01");
    assert_eq!(after_lines[0]["qty"], 3);
    assert!(after_lines.iter().all(|l| l["lot_id"] != a["lot_id"]));
    assert_eq!(after["orders"].as_array().unwrap().len(), 3);
    assert_eq!(reserved(&app, "货架-A-01"), 0);

    let done = app
        .post(
            &format!("/api/v1/batches/{}/picks", batch["id"].as_str().unwrap()),
            &floor.staff_token,
            json!({"lines": [{"line_id": after_lines[0]["id"], "picked_qty": 3}]}),
        )
        .await
        .ok(200);
    assert_eq!(done["status"], "picked", "{done}");
    for id in &order_ids {
        assert_eq!(order_status(&app, &floor, id).await["status"], "picked");
    }
    assert_eq!(on_hand(&app, "货架-A-01"), 2);
    ledger_ok(&app).await;
}

async fn cancelling_batched_orders_shrinks_the_batch_until_it_is_cancelled(app: TestApp) {
    let (floor, batch, order_ids) = batch_of_three(&app, true).await;
    let id = batch["id"].as_str().unwrap().to_string();
    let cancel = |order: String| {
        let app = &app;
        let token = floor.merchant_token.clone();
        async move {
            app.post(&format!("/api/v1/orders/{order}/cancel"), &token, json!({}))
                .await
                .ok(200)
        }
    };
    // DY-3 (B): its line goes.
    cancel(order_ids[2].clone()).await;
    let after = app
        .get(&format!("/api/v1/batches/{id}"), &floor.staff_token)
        .await
        .ok(200);
    assert_eq!(lines(&after).len(), 1, "{after}");
    assert_eq!(line(&after, "货架-A-01")["qty"], 2);
    assert_eq!(after["orders"], json!([order_ids[0], order_ids[1]]));

    // One unit of A picked (DY-1's); DY-2 cancelled: A asks for no more.
    let a = line(&after, "货架-A-01").clone();
    let picked = app
        .post(
            &format!("/api/v1/batches/{id}/picks"),
            &floor.staff_token,
            json!({"lines": [{"line_id": a["id"], "picked_qty": 1}]}),
        )
        .await
        .ok(200);
    assert_eq!(picked["status"], "picking");
    cancel(order_ids[1].clone()).await;
    let after = app
        .get(&format!("/api/v1/batches/{id}"), &floor.staff_token)
        .await
        .ok(200);
    assert_eq!(after["status"], "picked", "{after}");
    assert_eq!(line(&after, "货架-A-01")["qty"], 1);
    assert_eq!(after["orders"], json!([order_ids[0]]));
    ledger_ok(&app).await;

    // A batch whose every order left it is cancelled.
    let floor2 = &floor;
    let pushed = app
        .post("/api/v1/orders", &floor2.merchant_token, order_json("DY-9"))
        .await
        .json();
    let dy9 = pushed["id"].as_str().unwrap().to_string();
    let built = app
        .post("/api/v1/batches", &floor2.staff_token, json!({}))
        .await
        .ok(201);
    let second = built["batches"][0]["id"].as_str().unwrap().to_string();
    cancel(dy9).await;
    let gone = app
        .get(&format!("/api/v1/batches/{second}"), &floor2.staff_token)
        .await
        .ok(200);
    assert_eq!(gone["status"], "cancelled", "{gone}");
    assert_eq!(gone["lines"], json!([]));
    let listed = app
        .get("/api/v1/batches?status=cancelled", &floor2.staff_token)
        .await
        .ok(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(reserved(&app, "货架-B-01"), 0);
    ledger_ok(&app).await;
}
