//! Lists and queries (filters that users reach for, strict query strings,
//! cursors depot handed out, raw UTF-8 on the wire), order bodies (merged
//! lines, repeated keys, retries compared by meaning) and codes of any script.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::inspection::Floor;
use crate::on_both_backends;

on_both_backends!(
    a_merchant_finds_its_order_by_external_id_channel_and_time,
    lots_are_found_by_lot_code_sku_code_and_status,
    skus_are_found_by_code_and_gtin,
    an_unknown_parameter_is_a_400_naming_it_on_every_list,
    an_endpoint_that_reads_no_query_still_refuses_a_parameter,
    query_string_errors_name_their_parameter,
    a_cursor_depot_did_not_hand_out_is_a_400,
    raw_utf8_in_the_query_string_filters_like_percent_encoded,
    a_malformed_url_is_a_400_problem,
    lines_of_one_sku_are_merged_keeping_line_refs,
    a_repeated_key_in_an_order_body_is_a_400,
    a_repeated_key_rejects_only_its_order_in_a_bulk_push,
    a_retry_spelled_differently_is_a_duplicate,
    chinese_codes_are_accepted_everywhere,
    bad_codes_are_refused_with_the_rule,
);

/// A merchant (`LIVESHOP`, SKU `TEA`), with `qty` sellable units of `TEA`
/// in the storage bin `C-冷-01`.
async fn shop(app: &TestApp, qty: i64) -> Floor {
    let floor = Floor::new(app, "LIVESHOP", "TEA").await;
    app.post(
        "/api/v1/locations",
        &app.admin_token,
        json!({"code": "C-冷-01", "kind": "storage", "walk_seq": 1}),
    )
    .await
    .ok(201);
    if qty > 0 {
        let lots = floor.receive(app, "TEA", "入库单-1202", &[qty]).await;
        floor.inspect(app, &lots[0], true).await;
        app.post(
            &format!("/api/v1/lots/{}/putaway", lots[0]),
            &floor.staff_token,
            json!({"location_code": "C-冷-01", "qty": qty}),
        )
        .await
        .ok(200);
    }
    floor
}

fn order(external_id: &str, session: &str, lines: Value) -> Value {
    json!({
        "channel": "douyin",
        "external_id": external_id,
        "live_session": session,
        "ship_to": {"name": "李雷", "phone": "+86 139 0000 0001", "address": "西湖区文三路 1 号",
                    "city": "杭州", "province": "浙江", "postcode": "310000"},
        "lines": lines,
    })
}

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().expect("a list").clone()
}

fn ids(page: &Value, field: &str) -> Vec<String> {
    items(page)
        .iter()
        .map(|i| i[field].as_str().unwrap_or_default().to_string())
        .collect()
}

/// One raw HTTP/1.1 exchange, bytes as given (HTTP clients percent-encode
/// what a raw request line carries unencoded). Answers status, content
/// type and body.
async fn raw_get(app: &TestApp, target: &[u8], token: &str) -> (u16, String, String) {
    let port: u16 = app
        .address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port");
    let mut request = b"GET ".to_vec();
    request.extend_from_slice(target);
    request.extend_from_slice(
        format!(
            " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    // Blocking I/O off the test's runtime, which also runs the server.
    let response = actix_web::rt::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.write_all(&request).expect("send");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("read");
        String::from_utf8_lossy(&response).into_owned()
    })
    .await
    .expect("the exchange ran");
    let status = response[9..12].parse().expect("a status");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let content_type = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_string())
        })
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

async fn a_merchant_finds_its_order_by_external_id_channel_and_time(app: TestApp) {
    // Arrange: three orders, one of them on another channel, and another
    // merchant's order with the same external id.
    let floor = shop(&app, 10).await;
    let bulk = app
        .post(
            "/api/v1/orders/bulk",
            &floor.merchant_token,
            json!({"orders": [
                order("DY-1001", "蜂蜜专场-1202", json!([{"sku_code": "TEA", "qty": 1}])),
                order("DY-1002", "蜂蜜专场-1202", json!([{"sku_code": "TEA", "qty": 1}])),
                json!({"channel": "kuaishou", "external_id": "DY-1001", "ship_to": {"name": "韩梅梅",
                       "phone": "13800138000", "address": "1 路", "city": "杭州", "province": "浙江"},
                       "lines": [{"sku_code": "TEA", "qty": 1}]}),
            ]}),
        )
        .await
        .ok(200);
    let wanted = bulk["results"][0]["order_id"].as_str().unwrap().to_string();
    let rival = Floor::new(&app, "RIVAL", "TEA").await;
    app.post(
        "/api/v1/orders",
        &rival.merchant_token,
        order(
            "DY-1001",
            "蜂蜜专场-1202",
            json!([{"sku_code": "TEA", "qty": 1}]),
        ),
    )
    .await
    .ok(201);

    // Act + Assert: by external id and channel, the merchant's one order.
    let found = app
        .get(
            "/api/v1/orders?external_id=DY-1001&channel=douyin",
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(ids(&found, "id"), vec![wanted.clone()]);
    // By external id alone: both channels of its own, not the rival's.
    let both = app
        .get("/api/v1/orders?external_id=DY-1001", &floor.merchant_token)
        .await
        .ok(200);
    assert_eq!(items(&both).len(), 2);
    // Staff see all three orders with that id.
    let staff = app
        .get("/api/v1/orders?external_id=DY-1001", &floor.staff_token)
        .await
        .ok(200);
    assert_eq!(items(&staff).len(), 3);
    // By time: from the order's own time, to a second later; nothing before.
    let created = items(&found)[0]["created_at"].as_str().unwrap().to_string();
    let encoded = created.replace(':', "%3A");
    let in_window = app
        .get(
            &format!("/api/v1/orders?channel=douyin&from={encoded}&status=reserved"),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(items(&in_window).len(), 2);
    let before = app
        .get(
            &format!("/api/v1/orders?to={encoded}"),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert!(!ids(&before, "id").contains(&wanted));
    let later = app
        .get(
            "/api/v1/orders?from=2999-01-01T00:00:00Z",
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert!(items(&later).is_empty());
    // Bad values name their parameter.
    for (query, field) in [
        ("channel=tiktok", "channel"),
        ("from=yesterday", "from"),
        ("from=2026-12-02&to=2026-12-01", "to"),
        ("status=lost", "status"),
    ] {
        let problem = app
            .get(&format!("/api/v1/orders?{query}"), &floor.merchant_token)
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], field, "{query}");
    }
}

async fn lots_are_found_by_lot_code_sku_code_and_status(app: TestApp) {
    let floor = Floor::new(&app, "LIVESHOP", "TEA").await;
    app.post(
        "/api/v1/skus",
        &floor.merchant_token,
        json!({"code": "蜂蜜-500g", "name": "蜂蜜 500 克"}),
    )
    .await
    .ok(201);
    let tea = floor.receive(&app, "TEA", "批次-A", &[5, 6]).await;
    let honey = floor.receive(&app, "蜂蜜-500g", "批次-B", &[7]).await;
    floor.inspect(&app, &tea[1], true).await;

    let by_code = app
        .get(
            "/api/v1/lots?lot_code=%E6%89%B9%E6%AC%A1-A-1",
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(ids(&by_code, "id"), vec![tea[1].clone()]);
    let by_sku = app
        .get(
            "/api/v1/lots?sku_code=%E8%9C%82%E8%9C%9C-500g",
            &floor.staff_token,
        )
        .await
        .ok(200);
    assert_eq!(ids(&by_sku, "id"), honey);
    let accepted = app
        .get(
            "/api/v1/lots?sku_code=TEA&status=accepted",
            &floor.staff_token,
        )
        .await
        .ok(200);
    assert_eq!(ids(&accepted, "id"), vec![tea[1].clone()]);
    let none = app
        .get(
            "/api/v1/lots?lot_code=%E6%89%B9%E6%AC%A1-A-1&status=received",
            &floor.staff_token,
        )
        .await
        .ok(200);
    assert!(items(&none).is_empty());
    let problem = app
        .get("/api/v1/lots?lot_code=%20x", &floor.staff_token)
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "lot_code");
}

async fn skus_are_found_by_code_and_gtin(app: TestApp) {
    // Arrange: TEA (with a GTIN) from Floor, and a second SKU with a Chinese code.
    let floor = Floor::new(&app, "LIVESHOP", "TEA").await;
    let honey = app
        .post(
            "/api/v1/skus",
            &floor.merchant_token,
            json!({"code": "蜂蜜-500g", "name": "蜂蜜 500 克"}),
        )
        .await
        .ok(201);

    let by_gtin = app
        .get("/api/v1/skus?gtin=6291041500213", &floor.merchant_token)
        .await
        .ok(200);
    assert_eq!(ids(&by_gtin, "id"), vec![floor.sku_id.clone()]);
    let by_code = app
        .get(
            "/api/v1/skus?code=%E8%9C%82%E8%9C%9C-500g",
            &floor.staff_token,
        )
        .await
        .ok(200);
    assert_eq!(ids(&by_code, "id"), vec![honey["id"].as_str().unwrap()]);
    let nothing = app
        .get("/api/v1/skus?code=NOPE", &floor.merchant_token)
        .await
        .ok(200);
    assert!(items(&nothing).is_empty());
    let problem = app
        .get("/api/v1/skus?gtin=6291041500214", &floor.merchant_token)
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "gtin");
}

async fn an_endpoint_that_reads_no_query_still_refuses_a_parameter(app: TestApp) {
    let floor = Floor::new(&app, "LIVESHOP", "TEA").await;
    let lot = floor.receive(&app, "TEA", "ASN-1", &[5]).await.remove(0);
    for (method, path) in [
        ("GET", format!("/api/v1/lots/{lot}?x=1")),
        (
            "GET",
            "/api/v1/orders/ord_01M8TSQ5KYWFMC5NJ5QXTRQ5F7?x=1".to_string(),
        ),
        (
            "POST",
            "/api/v1/orders/ord_01M8TSQ5KYWFMC5NJ5QXTRQ5F7/cancel?x=1".to_string(),
        ),
    ] {
        let problem = app
            .call(method, &path, Some(&app.admin_token), None)
            .await
            .problem(400);
        assert_eq!(problem["errors"][0]["field"], "x", "{method} {path}");
        assert_eq!(
            problem["errors"][0]["message"],
            "is not a parameter of this endpoint, which takes none",
            "{method} {path}"
        );
    }
    // Nothing changed, and a caller without a token still hears 401 first.
    let lot_now = app
        .get(&format!("/api/v1/lots/{lot}"), &app.admin_token)
        .await
        .ok(200);
    assert_eq!(lot_now["status"], "received");
    app.call("GET", &format!("/api/v1/lots/{lot}?x=1"), None, None)
        .await
        .problem(401);
    // Health probes may carry anything.
    let health = app.call("GET", "/healthz?probe=lb-1", None, None).await;
    assert_eq!(health.status, 200);
}

async fn an_unknown_parameter_is_a_400_naming_it_on_every_list(app: TestApp) {
    let floor = Floor::new(&app, "LIVESHOP", "TEA").await;
    let lot = floor.receive(&app, "TEA", "ASN-1", &[5]).await.remove(0);
    for path in [
        "/api/v1/tokens",
        "/api/v1/merchants",
        "/api/v1/carriers",
        "/api/v1/skus",
        "/api/v1/locations",
        "/api/v1/lots",
        &format!("/api/v1/lots/{lot}/inspections"),
        "/api/v1/inspection-templates",
        "/api/v1/reports/inspections",
        "/api/v1/reports/inspection-quality",
        "/api/v1/stock",
        "/api/v1/stock/expiring",
        "/api/v1/ledger",
        "/api/v1/holds",
        "/api/v1/orders",
        "/api/v1/sampling-plan",
        "/api/v1/receipts",
        "/api/v1/master-data-changes",
    ] {
        let problem = app
            .get(&format!("{path}?extrenal_id=DY-1"), &app.admin_token)
            .await
            .problem(400);
        assert_eq!(problem["errors"][0]["field"], "extrenal_id", "{path}");
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.starts_with("is not a parameter of this endpoint"),
            "{path}: {message}"
        );
    }
    // The message lists what the endpoint takes.
    let problem = app
        .get("/api/v1/orders?sesion=x", &floor.merchant_token)
        .await
        .problem(400);
    assert_eq!(
        problem["errors"][0]["message"],
        "is not a parameter of this endpoint; it takes cursor, limit, status, live_session, \
         external_id, channel, from, to, ship_by_before"
    );
}

async fn query_string_errors_name_their_parameter(app: TestApp) {
    for (query, status, field, message) in [
        (
            "limit=abc",
            400,
            "limit",
            "must be a whole number from 1 to 500",
        ),
        ("limit=0", 422, "limit", "must be from 1 to 500"),
        (
            "limit=1&limit=2",
            400,
            "limit",
            "is given twice; each parameter may appear only once",
        ),
    ] {
        let problem = app
            .get(&format!("/api/v1/merchants?{query}"), &app.admin_token)
            .await
            .problem(status);
        assert_eq!(problem["errors"][0]["field"], field, "{query}");
        assert_eq!(problem["errors"][0]["message"], message, "{query}");
    }
    for (path, field) in [
        ("/api/v1/holds?active=yes", "active"),
        ("/api/v1/stock/expiring?days=soon", "days"),
        ("/api/v1/stock?sellable=1", "sellable"),
        ("/api/v1/sampling-plan?lot_size=many&aql=1.0", "lot_size"),
        ("/api/v1/sampling-plan?aql=1.0", "lot_size"),
    ] {
        let problem = app.get(path, &app.admin_token).await.problem(400);
        assert_eq!(problem["errors"][0]["field"], field, "{path}");
    }
}

async fn a_cursor_depot_did_not_hand_out_is_a_400(app: TestApp) {
    // Arrange: three merchants, pages of one.
    for code in ["M1", "M2", "M3"] {
        app.merchant(code).await;
    }
    let first = app
        .get("/api/v1/merchants?limit=1", &app.admin_token)
        .await
        .ok(200);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let first_id = items(&first)[0]["id"].as_str().unwrap().to_string();

    // A handed-out cursor pages on.
    let second = app
        .get(
            &format!("/api/v1/merchants?limit=1&cursor={cursor}"),
            &app.admin_token,
        )
        .await
        .ok(200);
    assert_ne!(items(&second)[0]["id"], first_id.as_str());
    // An id, an edited cursor or anything else is a 400, not an empty page.
    let edited = format!("{}0", &cursor[..cursor.len() - 1]);
    let edited = if edited == cursor {
        format!("{}1", &cursor[..cursor.len() - 1])
    } else {
        edited
    };
    for bad in [
        first_id.as_str(),
        edited.as_str(),
        "zzzz",
        "mer_99999999999999999999999999",
    ] {
        let problem = app
            .get(&format!("/api/v1/merchants?cursor={bad}"), &app.admin_token)
            .await
            .problem(400);
        assert_eq!(problem["errors"][0]["field"], "cursor", "{bad}");
    }
}

async fn raw_utf8_in_the_query_string_filters_like_percent_encoded(app: TestApp) {
    let floor = shop(&app, 5).await;
    for (id, session) in [("DY-1", "蜂蜜专场-1202"), ("DY-2", "茶叶专场-1202")] {
        app.post(
            "/api/v1/orders",
            &floor.merchant_token,
            order(id, session, json!([{"sku_code": "TEA", "qty": 1}])),
        )
        .await
        .ok(201);
    }

    // Unencoded UTF-8 bytes on the wire, as some clients send them.
    let (status, content_type, body) = raw_get(
        &app,
        "/api/v1/orders?live_session=蜂蜜专场-1202".as_bytes(),
        &floor.merchant_token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let raw: Value = serde_json::from_str(&body).expect("a JSON body");
    assert_eq!(ids(&raw, "external_id"), vec!["DY-1"]);
    // Percent-encoded: the same answer.
    let encoded = app
        .get(
            "/api/v1/orders?live_session=%E8%9C%82%E8%9C%9C%E4%B8%93%E5%9C%BA-1202",
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(ids(&encoded, "external_id"), vec!["DY-1"]);
    // A raw Chinese location code in the stock query, too.
    let (status, _, body) = raw_get(
        &app,
        "/api/v1/stock?location_code=C-冷-01".as_bytes(),
        &floor.staff_token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let stock: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(items(&stock)[0]["location_code"], "C-冷-01");
}

async fn a_malformed_url_is_a_400_problem(app: TestApp) {
    let floor = Floor::new(&app, "LIVESHOP", "TEA").await;
    for target in [
        &b"/api/v1/orders?live_session=%zz"[..],
        b"/api/v1/orders?live_session=%E8%9C",
        b"/api/v1/orders?live_session=%FF",
        b"/api/v1/orders?live_session=%",
        b"/api/v1/orders?%zz=1",
        // Raw bytes that are not UTF-8, unencoded on the wire.
        b"/api/v1/orders?live_session=\xff\xfe",
    ] {
        let shown = String::from_utf8_lossy(target).into_owned();
        let (status, content_type, body) = raw_get(&app, target, &floor.merchant_token).await;
        assert_eq!(status, 400, "{shown}: {body}");
        assert!(
            content_type.starts_with("application/problem+json"),
            "{shown}: {content_type}"
        );
        let problem: Value = serde_json::from_str(&body).expect("a problem body");
        assert_eq!(problem["status"], 400);
        assert!(
            problem["errors"][0]["field"].is_string(),
            "{shown}: {problem}"
        );
    }
    // A path segment that is not UTF-8 once decoded: a 4xx problem, never an empty body.
    for target in [&b"/api/v1/orders/%FF"[..], b"/api/v1/orders/%zz"] {
        let shown = String::from_utf8_lossy(target).into_owned();
        let (status, content_type, body) = raw_get(&app, target, &floor.merchant_token).await;
        assert!([400, 404].contains(&status), "{shown}: {status}");
        assert!(
            content_type.starts_with("application/problem+json"),
            "{shown}: {content_type} {body}"
        );
    }
}

async fn lines_of_one_sku_are_merged_keeping_line_refs(app: TestApp) {
    let floor = shop(&app, 10).await;
    // The paid item and its gift: two lines of one SKU.
    let created = app
        .post(
            "/api/v1/orders",
            &floor.merchant_token,
            order(
                "DY-GIFT",
                "蜂蜜专场-1202",
                json!([
                    {"sku_code": "TEA", "qty": 2, "line_ref": "DY-GIFT-1"},
                    {"sku_code": "TEA", "qty": 1, "line_ref": "赠品-1"},
                ]),
            ),
        )
        .await
        .ok(201);
    assert_eq!(created["status"], "reserved");
    assert_eq!(created["units"], 3);
    let lines = created["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["qty"], 3);
    assert_eq!(lines[0]["line_refs"], json!(["DY-GIFT-1", "赠品-1"]));
    let held: i64 = created["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["qty"].as_i64().unwrap())
        .sum();
    assert_eq!(held, 3);
    // Read back the same.
    let read = app
        .get(
            &format!("/api/v1/orders/{}", created["id"].as_str().unwrap()),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(read["lines"], created["lines"]);
    // Without references, an empty list; over the line limit together, refused.
    let plain = app
        .post(
            "/api/v1/orders",
            &floor.merchant_token,
            order("DY-PLAIN", "s", json!([{"sku_code": "TEA", "qty": 1}])),
        )
        .await
        .ok(201);
    assert_eq!(plain["lines"][0]["line_refs"], json!([]));
    let problem = app
        .post(
            "/api/v1/orders",
            &floor.merchant_token,
            order(
                "DY-BIG",
                "s",
                json!([{"sku_code": "TEA", "qty": 10000}, {"sku_code": "TEA", "qty": 1}]),
            ),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "lines[1].qty");
}

async fn a_repeated_key_in_an_order_body_is_a_400(app: TestApp) {
    let floor = shop(&app, 10).await;
    let base = order("DY-DUP", "s", json!([{"sku_code": "TEA", "qty": 1}])).to_string();
    let cases = [
        (
            base.replace(r#""qty":1"#, r#""qty":-5,"qty":1"#),
            "lines[0].qty",
        ),
        (
            base.replace(r#""name":"李雷""#, r#""name":"李雷","name":"韩梅梅""#),
            "ship_to.name",
        ),
        (
            base.replace(
                r#""channel":"douyin""#,
                r#""channel":"douyin","channel":"other""#,
            ),
            "channel",
        ),
    ];
    for (body, field) in cases {
        assert_ne!(body, base, "the case must repeat a key");
        let problem = app
            .call_raw(
                "POST",
                "/api/v1/orders",
                Some(&floor.merchant_token),
                Some("application/json"),
                body.into_bytes(),
            )
            .await
            .problem(400);
        assert_eq!(problem["errors"][0]["field"], field);
    }
    // Nothing was stored.
    let listed = app
        .get("/api/v1/orders?external_id=DY-DUP", &floor.merchant_token)
        .await
        .ok(200);
    assert!(items(&listed).is_empty());
}

async fn a_repeated_key_rejects_only_its_order_in_a_bulk_push(app: TestApp) {
    let floor = shop(&app, 10).await;
    let good = order("DY-A", "s", json!([{"sku_code": "TEA", "qty": 1}])).to_string();
    let bad = order("DY-B", "s", json!([{"sku_code": "TEA", "qty": 1}]))
        .to_string()
        .replace(r#""qty":1"#, r#""qty":-5,"qty":1"#);
    let also_good = order("DY-C", "s", json!([{"sku_code": "TEA", "qty": 2}])).to_string();
    let body = format!(r#"{{"orders":[{good},{bad},{also_good}]}}"#);

    let answer = app
        .call_raw(
            "POST",
            "/api/v1/orders/bulk",
            Some(&floor.merchant_token),
            Some("application/json"),
            body.into_bytes(),
        )
        .await
        .ok(200);

    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["status"], "reserved");
    assert_eq!(results[1]["status"], "rejected");
    assert_eq!(results[1]["external_id"], "DY-B");
    assert_eq!(results[1]["error"]["status"], 400);
    assert_eq!(
        results[1]["error"]["errors"][0]["field"],
        "orders[1].lines[0].qty"
    );
    assert_eq!(results[2]["status"], "reserved");
}

async fn a_retry_spelled_differently_is_a_duplicate(app: TestApp) {
    let floor = shop(&app, 10).await;
    let first = app
        .post(
            "/api/v1/orders",
            &floor.merchant_token,
            json!({"channel": "douyin", "external_id": "DY-R", "live_session": "蜂蜜专场-1202",
                   "ship_to": {"name": "李雷", "phone": "+86 139 0000 0001", "address": "文三路 1 号",
                               "city": "杭州", "province": "浙江", "postcode": "310000"},
                   "lines": [{"sku_code": "TEA", "qty": 1, "line_ref": "a"},
                             {"sku_code": "TEA", "qty": 1, "line_ref": "b"}]}),
        )
        .await
        .ok(201);
    // The same order: another phone spelling, padded text, lines the other way round.
    let retry = app
        .post(
            "/api/v1/orders",
            &floor.merchant_token,
            json!({"channel": "douyin", "external_id": "DY-R", "live_session": " 蜂蜜专场-1202 ",
                   "ship_to": {"name": " 李雷", "phone": "13900000001", "address": "文三路 1 号 ",
                               "city": "杭州", "province": "浙江", "postcode": " 310000"},
                   "lines": [{"sku_code": "TEA", "qty": 1, "line_ref": "b"},
                             {"sku_code": "TEA", "qty": 1, "line_ref": "a"}]}),
        )
        .await
        .ok(200);
    assert_eq!(retry["id"], first["id"]);
    // A changed meaning is still a conflict.
    let changed = app
        .post(
            "/api/v1/orders",
            &floor.merchant_token,
            json!({"channel": "douyin", "external_id": "DY-R", "live_session": "蜂蜜专场-1202",
                   "ship_to": {"name": "李雷", "phone": "13900000001", "address": "文三路 1 号",
                               "city": "杭州", "province": "浙江", "postcode": "310000"},
                   "lines": [{"sku_code": "TEA", "qty": 3}]}),
        )
        .await;
    changed.problem(409);
    let listed = app
        .get("/api/v1/orders?external_id=DY-R", &floor.merchant_token)
        .await
        .ok(200);
    assert_eq!(items(&listed).len(), 1);
}

async fn chinese_codes_are_accepted_everywhere(app: TestApp) {
    // Arrange + Act: a bin C-冷-01, a receipt 入库单-1202 with a Chinese lot
    // code, a SKU with a Chinese code, a template for a Chinese category,
    // a merchant and a carrier with Chinese codes.
    let floor = shop(&app, 0).await;
    let location = app
        .get("/api/v1/locations?kind=storage", &app.admin_token)
        .await
        .ok(200);
    assert_eq!(items(&location)[0]["code"], "C-冷-01");
    let sku = app
        .post(
            "/api/v1/skus",
            &floor.merchant_token,
            json!({"code": "蜂蜜-500g", "name": "蜂蜜 500 克", "category": "食品/蜂蜜"}),
        )
        .await
        .ok(201);
    assert_eq!(sku["code"], "蜂蜜-500g");
    let receipt = app
        .post(
            "/api/v1/receipts",
            &floor.merchant_token,
            json!({"reference": "入库单-1202", "lines": [
                {"sku_code": "蜂蜜-500g", "lot_code": "批次.2026/12", "expected_qty": 4}]}),
        )
        .await
        .ok(201);
    assert_eq!(receipt["reference"], "入库单-1202");
    let template = app
        .post(
            "/api/v1/inspection-templates",
            &floor.staff_token,
            json!({"category": "食品/蜂蜜", "checks": [
                {"code": "外观", "description": "包装完好", "defect_class": "major"}]}),
        )
        .await
        .ok(201);
    assert_eq!(template["category"], "食品/蜂蜜");
    let merchant = app
        .post(
            "/api/v1/merchants",
            &app.admin_token,
            json!({"code": "杭州-茶园", "name": "杭州茶园"}),
        )
        .await
        .ok(201);
    assert_eq!(merchant["code"], "杭州-茶园");
    let carrier = app
        .post(
            "/api/v1/carriers",
            &app.admin_token,
            json!({"code": "顺丰", "name": "顺丰速运"}),
        )
        .await
        .ok(201);
    assert_eq!(carrier["code"], "顺丰");
    // NFC: a decomposed "é" is stored precomposed, and found either way.
    app.post(
        "/api/v1/skus",
        &floor.merchant_token,
        json!({"code": "cafe\u{301}", "name": "Café"}),
    )
    .await
    .ok(201);
    let found = app
        .get("/api/v1/skus?code=caf%C3%A9", &floor.merchant_token)
        .await
        .ok(200);
    assert_eq!(items(&found)[0]["code"], "caf\u{e9}");

    // The lots list in CSV-friendly text and location sort stay intact:
    // the stock CSV names the Chinese bin.
    let lots = floor.receive(&app, "TEA", "入库单-1203", &[3]).await;
    floor.inspect(&app, &lots[0], true).await;
    app.post(
        &format!("/api/v1/lots/{}/putaway", lots[0]),
        &floor.staff_token,
        json!({"location_code": "C-冷-01", "qty": 3}),
    )
    .await
    .ok(200);
    let csv = app
        .get("/api/v1/stock?format=csv", &floor.staff_token)
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.text.contains("C-冷-01"), "{}", csv.text);
    assert!(csv.text.contains("入库单-1203-0"), "{}", csv.text);
}

async fn bad_codes_are_refused_with_the_rule(app: TestApp) {
    let rule = "a code is 1 to 64 characters: letters or digits of any script (such as C-冷-01), \
                '-', '_', '.' or '/'; no spaces or control characters";
    for (code, start) in [
        (" C-冷-01", "must not begin or end with a space"),
        ("C-冷-01 ", "must not begin or end with a space"),
        ("C 冷 01", "must not contain a space"),
        ("C-冷#01", "must not contain '#'"),
        ("", "must not be empty"),
    ] {
        let problem = app
            .post(
                "/api/v1/locations",
                &app.admin_token,
                json!({"code": code, "kind": "storage"}),
            )
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], "code", "{code:?}");
        assert_eq!(
            problem["errors"][0]["message"],
            format!("{start}; {rule}"),
            "{code:?}"
        );
    }
    let long = "冷".repeat(65);
    let problem = app
        .post(
            "/api/v1/locations",
            &app.admin_token,
            json!({"code": long, "kind": "storage"}),
        )
        .await
        .problem(422);
    assert_eq!(
        problem["errors"][0]["message"],
        format!("has 65 characters, more than 64; {rule}")
    );
    // 64 characters of Chinese fit, on both backends.
    let widest = "冷".repeat(64);
    let created = app
        .post(
            "/api/v1/locations",
            &app.admin_token,
            json!({"code": widest, "kind": "storage"}),
        )
        .await
        .ok(201);
    assert_eq!(created["code"], widest.as_str());
    let floor = Floor::new(&app, "LIVESHOP", "TEA").await;
    let problem = app
        .post(
            "/api/v1/receipts",
            &floor.merchant_token,
            json!({"reference": "入库单 1202", "lines": [
                {"sku_code": "TEA", "lot_code": "L1", "expected_qty": 1}]}),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "reference");
    assert_eq!(
        problem["errors"][0]["message"],
        format!("must not contain a space; {rule}")
    );
}
