//! Tokens and roles: the role matrix of every endpoint, foreign objects,
//! hashing, revocation.

use serde_json::{json, Value};

use crate::helpers::{Reply, TestApp};
use crate::on_both_backends;

on_both_backends!(
    every_endpoint_answers_each_role_as_the_matrix_says,
    the_matrix_covers_every_secured_operation,
    the_documented_roles_are_the_role_matrix,
    another_merchants_object_looks_like_a_missing_one,
    another_carriers_object_looks_like_a_missing_one,
    tokens_are_stored_only_as_their_sha256,
    a_revoked_token_is_refused,
    revoking_twice_changes_nothing,
    the_last_admin_token_cannot_be_revoked,
    no_or_malformed_bearer_header_is_401,
    token_role_bindings_are_validated,
    writes_record_the_token_that_made_them,
    token_list_pages_with_a_cursor,
    concurrent_first_starts_create_one_admin_token,
);

/// One endpoint of the matrix: method, path, body, and the roles allowed.
struct Endpoint {
    method: &'static str,
    path: String,
    /// The documented path template, to check the matrix covers the document.
    template: &'static str,
    body: Option<Value>,
    allowed: &'static [&'static str],
    /// The status an allowed role gets.
    success: u16,
}

struct Fixture {
    merchant_id: String,
    carrier_id: String,
    sku_id: String,
    lot_id: String,
    receipt_id: String,
    /// An announced receipt per role, for that role's arrival row: (role, receipt id, line id).
    arrivals: Vec<(&'static str, String, String)>,
    /// A damage hold, for the release row (releasing twice is not an error).
    hold_id: String,
    /// Inspection objects per role, so each allowed role's write succeeds.
    inspecting: Vec<(&'static str, InspectionObjects)>,
    /// An evidence file that an inspection of `lot_id` refers to.
    evidence_sha: String,
    tokens: Vec<(&'static str, String)>,
}

/// Per role: a received lot (to start), an inspection in progress (to
/// finish), a finished one (to correct) and a quarantined lot (to dispose of).
#[derive(Default, Clone)]
struct InspectionObjects {
    received_lot: String,
    in_progress: String,
    in_progress_units: i64,
    finished: String,
    /// The lot of `finished`: accepted, its units in receiving.
    accepted_lot: String,
    quarantined_lot: String,
    /// An order (back-ordered, then reserved by the fixture's putaway), to cancel.
    order_id: String,
}

async fn inspection_objects(app: &TestApp, merchant_id: &str, role: &str) -> InspectionObjects {
    let token = &app.admin_token;
    let receipt = app
        .post(
            "/api/v1/receipts",
            token,
            json!({"merchant_id": merchant_id, "reference": format!("INSP-{role}"),
                   "lines": (0..4).map(|i| json!({"sku_code": "S1", "lot_code": format!("I{i}-{role}"), "expected_qty": 10})).collect::<Vec<_>>()}),
        )
        .await
        .ok(201);
    let counts: Vec<Value> = receipt["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| json!({"line_id": l["id"], "received_qty": 10}))
        .collect();
    let arrived = app
        .post(
            &format!(
                "/api/v1/receipts/{}/arrival",
                receipt["id"].as_str().unwrap()
            ),
            token,
            json!({"lines": counts}),
        )
        .await
        .ok(200);
    let lot = |i: usize| arrived["lots"][i]["id"].as_str().unwrap().to_string();
    let mut started = Vec::new();
    for i in 1..4 {
        started.push(
            app.post(
                &format!("/api/v1/lots/{}/inspections", lot(i)),
                token,
                json!({}),
            )
            .await
            .ok(201),
        );
    }
    for (inspection, defects) in [(&started[1], 0), (&started[2], 10)] {
        app.post(
            &format!("/api/v1/inspections/{}/results", inspection["id"].as_str().unwrap()),
            token,
            json!({"inspected_qty": 10, "findings": [{"check_code": "safety", "defects": defects}]}),
        )
        .await
        .ok(200);
    }
    InspectionObjects {
        received_lot: lot(0),
        in_progress: started[0]["id"].as_str().unwrap().to_string(),
        in_progress_units: started[0]["required_units"].as_i64().unwrap(),
        finished: started[1]["id"].as_str().unwrap().to_string(),
        accepted_lot: lot(2),
        quarantined_lot: lot(3),
        order_id: app
            .post(
                "/api/v1/orders",
                token,
                order_body(merchant_id, &format!("CANCEL-{role}")),
            )
            .await
            .ok(201)["id"]
            .as_str()
            .unwrap()
            .to_string(),
    }
}

/// An order of one unit of SKU `S1` for the merchant.
fn order_body(merchant_id: &str, external_id: &str) -> Value {
    json!({"merchant_id": merchant_id, "channel": "douyin", "external_id": external_id,
           "ship_to": {"name": "Li Lei", "phone": "13800138000", "address": "1 Tea Road",
                       "city": "Hangzhou", "province": "Zhejiang", "postcode": "310000"},
           "lines": [{"sku_code": "S1", "qty": 1}]})
}

/// Announces a receipt of one line of SKU `S1` as admin; returns (receipt id, line id).
async fn announce(app: &TestApp, merchant_id: &str, reference: &str) -> (String, String) {
    let receipt = app
        .post(
            "/api/v1/receipts",
            &app.admin_token,
            json!({"merchant_id": merchant_id, "reference": reference,
                   "lines": [{"sku_code": "S1", "lot_code": reference, "expected_qty": 10}]}),
        )
        .await
        .ok(201);
    (
        receipt["id"].as_str().unwrap().to_string(),
        receipt["lines"][0]["id"].as_str().unwrap().to_string(),
    )
}

async fn fixture(app: &TestApp) -> Fixture {
    let merchant_id = app.merchant("M1").await;
    let carrier_id = app.carrier("C1").await;
    let (_, staff) = app.token("staff", None, None).await;
    let (_, merchant) = app.token("merchant", Some(&merchant_id), None).await;
    let (_, carrier) = app.token("carrier", None, Some(&carrier_id)).await;
    let sku = app
        .post(
            "/api/v1/skus",
            &app.admin_token,
            json!({"merchant_id": merchant_id, "code": "S1", "name": "Sku one"}),
        )
        .await
        .ok(201);
    let (receipt_id, line_id) = announce(app, &merchant_id, "ASN-FIXTURE").await;
    let arrived = app
        .post(
            &format!("/api/v1/receipts/{receipt_id}/arrival"),
            &app.admin_token,
            json!({"lines": [{"line_id": line_id, "received_qty": 10}]}),
        )
        .await
        .ok(200);
    let mut arrivals = Vec::new();
    let mut inspecting = Vec::new();
    for role in ["admin", "staff", "merchant", "carrier"] {
        let (id, line) = announce(app, &merchant_id, &format!("ASN-{role}")).await;
        arrivals.push((role, id, line));
        inspecting.push((role, inspection_objects(app, &merchant_id, role).await));
    }
    let lot_id = arrived["lots"][0]["id"].as_str().unwrap().to_string();
    let evidence = app
        .call_raw(
            "POST",
            "/api/v1/evidence",
            Some(&app.admin_token),
            Some("application/pdf"),
            b"%PDF-1.4 fixture".to_vec(),
        )
        .await
        .ok(201);
    let evidence_sha = evidence["sha256"].as_str().unwrap().to_string();
    app.attach_evidence(&lot_id, &evidence_sha).await;
    // Two bins for the storage rows, and a hold to release.
    for code in ["BIN-MATRIX", "BIN-MATRIX2"] {
        app.post(
            "/api/v1/locations",
            &app.admin_token,
            json!({"code": code, "kind": "storage"}),
        )
        .await
        .ok(201);
    }
    // The carrier's lot (the carrier's own putaway row is refused anyway):
    // its units serve the back-ordered orders first, then one is held.
    let held_lot = inspecting[3].1.accepted_lot.clone();
    app.post(
        &format!("/api/v1/lots/{held_lot}/putaway"),
        &app.admin_token,
        json!({"qty": 10, "location_code": "BIN-MATRIX2"}),
    )
    .await
    .ok(200);
    let held = app
        .post(
            "/api/v1/stock/moves",
            &app.admin_token,
            json!({"lot_id": held_lot, "from_location_code": "BIN-MATRIX2", "to_location_code": "QUAR",
                   "qty": 1, "reason": "torn carton"}),
        )
        .await
        .ok(200);
    Fixture {
        hold_id: held["hold_id"].as_str().unwrap().to_string(),
        evidence_sha,
        sku_id: sku["id"].as_str().unwrap().to_string(),
        lot_id,
        receipt_id,
        arrivals,
        inspecting,
        merchant_id,
        carrier_id,
        tokens: vec![
            ("admin", app.admin_token.clone()),
            ("staff", staff),
            ("merchant", merchant),
            ("carrier", carrier),
        ],
    }
}

/// The matrix. Every secured operation of the OpenAPI document has a row
/// (checked by `the_matrix_covers_every_secured_operation`).
fn matrix(f: &Fixture, role: &str, victim_token_id: &str) -> Vec<Endpoint> {
    let (arrival_receipt, arrival_line) = f
        .arrivals
        .iter()
        .find(|(r, _, _)| *r == role)
        .map(|(_, id, line)| (id.clone(), line.clone()))
        .unwrap_or_default();
    let insp = f
        .inspecting
        .iter()
        .find(|(r, _)| *r == role)
        .map(|(_, objects)| objects.clone())
        .unwrap_or_default();
    vec![
        // Storage rows come first: the correction row below takes the
        // accepted lot back to inspecting.
        Endpoint {
            method: "POST",
            path: format!("/api/v1/lots/{}/putaway", insp.accepted_lot),
            template: "/api/v1/lots/{id}/putaway",
            body: Some(json!({"qty": 2, "location_code": "BIN-MATRIX"})),
            allowed: &["admin", "staff"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/stock/moves".into(),
            template: "/api/v1/stock/moves",
            body: Some(
                json!({"lot_id": insp.accepted_lot, "from_location_code": "BIN-MATRIX",
                              "to_location_code": "BIN-MATRIX2", "qty": 1}),
            ),
            allowed: &["admin", "staff"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/stock/scrap".into(),
            template: "/api/v1/stock/scrap",
            body: Some(
                json!({"lot_id": insp.accepted_lot, "location_code": "BIN-MATRIX",
                       "qty": 1, "reason": "crushed in the bin"}),
            ),
            allowed: &["admin", "staff"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/stock/adjustments".into(),
            template: "/api/v1/stock/adjustments",
            body: Some(
                json!({"lot_id": insp.accepted_lot, "location_code": "BIN-MATRIX",
                              "counted_qty": 1, "reason": "cycle count"}),
            ),
            allowed: &["admin", "staff"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/stock?format=csv".into(),
            template: "/api/v1/stock",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/ledger".into(),
            template: "/api/v1/ledger",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/stock/expiring".into(),
            template: "/api/v1/stock/expiring",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/stock/expiry-run".into(),
            template: "/api/v1/stock/expiry-run",
            body: Some(json!({})),
            allowed: &["admin", "staff"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/holds".into(),
            template: "/api/v1/holds",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/holds".into(),
            template: "/api/v1/holds",
            body: Some(json!({"lot_id": f.lot_id, "reason": "supplier recall check"})),
            allowed: &["admin", "staff"],
            success: 201,
        },
        Endpoint {
            method: "POST",
            path: format!("/api/v1/holds/{}/release", f.hold_id),
            template: "/api/v1/holds/{id}/release",
            body: Some(json!({})),
            allowed: &["admin", "staff"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/admin/ledger-check".into(),
            template: "/api/v1/admin/ledger-check",
            body: None,
            allowed: &["admin"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: format!("/api/v1/lots/{}/inspections", insp.received_lot),
            template: "/api/v1/lots/{id}/inspections",
            body: Some(json!({})),
            allowed: &["admin", "staff"],
            success: 201,
        },
        Endpoint {
            method: "GET",
            path: format!("/api/v1/lots/{}/inspections", f.lot_id),
            template: "/api/v1/lots/{id}/inspections",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: format!("/api/v1/inspections/{}", insp.finished),
            template: "/api/v1/inspections/{id}",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: format!("/api/v1/inspections/{}/results", insp.in_progress),
            template: "/api/v1/inspections/{id}/results",
            body: Some(json!({"inspected_qty": insp.in_progress_units.max(1), "findings": []})),
            allowed: &["admin", "staff"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: format!("/api/v1/inspections/{}/correction", insp.finished),
            template: "/api/v1/inspections/{id}/correction",
            body: Some(json!({})),
            allowed: &["admin", "staff"],
            success: 201,
        },
        Endpoint {
            method: "POST",
            path: format!("/api/v1/lots/{}/disposition", insp.quarantined_lot),
            template: "/api/v1/lots/{id}/disposition",
            body: Some(json!({"action": "scrap"})),
            allowed: &["admin", "staff"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: format!("/api/v1/skus/{}/inspection-switching", f.sku_id),
            template: "/api/v1/skus/{id}/inspection-switching",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/reports/inspections?format=csv".into(),
            template: "/api/v1/reports/inspections",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/reports/inspection-quality".into(),
            template: "/api/v1/reports/inspection-quality",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/orders".into(),
            template: "/api/v1/orders",
            body: Some(order_body(&f.merchant_id, &format!("ONE-{role}"))),
            allowed: &["admin", "staff", "merchant"],
            success: 201,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/orders/bulk".into(),
            template: "/api/v1/orders/bulk",
            body: Some(json!({"orders": [order_body(&f.merchant_id, &format!("BULK-{role}"))]})),
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/orders".into(),
            template: "/api/v1/orders",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: format!("/api/v1/orders/{}", f.inspecting[0].1.order_id),
            template: "/api/v1/orders/{id}",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: format!("/api/v1/orders/{}/cancel", insp.order_id),
            template: "/api/v1/orders/{id}/cancel",
            body: Some(json!({})),
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        // A dry run creates nothing, so every allowed role gets its 200; no
        // batch exists, so an allowed role's GET of one meets the 404.
        Endpoint {
            method: "POST",
            path: "/api/v1/batches".into(),
            template: "/api/v1/batches",
            body: Some(json!({"dry_run": true})),
            allowed: &["admin", "staff"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/batches".into(),
            template: "/api/v1/batches",
            body: None,
            allowed: &["admin", "staff"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/batches/bat_none".into(),
            template: "/api/v1/batches/{id}",
            body: None,
            allowed: &["admin", "staff"],
            success: 404,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/batches/bat_none/picks".into(),
            template: "/api/v1/batches/{id}/picks",
            body: Some(json!({"lines": [{"line_id": "bln_none", "picked_qty": 1}]})),
            allowed: &["admin", "staff"],
            success: 404,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/batches/bat_none/parcels".into(),
            template: "/api/v1/batches/{id}/parcels",
            body: Some(json!({"weight_g": 500})),
            allowed: &["admin", "staff"],
            success: 404,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/batches/bat_none/labels.zpl".into(),
            template: "/api/v1/batches/{id}/labels.zpl",
            body: None,
            allowed: &["admin", "staff"],
            success: 404,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/orders/ord_none/parcels".into(),
            template: "/api/v1/orders/{id}/parcels",
            body: Some(json!({"weight_g": 500})),
            allowed: &["admin", "staff"],
            success: 404,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/parcels/006141410000000012".into(),
            template: "/api/v1/parcels/{sscc}",
            body: None,
            allowed: &["admin", "staff", "merchant", "carrier"],
            success: 404,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/parcels/006141410000000012/label.zpl".into(),
            template: "/api/v1/parcels/{sscc}/label.zpl",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 404,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/parcels/006141410000000012/label.pdf".into(),
            template: "/api/v1/parcels/{sscc}/label.pdf",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 404,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/batches/bat_none/labels.pdf".into(),
            template: "/api/v1/batches/{id}/labels.pdf",
            body: None,
            allowed: &["admin", "staff"],
            success: 404,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/webhooks".into(),
            template: "/api/v1/webhooks",
            body: Some(
                json!({"url": "https://hooks.example.com/depot", "secret": "蜂蜜小铺-webhook-secret", "merchant_id": f.merchant_id}),
            ),
            allowed: &["admin", "staff", "merchant"],
            success: 201,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/webhooks".into(),
            template: "/api/v1/webhooks",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "DELETE",
            path: "/api/v1/webhooks/whk_none".into(),
            template: "/api/v1/webhooks/{id}",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 404,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/webhooks/deliveries".into(),
            template: "/api/v1/webhooks/deliveries",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/manifests".into(),
            template: "/api/v1/manifests",
            body: None,
            allowed: &["admin", "staff", "carrier"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/manifests/man_none".into(),
            template: "/api/v1/manifests/{id}",
            body: None,
            allowed: &["admin", "staff", "carrier"],
            success: 404,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/manifests/man_none.csv".into(),
            template: "/api/v1/manifests/{id}.csv",
            body: None,
            allowed: &["admin", "staff", "carrier"],
            success: 404,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/manifests/man_none/missing".into(),
            template: "/api/v1/manifests/{id}/missing",
            body: None,
            allowed: &["admin", "staff", "carrier"],
            success: 404,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/manifests/man_none/close".into(),
            template: "/api/v1/manifests/{id}/close",
            body: Some(json!({})),
            allowed: &["admin", "staff"],
            success: 404,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/manifests/man_none/handover".into(),
            template: "/api/v1/manifests/{id}/handover",
            body: Some(json!({"sscc": ["006141410000000012"]})),
            allowed: &["admin", "staff", "carrier"],
            success: 404,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/manifests/man_none/parcels/006141410000000012/remove".into(),
            template: "/api/v1/manifests/{id}/parcels/{sscc}/remove",
            body: Some(json!({"reason": "damaged box"})),
            allowed: &["admin", "staff"],
            success: 404,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/parcels/006141410000000012/status".into(),
            template: "/api/v1/parcels/{sscc}/status",
            body: Some(json!({"status": "in_transit"})),
            allowed: &["carrier"],
            success: 404,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/parcels/006141410000000012/share".into(),
            template: "/api/v1/parcels/{sscc}/share",
            body: Some(json!({})),
            allowed: &["admin", "staff", "merchant"],
            success: 404,
        },
        Endpoint {
            method: "DELETE",
            path: "/api/v1/parcels/006141410000000012/share/shr_none".into(),
            template: "/api/v1/parcels/{sscc}/share/{id}",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 404,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/count-tasks".into(),
            template: "/api/v1/count-tasks",
            body: None,
            allowed: &["admin", "staff"],
            success: 200,
        },
        // No returns location is set up in this fixture: a return that may
        // be received meets the floor check, 409.
        Endpoint {
            method: "POST",
            path: "/api/v1/returns".into(),
            template: "/api/v1/returns",
            body: Some(json!({"sscc": "006141410000000012", "reason": "拒收"})),
            allowed: &["admin", "staff"],
            success: 409,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/returns".into(),
            template: "/api/v1/returns",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/returns/ret_none".into(),
            template: "/api/v1/returns/{id}",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 404,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/returns/ret_none/inspection".into(),
            template: "/api/v1/returns/{id}/inspection",
            body: Some(
                json!({"lines": [{"line_id": "rtl_none", "restock_qty": 1, "scrap_qty": 0}]}),
            ),
            allowed: &["admin", "staff"],
            success: 404,
        },
        // Trace and recall: unknown objects, so the allowed roles pass the
        // role check and meet the 404.
        Endpoint {
            method: "GET",
            path: "/api/v1/trace/parcels/006141419999999994".into(),
            template: "/api/v1/trace/parcels/{sscc}",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 404,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/trace/orders/ord_none".into(),
            template: "/api/v1/trace/orders/{id}",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 404,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/trace/lots/lot_none/forward".into(),
            template: "/api/v1/trace/lots/{id}/forward",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 404,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/epcis/events?limit=1".into(),
            template: "/api/v1/epcis/events",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/lots/lot_none/recall".into(),
            template: "/api/v1/lots/{id}/recall",
            body: Some(json!({"reason": "召回", "open_orders": "backorder"})),
            allowed: &["admin", "staff"],
            success: 404,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/recalls/rcl_none".into(),
            template: "/api/v1/recalls/{id}",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 404,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/recalls/rcl_none.csv".into(),
            template: "/api/v1/recalls/{id}.csv",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 404,
        },
        // The log's tamper evidence: the warehouse's own check.
        Endpoint {
            method: "GET",
            path: "/api/v1/trace/verify".into(),
            template: "/api/v1/trace/verify",
            body: None,
            allowed: &["admin"],
            success: 200,
        },
        // Inspection of the SKU is not discontinued, so the admin passes the
        // role check and meets the state check: 409.
        Endpoint {
            method: "POST",
            path: format!("/api/v1/skus/{}/inspection-switching/resume", f.sku_id),
            template: "/api/v1/skus/{id}/inspection-switching/resume",
            body: Some(json!({"reason": "supplier fixed the sealing line"})),
            allowed: &["admin"],
            success: 409,
        },
        // Staff approve reduced inspection (ISO 2859-1 clause 9.3.3.1); the
        // merchant, whose goods are inspected, cannot.
        Endpoint {
            method: "POST",
            path: format!(
                "/api/v1/skus/{}/inspection-switching/reduced-approval",
                f.sku_id
            ),
            template: "/api/v1/skus/{id}/inspection-switching/reduced-approval",
            body: Some(json!({"enabled": true, "reason": "产线稳定，质量部批准"})),
            allowed: &["admin", "staff"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/sampling-plan?lot_size=1000&aql=2.5".into(),
            template: "/api/v1/sampling-plan",
            body: None,
            allowed: &["admin", "staff", "merchant", "carrier"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/skus".into(),
            template: "/api/v1/skus",
            body: Some(
                json!({"merchant_id": f.merchant_id, "code": format!("NEW-{role}"), "name": "New"}),
            ),
            allowed: &["admin", "staff", "merchant"],
            success: 201,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/skus".into(),
            template: "/api/v1/skus",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: format!("/api/v1/skus/{}", f.sku_id),
            template: "/api/v1/skus/{id}",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/locations".into(),
            template: "/api/v1/locations",
            body: Some(json!({"code": format!("BIN-{role}"), "kind": "storage"})),
            allowed: &["admin"],
            success: 201,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/locations".into(),
            template: "/api/v1/locations",
            body: None,
            allowed: &["admin", "staff"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/receipts".into(),
            template: "/api/v1/receipts",
            body: Some(
                json!({"merchant_id": f.merchant_id, "reference": format!("NEW-{role}"),
                              "lines": [{"sku_code": "S1", "lot_code": "L", "expected_qty": 1}]}),
            ),
            allowed: &["admin", "staff", "merchant"],
            success: 201,
        },
        Endpoint {
            method: "GET",
            path: format!("/api/v1/receipts/{}", f.receipt_id),
            template: "/api/v1/receipts/{id}",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: format!("/api/v1/receipts/{arrival_receipt}/arrival"),
            template: "/api/v1/receipts/{id}/arrival",
            body: Some(json!({"lines": [{"line_id": arrival_line, "received_qty": 10}]})),
            allowed: &["admin", "staff"],
            success: 200,
        },
        // After the arrival row: the role's receipt, closed once.
        Endpoint {
            method: "POST",
            path: format!("/api/v1/receipts/{arrival_receipt}/close"),
            template: "/api/v1/receipts/{id}/close",
            body: None,
            allowed: &["admin", "staff"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/receipts?reference=ASN-FIXTURE".into(),
            template: "/api/v1/receipts",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/lots".into(),
            template: "/api/v1/lots",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: format!("/api/v1/lots/{}", f.lot_id),
            template: "/api/v1/lots/{id}",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/tokens".into(),
            template: "/api/v1/tokens",
            body: Some(json!({"role": "staff", "label": format!("made by {role}")})),
            allowed: &["admin"],
            success: 201,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/tokens".into(),
            template: "/api/v1/tokens",
            body: None,
            allowed: &["admin"],
            success: 200,
        },
        Endpoint {
            method: "DELETE",
            path: format!("/api/v1/tokens/{victim_token_id}"),
            template: "/api/v1/tokens/{id}",
            body: None,
            allowed: &["admin"],
            success: 204,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/merchants".into(),
            template: "/api/v1/merchants",
            body: Some(json!({"code": format!("new-{role}"), "name": "New"})),
            allowed: &["admin"],
            success: 201,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/merchants".into(),
            template: "/api/v1/merchants",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: format!("/api/v1/merchants/{}", f.merchant_id),
            template: "/api/v1/merchants/{id}",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/carriers".into(),
            template: "/api/v1/carriers",
            body: Some(json!({"code": format!("new-{role}"), "name": "New"})),
            allowed: &["admin"],
            success: 201,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/carriers".into(),
            template: "/api/v1/carriers",
            body: None,
            allowed: &["admin", "staff", "merchant", "carrier"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: format!("/api/v1/carriers/{}", f.carrier_id),
            template: "/api/v1/carriers/{id}",
            body: None,
            allowed: &["admin", "staff", "merchant", "carrier"],
            success: 200,
        },
        Endpoint {
            method: "POST",
            path: "/api/v1/inspection-templates".into(),
            template: "/api/v1/inspection-templates",
            body: Some(json!({"category": format!("cat-{role}"), "checks": [
                {"code": "seal", "description": "Seal intact", "defect_class": "critical"}]})),
            allowed: &["admin", "staff"],
            success: 201,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/inspection-templates".into(),
            template: "/api/v1/inspection-templates",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/inspection-templates/tpl_default".into(),
            template: "/api/v1/inspection-templates/{id}",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: format!("/api/v1/evidence/{}", f.evidence_sha),
            template: "/api/v1/evidence/{sha256}",
            body: None,
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "PATCH",
            path: format!("/api/v1/skus/{}", f.sku_id),
            template: "/api/v1/skus/{id}",
            body: Some(json!({"name": format!("改名 by {role}")})),
            allowed: &["admin", "staff", "merchant"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/locations/loc_receiving".into(),
            template: "/api/v1/locations/{id}",
            body: None,
            allowed: &["admin", "staff"],
            success: 200,
        },
        Endpoint {
            method: "PATCH",
            path: "/api/v1/locations/loc_quarantine".into(),
            template: "/api/v1/locations/{id}",
            body: Some(json!({"zone": format!("zone-{role}")})),
            allowed: &["admin"],
            success: 200,
        },
        Endpoint {
            method: "PATCH",
            path: format!("/api/v1/merchants/{}", f.merchant_id),
            template: "/api/v1/merchants/{id}",
            body: Some(json!({"name": format!("Renamed by {role}")})),
            allowed: &["admin"],
            success: 200,
        },
        Endpoint {
            method: "PATCH",
            path: format!("/api/v1/carriers/{}", f.carrier_id),
            template: "/api/v1/carriers/{id}",
            body: Some(json!({"name": format!("Renamed by {role}")})),
            allowed: &["admin"],
            success: 200,
        },
        Endpoint {
            method: "GET",
            path: "/api/v1/master-data-changes?entity=sku".into(),
            template: "/api/v1/master-data-changes",
            body: None,
            allowed: &["admin", "staff"],
            success: 200,
        },
    ]
}

/// Rows whose body is not JSON: the endpoint (with `body: None`), and the
/// content type and bytes to send.
fn raw_matrix(role: &str) -> Vec<(Endpoint, &'static str, Vec<u8>)> {
    vec![(
        Endpoint {
            method: "POST",
            path: "/api/v1/evidence".into(),
            template: "/api/v1/evidence",
            body: None,
            allowed: &["admin", "staff"],
            success: 201,
        },
        "application/pdf",
        // A different file per role, so that each allowed upload is a new one.
        format!("%PDF-1.4 uploaded by {role}").into_bytes(),
    )]
}

/// Asserts what `role` got from `endpoint` (`reply`), and that the same
/// request without a token (`anonymous`) got 401.
fn check_access(role: &str, endpoint: &Endpoint, reply: Reply, anonymous: Reply) {
    let what = format!("{role} {} {}", endpoint.method, endpoint.path);
    if endpoint.allowed.contains(&role) {
        assert_eq!(reply.status, endpoint.success, "{what}: {}", reply.text);
    } else {
        let problem = reply.problem(403);
        assert_eq!(problem["type"], "/problems/forbidden", "{what}");
    }
    anonymous.problem(401);
    assert!(
        anonymous.headers.contains_key("www-authenticate"),
        "{what}: 401 names the Bearer scheme"
    );
}

async fn every_endpoint_answers_each_role_as_the_matrix_says(app: TestApp) {
    let f = fixture(&app).await;
    for (role, token) in &f.tokens {
        // A throwaway token for the DELETE row, so no caller revokes itself.
        let (victim, _) = app.token("staff", None, None).await;
        for endpoint in matrix(&f, role, &victim) {
            let reply = app
                .call(
                    endpoint.method,
                    &endpoint.path,
                    Some(token),
                    endpoint.body.as_ref(),
                )
                .await;
            // Without a token, every row is 401.
            let anonymous = app
                .call(
                    endpoint.method,
                    &endpoint.path,
                    None,
                    endpoint.body.as_ref(),
                )
                .await;
            check_access(role, &endpoint, reply, anonymous);
        }
        for (endpoint, content_type, bytes) in raw_matrix(role) {
            let (method, path) = (endpoint.method, endpoint.path.as_str());
            let reply = app
                .call_raw(method, path, Some(token), Some(content_type), bytes.clone())
                .await;
            let anonymous = app
                .call_raw(method, path, None, Some(content_type), bytes)
                .await;
            check_access(role, &endpoint, reply, anonymous);
        }
    }
}

async fn the_matrix_covers_every_secured_operation(app: TestApp) {
    let f = fixture(&app).await;
    let doc = app
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .ok(200);
    let mut rows = matrix(&f, "admin", "tok_x");
    rows.extend(
        raw_matrix("admin")
            .into_iter()
            .map(|(endpoint, _, _)| endpoint),
    );
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            if op.get("security").is_none() {
                continue;
            }
            let method = method.to_uppercase();
            if !rows
                .iter()
                .any(|r| r.template == path && r.method == method)
            {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "endpoints without a role-matrix row: {missing:?}"
    );
}

async fn another_merchants_object_looks_like_a_missing_one(app: TestApp) {
    let mine = app.merchant("MINE").await;
    let theirs = app.merchant("THEIRS").await;
    let (_, token) = app.token("merchant", Some(&mine), None).await;

    app.get(&format!("/api/v1/merchants/{mine}"), &token)
        .await
        .ok(200);
    let foreign = app
        .get(&format!("/api/v1/merchants/{theirs}"), &token)
        .await
        .problem(404);
    let missing = app
        .get("/api/v1/merchants/mer_DOESNOTEXIST", &token)
        .await
        .problem(404);
    assert_eq!(foreign["type"], missing["type"]);
    assert_eq!(foreign["title"], missing["title"]);

    let list = app.get("/api/v1/merchants", &token).await.ok(200);
    let ids: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(mine)], "a merchant lists only itself");
}

async fn another_carriers_object_looks_like_a_missing_one(app: TestApp) {
    let mine = app.carrier("SF").await;
    let theirs = app.carrier("ZTO").await;
    let (_, token) = app.token("carrier", None, Some(&mine)).await;

    app.get(&format!("/api/v1/carriers/{mine}"), &token)
        .await
        .ok(200);
    app.get(&format!("/api/v1/carriers/{theirs}"), &token)
        .await
        .problem(404);
    let list = app.get("/api/v1/carriers", &token).await.ok(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // A carrier has no business with merchants at all.
    app.get("/api/v1/merchants", &token).await.problem(403);
}

async fn tokens_are_stored_only_as_their_sha256(app: TestApp) {
    let (id, secret) = app.token("staff", None, None).await;
    let body = &secret["dpt_".len()..];
    let digest = depot::domain::access::hash_token(&secret);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM api_tokens WHERE id = '{id}' AND token_hash = '{digest}'"
        )),
        1
    );
    let leaks = app.count(&format!(
        "SELECT COUNT(*) AS n FROM api_tokens WHERE token_hash LIKE '%{body}%' OR id LIKE '%{body}%' \
         OR COALESCE(label, '') LIKE '%{body}%'"
    ));
    assert_eq!(leaks, 0, "the database holds no usable token");

    let list = app.get("/api/v1/tokens", &app.admin_token).await.ok(200);
    assert!(
        !list.to_string().contains(body),
        "the list never shows a secret"
    );
    assert!(!list.to_string().contains(&digest), "nor its hash");
    // The token works.
    app.get("/api/v1/merchants", &secret).await.ok(200);
}

async fn a_revoked_token_is_refused(app: TestApp) {
    let (id, secret) = app.token("staff", None, None).await;
    app.get("/api/v1/merchants", &secret).await.ok(200);
    let reply = app
        .call(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            Some(&app.admin_token),
            None,
        )
        .await;
    assert_eq!(reply.status, 204);
    let problem = app.get("/api/v1/merchants", &secret).await.problem(401);
    assert_eq!(problem["type"], "/problems/unauthenticated");

    let list = app
        .get("/api/v1/tokens?limit=500", &app.admin_token)
        .await
        .ok(200);
    let row = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .cloned()
        .unwrap();
    assert!(row["revoked_at"].is_string());
    assert_eq!(
        row["revoked_by"], list["items"][0]["id"],
        "the first admin token revoked it"
    );
}

async fn revoking_twice_changes_nothing(app: TestApp) {
    let (id, _) = app.token("staff", None, None).await;
    let path = format!("/api/v1/tokens/{id}");
    let revoked = |list: Value| -> Value {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap()["revoked_at"]
            .clone()
    };
    assert_eq!(
        app.call("DELETE", &path, Some(&app.admin_token), None)
            .await
            .status,
        204
    );
    let first = revoked(app.get("/api/v1/tokens", &app.admin_token).await.ok(200));
    assert!(first.is_string());
    assert_eq!(
        app.call("DELETE", &path, Some(&app.admin_token), None)
            .await
            .status,
        204
    );
    assert_eq!(
        revoked(app.get("/api/v1/tokens", &app.admin_token).await.ok(200)),
        first
    );
    app.call(
        "DELETE",
        "/api/v1/tokens/tok_NOPE",
        Some(&app.admin_token),
        None,
    )
    .await
    .problem(404);
}

async fn no_or_malformed_bearer_header_is_401(app: TestApp) {
    app.call("GET", "/api/v1/merchants", None, None)
        .await
        .problem(401);
    app.get("/api/v1/merchants", "dpt_0000").await.problem(401);
    // Basic auth is not a bearer token, even with a valid secret.
    let status = awc::Client::default()
        .get(app.url("/api/v1/merchants"))
        .insert_header(("Authorization", format!("Basic {}", app.admin_token)))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 401);
}

async fn token_role_bindings_are_validated(app: TestApp) {
    let merchant = app.merchant("M").await;
    let before = app.count("SELECT COUNT(*) AS n FROM api_tokens");
    let cases = [
        (json!({"role": "merchant"}), "merchant_id"),
        (json!({"role": "carrier"}), "carrier_id"),
        (
            json!({"role": "staff", "merchant_id": merchant}),
            "merchant_id",
        ),
        (
            json!({"role": "merchant", "merchant_id": "mer_NOPE"}),
            "merchant_id",
        ),
        (
            json!({"role": "carrier", "carrier_id": "car_NOPE"}),
            "carrier_id",
        ),
        (json!({"role": "root"}), "role"),
        (json!({"role": "staff", "label": ""}), "label"),
    ];
    for (body, field) in cases {
        let problem = app
            .post("/api/v1/tokens", &app.admin_token, body.clone())
            .await
            .problem(422);
        let fields: Vec<_> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].clone())
            .collect();
        assert!(
            fields.contains(&json!(field)),
            "{body} should name {field}: {problem}"
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM api_tokens"),
        before,
        "nothing was written"
    );
}

async fn writes_record_the_token_that_made_them(app: TestApp) {
    let first_admin =
        app.get("/api/v1/tokens", &app.admin_token).await.ok(200)["items"][0]["id"].clone();
    let merchant = app
        .post(
            "/api/v1/merchants",
            &app.admin_token,
            json!({"code": "AUD", "name": "Audit"}),
        )
        .await
        .ok(201);
    assert_eq!(merchant["created_by"], first_admin);
    let (id, admin2) = app.token("admin", None, None).await;
    let carrier = app
        .post(
            "/api/v1/carriers",
            &admin2,
            json!({"code": "JD", "name": "JD"}),
        )
        .await
        .ok(201);
    assert_eq!(carrier["created_by"], json!(id));
}

async fn token_list_pages_with_a_cursor(app: TestApp) {
    for _ in 0..4 {
        app.token("staff", None, None).await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/tokens?limit=2".to_string();
    loop {
        let page = app.get(&path, &app.admin_token).await.ok(200);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/tokens?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        seen.len(),
        5,
        "the first admin token and four more, each once"
    );
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen);
}

async fn concurrent_first_starts_create_one_admin_token(app: TestApp) {
    let database = crate::helpers::TestDatabase::new(app.backend).expect("a second database");
    depot::db::migrate(&database.url).expect("migrated");
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let url = database.url.clone();
            std::thread::spawn(move || {
                let pool = depot::db::connect(&url, 1).expect("a pool");
                depot::startup::bootstrap_admin(&pool).expect("bootstrap runs")
            })
        })
        .collect();
    let created = threads
        .into_iter()
        .map(|t| t.join().expect("no panic"))
        .filter(Option::is_some)
        .count();
    assert_eq!(
        created, 1,
        "exactly one start creates the first admin token"
    );
}

async fn the_last_admin_token_cannot_be_revoked(app: TestApp) {
    let tokens = app.get("/api/v1/tokens", &app.admin_token).await.ok(200);
    let own = tokens["items"][0]["id"].as_str().unwrap().to_string();

    let problem = app
        .call(
            "DELETE",
            &format!("/api/v1/tokens/{own}"),
            Some(&app.admin_token),
            None,
        )
        .await
        .problem(409);

    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("last active admin"));
    app.get("/api/v1/tokens", &app.admin_token).await.ok(200);
    // With a second admin token, the first can go, and then the second is the last.
    let (second_id, second) = app.token("admin", None, None).await;
    let reply = app
        .call(
            "DELETE",
            &format!("/api/v1/tokens/{own}"),
            Some(&second),
            None,
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    app.call(
        "DELETE",
        &format!("/api/v1/tokens/{second_id}"),
        Some(&second),
        None,
    )
    .await
    .problem(409);
}

/// docs/API.md tells partners which roles may call each endpoint; its table
/// must be the role matrix above, row for row.
async fn the_documented_roles_are_the_role_matrix(app: TestApp) {
    let f = fixture(&app).await;
    let mut rows = matrix(&f, "admin", "tok_x");
    rows.extend(
        raw_matrix("admin")
            .into_iter()
            .map(|(endpoint, _, _)| endpoint),
    );
    let expected: std::collections::BTreeSet<String> = rows
        .iter()
        .map(|r| {
            format!(
                "| `{}` | `{}` | {} |",
                r.template.trim_start_matches("/api/v1"),
                r.method,
                r.allowed.join(", ")
            )
        })
        .collect();
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/API.md"))
        .expect("docs/API.md");
    let documented: std::collections::BTreeSet<String> = doc
        .lines()
        .filter(|l| l.starts_with("| `/"))
        .map(str::to_string)
        .collect();
    let table = expected.iter().cloned().collect::<Vec<_>>().join("\n");
    assert_eq!(
        documented, expected,
        "docs/API.md's role table differs from the role matrix; the matrix's table is:\n{table}"
    );
}
