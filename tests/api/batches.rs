//! Pick batches of a live session's reserved orders: hot SKU, identical and
//! cluster batches per carrier, each order in one batch, pick lists in walk
//! order that never reach held stock.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::inspection::Floor;
use crate::on_both_backends;

on_both_backends!(
    one_post_batches_a_live_session_by_strategy_never_mixing_carriers,
    bad_input_and_a_merchant_are_refused_and_change_nothing,
    two_servers_building_at_once_batch_each_order_once,
);

/// The session: its floor, the held lot, the cancelled order, and the
/// reserved orders by external id.
pub struct Session {
    pub floor: Floor,
    pub held_lot: String,
    pub cancelled: String,
    pub reserved: Vec<String>,
    /// (code, id) of the two carriers.
    pub carriers: Vec<(String, String)>,
}

pub(crate) fn order(external_id: &str, carrier: &str, lines: &[(&str, i64)]) -> Value {
    json!({
        "channel": "douyin",
        "external_id": external_id,
        "live_session": "蜂蜜专场-1202",
        "carrier_code": carrier,
        "ship_to": {"name": "韩梅梅", "phone": "13912345678", "address": "西湖区文三路 90 号",
                    "city": "杭州", "province": "浙江", "postcode": "310012"},
        "lines": lines.iter().map(|(sku, qty)| json!({"sku_code": sku, "qty": qty})).collect::<Vec<_>>(),
    })
}

/// HOT in two lots (the earlier-expiring one in A-01, later held), JAR in
/// B-01, CUP in C-冷-01; carriers SF and ZTO. SF: four single-unit HOT
/// orders, two identical CUP×2 + JAR×1 orders, two mixed ones; ZTO: two HOT
/// orders and one mixed; one more SF order, cancelled.
pub async fn live_session(app: &TestApp) -> Session {
    let floor = Floor::new(app, "HONEYSHOP", "TEA").await;
    for code in ["HOT", "CUP", "JAR"] {
        app.post(
            "/api/v1/skus",
            &floor.merchant_token,
            json!({"code": code, "name": format!("{code} 洋槐蜂蜜 500 克")}),
        )
        .await
        .ok(201);
    }
    for (code, walk) in [("A-01", 1), ("B-01", 2), ("C-冷-01", 3)] {
        app.post(
            "/api/v1/locations",
            &app.admin_token,
            json!({"code": code, "kind": "storage", "walk_seq": walk}),
        )
        .await
        .ok(201);
    }
    let carriers = vec![
        ("SF".to_string(), app.carrier("SF").await),
        ("ZTO".to_string(), app.carrier("ZTO").await),
    ];
    let held_lot = floor
        .stock_up(app, "HOT", "ASN-HOT-1", 3, Some("2027-03-01"), "A-01")
        .await;
    floor
        .stock_up(app, "HOT", "ASN-HOT-2", 20, Some("2027-09-01"), "B-01")
        .await;
    floor
        .stock_up(app, "JAR", "ASN-JAR", 10, Some("2027-09-01"), "B-01")
        .await;
    floor
        .stock_up(app, "CUP", "ASN-CUP", 20, Some("2027-09-01"), "C-冷-01")
        .await;
    let orders = vec![
        order("H-1", "SF", &[("HOT", 1)]),
        order("H-2", "SF", &[("HOT", 1)]),
        order("H-3", "SF", &[("HOT", 1)]),
        order("H-4", "SF", &[("HOT", 1)]),
        order("I-1", "SF", &[("CUP", 2), ("JAR", 1)]),
        order("I-2", "SF", &[("JAR", 1), ("CUP", 2)]),
        order("M-1", "SF", &[("HOT", 1), ("JAR", 2)]),
        order("M-2", "SF", &[("CUP", 3)]),
        order("Z-1", "ZTO", &[("HOT", 1)]),
        order("Z-2", "ZTO", &[("HOT", 1)]),
        order("Z-3", "ZTO", &[("CUP", 1), ("JAR", 1)]),
        order("C-1", "SF", &[("HOT", 1)]),
    ];
    let answer = app
        .post(
            "/api/v1/orders/bulk",
            &floor.merchant_token,
            json!({"orders": orders}),
        )
        .await
        .ok(200);
    let mut ids: Vec<String> = Vec::new();
    for result in answer["results"].as_array().unwrap() {
        assert_eq!(result["status"], "reserved", "{answer}");
        ids.push(result["order_id"].as_str().unwrap().to_string());
    }
    let cancelled = ids.pop().unwrap();
    app.post(
        &format!("/api/v1/orders/{cancelled}/cancel"),
        &floor.merchant_token,
        json!({}),
    )
    .await
    .ok(200);
    Session {
        floor,
        held_lot,
        cancelled,
        reserved: ids,
        carriers,
    }
}

fn batched_orders(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) AS n FROM orders WHERE batch_id IS NOT NULL")
}

/// (carrier, strategy, order count) of each batch, sorted.
fn shape(answer: &Value) -> Vec<(String, String, u64)> {
    let mut out: Vec<(String, String, u64)> = answer["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["carrier_code"].as_str().unwrap_or("-").to_string(),
                b["strategy"].as_str().unwrap().to_string(),
                b["order_count"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn expected_shape() -> Vec<(String, String, u64)> {
    let mut out: Vec<(String, String, u64)> = [
        ("SF", "cluster", 2),
        ("SF", "hot_sku", 4),
        ("SF", "identical", 2),
        ("ZTO", "cluster", 1),
        ("ZTO", "hot_sku", 2),
    ]
    .iter()
    .map(|(c, s, n)| (c.to_string(), s.to_string(), *n))
    .collect();
    out.sort();
    out
}

async fn one_post_batches_a_live_session_by_strategy_never_mixing_carriers(app: TestApp) {
    let s = live_session(&app).await;
    let staff = &s.floor.staff_token;
    // A complaint before the wave: the early HOT lot is held, and the hold
    // re-reserves its three orders from the other lot.
    app.post(
        "/api/v1/holds",
        staff,
        json!({"lot_id": s.held_lot, "reason": "顾客投诉：送检"}),
    )
    .await
    .ok(201);

    let dry = app
        .post("/api/v1/batches", staff, json!({"dry_run": true}))
        .await
        .ok(200);
    assert_eq!(shape(&dry), expected_shape(), "{dry}");
    assert!(dry["batches"]
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["id"].is_null()));
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM batches"), 0);
    assert_eq!(batched_orders(&app), 0);

    let built = app.post("/api/v1/batches", staff, json!({})).await.ok(201);

    assert_eq!(shape(&built), expected_shape(), "{built}");
    let mut seen: HashSet<String> = HashSet::new();
    for b in built["batches"].as_array().unwrap() {
        let id = b["id"].as_str().unwrap();
        let batch = app
            .get(&format!("/api/v1/batches/{id}"), staff)
            .await
            .ok(200);
        assert_eq!(batch["status"], "open");
        assert_eq!(batch["strategy"], b["strategy"]);
        assert_eq!(batch["carrier_code"], b["carrier_code"]);
        let orders = batch["orders"].as_array().unwrap();
        assert_eq!(orders.len() as u64, b["order_count"].as_u64().unwrap());
        for o in orders {
            let o = o.as_str().unwrap().to_string();
            let order = app.get(&format!("/api/v1/orders/{o}"), staff).await.ok(200);
            let carrier = s
                .carriers
                .iter()
                .find(|(code, _)| batch["carrier_code"] == code.as_str());
            assert_eq!(
                order["carrier_id"].as_str(),
                carrier.map(|c| c.1.as_str()),
                "{order}"
            );
            assert!(seen.insert(o), "an order in two batches");
        }
        let lines = batch["lines"].as_array().unwrap();
        assert!(!lines.is_empty());
        let walk: Vec<(i64, String)> = lines
            .iter()
            .map(|l| {
                (
                    l["walk_seq"].as_i64().unwrap(),
                    l["location_code"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let mut sorted = walk.clone();
        sorted.sort();
        assert_eq!(walk, sorted, "lines out of walk order: {batch}");
        for l in lines {
            assert_ne!(
                l["lot_id"],
                s.held_lot.as_str(),
                "held stock on a pick list: {batch}"
            );
            assert_eq!(l["picked_qty"], 0);
            assert!(l["id"].is_string() && l["sku_code"].is_string());
        }
    }
    let expected: HashSet<String> = s.reserved.iter().cloned().collect();
    assert_eq!(seen, expected, "every reserved order in exactly one batch");
    assert!(!seen.contains(&s.cancelled));
    // The pick lists hold exactly what the batched orders reserved.
    assert_eq!(
        app.count("SELECT CAST(SUM(qty) AS BIGINT) AS n FROM batch_lines"),
        app.count("SELECT CAST(SUM(qty) AS BIGINT) AS n FROM reservations"),
    );
    // The hot SKU batch of SF takes its four units from the one bin left.
    let hot = built["batches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["strategy"] == "hot_sku" && b["carrier_code"] == "SF")
        .unwrap();
    let hot = app
        .get(
            &format!("/api/v1/batches/{}", hot["id"].as_str().unwrap()),
            staff,
        )
        .await
        .ok(200);
    assert_eq!(hot["lines"].as_array().unwrap().len(), 1, "{hot}");
    assert_eq!(hot["lines"][0]["location_code"], "B-01");
    assert_eq!(hot["lines"][0]["qty"], 4);

    // Nothing is left to batch: a second build finds no order.
    let again = app.post("/api/v1/batches", staff, json!({})).await.ok(201);
    assert_eq!(again["batches"], json!([]));
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM batches"), 5);

    let open = app.get("/api/v1/batches?status=open", staff).await.ok(200);
    assert_eq!(open["items"].as_array().unwrap().len(), 5);
    let picked = app
        .get("/api/v1/batches?status=picked", staff)
        .await
        .ok(200);
    assert_eq!(picked["items"], json!([]));
}

async fn bad_input_and_a_merchant_are_refused_and_change_nothing(app: TestApp) {
    let s = live_session(&app).await;
    let staff = &s.floor.staff_token;

    let zero = app
        .post("/api/v1/batches", staff, json!({"max_orders": 0}))
        .await
        .problem(422);
    assert_eq!(zero["errors"][0]["field"], "max_orders", "{zero}");
    let unknown = app
        .post("/api/v1/batches", staff, json!({"carrier_code": "顺丰"}))
        .await
        .problem(422);
    assert_eq!(unknown["errors"][0]["field"], "carrier_code", "{unknown}");
    let typo = app
        .post("/api/v1/batches", staff, json!({"max_order": 5}))
        .await;
    assert!((400..500).contains(&typo.status), "{}", typo.text);
    let status = app
        .get("/api/v1/batches?status=done", staff)
        .await
        .problem(422);
    assert_eq!(status["errors"][0]["field"], "status");
    app.get("/api/v1/batches/bat_none", staff)
        .await
        .problem(404);
    // Batching is warehouse work: a merchant may neither build nor look.
    app.post("/api/v1/batches", &s.floor.merchant_token, json!({}))
        .await
        .problem(403);
    app.get("/api/v1/batches", &s.floor.merchant_token)
        .await
        .problem(403);

    assert_eq!(app.count("SELECT COUNT(*) AS n FROM batches"), 0);
    assert_eq!(batched_orders(&app), 0);
    // A build for one carrier takes only its orders.
    let zto = app
        .post(
            "/api/v1/batches",
            staff,
            json!({"carrier_code": "ZTO", "max_orders": 1}),
        )
        .await
        .ok(201);
    let mut got: Vec<(String, u64)> = zto["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["carrier_code"].as_str().unwrap().to_string(),
                b["order_count"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![("ZTO".into(), 1), ("ZTO".into(), 1), ("ZTO".into(), 1)]
    );
    assert_eq!(batched_orders(&app), 3);
}

async fn two_servers_building_at_once_batch_each_order_once(app: TestApp) {
    let s = live_session(&app).await;
    let second = app.second_server();

    // Eight builds at once, half on each server, two orders a batch at most.
    let replies = futures_util::future::join_all((0..8).map(|i| {
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            second.address.clone()
        };
        let token = s.floor.staff_token.clone();
        let app = &app;
        async move {
            app.post_at(&base, "/api/v1/batches", &token, json!({"max_orders": 2}))
                .await
        }
    }))
    .await;

    let mut batched = 0;
    for reply in &replies {
        // 503 is a retry the caller may be told to make; nothing else.
        assert!([201, 503].contains(&reply.status), "{}", reply.text);
        if reply.status == 201 {
            for b in reply.json()["batches"].as_array().unwrap() {
                batched += b["order_count"].as_u64().unwrap();
            }
        }
    }
    assert_eq!(batched, 11, "every reserved order batched once");
    assert_eq!(
        app.count("SELECT COUNT(DISTINCT order_id) AS n FROM batch_orders"),
        11
    );
    assert_eq!(batched_orders(&app), 11);
    // No batch is empty, and each batch_orders row agrees with orders.batch_id.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM batches b WHERE NOT EXISTS \
             (SELECT 1 FROM batch_orders o WHERE o.batch_id = b.id)"
        ),
        0
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM batch_orders bo JOIN orders o ON o.id = bo.order_id \
             WHERE o.batch_id IS NULL OR o.batch_id <> bo.batch_id"
        ),
        0
    );
    // Each batch's pick list is exactly its orders' reservations.
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM batches b WHERE \
             (SELECT CAST(COALESCE(SUM(l.qty), 0) AS BIGINT) FROM batch_lines l WHERE l.batch_id = b.id) <> \
             (SELECT CAST(COALESCE(SUM(r.qty), 0) AS BIGINT) FROM reservations r \
              JOIN batch_orders bo ON bo.order_id = r.order_id WHERE bo.batch_id = b.id)"
        ),
        0
    );
}
