//! Packing: picked orders into parcels with GS1 SSCCs on their carrier's
//! open manifest, one order at a time or a whole hot-SKU batch at once; the
//! units move packing -> dispatch in the ledger and an AggregationEvent
//! records each parcel; bad requests change nothing.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use crate::batches::{live_session, Session};
use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    a_live_session_is_batched_picked_and_packed_with_valid_unique_ssccs,
    an_order_packs_in_parts_and_is_packed_with_its_last_unit,
    bad_packing_requests_are_refused_and_change_nothing,
    parcels_are_seen_by_staff_their_merchant_and_their_carrier_only,
    two_servers_packing_at_once_give_unique_ssccs_and_one_open_manifest_per_carrier,
    the_pdf_labels_of_a_packed_batch_scan_as_their_ssccs_in_pick_order,
);

/// The GS1 check digit (General Specifications §7.9.1), computed here
/// independently of depot's own.
fn gs1_check_digit(body: &str) -> u32 {
    let sum: u32 = body
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| c.to_digit(10).unwrap() * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    (10 - sum % 10) % 10
}

fn assert_valid_sscc(sscc: &str) {
    assert_eq!(sscc.len(), 18, "{sscc}");
    assert!(sscc.bytes().all(|b| b.is_ascii_digit()), "{sscc}");
    assert_eq!(
        &sscc[1..8],
        "0614141",
        "the configured (example) prefix: {sscc}"
    );
    let check = sscc[17..].parse::<u32>().unwrap();
    assert_eq!(gs1_check_digit(&sscc[..17]), check, "{sscc}");
}

pub(crate) async fn floor_locations(app: &TestApp) {
    for (code, kind) in [("打包台-1", "packing"), ("发货区-1", "dispatch")] {
        app.post(
            "/api/v1/locations",
            &app.admin_token,
            json!({"code": code, "kind": kind}),
        )
        .await
        .ok(201);
    }
}

/// Builds the session's batches and picks every line in full: (batch id,
/// strategy, carrier code) of each.
pub(crate) async fn batched_and_picked(
    app: &TestApp,
    s: &Session,
) -> Vec<(String, String, String)> {
    let staff = &s.floor.staff_token;
    let built = app.post("/api/v1/batches", staff, json!({})).await.ok(201);
    let mut out = Vec::new();
    for b in built["batches"].as_array().unwrap() {
        let id = b["id"].as_str().unwrap().to_string();
        let batch = app
            .get(&format!("/api/v1/batches/{id}"), staff)
            .await
            .ok(200);
        let lines: Vec<Value> = batch["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| json!({"line_id": l["id"], "picked_qty": l["qty"]}))
            .collect();
        let picked = app
            .post(
                &format!("/api/v1/batches/{id}/picks"),
                staff,
                json!({ "lines": lines }),
            )
            .await
            .ok(200);
        assert_eq!(picked["status"], "picked", "{picked}");
        out.push((
            id,
            b["strategy"].as_str().unwrap().to_string(),
            b["carrier_code"].as_str().unwrap().to_string(),
        ));
    }
    out
}

pub(crate) async fn ledger_ok(app: &TestApp) {
    let check = app
        .get("/api/v1/admin/ledger-check", &app.admin_token)
        .await
        .ok(200);
    assert_eq!(check["ok"], true, "{check}");
}

pub(crate) fn at(app: &TestApp, code: &str, column: &str) -> i64 {
    app.count(&format!(
        "SELECT CAST(COALESCE(SUM(s.{column}), 0) AS BIGINT) AS n FROM stock s \
         JOIN locations l ON l.id = s.location_id WHERE l.code = '{code}'"
    ))
}

fn orders_of(batch: &Value) -> Vec<String> {
    batch["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_string())
        .collect()
}

async fn a_live_session_is_batched_picked_and_packed_with_valid_unique_ssccs(app: TestApp) {
    let s = live_session(&app).await;
    floor_locations(&app).await;
    let staff = s.floor.staff_token.clone();
    let batches = batched_and_picked(&app, &s).await;
    let units_picked = at(&app, "打包台-1", "on_hand");
    assert!(units_picked > 0);

    let mut ssccs: Vec<String> = Vec::new();
    let mut manifest_of: HashMap<String, String> = HashMap::new();
    for (id, strategy, carrier) in &batches {
        let batch = app
            .get(&format!("/api/v1/batches/{id}"), &staff)
            .await
            .ok(200);
        if strategy == "cluster" {
            // Different orders: one by one.
            for order in orders_of(&batch) {
                let parcel = app
                    .post(
                        &format!("/api/v1/orders/{order}/parcels"),
                        &staff,
                        json!({"weight_g": 850}),
                    )
                    .await
                    .ok(201);
                assert_eq!(parcel["order_status"], "packed", "{parcel}");
                assert_eq!(parcel["carrier_code"], carrier.as_str());
                ssccs.push(parcel["sscc"].as_str().unwrap().to_string());
                let manifest = parcel["manifest_id"].as_str().unwrap().to_string();
                assert_eq!(
                    manifest_of
                        .entry(carrier.clone())
                        .or_insert(manifest.clone()),
                    &manifest
                );
            }
        } else {
            let packed = app
                .post(
                    &format!("/api/v1/batches/{id}/parcels"),
                    &staff,
                    json!({"weight_g": 520}),
                )
                .await
                .ok(201);
            let parcels = packed["parcels"].as_array().unwrap();
            let mut expected = orders_of(&batch);
            expected.sort();
            let got: Vec<String> = parcels
                .iter()
                .map(|p| p["order_id"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(got, expected, "one parcel per order, in order-id order");
            for p in parcels {
                ssccs.push(p["sscc"].as_str().unwrap().to_string());
                let manifest = p["manifest_id"].as_str().unwrap().to_string();
                assert_eq!(
                    manifest_of
                        .entry(carrier.clone())
                        .or_insert(manifest.clone()),
                    &manifest
                );
                assert!(p["tracking_no"]
                    .as_str()
                    .unwrap()
                    .starts_with(carrier.as_str()));
            }
            // The whole stack of labels, in pick order.
            let zpl = app
                .get(&format!("/api/v1/batches/{id}/labels.zpl"), &staff)
                .await;
            assert_eq!(zpl.status, 200);
            let text = zpl.text.clone();
            let positions: Vec<usize> = parcels
                .iter()
                .map(|p| {
                    text.find(&format!(">;>800{}", p["sscc"].as_str().unwrap()))
                        .expect("every parcel's barcode in the stack")
                })
                .collect();
            assert!(positions.windows(2).all(|w| w[0] < w[1]), "pick order");
            assert_eq!(text.matches("^XA").count(), parcels.len());
        }
    }
    // Every reserved order of the session is packed, once.
    assert_eq!(ssccs.len(), s.reserved.len());
    for order in &s.reserved {
        let o = app
            .get(&format!("/api/v1/orders/{order}"), &staff)
            .await
            .ok(200);
        assert_eq!(o["status"], "packed", "{o}");
    }
    for sscc in &ssccs {
        assert_valid_sscc(sscc);
    }
    let unique: HashSet<&String> = ssccs.iter().collect();
    assert_eq!(unique.len(), ssccs.len(), "SSCCs are unique");
    // One open manifest per carrier, holding its parcels.
    assert_eq!(manifest_of.len(), 2);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM manifests WHERE status = 'open'"),
        2
    );
    // The units left packing for dispatch, still promised to their orders.
    assert_eq!(at(&app, "打包台-1", "on_hand"), 0);
    assert_eq!(at(&app, "发货区-1", "on_hand"), units_picked);
    assert_eq!(at(&app, "发货区-1", "reserved"), units_picked);
    assert_eq!(
        app.count("SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) AS n FROM ledger_entries WHERE kind = 'pack' AND delta > 0"),
        units_picked
    );
    // What went in each parcel: an AggregationEvent ADD with the SSCC's EPC URI as parent.
    assert_eq!(
        app.count(
            "SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) AS n FROM trace_events \
             WHERE event_type = 'AggregationEvent' AND action = 'ADD' AND biz_step = 'packing' \
             AND parent_id LIKE 'urn:epc:id:sscc:0614141.%'"
        ),
        units_picked
    );
    let parent = app.text(&format!(
        "SELECT parent_id AS v FROM trace_events WHERE event_type = 'AggregationEvent' \
         AND parent_id LIKE '%{}'",
        &ssccs[0][8..17]
    ));
    assert_eq!(
        parent,
        format!(
            "urn:epc:id:sscc:0614141.{}{}",
            &ssccs[0][..1],
            &ssccs[0][8..17]
        )
    );
    ledger_ok(&app).await;

    // A parcel shows its order reference and history; its label carries
    // the barcode and the grouped line.
    let parcel = app
        .get(&format!("/api/v1/parcels/{}", ssccs[0]), &staff)
        .await
        .ok(200);
    assert_eq!(parcel["status"], "packed");
    assert_eq!(parcel["status_history"][0]["status"], "packed");
    assert!(parcel["order_reference"].as_str().unwrap().len() > 1);
    let label = app
        .get(&format!("/api/v1/parcels/{}/label.zpl", ssccs[0]), &staff)
        .await;
    assert_eq!(label.status, 200);
    let text = label.text.clone();
    assert!(text.contains(&format!(">;>800{}", ssccs[0])), "{text}");
    assert!(text.contains(parcel["sscc_human_readable"].as_str().unwrap()));
    assert!(text.contains("杭州"), "the Chinese address is on the label");
}

/// Picks the whole session, answering the mixed SF order M-1 (HOT×1, JAR×2).
async fn picked_mixed_order(app: &TestApp) -> (Session, String) {
    let s = live_session(app).await;
    floor_locations(app).await;
    batched_and_picked(app, &s).await;
    let m1 = s.reserved[6].clone();
    let order = app
        .get(&format!("/api/v1/orders/{m1}"), &s.floor.staff_token)
        .await
        .ok(200);
    assert_eq!(order["external_id"], "M-1", "{order}");
    assert_eq!(order["status"], "picked");
    (s, m1)
}

async fn an_order_packs_in_parts_and_is_packed_with_its_last_unit(app: TestApp) {
    let (s, m1) = picked_mixed_order(&app).await;
    let staff = &s.floor.staff_token;
    let first = app
        .post(
            &format!("/api/v1/orders/{m1}/parcels"),
            staff,
            json!({"weight_g": 1200, "tracking_no": "SF1234567890", "lines": [{"sku_code": "JAR", "qty": 2}]}),
        )
        .await
        .ok(201);
    assert_eq!(first["order_status"], "picked", "{first}");
    assert_eq!(first["tracking_no"], "SF1234567890");
    assert_eq!(first["lines"][0]["sku_code"], "JAR");
    assert_eq!(first["lines"][0]["qty"], 2);
    // The same tracking number twice for one carrier is a 409 naming it.
    let clash = app
        .post(
            &format!("/api/v1/orders/{m1}/parcels"),
            staff,
            json!({"weight_g": 300, "tracking_no": "SF1234567890"}),
        )
        .await
        .problem(409);
    assert!(clash.to_string().contains("tracking_no"), "{clash}");
    let second = app
        .post(
            &format!("/api/v1/orders/{m1}/parcels"),
            staff,
            json!({"weight_g": 300}),
        )
        .await
        .ok(201);
    assert_eq!(second["order_status"], "packed", "{second}");
    assert_eq!(second["lines"][0]["sku_code"], "HOT");
    assert_ne!(first["sscc"], second["sscc"]);
    assert_eq!(first["manifest_id"], second["manifest_id"]);
    let parcels = app.count(&format!(
        "SELECT COUNT(*) AS n FROM parcels WHERE order_id = '{m1}'"
    ));
    assert_eq!(parcels, 2);
    // Nothing is left: a third parcel is a 409.
    app.post(
        &format!("/api/v1/orders/{m1}/parcels"),
        staff,
        json!({"weight_g": 300}),
    )
    .await
    .problem(409);
    ledger_ok(&app).await;
}

fn footprint(app: &TestApp) -> (i64, i64, i64, i64, i64) {
    (
        app.count("SELECT COUNT(*) AS n FROM parcels"),
        app.count("SELECT COUNT(*) AS n FROM ledger_entries"),
        app.count("SELECT COUNT(*) AS n FROM trace_events"),
        app.count("SELECT COUNT(*) AS n FROM manifests"),
        app.count("SELECT COUNT(*) AS n FROM reservations"),
    )
}

async fn bad_packing_requests_are_refused_and_change_nothing(app: TestApp) {
    let s = live_session(&app).await;
    floor_locations(&app).await;
    let staff = s.floor.staff_token.clone();
    // Before picking: an unpicked order cannot be packed.
    let before = footprint(&app);
    let unpicked = &s.reserved[0];
    let problem = app
        .post(
            &format!("/api/v1/orders/{unpicked}/parcels"),
            &staff,
            json!({"weight_g": 500}),
        )
        .await
        .problem(409);
    assert!(
        problem["detail"].as_str().unwrap().contains("picked"),
        "{problem}"
    );
    assert_eq!(footprint(&app), before);

    let batches = batched_and_picked(&app, &s).await;
    let m1 = s.reserved[6].clone();
    let before = footprint(&app);
    for (body, field) in [
        (json!({"weight_g": 0}), "weight_g"),
        (json!({"weight_g": 70_001}), "weight_g"),
        (
            json!({"weight_g": 500, "lines": [{"sku_code": "JAR", "qty": 3}]}),
            "lines[0].qty",
        ),
        (
            json!({"weight_g": 500, "lines": [{"sku_code": "CUP", "qty": 1}]}),
            "lines[0].sku_code",
        ),
        (json!({"weight_g": 500, "lines": []}), "lines"),
        (
            json!({"weight_g": 500, "lines": [{"sku_code": "JAR", "qty": 1}, {"sku_code": "JAR", "qty": 1}]}),
            "lines[1].sku_code",
        ),
    ] {
        let problem = app
            .post(
                &format!("/api/v1/orders/{m1}/parcels"),
                &staff,
                body.clone(),
            )
            .await
            .problem(422);
        assert!(problem.to_string().contains(field), "{body}: {problem}");
    }
    app.post(
        "/api/v1/orders/ord_none/parcels",
        &staff,
        json!({"weight_g": 500}),
    )
    .await
    .problem(404);
    // A cluster batch is packed order by order; an unknown batch is a 404.
    let (cluster, _, _) = batches.iter().find(|b| b.1 == "cluster").unwrap();
    app.post(
        &format!("/api/v1/batches/{cluster}/parcels"),
        &staff,
        json!({"weight_g": 500}),
    )
    .await
    .problem(409);
    app.post(
        "/api/v1/batches/bat_none/parcels",
        &staff,
        json!({"weight_g": 500}),
    )
    .await
    .problem(404);
    let (hot, _, _) = batches.iter().find(|b| b.1 == "hot_sku").unwrap();
    app.post(
        &format!("/api/v1/batches/{hot}/parcels"),
        &staff,
        json!({"weight_g": 0}),
    )
    .await
    .problem(422);
    // Labels of a batch not packed yet: a 409 that says to pack it.
    app.get(&format!("/api/v1/batches/{hot}/labels.zpl"), &staff)
        .await
        .problem(409);
    // Not an SSCC, or an SSCC nobody packed: 404.
    app.get("/api/v1/parcels/123", &staff).await.problem(404);
    app.get("/api/v1/parcels/006141410000000999", &staff)
        .await
        .problem(404);
    assert_eq!(footprint(&app), before, "nothing changed");

    // Packed once: a second batch packing is a 409 and changes nothing.
    app.post(
        &format!("/api/v1/batches/{hot}/parcels"),
        &staff,
        json!({"weight_g": 500}),
    )
    .await
    .ok(201);
    let before = footprint(&app);
    app.post(
        &format!("/api/v1/batches/{hot}/parcels"),
        &staff,
        json!({"weight_g": 500}),
    )
    .await
    .problem(409);
    assert_eq!(footprint(&app), before);
    // A packed order cannot be cancelled.
    let packed_order = app.text(&format!(
        "SELECT order_id AS v FROM parcels WHERE batch_id = '{hot}' ORDER BY order_id LIMIT 1"
    ));
    app.post(
        &format!("/api/v1/orders/{packed_order}/cancel"),
        &s.floor.merchant_token,
        json!({}),
    )
    .await
    .problem(409);
    ledger_ok(&app).await;
}

async fn parcels_are_seen_by_staff_their_merchant_and_their_carrier_only(app: TestApp) {
    let (s, m1) = picked_mixed_order(&app).await;
    let parcel = app
        .post(
            &format!("/api/v1/orders/{m1}/parcels"),
            &s.floor.staff_token,
            json!({"weight_g": 900}),
        )
        .await
        .ok(201);
    let sscc = parcel["sscc"].as_str().unwrap();
    let path = format!("/api/v1/parcels/{sscc}");
    let mine = app.get(&path, &s.floor.merchant_token).await.ok(200);
    assert_eq!(mine["order_id"], m1.as_str());
    assert_eq!(mine["lines"].as_array().unwrap().len(), 2, "{mine}");
    let sf = s.carriers.iter().find(|c| c.0 == "SF").unwrap();
    let zto = s.carriers.iter().find(|c| c.0 == "ZTO").unwrap();
    let (_, sf_token) = app.token("carrier", None, Some(&sf.1)).await;
    let (_, zto_token) = app.token("carrier", None, Some(&zto.1)).await;
    let carried = app.get(&path, &sf_token).await.ok(200);
    assert_eq!(carried["tracking_no"], parcel["tracking_no"]);
    assert!(
        carried.get("lines").is_none(),
        "no contents for carriers: {carried}"
    );
    app.get(&path, &zto_token).await.problem(404);
    // Another merchant sees nothing of it, not even its label.
    let (_, other_token) = app.merchant_token("OTHERSHOP").await;
    app.get(&path, &other_token).await.problem(404);
    app.get(&format!("{path}/label.zpl"), &other_token)
        .await
        .problem(404);
    let own_label = app
        .get(&format!("{path}/label.zpl"), &s.floor.merchant_token)
        .await;
    assert_eq!(own_label.status, 200);
    // Carriers print no labels; packing is the warehouse's.
    app.get(&format!("{path}/label.zpl"), &sf_token)
        .await
        .problem(403);
    app.post(
        &format!("/api/v1/orders/{m1}/parcels"),
        &s.floor.merchant_token,
        json!({"weight_g": 900}),
    )
    .await
    .problem(403);
}

async fn two_servers_packing_at_once_give_unique_ssccs_and_one_open_manifest_per_carrier(
    app: TestApp,
) {
    let s = live_session(&app).await;
    floor_locations(&app).await;
    batched_and_picked(&app, &s).await;
    let second = app.second_server();
    let staff = s.floor.staff_token.clone();
    // Every reserved order at once, alternating between the two servers,
    // before any manifest exists: both servers race to open SF's and ZTO's.
    let calls = s.reserved.iter().enumerate().map(|(i, order)| {
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            second.address.clone()
        };
        let staff = staff.clone();
        let app = &app;
        let order = order.clone();
        async move {
            app.post_at(
                &base,
                &format!("/api/v1/orders/{order}/parcels"),
                &staff,
                json!({"weight_g": 640}),
            )
            .await
            .ok(201)
        }
    });
    let parcels = futures_util::future::join_all(calls).await;
    let ssccs: HashSet<String> = parcels
        .iter()
        .map(|p| p["sscc"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ssccs.len(), s.reserved.len(), "unique SSCCs");
    for sscc in &ssccs {
        assert_valid_sscc(sscc);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM manifests"),
        2,
        "one manifest per carrier"
    );
    let per_manifest: HashSet<String> = parcels
        .iter()
        .map(|p| format!("{}:{}", p["carrier_code"], p["manifest_id"]))
        .collect();
    assert_eq!(per_manifest.len(), 2, "{per_manifest:?}");
    ledger_ok(&app).await;
}

/// Whether `tool` runs; when not, the test says it skipped (or fails, when
/// `DEPOT_REQUIRE_LABEL_TOOLS=1`, as `.ci/run` sets).
fn have(tool: &str) -> bool {
    let found = std::process::Command::new(tool).arg("-h").output().is_ok();
    if !found {
        assert!(
            std::env::var("DEPOT_REQUIRE_LABEL_TOOLS").as_deref() != Ok("1"),
            "{tool} not found, and DEPOT_REQUIRE_LABEL_TOOLS=1 requires it"
        );
        eprintln!("skipped: {tool} not found");
    }
    found
}

/// What a scanner reads on each page of `pdf` (pdftoppm at 300 dpi, then
/// zbarimg), in page order.
fn scan_pdf(pdf: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("labels.pdf");
    std::fs::write(&file, pdf).unwrap();
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", "300", "-png"])
        .arg(&file)
        .arg(dir.path().join("page"))
        .status()
        .unwrap();
    assert!(status.success());
    let mut pages: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    pages.sort();
    pages
        .iter()
        .map(|page| {
            let out = std::process::Command::new("zbarimg")
                .args(["--quiet", "--raw"])
                .arg(page)
                .output()
                .unwrap();
            assert!(out.status.success(), "no barcode on {}", page.display());
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        })
        .collect()
}

async fn the_pdf_labels_of_a_packed_batch_scan_as_their_ssccs_in_pick_order(app: TestApp) {
    let s = live_session(&app).await;
    floor_locations(&app).await;
    let staff = s.floor.staff_token.clone();
    let batches = batched_and_picked(&app, &s).await;
    let (hot, _, _) = batches
        .iter()
        .find(|b| b.1 == "hot_sku" && b.2 == "SF")
        .unwrap();
    let packed = app
        .post(
            &format!("/api/v1/batches/{hot}/parcels"),
            &staff,
            json!({"weight_g": 520}),
        )
        .await
        .ok(201);
    let ssccs: Vec<String> = packed["parcels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sscc"].as_str().unwrap().to_string())
        .collect();
    let stack = app
        .get(&format!("/api/v1/batches/{hot}/labels.pdf"), &staff)
        .await;
    assert_eq!(stack.status, 200);
    assert_eq!(stack.content_type, "application/pdf");
    assert!(stack.bytes.starts_with(b"%PDF-"));
    let one = app
        .get(
            &format!("/api/v1/parcels/{}/label.pdf", ssccs[0]),
            &s.floor.merchant_token,
        )
        .await;
    assert_eq!(one.status, 200);
    if !(have("pdftoppm") && have("zbarimg")) {
        return;
    }
    // GS1-128 reads as the element string: AI (00), then the 18 digits.
    let expected: Vec<String> = ssccs.iter().map(|s| format!("00{s}")).collect();
    assert_eq!(
        scan_pdf(&stack.bytes),
        expected,
        "one page per parcel, in pick order"
    );
    assert_eq!(scan_pdf(&one.bytes), vec![expected[0].clone()]);
}
