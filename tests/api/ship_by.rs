//! Ship-by deadlines: each channel's promise after the order time
//! (`DEPOT_SHIP_BY_HOURS`), or the deadline the merchant sends; stored with
//! the order, shown in its answers, listed by `?ship_by_before=` most urgent
//! first, and the order in which batches are built.

use chrono::{DateTime, Duration, FixedOffset, SubsecRound, Utc};
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::inspection::Floor;
use crate::on_both_backends;
use depot::config::Config;
use depot::domain::orders::ShipByHours;

fn douyin_24_kuaishou_48(config: &mut Config) {
    config.ship_by_hours = ShipByHours::parse("douyin=24,kuaishou=48,*=48").expect("valid hours");
}

on_both_backends!(config = douyin_24_kuaishou_48;
    deadlines_come_from_the_channel_or_the_merchant_and_list_most_urgent_first,
    bad_deadlines_are_refused_and_change_nothing,
    batches_take_the_most_urgent_orders_first_across_channels,
);

fn order(channel: &str, external_id: &str, sku: &str, ship_by: Option<&str>) -> Value {
    let mut o = json!({
        "channel": channel,
        "external_id": external_id,
        "live_session": "双十二预热",
        "ship_to": {"name": "韩梅梅", "phone": "13912345678", "address": "西湖区文三路 90 号",
                    "city": "杭州", "province": "浙江", "postcode": "310012"},
        "lines": [{"sku_code": sku, "qty": 1}],
    });
    if let Some(t) = ship_by {
        o["ship_by"] = json!(t);
    }
    o
}

fn time(v: &Value) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a time")).expect("RFC 3339")
}

/// An instant `hours` from now (to the microsecond, depot's precision),
/// written in Beijing time (+08:00).
fn from_now(hours: i64) -> String {
    let beijing = FixedOffset::east_opt(8 * 3600).unwrap();
    (Utc::now().trunc_subsecs(6) + Duration::hours(hours))
        .with_timezone(&beijing)
        .to_rfc3339()
}

/// TEA in A-01 (walk 1) and JAM in B-01 (walk 2), 20 units each; CAKE has
/// no stock, so its orders are back-ordered.
async fn stocked(app: &TestApp, merchant: &str) -> Floor {
    let floor = Floor::new(app, merchant, "TEA").await;
    for code in ["JAM", "CAKE"] {
        app.post(
            "/api/v1/skus",
            &floor.merchant_token,
            json!({"code": code, "name": format!("{code} 礼盒")}),
        )
        .await
        .ok(201);
    }
    for (sku, bin, walk) in [("TEA", "A-01", 1), ("JAM", "B-01", 2)] {
        let location = format!("{merchant}-{bin}");
        app.post(
            "/api/v1/locations",
            &app.admin_token,
            json!({"code": location, "kind": "storage", "walk_seq": walk}),
        )
        .await
        .ok(201);
        let lot = floor
            .receive(app, sku, &format!("ASN-{merchant}-{sku}"), &[20])
            .await
            .remove(0);
        floor.inspect(app, &lot, true).await;
        app.post(
            &format!("/api/v1/lots/{lot}/putaway"),
            &floor.staff_token,
            json!({"qty": 20, "location_code": location}),
        )
        .await
        .ok(200);
    }
    floor
}

/// Pushes orders in bulk; answers their ids, all new.
async fn push(app: &TestApp, token: &str, orders: Vec<Value>) -> Vec<String> {
    let answer = app
        .post("/api/v1/orders/bulk", token, json!({"orders": orders}))
        .await
        .ok(200);
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert!(
                r["status"] == "reserved" || r["status"] == "backordered",
                "{answer}"
            );
            r["order_id"].as_str().unwrap().to_string()
        })
        .collect()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

async fn deadlines_come_from_the_channel_or_the_merchant_and_list_most_urgent_first(app: TestApp) {
    let floor = stocked(&app, "SHOPA").await;
    let other = stocked(&app, "SHOPB").await;
    let merchant = &floor.merchant_token;
    let promised = from_now(3);
    let kuaishou = push(&app, merchant, vec![order("kuaishou", "KS-1", "JAM", None)]).await;
    let douyin = push(
        &app,
        merchant,
        vec![
            order("douyin", "DY-1", "TEA", None),
            order("douyin", "DY-2", "CAKE", None),
        ],
    )
    .await;
    let cancelled = push(&app, merchant, vec![order("douyin", "DY-3", "TEA", None)]).await;
    app.post(
        &format!("/api/v1/orders/{}/cancel", cancelled[0]),
        merchant,
        json!({}),
    )
    .await
    .ok(200);
    // One order alone, through the single-order writer, with its own deadline.
    let sent = app
        .post(
            "/api/v1/orders",
            merchant,
            order("kuaishou", "KS-2", "TEA", Some(&promised)),
        )
        .await
        .ok(201);
    let theirs = push(
        &app,
        &other.merchant_token,
        vec![order("douyin", "B-DY-1", "TEA", None)],
    )
    .await;

    // The channel's promise after the order time, or the merchant's instant.
    for (id, hours) in [(&kuaishou[0], 48), (&douyin[0], 24), (&douyin[1], 24)] {
        let o = app
            .get(&format!("/api/v1/orders/{id}"), merchant)
            .await
            .ok(200);
        assert_eq!(
            time(&o["ship_by"]) - time(&o["created_at"]),
            Duration::hours(hours),
            "{o}"
        );
    }
    assert_eq!(
        time(&sent["ship_by"]),
        DateTime::parse_from_rfc3339(&promised).unwrap()
    );
    assert!(sent["ship_by"].as_str().unwrap().ends_with('Z'), "{sent}");
    // A retry of it is a duplicate however the instant is spelt; another
    // deadline under the same key is a conflict.
    let utc = DateTime::parse_from_rfc3339(&promised)
        .unwrap()
        .with_timezone(&Utc)
        .to_rfc3339();
    let retry = app
        .post(
            "/api/v1/orders",
            merchant,
            order("kuaishou", "KS-2", "TEA", Some(&utc)),
        )
        .await
        .ok(200);
    assert_eq!(retry["id"], sent["id"]);
    app.post(
        "/api/v1/orders",
        merchant,
        order("kuaishou", "KS-2", "TEA", Some(&from_now(5))),
    )
    .await
    .problem(409);

    // At risk within 30 hours: the merchant's deadline first, then the two
    // douyin orders (reserved and back-ordered) — not the cancelled one, not
    // the kuaishou order due in 48 h, not the other merchant's.
    let before = urlencoding(&from_now(30));
    let list = |token: &str, extra: &str| {
        let path = format!("/api/v1/orders?ship_by_before={before}{extra}");
        let token = token.to_string();
        let app = &app;
        async move { app.get(&path, &token).await.ok(200) }
    };
    let page = list(merchant, "").await;
    let sent_id = sent["id"].as_str().unwrap().to_string();
    assert_eq!(
        ids(&page),
        vec![sent_id.clone(), douyin[0].clone(), douyin[1].clone()]
    );
    let first = list(merchant, "&limit=2").await;
    assert_eq!(ids(&first), vec![sent_id.clone(), douyin[0].clone()]);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = list(merchant, &format!("&limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&second), vec![douyin[1].clone()]);
    assert!(second["next_cursor"].is_null());
    let backordered = list(merchant, "&status=backordered").await;
    assert_eq!(ids(&backordered), vec![douyin[1].clone()]);
    // Staff see every merchant's.
    let all = list(&floor.staff_token, "").await;
    assert_eq!(ids(&all).len(), 4);
    assert!(ids(&all).contains(&theirs[0]));
    // Beyond 48 h the kuaishou order is at risk too, last.
    let later = urlencoding(&from_now(49));
    let page = app
        .get(&format!("/api/v1/orders?ship_by_before={later}"), merchant)
        .await
        .ok(200);
    assert_eq!(ids(&page).last(), Some(&kuaishou[0]));
    assert_eq!(ids(&page).len(), 4);
}

/// `+` in an offset must be percent-encoded in a query string.
fn urlencoding(t: &str) -> String {
    t.replace('+', "%2B").replace(':', "%3A")
}

async fn bad_deadlines_are_refused_and_change_nothing(app: TestApp) {
    let floor = stocked(&app, "SHOPA").await;
    let merchant = &floor.merchant_token;
    let orders_before = app.count("SELECT COUNT(*) AS n FROM orders");

    let past = from_now(-1);
    let one = app
        .post(
            "/api/v1/orders",
            merchant,
            order("douyin", "DY-PAST", "TEA", Some(&past)),
        )
        .await
        .problem(422);
    assert_eq!(one["errors"][0]["field"], "ship_by", "{one}");
    let bulk = app
        .post(
            "/api/v1/orders/bulk",
            merchant,
            json!({"orders": [
                order("douyin", "DY-OK", "TEA", None),
                order("douyin", "DY-PAST", "TEA", Some(&past)),
                order("douyin", "DY-DATE", "TEA", Some("2026-12-24")),
            ]}),
        )
        .await
        .ok(200);
    let results = bulk["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "reserved", "{bulk}");
    assert_eq!(results[1]["status"], "rejected");
    assert_eq!(
        results[1]["error"]["errors"][0]["field"],
        "orders[1].ship_by"
    );
    assert_eq!(results[2]["status"], "rejected");
    assert_eq!(
        results[2]["error"]["errors"][0]["field"],
        "orders[2].ship_by"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM orders"),
        orders_before + 1
    );

    for bad in ["tomorrow", "2026-12-24T20:00:00", "2026-13-01T00:00:00Z"] {
        let problem = app
            .get(&format!("/api/v1/orders?ship_by_before={bad}"), merchant)
            .await
            .problem(400);
        assert_eq!(problem["errors"][0]["field"], "ship_by_before", "{problem}");
    }
    // A cursor of the plain listing names no place in the urgent one.
    for i in 0..2 {
        push(
            &app,
            merchant,
            vec![order("douyin", &format!("DY-{i}"), "TEA", None)],
        )
        .await;
    }
    let plain = app.get("/api/v1/orders?limit=1", merchant).await.ok(200);
    let cursor = plain["next_cursor"].as_str().unwrap();
    let problem = app
        .get(
            &format!(
                "/api/v1/orders?ship_by_before={}&cursor={cursor}",
                urlencoding(&from_now(30))
            ),
            merchant,
        )
        .await
        .problem(400);
    assert_eq!(problem["errors"][0]["field"], "cursor", "{problem}");
}

/// The orders of each batch the build answered, in the order it answered.
async fn built(app: &TestApp, staff: &str) -> Vec<Vec<String>> {
    let answer = app.post("/api/v1/batches", staff, json!({})).await.ok(201);
    let mut out = Vec::new();
    for b in answer["batches"].as_array().unwrap() {
        let batch = app
            .get(
                &format!("/api/v1/batches/{}", b["id"].as_str().unwrap()),
                staff,
            )
            .await
            .ok(200);
        let mut orders: Vec<String> = batch["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap().to_string())
            .collect();
        orders.sort();
        out.push(orders);
    }
    out
}

async fn batches_take_the_most_urgent_orders_first_across_channels(app: TestApp) {
    let floor = stocked(&app, "SHOPA").await;
    let merchant = &floor.merchant_token;
    let staff = &floor.staff_token;
    // Kuaishou (48 h) orders arrive first, douyin (24 h) ones after: the
    // douyin batch is the more urgent.
    let mut kuaishou = push(
        &app,
        merchant,
        vec![
            order("kuaishou", "KS-1", "JAM", None),
            order("kuaishou", "KS-2", "JAM", None),
        ],
    )
    .await;
    let mut douyin = push(
        &app,
        merchant,
        vec![
            order("douyin", "DY-1", "TEA", None),
            order("douyin", "DY-2", "TEA", None),
        ],
    )
    .await;
    kuaishou.sort();
    douyin.sort();
    assert_eq!(built(&app, staff).await, vec![douyin, kuaishou]);

    // Then the merchant sends orders due in an hour on kuaishou, and more
    // douyin ones: the kuaishou batch goes first now.
    let mut urgent = push(
        &app,
        merchant,
        vec![
            order("douyin", "DY-3", "TEA", None),
            order("douyin", "DY-4", "TEA", None),
        ],
    )
    .await;
    let mut due = push(
        &app,
        merchant,
        vec![
            order("kuaishou", "KS-3", "JAM", Some(&from_now(1))),
            order("kuaishou", "KS-4", "JAM", Some(&from_now(2))),
        ],
    )
    .await;
    urgent.sort();
    due.sort();
    assert_eq!(built(&app, staff).await, vec![due, urgent]);
}
