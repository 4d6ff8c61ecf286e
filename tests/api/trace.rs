//! Trace: backward from a parcel or an order to its lots' inspections,
//! evidence and receipt; forward from a lot to every parcel it reached.

use serde_json::{json, Value};

use crate::batches::order;
use crate::helpers::TestApp;
use crate::inspection::Floor;
use crate::on_both_backends;

on_both_backends!(
    a_parcel_traces_back_to_its_lots_inspection_evidence_and_forward_to_every_parcel,
    traces_are_the_merchants_own_and_no_carriers,
    a_recall_holds_the_rest_stops_parcels_not_handed_over_and_lists_them,
    a_recall_can_cancel_the_open_orders,
);

pub(crate) const SKU: &str = "蜂蜜-500G";

/// A lot of [`SKU`] received (ASN-蜂蜜), inspected with a PDF as evidence,
/// put away in A-01; three orders of it picked and packed into parcels of
/// carrier SF, the first two handed over; a fourth order only reserved.
pub(crate) struct Pipeline {
    pub(crate) floor: Floor,
    pub(crate) lot: String,
    pub(crate) sha256: String,
    /// (order id, SSCC) of the packed orders, in order.
    pub(crate) packed: Vec<(String, String)>,
    pub(crate) reserved_order: String,
    pub(crate) carrier_token: String,
}

/// The floor of `merchant_code` with [`SKU`], bins A-01, 打包台-1 and
/// 发货区-1, and carrier SF; returns it and a token of SF.
pub(crate) async fn honey_floor(app: &TestApp, merchant_code: &str) -> (Floor, String) {
    let floor = Floor::new(app, merchant_code, "TEA").await;
    app.post(
        "/api/v1/skus",
        &floor.merchant_token,
        json!({"code": SKU, "name": "椴树蜂蜜 500 克"}),
    )
    .await
    .ok(201);
    for (code, kind) in [
        ("A-01", "storage"),
        ("打包台-1", "packing"),
        ("发货区-1", "dispatch"),
    ] {
        app.post(
            "/api/v1/locations",
            &app.admin_token,
            json!({"code": code, "kind": kind}),
        )
        .await
        .ok(201);
    }
    let carrier = app.carrier("SF").await;
    let (_, carrier_token) = app.token("carrier", None, Some(&carrier)).await;
    (floor, carrier_token)
}

pub(crate) async fn pipeline(app: &TestApp, merchant_code: &str) -> Pipeline {
    let (floor, carrier_token) = honey_floor(app, merchant_code).await;
    let staff = floor.staff_token.clone();
    let lot = app
        .receive_lot(
            &floor.merchant_token,
            &staff,
            "ASN-蜂蜜",
            json!({"sku_code": SKU, "lot_code": "L-蜂蜜-01", "expected_qty": 100, "expiry_date": "2027-09-01"}),
        )
        .await;
    let evidence = app
        .call_raw(
            "POST",
            "/api/v1/evidence",
            Some(&app.admin_token),
            Some("application/pdf"),
            b"%PDF-1.4 inspection photo sheet".to_vec(),
        )
        .await
        .ok(201);
    let sha256 = evidence["sha256"].as_str().unwrap().to_string();
    app.attach_evidence(&lot, &sha256).await;
    app.post(
        &format!("/api/v1/lots/{lot}/putaway"),
        &staff,
        json!({"qty": 100, "location_code": "A-01"}),
    )
    .await
    .ok(200);

    let mut order_ids = Vec::new();
    for (i, qty) in [2, 3, 4].into_iter().enumerate() {
        let created = app
            .post(
                "/api/v1/orders",
                &floor.merchant_token,
                order(&format!("{merchant_code}-{i}"), "SF", &[(SKU, qty)]),
            )
            .await
            .ok(201);
        assert_eq!(created["status"], "reserved", "{created}");
        order_ids.push(created["id"].as_str().unwrap().to_string());
    }
    let built = app.post("/api/v1/batches", &staff, json!({})).await.ok(201);
    for batch in built["batches"].as_array().unwrap() {
        let batch_id = batch["id"].as_str().unwrap();
        let batch = app
            .get(&format!("/api/v1/batches/{batch_id}"), &staff)
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
            &staff,
            json!({ "lines": lines }),
        )
        .await
        .ok(200);
    }
    let mut packed = Vec::new();
    let mut manifest = String::new();
    for order_id in &order_ids {
        let parcel = app
            .post(
                &format!("/api/v1/orders/{order_id}/parcels"),
                &staff,
                json!({"weight_g": 900}),
            )
            .await
            .ok(201);
        manifest = parcel["manifest_id"].as_str().unwrap().to_string();
        packed.push((
            order_id.clone(),
            parcel["sscc"].as_str().unwrap().to_string(),
        ));
    }
    app.post(
        &format!("/api/v1/manifests/{manifest}/close"),
        &staff,
        json!({}),
    )
    .await
    .ok(200);
    let handed = app
        .post(
            &format!("/api/v1/manifests/{manifest}/handover"),
            &staff,
            json!({"sscc": [packed[0].1, packed[1].1]}),
        )
        .await
        .ok(200);
    assert_eq!(
        handed["handed_over"].as_array().unwrap().len(),
        2,
        "{handed}"
    );
    let reserved = app
        .post(
            "/api/v1/orders",
            &floor.merchant_token,
            order(&format!("{merchant_code}-open"), "SF", &[(SKU, 5)]),
        )
        .await
        .ok(201);
    assert_eq!(reserved["status"], "reserved", "{reserved}");
    Pipeline {
        floor,
        lot,
        sha256,
        packed,
        reserved_order: reserved["id"].as_str().unwrap().to_string(),
        carrier_token,
    }
}

fn biz_steps(trace: &Value) -> Vec<String> {
    trace["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["biz_step"].as_str().unwrap().to_string())
        .collect()
}

async fn a_parcel_traces_back_to_its_lots_inspection_evidence_and_forward_to_every_parcel(
    app: TestApp,
) {
    let p = pipeline(&app, "HONEYSHOP").await;
    let staff = &p.floor.staff_token;
    let (order_id, sscc) = &p.packed[0];

    // Backward, from the first parcel (handed over).
    let trace = app
        .get(
            &format!("/api/v1/trace/parcels/{sscc}"),
            &p.floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(trace["order"]["id"], json!(order_id), "{trace}");
    assert_eq!(trace["merchant"]["code"], "HONEYSHOP");
    assert!(trace["order"].get("ship_to").is_none(), "{trace}");
    let lines = trace["order"]["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{trace}");
    assert_eq!(lines[0]["sku_code"], SKU);
    assert_eq!(
        lines[0]["lots"],
        json!([{"lot_id": p.lot, "lot_code": "L-蜂蜜-01", "qty": 2, "state": "packed"}])
    );
    let lot = &trace["lots"][0];
    assert_eq!(lot["id"], json!(p.lot));
    assert_eq!(lot["receipt"]["reference"], "ASN-蜂蜜");
    assert_eq!(lot["receipt"]["arrivals"][0]["received_qty"], 100);
    let inspection = &lot["inspections"][0];
    assert_eq!(inspection["verdict"], "accepted", "{inspection}");
    assert_eq!(inspection["evidence"][0]["sha256"], json!(p.sha256));
    assert!(inspection["template_version"].as_i64().unwrap() >= 1);
    assert!(inspection["inspector"].is_string(), "{inspection}");
    assert!(inspection["plans"].is_object(), "{inspection}");
    let parcel = &trace["parcels"][0];
    assert_eq!(trace["parcels"].as_array().unwrap().len(), 1);
    assert_eq!(parcel["sscc"], json!(sscc));
    assert_eq!(parcel["carrier"]["code"], "SF");
    assert_eq!(parcel["status"], "handed_over");
    assert_eq!(parcel["manifest"]["status"], "closed", "{parcel}");
    let statuses: Vec<&str> = parcel["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["packed", "handed_over"], "{parcel}");
    let steps = biz_steps(&trace);
    for step in ["receiving", "inspecting", "storing", "packing", "shipping"] {
        assert!(steps.contains(&step.to_string()), "{step} in {steps:?}");
    }
    let times: Vec<&str> = trace["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_time"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "the timeline is in time order");
    // Only this parcel's packing and shipping, not its siblings'.
    let epc = parcel["epc_uri"].as_str().unwrap();
    for e in trace["events"].as_array().unwrap() {
        if let Some(parent) = e["parent_id"].as_str() {
            assert_eq!(parent, epc, "{e}");
        }
    }
    assert_eq!(
        steps.iter().filter(|s| *s == "packing").count(),
        1,
        "{steps:?}"
    );

    // The open order's trace: its lot reserved, no parcel yet.
    let open = app
        .get(&format!("/api/v1/trace/orders/{}", p.reserved_order), staff)
        .await
        .ok(200);
    assert_eq!(
        open["order"]["lines"][0]["lots"],
        json!([{"lot_id": p.lot, "lot_code": "L-蜂蜜-01", "qty": 5, "state": "reserved"}])
    );
    assert_eq!(open["parcels"], json!([]));
    assert_eq!(
        open["lots"][0]["inspections"][0]["evidence"][0]["sha256"],
        json!(p.sha256)
    );

    // Forward, from the lot: every parcel, by page.
    let first = app
        .get(
            &format!("/api/v1/trace/lots/{}/forward?limit=2", p.lot),
            staff,
        )
        .await
        .ok(200);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_string();
    let second = app
        .get(
            &format!(
                "/api/v1/trace/lots/{}/forward?limit=2&cursor={cursor}",
                p.lot
            ),
            staff,
        )
        .await
        .ok(200);
    assert!(second["next_cursor"].is_null(), "{second}");
    let mut listed: Vec<String> = first["parcels"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["parcels"].as_array().unwrap())
        .map(|p| p["sscc"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    let mut expected: Vec<String> = p.packed.iter().map(|(_, s)| s.clone()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    let groups: Vec<(String, i64, i64)> = first["parcel_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["status"].as_str().unwrap().to_string(),
                g["parcels"].as_i64().unwrap(),
                g["units"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("handed_over".to_string(), 2, 5),
            ("packed".to_string(), 1, 4)
        ],
        "{first}"
    );
    let totals = &first["totals"];
    assert_eq!(totals["received"], 100, "{totals}");
    assert_eq!(totals["shipped"], 5, "{totals}");
    assert_eq!(totals["packed"], 4, "{totals}");
    assert_eq!(totals["reserved"], 5, "{totals}");
    assert_eq!(totals["in_stock"], 91, "{totals}");
    let orders: Vec<(String, i64, i64, i64)> = first["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["status"].as_str().unwrap().to_string(),
                g["orders"].as_i64().unwrap(),
                g["packed_units"].as_i64().unwrap(),
                g["reserved_units"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        orders,
        [
            ("dispatched".to_string(), 2, 5, 0),
            ("packed".to_string(), 1, 4, 0),
            ("reserved".to_string(), 1, 0, 5),
        ],
        "{first}"
    );
}

async fn traces_are_the_merchants_own_and_no_carriers(app: TestApp) {
    let p = pipeline(&app, "HONEYSHOP").await;
    let (_, other_token) = app.merchant_token("TEASHOP").await;
    let (order_id, sscc) = &p.packed[0];
    let paths = [
        format!("/api/v1/trace/parcels/{sscc}"),
        format!("/api/v1/trace/orders/{order_id}"),
        format!("/api/v1/trace/lots/{}/forward", p.lot),
    ];
    for path in &paths {
        app.get(path, &p.floor.merchant_token).await.ok(200);
        app.get(path, &app.admin_token).await.ok(200);
        app.get(path, &other_token).await.problem(404);
        app.get(path, &p.carrier_token).await.problem(403);
    }
    app.get("/api/v1/trace/parcels/123", &p.floor.staff_token)
        .await
        .problem(422);
    app.get("/api/v1/trace/orders/ord_nope", &p.floor.staff_token)
        .await
        .problem(404);
}

/// (carrier code, status, units, [(SSCC, stopped)]) of a recall list.
type ParcelGroup = (String, String, i64, Vec<(String, bool)>);

async fn ledger_ok(app: &TestApp) {
    let check = app
        .get("/api/v1/admin/ledger-check", &app.admin_token)
        .await
        .ok(200);
    assert_eq!(check["ok"], true, "{check}");
}

fn lot_units(app: &TestApp, lot: &str) -> i64 {
    app.count(&format!(
        "SELECT CAST(COALESCE(SUM(on_hand), 0) AS BIGINT) AS n FROM stock WHERE lot_id = '{lot}'"
    ))
}

async fn a_recall_holds_the_rest_stops_parcels_not_handed_over_and_lists_them(app: TestApp) {
    let p = pipeline(&app, "HONEYSHOP").await;
    let staff = &p.floor.staff_token;
    let before = lot_units(&app, &p.lot);
    assert_eq!(before, 95, "91 in A-01 and 4 packed");

    // Bad input and the wrong roles change nothing.
    let events = app.count("SELECT COUNT(*) AS n FROM trace_events");
    let path = format!("/api/v1/lots/{}/recall", p.lot);
    let bad = app
        .post(&path, staff, json!({"reason": " ", "open_orders": "later"}))
        .await
        .problem(422);
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["reason", "open_orders"], "{bad}");
    let body = json!({"reason": "供应商通知：蜂蜜批次抽检不合格", "open_orders": "backorder"});
    app.post(&path, &p.floor.merchant_token, body.clone())
        .await
        .problem(403);
    app.post(&path, &p.carrier_token, body.clone())
        .await
        .problem(403);
    app.post("/api/v1/lots/lot_nope/recall", staff, body.clone())
        .await
        .problem(404);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM trace_events"), events);
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM recalls"), 0);

    let recall = app.post(&path, staff, body).await.ok(201);
    assert_eq!(recall["lot_id"], json!(p.lot), "{recall}");
    assert_eq!(recall["held_qty"], 95, "{recall}");
    assert_eq!(recall["open_orders"], "backorder");
    // The open order gave its units back and waits (no other lot).
    let orders: Vec<(String, String, String)> = recall["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["order_id"].as_str().unwrap().to_string(),
                o["action"].as_str().unwrap().to_string(),
                o["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut expected = vec![
        (
            p.reserved_order.clone(),
            "backordered".to_string(),
            "backordered".to_string(),
        ),
        (
            p.packed[2].0.clone(),
            "picked".to_string(),
            "picked".to_string(),
        ),
    ];
    expected.sort();
    assert_eq!(orders, expected, "{recall}");
    // Every parcel of the lot, by carrier and status; the third stopped.
    let groups: Vec<ParcelGroup> = recall["parcels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["carrier_code"].as_str().unwrap().to_string(),
                g["status"].as_str().unwrap().to_string(),
                g["units"].as_i64().unwrap(),
                g["parcels"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| {
                        (
                            p["sscc"].as_str().unwrap().to_string(),
                            p["stopped"].as_bool().unwrap(),
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            (
                "SF".to_string(),
                "handed_over".to_string(),
                5,
                vec![
                    (p.packed[0].1.clone(), false),
                    (p.packed[1].1.clone(), false)
                ]
            ),
            (
                "SF".to_string(),
                "removed".to_string(),
                4,
                vec![(p.packed[2].1.clone(), true)]
            ),
        ],
        "{recall}"
    );
    let manifest = app.text(&format!(
        "SELECT COALESCE(manifest_id, '') AS v FROM parcels WHERE sscc = '{}'",
        p.packed[2].1
    ));
    let on_manifest = app.count(&format!(
        "SELECT COUNT(*) AS n FROM parcels WHERE manifest_id = '{manifest}' AND status = 'packed'"
    ));
    assert_eq!(on_manifest, 0, "no parcel of the lot waits on the manifest");

    // The rest is held: the lot-wide hold, nothing reserved in stock, no
    // unit left the warehouse, the ledger agrees with the stock.
    assert_eq!(lot_units(&app, &p.lot), 95);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM stock_holds WHERE lot_id = '{}' AND released_at IS NULL AND location_id IS NULL",
            p.lot
        )),
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT CAST(COALESCE(SUM(s.reserved), 0) AS BIGINT) AS n FROM stock s \
             JOIN locations l ON l.id = s.location_id WHERE s.lot_id = '{}' AND l.kind = 'storage'",
            p.lot
        )),
        0
    );
    ledger_ok(&app).await;
    // A new order of the SKU cannot take the held lot.
    let late = app
        .post(
            "/api/v1/orders",
            &p.floor.merchant_token,
            order("HONEYSHOP-late", "SF", &[(SKU, 1)]),
        )
        .await
        .ok(201);
    assert_eq!(late["status"], "backordered", "{late}");

    // The stopped order is not packed again while the lot is recalled.
    app.post(
        &format!("/api/v1/orders/{}/parcels", p.packed[2].0),
        staff,
        json!({"weight_g": 900}),
    )
    .await
    .problem(409);

    // The list again, as the merchant, and as CSV.
    let id = recall["id"].as_str().unwrap();
    let again = app
        .get(&format!("/api/v1/recalls/{id}"), &p.floor.merchant_token)
        .await
        .ok(200);
    assert_eq!(again["parcels"], recall["parcels"]);
    let csv = app.get(&format!("/api/v1/recalls/{id}.csv"), staff).await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        lines[0],
        "carrier_code,status,sscc,tracking_no,order_id,external_id,qty,stopped"
    );
    assert_eq!(lines.len(), 4, "{}", csv.text);
    assert!(
        lines[3].starts_with(&format!("SF,removed,{}", p.packed[2].1)),
        "{}",
        csv.text
    );
    assert!(lines[3].ends_with(",4,true"), "{}", csv.text);
    let (_, other_token) = app.merchant_token("TEASHOP").await;
    app.get(&format!("/api/v1/recalls/{id}"), &other_token)
        .await
        .problem(404);
    app.get(&format!("/api/v1/recalls/{id}"), &p.carrier_token)
        .await
        .problem(403);
}

async fn a_recall_can_cancel_the_open_orders(app: TestApp) {
    let p = pipeline(&app, "HONEYSHOP").await;
    let recall = app
        .post(
            &format!("/api/v1/lots/{}/recall", p.lot),
            &p.floor.staff_token,
            json!({"reason": "召回", "open_orders": "cancel"}),
        )
        .await
        .ok(201);
    let open = recall["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["order_id"] == json!(p.reserved_order))
        .cloned()
        .unwrap_or_default();
    assert_eq!(open["action"], "cancelled", "{recall}");
    assert_eq!(open["status"], "cancelled", "{recall}");
    let order = app
        .get(
            &format!("/api/v1/orders/{}", p.reserved_order),
            &p.floor.staff_token,
        )
        .await
        .ok(200);
    assert_eq!(order["status"], "cancelled", "{order}");
    ledger_ok(&app).await;
}
