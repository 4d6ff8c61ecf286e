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
);

const SKU: &str = "蜂蜜-500G";

/// A lot of [`SKU`] received (ASN-蜂蜜), inspected with a PDF as evidence,
/// put away in A-01; three orders of it picked and packed into parcels of
/// carrier SF, the first two handed over; a fourth order only reserved.
struct Pipeline {
    floor: Floor,
    lot: String,
    sha256: String,
    /// (order id, SSCC) of the packed orders, in order.
    packed: Vec<(String, String)>,
    reserved_order: String,
    carrier_token: String,
}

async fn pipeline(app: &TestApp, merchant_code: &str) -> Pipeline {
    let floor = Floor::new(app, merchant_code, "TEA").await;
    let staff = floor.staff_token.clone();
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
    let receipt = app
        .post(
            "/api/v1/receipts",
            &floor.merchant_token,
            json!({"reference": "ASN-蜂蜜", "lines": [
                {"sku_code": SKU, "lot_code": "L-蜂蜜-01", "expected_qty": 100, "expiry_date": "2027-09-01"}]}),
        )
        .await
        .ok(201);
    let arrival = app
        .post(
            &format!("/api/v1/receipts/{}/arrival", receipt["id"].as_str().unwrap()),
            &staff,
            json!({"lines": [{"line_id": receipt["lines"][0]["id"], "received_qty": 100}]}),
        )
        .await
        .ok(200);
    let lot = arrival["lots"][0]["id"].as_str().unwrap().to_string();
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
        packed.push((order_id.clone(), parcel["sscc"].as_str().unwrap().to_string()));
    }
    app.post(&format!("/api/v1/manifests/{manifest}/close"), &staff, json!({}))
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
    assert_eq!(handed["handed_over"].as_array().unwrap().len(), 2, "{handed}");
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
        .get(&format!("/api/v1/trace/parcels/{sscc}"), &p.floor.merchant_token)
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
    assert_eq!(steps.iter().filter(|s| *s == "packing").count(), 1, "{steps:?}");

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
    assert_eq!(open["lots"][0]["inspections"][0]["evidence"][0]["sha256"], json!(p.sha256));

    // Forward, from the lot: every parcel, by page.
    let first = app
        .get(&format!("/api/v1/trace/lots/{}/forward?limit=2", p.lot), staff)
        .await
        .ok(200);
    let cursor = first["next_cursor"].as_str().expect("a second page").to_string();
    let second = app
        .get(
            &format!("/api/v1/trace/lots/{}/forward?limit=2&cursor={cursor}", p.lot),
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
        [("handed_over".to_string(), 2, 5), ("packed".to_string(), 1, 4)],
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
    let other = app.merchant("TEASHOP").await;
    let (_, other_token) = app.token("merchant", Some(&other), None).await;
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
