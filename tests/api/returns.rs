//! Returns: a parcel received back by SSCC after handover, or a consumer's
//! units of a shipped order; the units wait on a returns location, not
//! sellable, until a re-inspection restocks them (put away like accepted
//! stock, then sellable) or scraps them (out of the ledger).

use serde_json::{json, Value};

use crate::batches::order;
use crate::helpers::TestApp;
use crate::inspection::Floor;
use crate::on_both_backends;
use crate::trace::{honey_floor, SKU};

on_both_backends!(
    a_parcel_returned_to_sender_is_reinspected_half_restocked_half_scrapped,
    a_consumer_returns_units_of_a_delivered_order_by_lines,
    bad_returns_are_refused_and_change_nothing,
    returns_are_staff_work_and_merchants_see_their_own,
    two_servers_receiving_one_parcel_or_the_last_units_at_once_take_them_once,
);

const SHIP_TO_ADDRESS: &str = "西湖区文三路 90 号";

/// One order of `qty` units of [`SKU`], picked and packed into one parcel
/// and handed over to carrier SF.
struct Shipment {
    floor: Floor,
    lot: String,
    order_id: String,
    sscc: String,
    /// A token of carrier SF.
    carrier_token: String,
}

/// The floor, the lot of [`SKU`] put away in A-01, and a token of carrier SF.
async fn floor_and_stock(
    app: &TestApp,
    merchant_code: &str,
    stock: i64,
) -> (Floor, String, String) {
    let (floor, carrier_token) = honey_floor(app, merchant_code).await;
    let reference = format!("ASN-{merchant_code}");
    let lot = floor
        .stock_up(app, SKU, &reference, stock, Some("2027-09-01"), "A-01")
        .await;
    (floor, lot, carrier_token)
}

pub(crate) async fn returns_location(app: &TestApp) {
    app.post(
        "/api/v1/locations",
        &app.admin_token,
        json!({"code": "退货区-1", "kind": "returns"}),
    )
    .await
    .ok(201);
}

/// Reserves, batches, picks and packs an order of `qty` units of the floor's
/// [`SKU`]; answers (order id, SSCC, manifest id), the parcel still `packed`.
async fn packed_order(
    app: &TestApp,
    floor: &Floor,
    external_id: &str,
    qty: i64,
) -> (String, String, String) {
    let staff = &floor.staff_token;
    let mut body = order(external_id, "SF", &[(SKU, qty)]);
    body["ship_to"]["address"] = json!(SHIP_TO_ADDRESS);
    let created = app
        .post("/api/v1/orders", &floor.merchant_token, body)
        .await
        .ok(201);
    assert_eq!(created["status"], "reserved", "{created}");
    let order_id = created["id"].as_str().unwrap().to_string();
    let built = app.post("/api/v1/batches", staff, json!({})).await.ok(201);
    let batch_id = built["batches"][0]["id"].as_str().unwrap().to_string();
    let batch = app
        .get(&format!("/api/v1/batches/{batch_id}"), staff)
        .await
        .ok(200);
    let lines: Vec<Value> = batch["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| json!({"line_id": l["id"], "picked_qty": l["qty"]}))
        .collect();
    app.post(
        &format!("/api/v1/batches/{batch_id}/picks"),
        staff,
        json!({ "lines": lines }),
    )
    .await
    .ok(200);
    let parcel = app
        .post(
            &format!("/api/v1/orders/{order_id}/parcels"),
            staff,
            json!({"weight_g": 900}),
        )
        .await
        .ok(201);
    (
        order_id,
        parcel["sscc"].as_str().unwrap().to_string(),
        parcel["manifest_id"].as_str().unwrap().to_string(),
    )
}

/// Closes the parcel's manifest and hands the parcel over to its carrier
/// by scan: its units leave the ledger (`ship` from dispatch).
async fn hand_over(app: &TestApp, staff: &str, manifest_id: &str, sscc: &str) {
    app.post(
        &format!("/api/v1/manifests/{manifest_id}/close"),
        staff,
        json!({}),
    )
    .await
    .ok(200);
    let handed = app
        .post(
            &format!("/api/v1/manifests/{manifest_id}/handover"),
            staff,
            json!({"sscc": [sscc]}),
        )
        .await
        .ok(200);
    assert_eq!(handed["handed_over"], json!([sscc]), "{handed}");
}

/// The carrier's status update of a handed-over parcel.
async fn carrier_status(app: &TestApp, carrier_token: &str, sscc: &str, status: &str) {
    let parcel = app
        .post(
            &format!("/api/v1/parcels/{sscc}/status"),
            carrier_token,
            json!({"status": status}),
        )
        .await
        .ok(200);
    assert_eq!(parcel["status"], status, "{parcel}");
}

async fn shipped(app: &TestApp, merchant_code: &str, qty: i64, stock: i64) -> Shipment {
    let (floor, lot, carrier_token) = floor_and_stock(app, merchant_code, stock).await;
    let (order_id, sscc, manifest_id) =
        packed_order(app, &floor, &format!("{merchant_code}-1"), qty).await;
    hand_over(app, &floor.staff_token, &manifest_id, &sscc).await;
    let dispatched = app
        .get(&format!("/api/v1/orders/{order_id}"), &floor.staff_token)
        .await
        .ok(200);
    assert_eq!(dispatched["status"], "dispatched", "{dispatched}");
    Shipment {
        floor,
        lot,
        order_id,
        sscc,
        carrier_token,
    }
}

async fn ledger_ok(app: &TestApp) {
    let check = app
        .get("/api/v1/admin/ledger-check", &app.admin_token)
        .await
        .ok(200);
    assert_eq!(check["ok"], true, "{check}");
}

fn on_hand(app: &TestApp, lot: &str, location_code: &str) -> i64 {
    app.count(&format!(
        "SELECT CAST(COALESCE(SUM(s.on_hand), 0) AS BIGINT) AS n FROM stock s \
         JOIN locations l ON l.id = s.location_id WHERE s.lot_id = '{lot}' AND l.code = '{location_code}'"
    ))
}

fn on_hand_of_kind(app: &TestApp, lot: &str, kind: &str) -> i64 {
    app.count(&format!(
        "SELECT CAST(COALESCE(SUM(s.on_hand), 0) AS BIGINT) AS n FROM stock s \
         JOIN locations l ON l.id = s.location_id WHERE s.lot_id = '{lot}' AND l.kind = '{kind}'"
    ))
}

fn ledger_sum(app: &TestApp, lot: &str, kind: &str) -> i64 {
    app.count(&format!(
        "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) AS n FROM ledger_entries \
         WHERE lot_id = '{lot}' AND kind = '{kind}'"
    ))
}

/// Units in the lot's events of a return (business transaction `rma`).
fn events(app: &TestApp, lot: &str, biz_step: &str, disposition: &str) -> i64 {
    app.count(&format!(
        "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) AS n FROM trace_events \
         WHERE lot_id = '{lot}' AND biz_step = '{biz_step}' AND disposition = '{disposition}' \
         AND biz_tx_type = 'rma'"
    ))
}

/// The ledger's `kind` deltas of the lot at locations of `location_kind`.
fn ledger_at(app: &TestApp, lot: &str, kind: &str, location_kind: &str) -> i64 {
    app.count(&format!(
        "SELECT CAST(COALESCE(SUM(e.delta), 0) AS BIGINT) AS n FROM ledger_entries e \
         JOIN locations l ON l.id = e.location_id \
         WHERE e.lot_id = '{lot}' AND e.kind = '{kind}' AND l.kind = '{location_kind}'"
    ))
}

/// What a refused request must leave as it was.
fn footprint(app: &TestApp) -> (i64, i64, i64, i64) {
    (
        app.count("SELECT COUNT(*) AS n FROM returns"),
        app.count("SELECT COUNT(*) AS n FROM return_lines"),
        app.count("SELECT COUNT(*) AS n FROM ledger_entries"),
        app.count("SELECT COUNT(*) AS n FROM trace_events"),
    )
}

pub(crate) async fn upload_pdf(app: &TestApp, token: &str) -> String {
    let pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n\
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n\
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n\
trailer<</Root 1 0 R>>\n%%EOF\n"
        .to_vec();
    let stored = app
        .call_raw(
            "POST",
            "/api/v1/evidence",
            Some(token),
            Some("application/pdf"),
            pdf,
        )
        .await;
    assert!(
        stored.status == 201 || stored.status == 200,
        "{}",
        stored.text
    );
    stored.json()["sha256"].as_str().unwrap().to_string()
}

async fn a_parcel_returned_to_sender_is_reinspected_half_restocked_half_scrapped(app: TestApp) {
    // Arrange: all four units of the lot shipped in one parcel, which the
    // carrier brings back.
    let s = shipped(&app, "HONEYSHOP", 4, 4).await;
    let staff = s.floor.staff_token.clone();
    carrier_status(&app, &s.carrier_token, &s.sscc, "returned_to_sender").await;
    assert_eq!(on_hand(&app, &s.lot, "A-01"), 0);

    // No returns location yet: a clear 409 that changes nothing.
    let before = footprint(&app);
    let refused = app
        .post(
            "/api/v1/returns",
            &staff,
            json!({"sscc": s.sscc, "reason": "收件人拒收"}),
        )
        .await
        .problem(409);
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("returns location"),
        "{refused}"
    );
    assert_eq!(footprint(&app), before);
    returns_location(&app).await;

    // Act: the parcel is received back.
    let received = app
        .post(
            "/api/v1/returns",
            &staff,
            json!({"sscc": s.sscc, "reason": "收件人拒收，快递退回"}),
        )
        .await
        .ok(201);

    // Assert: the whole parcel is back on the returns location, not sellable.
    assert_eq!(received["status"], "received");
    assert_eq!(received["kind"], "parcel");
    assert_eq!(received["sscc"], s.sscc.as_str());
    assert_eq!(received["location_code"], "退货区-1");
    let lines = received["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{received}");
    assert_eq!(lines[0]["lot_id"], s.lot.as_str());
    assert_eq!(lines[0]["sku_code"], SKU);
    assert_eq!(lines[0]["qty"], 4);
    let return_id = received["id"].as_str().unwrap().to_string();
    let line_id = lines[0]["id"].as_str().unwrap().to_string();
    assert_eq!(on_hand(&app, &s.lot, "退货区-1"), 4);
    assert_eq!(ledger_sum(&app, &s.lot, "return"), 4);
    assert_eq!(events(&app, &s.lot, "receiving", "returned"), 4);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE biz_tx_type = 'rma' \
             AND biz_tx_id = 'urn:depot:return:{return_id}'"
        )),
        1
    );
    let parcel = app
        .get(&format!("/api/v1/parcels/{}", s.sscc), &staff)
        .await
        .ok(200);
    assert_eq!(parcel["status"], "returned");
    let history: Vec<&str> = parcel["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(history.last(), Some(&"returned"), "{parcel}");
    let order_view = app
        .get(
            &format!("/api/v1/orders/{}", s.order_id),
            &s.floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(
        order_view["status"], "returned",
        "every shipped unit is back"
    );
    assert_eq!(order_view["returns"][0]["id"], return_id.as_str());
    assert_eq!(order_view["returns"][0]["status"], "received");
    assert_eq!(order_view["returns"][0]["lines"][0]["qty"], 4);

    // Returned units cannot be reserved: a new order is back-ordered.
    let waiting = app
        .post(
            "/api/v1/orders",
            &s.floor.merchant_token,
            order("HONEYSHOP-2", "SF", &[(SKU, 1)]),
        )
        .await
        .ok(201);
    assert_eq!(waiting["status"], "backordered", "{waiting}");
    let waiting_id = waiting["id"].as_str().unwrap().to_string();
    // Nor put away before their inspection (putaway takes from receiving).
    app.post(
        &format!("/api/v1/lots/{}/putaway", s.lot),
        &staff,
        json!({"qty": 1, "location_code": "A-01"}),
    )
    .await
    .problem(409);

    // A second reception of the parcel is a 409 and changes nothing.
    let before = footprint(&app);
    let again = app
        .post(
            "/api/v1/returns",
            &staff,
            json!({"sscc": s.sscc, "reason": "重复扫描"}),
        )
        .await
        .problem(409);
    assert!(
        again["detail"].as_str().unwrap().contains("already"),
        "{again}"
    );
    assert_eq!(footprint(&app), before);

    // The re-inspection: a return template with a check, evidence, notes.
    app.return_template(
        &staff,
        &[
            ("SEAL", "封口完好", "major"),
            ("LABEL", "标签完整", "minor"),
        ],
    )
    .await;
    let sha = upload_pdf(&app, &staff).await;
    let inspected = app
        .post(
            &format!("/api/v1/returns/{return_id}/inspection"),
            &staff,
            json!({
                "lines": [{"line_id": line_id, "restock_qty": 2, "scrap_qty": 2}],
                "findings": [{"check_code": "SEAL", "defects": 2}],
                "evidence": [{"uri": format!("/api/v1/evidence/{sha}"), "sha256": sha}],
                "notes": "两瓶封口破损，报废；两瓶完好"
            }),
        )
        .await
        .ok(200);
    assert_eq!(inspected["status"], "inspected");
    assert_eq!(inspected["lines"][0]["restock_qty"], 2);
    assert_eq!(inspected["lines"][0]["scrap_qty"], 2);
    let inspection = &inspected["inspection"];
    let findings: Vec<(String, i64)> = inspection["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check_code"].as_str().unwrap().to_string(),
                f["defects"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        findings,
        vec![("SEAL".to_string(), 2), ("LABEL".to_string(), 0)],
        "every check of the return template: {inspected}"
    );
    assert_eq!(inspection["evidence"][0]["sha256"], sha.as_str());
    assert_eq!(inspection["notes"], "两瓶封口破损，报废；两瓶完好");

    // Half restocked (waiting for putaway in receiving), half scrapped.
    assert_eq!(on_hand(&app, &s.lot, "退货区-1"), 0);
    assert_eq!(on_hand_of_kind(&app, &s.lot, "receiving"), 2);
    assert_eq!(ledger_at(&app, &s.lot, "restock", "returns"), -2);
    assert_eq!(ledger_at(&app, &s.lot, "restock", "receiving"), 2);
    assert_eq!(ledger_at(&app, &s.lot, "scrap", "returns"), -2);
    assert_eq!(ledger_sum(&app, &s.lot, "scrap"), -2);
    assert_eq!(events(&app, &s.lot, "inspecting", "conformant"), 2);
    assert_eq!(events(&app, &s.lot, "inspecting", "non_conformant"), 2);
    assert_eq!(events(&app, &s.lot, "destroying", "destroyed"), 2);
    assert_eq!(
        events(&app, &s.lot, "storing", "sellable_not_accessible"),
        2
    );
    let fetched = app
        .get(&format!("/api/v1/returns/{return_id}"), &staff)
        .await
        .ok(200);
    assert_eq!(fetched["inspection"]["findings"], inspection["findings"]);
    ledger_ok(&app).await;
    // Still not reservable until it is put away.
    let w = app
        .get(&format!("/api/v1/orders/{waiting_id}"), &staff)
        .await
        .ok(200);
    assert_eq!(w["status"], "backordered");

    // Inspected once.
    let before = footprint(&app);
    app.post(
        &format!("/api/v1/returns/{return_id}/inspection"),
        &staff,
        json!({"lines": [{"line_id": line_id, "restock_qty": 4, "scrap_qty": 0}]}),
    )
    .await
    .problem(409);
    assert_eq!(footprint(&app), before);

    // The restocked units are put away like accepted stock, and sellable:
    // the waiting order takes one of them.
    let put = app
        .post(
            &format!("/api/v1/lots/{}/putaway", s.lot),
            &staff,
            json!({"qty": 2, "location_code": "A-01"}),
        )
        .await
        .ok(200);
    assert_eq!(put["qty"], 2);
    assert_eq!(on_hand(&app, &s.lot, "A-01"), 2);
    let w = app
        .get(&format!("/api/v1/orders/{waiting_id}"), &staff)
        .await
        .ok(200);
    assert_eq!(w["status"], "reserved", "{w}");
    assert_eq!(w["reservations"][0]["lot_id"], s.lot.as_str());
    assert_eq!(w["reservations"][0]["location_code"], "A-01");
    // The scrapped two are gone: 4 received, 4 shipped, 4 back, 2 scrapped.
    let total = app.count(&format!(
        "SELECT CAST(COALESCE(SUM(on_hand), 0) AS BIGINT) AS n FROM stock WHERE lot_id = '{}'",
        s.lot
    ));
    assert_eq!(total, 2);
    ledger_ok(&app).await;
}

async fn a_consumer_returns_units_of_a_delivered_order_by_lines(app: TestApp) {
    let s = shipped(&app, "HONEYSHOP", 3, 5).await;
    let staff = s.floor.staff_token.clone();
    carrier_status(&app, &s.carrier_token, &s.sscc, "delivered").await;
    returns_location(&app).await;

    // More than was shipped: 422 naming the line, nothing changes.
    let before = footprint(&app);
    let refused = app
        .post(
            "/api/v1/returns",
            &staff,
            json!({"order_id": s.order_id, "reason": "七天无理由退货",
                   "lines": [{"sku_code": SKU, "qty": 4}]}),
        )
        .await
        .problem(422);
    assert_eq!(refused["errors"][0]["field"], "lines[0].qty", "{refused}");
    assert_eq!(footprint(&app), before);

    // Two of the three come back.
    let first = app
        .post(
            "/api/v1/returns",
            &staff,
            json!({"order_id": s.order_id, "reason": "七天无理由退货",
                   "lines": [{"sku_code": SKU, "qty": 2}]}),
        )
        .await
        .ok(201);
    assert_eq!(first["kind"], "consumer");
    assert_eq!(first["sscc"], Value::Null);
    assert_eq!(first["lines"][0]["lot_id"], s.lot.as_str());
    assert_eq!(first["lines"][0]["qty"], 2);
    assert_eq!(on_hand(&app, &s.lot, "退货区-1"), 2);
    let o = app
        .get(&format!("/api/v1/orders/{}", s.order_id), &staff)
        .await
        .ok(200);
    assert_eq!(o["status"], "delivered", "one unit is still out");
    assert_eq!(o["returns"].as_array().unwrap().len(), 1);

    // Two more than the one left: 422; the parcel whole: 409 (units of it
    // came back already).
    let refused = app
        .post(
            "/api/v1/returns",
            &staff,
            json!({"order_id": s.order_id, "reason": "再退两件",
                   "lines": [{"sku_code": SKU, "qty": 2}]}),
        )
        .await
        .problem(422);
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1 unit"),
        "{refused}"
    );
    let before = footprint(&app);
    app.post(
        "/api/v1/returns",
        &staff,
        json!({"sscc": s.sscc, "reason": "整箱退回"}),
    )
    .await
    .problem(409);
    assert_eq!(footprint(&app), before);

    // The last unit: the order is returned.
    app.post(
        "/api/v1/returns",
        &staff,
        json!({"order_id": s.order_id, "reason": "七天无理由退货",
               "lines": [{"sku_code": SKU, "qty": 1}]}),
    )
    .await
    .ok(201);
    let o = app
        .get(&format!("/api/v1/orders/{}", s.order_id), &staff)
        .await
        .ok(200);
    assert_eq!(o["status"], "returned");
    assert_eq!(o["returns"].as_array().unwrap().len(), 2);
    // A returned order takes no further consumer return.
    app.post(
        "/api/v1/returns",
        &staff,
        json!({"order_id": s.order_id, "reason": "again",
               "lines": [{"sku_code": SKU, "qty": 1}]}),
    )
    .await
    .problem(409);

    // The first return restocked whole, with the default template (no
    // return template exists) and no findings.
    let line_id = first["lines"][0]["id"].as_str().unwrap();
    let inspected = app
        .post(
            &format!(
                "/api/v1/returns/{}/inspection",
                first["id"].as_str().unwrap()
            ),
            &staff,
            json!({"lines": [{"line_id": line_id, "restock_qty": 2, "scrap_qty": 0}]}),
        )
        .await
        .ok(200);
    assert_eq!(
        inspected["inspection"]["template_id"], "tpl_default",
        "{inspected}"
    );
    assert_eq!(on_hand(&app, &s.lot, "退货区-1"), 1);
    assert_eq!(on_hand_of_kind(&app, &s.lot, "receiving"), 2);
    let listed = app
        .get("/api/v1/returns?status=received", &staff)
        .await
        .ok(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let listed = app
        .get(&format!("/api/v1/returns?order_id={}", s.order_id), &staff)
        .await
        .ok(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    ledger_ok(&app).await;
}

async fn bad_returns_are_refused_and_change_nothing(app: TestApp) {
    let s = shipped(&app, "HONEYSHOP", 2, 6).await;
    let staff = s.floor.staff_token.clone();
    returns_location(&app).await;
    // A second order, packed but not handed over.
    let (packed_order_id, packed_sscc, _) = packed_order(&app, &s.floor, "HONEYSHOP-P", 1).await;
    let before = footprint(&app);

    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"sscc": packed_sscc, "reason": "拒收"}), 409, ""),
        (
            json!({"sscc": "006141419999999994", "reason": "拒收"}),
            404,
            "",
        ),
        (json!({"sscc": "12345", "reason": "拒收"}), 422, "sscc"),
        (json!({"sscc": s.sscc, "reason": "  "}), 422, "reason"),
        (
            json!({"sscc": s.sscc, "order_id": s.order_id, "reason": "拒收"}),
            422,
            "order_id",
        ),
        (
            json!({"sscc": s.sscc, "reason": "拒收", "lines": [{"sku_code": SKU, "qty": 1}]}),
            422,
            "lines",
        ),
        (json!({"reason": "拒收"}), 422, "sscc"),
        (
            json!({"order_id": s.order_id, "reason": "退货"}),
            422,
            "lines",
        ),
        (
            json!({"order_id": s.order_id, "reason": "退货", "lines": [{"sku_code": "绿茶-100G", "qty": 1}]}),
            422,
            "lines[0].sku_code",
        ),
        (
            json!({"order_id": s.order_id, "reason": "退货", "lines": [{"sku_code": SKU, "qty": 0}]}),
            422,
            "lines[0].qty",
        ),
        (
            json!({"order_id": packed_order_id, "reason": "退货", "lines": [{"sku_code": SKU, "qty": 1}]}),
            409,
            "",
        ),
        (
            json!({"order_id": "ord_none", "reason": "退货", "lines": [{"sku_code": SKU, "qty": 1}]}),
            404,
            "",
        ),
    ];
    for (body, status, field) in cases {
        let problem = app
            .post("/api/v1/returns", &staff, body.clone())
            .await
            .problem(status);
        if !field.is_empty() {
            assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        }
        assert_eq!(footprint(&app), before, "{body} changed something");
    }

    // A received return, and bad inspections of it.
    let received = app
        .post(
            "/api/v1/returns",
            &staff,
            json!({"sscc": s.sscc, "reason": "快递退回"}),
        )
        .await
        .ok(201);
    let id = received["id"].as_str().unwrap().to_string();
    let line_id = received["lines"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/returns/{id}/inspection");
    let before = footprint(&app);
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"lines": [{"line_id": line_id, "restock_qty": 1, "scrap_qty": 0}]}),
            422,
            "lines[0].restock_qty",
        ),
        (
            json!({"lines": [{"line_id": line_id, "restock_qty": 3, "scrap_qty": -1}]}),
            422,
            "lines[0].scrap_qty",
        ),
        (
            json!({"lines": [{"line_id": "rtl_none", "restock_qty": 2, "scrap_qty": 0}]}),
            422,
            "lines[0].line_id",
        ),
        (json!({"lines": []}), 422, "lines"),
        (
            json!({"lines": [{"line_id": line_id, "restock_qty": 2, "scrap_qty": 0}],
                   "findings": [{"check_code": "NO-SUCH-CHECK", "defects": 1}]}),
            422,
            "findings[0].check_code",
        ),
        (
            json!({"lines": [{"line_id": line_id, "restock_qty": 2, "scrap_qty": 0}],
                   "evidence": [{"uri": format!("/api/v1/evidence/{}", "a".repeat(64)), "sha256": "a".repeat(64)}]}),
            422,
            "evidence[0].uri",
        ),
    ];
    for (body, status, field) in cases {
        let problem = app.post(&path, &staff, body.clone()).await.problem(status);
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        assert_eq!(footprint(&app), before, "{body} changed something");
    }
    app.post(
        "/api/v1/returns/ret_none/inspection",
        &staff,
        json!({"lines": [{"line_id": line_id, "restock_qty": 2, "scrap_qty": 0}]}),
    )
    .await
    .problem(404);
    app.get("/api/v1/returns/ret_none", &staff)
        .await
        .problem(404);
    app.get("/api/v1/returns?status=lost", &staff)
        .await
        .problem(422);
    let r = app
        .get(&format!("/api/v1/returns/{id}"), &staff)
        .await
        .ok(200);
    assert_eq!(r["status"], "received");
    assert_eq!(r["inspection"], Value::Null);
    ledger_ok(&app).await;
}

async fn returns_are_staff_work_and_merchants_see_their_own(app: TestApp) {
    let s = shipped(&app, "HONEYSHOP", 1, 2).await;
    let staff = s.floor.staff_token.clone();
    returns_location(&app).await;
    let (_, other_token) = app.merchant_token("TEASHOP").await;
    let carrier_token = s.carrier_token.clone();

    let body = json!({"sscc": s.sscc, "reason": "快递退回"});
    app.post("/api/v1/returns", &s.floor.merchant_token, body.clone())
        .await
        .problem(403);
    app.post("/api/v1/returns", &carrier_token, body.clone())
        .await
        .problem(403);
    let received = app.post("/api/v1/returns", &staff, body).await.ok(201);
    let id = received["id"].as_str().unwrap();

    // The merchant sees its own return, in the list and by id.
    let own = app
        .get(&format!("/api/v1/returns/{id}"), &s.floor.merchant_token)
        .await
        .ok(200);
    assert_eq!(own["order_id"], s.order_id.as_str());
    let listed = app
        .get("/api/v1/returns?status=received", &s.floor.merchant_token)
        .await
        .ok(200);
    assert_eq!(listed["items"][0]["id"], id);
    // Another merchant: as if it did not exist.
    app.get(&format!("/api/v1/returns/{id}"), &other_token)
        .await
        .problem(404);
    let listed = app.get("/api/v1/returns", &other_token).await.ok(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);
    // Carriers: not theirs to see; merchants may not inspect.
    app.get(&format!("/api/v1/returns/{id}"), &carrier_token)
        .await
        .problem(403);
    app.get("/api/v1/returns", &carrier_token)
        .await
        .problem(403);
    app.post(
        &format!("/api/v1/returns/{id}/inspection"),
        &s.floor.merchant_token,
        json!({"lines": [{"line_id": received["lines"][0]["id"], "restock_qty": 1, "scrap_qty": 0}]}),
    )
    .await
    .problem(403);
}

async fn two_servers_receiving_one_parcel_or_the_last_units_at_once_take_them_once(app: TestApp) {
    let s = shipped(&app, "HONEYSHOP", 3, 3).await;
    let staff = s.floor.staff_token.clone();
    returns_location(&app).await;
    let second = app.second_server();
    let bases = [app.address.clone(), second.address.clone()];

    // Four receptions of one parcel, two per server, at once: one gets it.
    let calls = (0..4).map(|i| {
        let (app, staff, base) = (&app, staff.clone(), bases[i % 2].clone());
        let body = json!({"sscc": s.sscc, "reason": format!("快递退回 {i}")});
        async move { app.post_at(&base, "/api/v1/returns", &staff, body).await }
    });
    let replies = futures_util::future::join_all(calls).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    statuses.sort();
    assert_eq!(statuses, vec![201, 409, 409, 409], "{replies:?}");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM returns"), 1);
    assert_eq!(on_hand(&app, &s.lot, "退货区-1"), 3);
    ledger_ok(&app).await;

    // A second shipped order of three units; three consumer returns of two
    // units each race for them: one is taken, the others find one unit left.
    let lot2 = s
        .floor
        .stock_up(&app, SKU, "ASN-HONEYSHOP-2", 3, Some("2027-10-01"), "A-01")
        .await;
    let (order2, sscc2, manifest2) = packed_order(&app, &s.floor, "HONEYSHOP-2", 3).await;
    hand_over(&app, &staff, &manifest2, &sscc2).await;
    carrier_status(&app, &s.carrier_token, &sscc2, "delivered").await;
    let calls = (0..3).map(|i| {
        let (app, staff, base) = (&app, staff.clone(), bases[i % 2].clone());
        let body = json!({"order_id": order2, "reason": "七天无理由退货",
                          "lines": [{"sku_code": SKU, "qty": 2}]});
        async move { app.post_at(&base, "/api/v1/returns", &staff, body).await }
    });
    let replies = futures_util::future::join_all(calls).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    statuses.sort();
    assert_eq!(statuses, vec![201, 422, 422], "{replies:?}");
    assert_eq!(
        app.count(&format!(
            "SELECT CAST(SUM(l.qty) AS BIGINT) AS n FROM return_lines l \
             JOIN returns r ON r.id = l.return_id WHERE r.order_id = '{order2}'"
        )),
        2
    );
    assert_eq!(on_hand(&app, &lot2, "退货区-1"), 2);
    ledger_ok(&app).await;
}
