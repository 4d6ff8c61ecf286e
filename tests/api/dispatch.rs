//! Dispatch: manifests closed by a dispatcher and pulled by their carrier as
//! JSON and CSV (parsed here by the `csv` crate), handover by scan with the
//! missing and unknown ones named, units leaving the ledger, carrier
//! statuses, and a parcel taken off its manifest to be re-packed.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use crate::batches::{live_session, order, Session};
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::packing::{at, batched_and_picked, floor_locations, ledger_ok};

on_both_backends!(
    two_carriers_manifests_are_closed_pulled_handed_over_and_tracked,
    bad_dispatch_requests_are_refused_and_change_nothing,
    a_parcel_taken_off_its_manifest_is_repacked_onto_the_next_one,
    a_close_while_two_servers_pack_loses_no_parcel_and_takes_none_after,
);

/// An address a spreadsheet and a naive CSV writer get wrong: a comma,
/// quotes, Chinese text.
const TRICKY_ADDRESS: &str = "西湖区文三路 90 号, 3 幢 \"东方\" 座";
/// Quotes at the start of a field, and a comma.
const SECOND_ADDRESS: &str = "\"国贸\"大厦 B1, 朝阳区建国路 1 号";
/// A name that a spreadsheet would run as a formula.
const FORMULA_NAME: &str = "=HYPERLINK(\"http://x\")";

/// Parcels: (order id, carrier code, sscc, manifest id).
pub(crate) struct Dispatched {
    pub(crate) s: Session,
    pub(crate) parcels: Vec<(String, String, String, String)>,
}

/// The live session plus two orders with tricky ship-to, batched, picked
/// and packed (one parcel per order).
pub(crate) async fn packed(app: &TestApp) -> Dispatched {
    let s = live_session(app).await;
    floor_locations(app).await;
    let mut tricky = order("Q-1", "SF", &[("HOT", 1)]);
    tricky["ship_to"]["address"] = json!(TRICKY_ADDRESS);
    tricky["ship_to"]["name"] = json!(FORMULA_NAME);
    let mut second = order("Q-2", "ZTO", &[("HOT", 1)]);
    second["ship_to"]["address"] = json!(SECOND_ADDRESS);
    let answer = app
        .post(
            "/api/v1/orders/bulk",
            &s.floor.merchant_token,
            json!({"orders": [tricky, second]}),
        )
        .await
        .ok(200);
    for result in answer["results"].as_array().unwrap() {
        assert_eq!(result["status"], "reserved", "{answer}");
    }
    let staff = s.floor.staff_token.clone();
    let mut parcels = Vec::new();
    for (batch_id, _, carrier) in batched_and_picked(app, &s).await {
        let batch = app
            .get(&format!("/api/v1/batches/{batch_id}"), &staff)
            .await
            .ok(200);
        for o in batch["orders"].as_array().unwrap() {
            let o = o.as_str().unwrap();
            let p = app
                .post(
                    &format!("/api/v1/orders/{o}/parcels"),
                    &staff,
                    json!({"weight_g": 480}),
                )
                .await
                .ok(201);
            parcels.push((
                o.to_string(),
                carrier.clone(),
                p["sscc"].as_str().unwrap().to_string(),
                p["manifest_id"].as_str().unwrap().to_string(),
            ));
        }
    }
    Dispatched { s, parcels }
}

fn manifest_of(d: &Dispatched, carrier: &str) -> String {
    let ids: HashSet<&str> = d
        .parcels
        .iter()
        .filter(|p| p.1 == carrier)
        .map(|p| p.3.as_str())
        .collect();
    assert_eq!(ids.len(), 1, "one open manifest per carrier: {ids:?}");
    ids.into_iter().next().unwrap().to_string()
}

fn order_status(app: &TestApp, id: &str) -> String {
    app.text(&format!("SELECT status AS v FROM orders WHERE id = '{id}'"))
}

async fn two_carriers_manifests_are_closed_pulled_handed_over_and_tracked(app: TestApp) {
    let d = packed(&app).await;
    let staff = d.s.floor.staff_token.clone();
    let sf = manifest_of(&d, "SF");
    let zto = manifest_of(&d, "ZTO");
    assert_ne!(sf, zto);
    let sf_parcels: Vec<&(String, String, String, String)> =
        d.parcels.iter().filter(|p| p.1 == "SF").collect();
    let zto_parcels: Vec<&(String, String, String, String)> =
        d.parcels.iter().filter(|p| p.1 == "ZTO").collect();

    // Staff see both open manifests with their counts and weights.
    let open = app
        .get("/api/v1/manifests?status=open", &staff)
        .await
        .ok(200);
    let items = open["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{open}");
    for m in items {
        let n = if m["id"] == sf.as_str() {
            sf_parcels.len()
        } else {
            zto_parcels.len()
        } as i64;
        assert_eq!(m["parcel_count"], n, "{m}");
        assert_eq!(m["total_weight_g"], n * 480, "{m}");
        assert_eq!(m["waiting_count"], n, "{m}");
    }

    // A dispatcher closes both; a second close is a 409.
    for id in [&sf, &zto] {
        let closed = app
            .post(&format!("/api/v1/manifests/{id}/close"), &staff, json!({}))
            .await
            .ok(200);
        assert_eq!(closed["status"], "closed", "{closed}");
        assert!(closed["closed_at"].is_string());
    }
    app.post(&format!("/api/v1/manifests/{sf}/close"), &staff, json!({}))
        .await
        .problem(409);

    // Carrier SF sees its own manifest only.
    let sf_carrier = &d.s.carriers.iter().find(|c| c.0 == "SF").unwrap().1;
    let (_, sf_token) = app.token("carrier", None, Some(sf_carrier)).await;
    let mine = app.get("/api/v1/manifests", &sf_token).await.ok(200);
    let ids: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![sf.as_str()], "{mine}");
    let since_future = app
        .get("/api/v1/manifests?since=2099-01-01T00:00:00Z", &sf_token)
        .await
        .ok(200);
    assert_eq!(since_future["items"].as_array().unwrap().len(), 0);
    app.get(&format!("/api/v1/manifests/{zto}"), &sf_token)
        .await
        .problem(404);
    app.get(&format!("/api/v1/manifests/{zto}.csv"), &sf_token)
        .await
        .problem(404);

    // As JSON: every parcel with its ship-to, never its contents.
    let m = app
        .get(&format!("/api/v1/manifests/{sf}"), &sf_token)
        .await
        .ok(200);
    assert_eq!(m["carrier_code"], "SF");
    assert_eq!(m["status"], "closed");
    let listed = m["parcels"].as_array().unwrap();
    assert_eq!(listed.len(), sf_parcels.len(), "{m}");
    let tricky = listed
        .iter()
        .find(|p| p["order_reference"] == "Q-1")
        .expect("Q-1 is on SF's manifest");
    assert_eq!(tricky["ship_to"]["address"], TRICKY_ADDRESS);
    assert_eq!(tricky["weight_g"], 480);
    assert!(!m.to_string().contains("lot_id"), "no contents: {m}");

    // As CSV, read by an independent parser: the same rows, the address
    // intact, the formula defused; with ?bom=1 a UTF-8 byte order mark.
    let csv = app
        .get(&format!("/api/v1/manifests/{sf}.csv?bom=1"), &sf_token)
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    assert_eq!(&csv.bytes[..3], b"\xEF\xBB\xBF");
    let mut reader = csv::Reader::from_reader(&csv.bytes[3..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[2], "sscc");
    let rows: Vec<HashMap<String, String>> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), sf_parcels.len());
    let q1 = rows.iter().find(|r| r["order_reference"] == "Q-1").unwrap();
    assert_eq!(q1["ship_address"], TRICKY_ADDRESS);
    assert_eq!(q1["ship_name"], format!("'{FORMULA_NAME}"));
    assert_eq!(q1["weight_g"], "480");
    let csv_ssccs: HashSet<&str> = rows.iter().map(|r| r["sscc"].as_str()).collect();
    let sf_ssccs: HashSet<&str> = sf_parcels.iter().map(|p| p.2.as_str()).collect();
    assert_eq!(csv_ssccs, sf_ssccs);
    let plain = app
        .get(&format!("/api/v1/manifests/{zto}.csv"), &staff)
        .await;
    assert_eq!(plain.status, 200);
    assert!(plain.text.starts_with("manifest_id,"), "{}", plain.text);
    let zto_rows = csv::Reader::from_reader(plain.text.as_bytes())
        .records()
        .map(|r| r.unwrap())
        .collect::<Vec<_>>();
    assert!(
        zto_rows.iter().any(|r| r.get(9) == Some(SECOND_ADDRESS)),
        "a field starting with a quote: {}",
        plain.text
    );

    // The merchant wants to hear of it (a receiver that is not there: the
    // deliveries wait in the outbox).
    app.post(
        "/api/v1/webhooks",
        &d.s.floor.merchant_token,
        json!({"url": "http://127.0.0.1:9/depot", "secret": "a-secret-of-sixteen+"}),
    )
    .await
    .ok(201);

    // Pickup: every SF parcel but one, plus a ZTO parcel (not on this
    // manifest) and a misread.
    let (kept, scanned) = sf_parcels.split_last().unwrap();
    let mut scans: Vec<String> = scanned.iter().map(|p| p.2.clone()).collect();
    scans.push(zto_parcels[0].2.clone());
    scans.push("12345".into());
    let dock_before = at(&app, "发货区-1", "on_hand");
    let answer = app
        .post(
            &format!("/api/v1/manifests/{sf}/handover"),
            &sf_token,
            json!({ "sscc": scans }),
        )
        .await
        .ok(200);
    let mut expected: Vec<String> = scanned.iter().map(|p| p.2.clone()).collect();
    expected.sort();
    assert_eq!(answer["handed_over"], json!(expected), "{answer}");
    assert_eq!(answer["missing"], json!([kept.2]), "{answer}");
    let mut unknown = vec![zto_parcels[0].2.clone(), "12345".to_string()];
    unknown.sort();
    assert_eq!(answer["unknown"], json!(unknown), "{answer}");
    assert_eq!(answer["manifest_status"], "closed");

    // The handed-over units left the ledger; the kept parcel's are still at
    // the dock; stock and ledger agree.
    let shipped_units = app.count(
        "SELECT CAST(COALESCE(SUM(-delta), 0) AS BIGINT) AS n FROM ledger_entries WHERE kind = 'ship'",
    );
    assert!(shipped_units >= scanned.len() as i64);
    assert_eq!(at(&app, "发货区-1", "on_hand"), dock_before - shipped_units);
    ledger_ok(&app).await;
    for p in scanned {
        assert_eq!(order_status(&app, &p.0), "dispatched", "{}", p.0);
        let parcel = app
            .get(
                &format!("/api/v1/parcels/{}", p.2),
                &d.s.floor.merchant_token,
            )
            .await
            .ok(200);
        assert_eq!(parcel["status"], "handed_over");
    }
    assert_eq!(order_status(&app, &kept.0), "packed");
    // One webhook delivery per handed-over parcel and dispatched order,
    // queued in the handover's transaction.
    for event in ["parcel.handed_over", "order.dispatched"] {
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE event = '{event}'"
            )),
            scanned.len() as i64,
            "{event}"
        );
    }
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE biz_step = 'shipping' \
             AND biz_tx_type = 'bol' AND biz_tx_id = 'urn:depot:manifest:{sf}'"
        )),
        app.count("SELECT COUNT(*) AS n FROM ledger_entries WHERE kind = 'ship'"),
    );

    // The end-of-day list names the missing parcel.
    let missing = app
        .get(&format!("/api/v1/manifests/{sf}/missing"), &staff)
        .await
        .ok(200);
    assert_eq!(missing["items"].as_array().unwrap().len(), 1, "{missing}");
    assert_eq!(missing["items"][0]["sscc"], kept.2.as_str());

    // A second scan of a handed-over parcel is unknown; the rest completes
    // the manifest.
    let again = app
        .post(
            &format!("/api/v1/manifests/{sf}/handover"),
            &sf_token,
            json!({ "sscc": [scanned[0].2, kept.2] }),
        )
        .await
        .ok(200);
    assert_eq!(again["handed_over"], json!([kept.2]), "{again}");
    assert_eq!(again["unknown"], json!([scanned[0].2]), "{again}");
    assert_eq!(again["missing"], json!([]), "{again}");
    assert_eq!(again["manifest_status"], "handed_over");
    // ZTO's whole manifest at once, by staff.
    let all = app
        .post(
            &format!("/api/v1/manifests/{zto}/handover"),
            &staff,
            json!({}),
        )
        .await
        .ok(200);
    assert_eq!(
        all["handed_over"].as_array().unwrap().len(),
        zto_parcels.len()
    );
    assert_eq!(all["manifest_status"], "handed_over");
    assert_eq!(at(&app, "发货区-1", "on_hand"), 0);
    ledger_ok(&app).await;

    // Carrier statuses: delivered, and returned to sender.
    let delivered = &scanned[0].2;
    let status = |sscc: &str| format!("/api/v1/parcels/{sscc}/status");
    app.post(
        &status(delivered),
        &sf_token,
        json!({"status": "in_transit"}),
    )
    .await
    .ok(200);
    let parcel = app
        .post(
            &status(delivered),
            &sf_token,
            json!({"status": "delivered"}),
        )
        .await
        .ok(200);
    assert_eq!(parcel["status"], "delivered");
    let history: Vec<&str> = parcel["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        ["packed", "handed_over", "in_transit", "delivered"]
    );
    assert_eq!(order_status(&app, &scanned[0].0), "delivered");
    for event in ["parcel.in_transit", "parcel.delivered", "order.delivered"] {
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE event = '{event}'"
            )),
            1,
            "{event}"
        );
    }
    // The merchant's order shows its parcel and the history.
    let o = app
        .get(
            &format!("/api/v1/orders/{}", scanned[0].0),
            &d.s.floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(o["status"], "delivered", "{o}");
    assert_eq!(o["parcels"][0]["sscc"], delivered.as_str(), "{o}");
    assert_eq!(
        o["parcels"][0]["status_history"].as_array().unwrap().len(),
        4,
        "{o}"
    );
    // Nothing follows delivery.
    app.post(
        &status(delivered),
        &sf_token,
        json!({"status": "in_transit"}),
    )
    .await
    .problem(409);
    let back = &kept.2;
    let returned = app
        .post(
            &status(back),
            &sf_token,
            json!({"status": "returned_to_sender"}),
        )
        .await
        .ok(200);
    assert_eq!(returned["status"], "returned_to_sender");
    // The merchant sees the history; the trace has the carrier as source.
    let seen = app
        .get(
            &format!("/api/v1/parcels/{back}"),
            &d.s.floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(
        seen["status_history"].as_array().unwrap().len(),
        3,
        "{seen}"
    );
    assert!(
        app.count(
            "SELECT COUNT(*) AS n FROM trace_events WHERE biz_step = 'transporting' \
             AND disposition = 'returned' AND details LIKE '%possessing_party%' \
             AND details LIKE '%urn:depot:carrier:SF%'"
        ) >= 1
    );
    assert!(app.count("SELECT COUNT(*) AS n FROM trace_events WHERE biz_step = 'arriving'") >= 1);
    // Another carrier's parcel is a 404 to it; staff do not report for carriers.
    let zto_carrier = &d.s.carriers.iter().find(|c| c.0 == "ZTO").unwrap().1;
    let (_, zto_token) = app.token("carrier", None, Some(zto_carrier)).await;
    app.post(&status(back), &zto_token, json!({"status": "in_transit"}))
        .await
        .problem(404);
    app.post(&status(back), &staff, json!({"status": "in_transit"}))
        .await
        .problem(403);
}

async fn bad_dispatch_requests_are_refused_and_change_nothing(app: TestApp) {
    let d = packed(&app).await;
    let staff = d.s.floor.staff_token.clone();
    let sf = manifest_of(&d, "SF");
    let sf_carrier = &d.s.carriers.iter().find(|c| c.0 == "SF").unwrap().1;
    let (_, sf_token) = app.token("carrier", None, Some(sf_carrier)).await;
    let footprint = || {
        (
            app.count("SELECT COUNT(*) AS n FROM ledger_entries"),
            app.count("SELECT COUNT(*) AS n FROM trace_events"),
            app.count("SELECT COUNT(*) AS n FROM parcel_statuses"),
            app.text(&format!(
                "SELECT status AS v FROM manifests WHERE id = '{sf}'"
            )),
        )
    };
    let before = footprint();
    // An open manifest is not handed over; a carrier cannot close.
    app.post(
        &format!("/api/v1/manifests/{sf}/handover"),
        &sf_token,
        json!({}),
    )
    .await
    .problem(409);
    app.post(
        &format!("/api/v1/manifests/{sf}/close"),
        &sf_token,
        json!({}),
    )
    .await
    .problem(403);
    // Merchants have no manifests.
    app.get("/api/v1/manifests", &d.s.floor.merchant_token)
        .await
        .problem(403);
    let bad = [
        json!({"sscc": []}),
        json!({"sscc": "006141410000000012"}),
        json!({"ssccs": ["006141410000000012"]}),
    ];
    for body in bad {
        let p = app
            .post(
                &format!("/api/v1/manifests/{sf}/handover"),
                &staff,
                body.clone(),
            )
            .await;
        assert!(p.status == 422 || p.status == 400, "{body}: {}", p.text);
    }
    app.get("/api/v1/manifests?status=shipped", &staff)
        .await
        .problem(422);
    app.get("/api/v1/manifests?since=yesterday", &staff)
        .await
        .problem(422);
    app.get(&format!("/api/v1/manifests/{sf}.csv?bom=yes"), &staff)
        .await
        .problem(422);
    app.get("/api/v1/manifests/man_nope", &staff)
        .await
        .problem(404);
    // A status before handover is a 409; bad statuses and times are 422s.
    let sscc = &d.parcels[0].2;
    let status = format!("/api/v1/parcels/{sscc}/status");
    let carrier_of_first =
        &d.s.carriers
            .iter()
            .find(|c| c.0 == d.parcels[0].1)
            .unwrap()
            .1;
    let (_, token) = app.token("carrier", None, Some(carrier_of_first)).await;
    app.post(&status, &token, json!({"status": "delivered"}))
        .await
        .problem(409);
    let p = app
        .post(&status, &token, json!({"status": "lost"}))
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], "status");
    app.post(
        &status,
        &token,
        json!({"status": "delivered", "at": "soon"}),
    )
    .await
    .problem(422);
    assert_eq!(footprint(), before);

    // After handover: a time in the future, or before handover, is a 422.
    app.post(
        &format!("/api/v1/manifests/{}/close", d.parcels[0].3),
        &staff,
        json!({}),
    )
    .await
    .ok(200);
    app.post(
        &format!("/api/v1/manifests/{}/handover", d.parcels[0].3),
        &staff,
        json!({}),
    )
    .await
    .ok(200);
    let before = footprint();
    let p = app
        .post(
            &status,
            &token,
            json!({"status": "delivered", "at": "2099-01-01T00:00:00Z"}),
        )
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], "at");
    app.post(
        &status,
        &token,
        json!({"status": "in_transit", "at": "2020-01-01T00:00:00Z"}),
    )
    .await
    .problem(422);
    assert_eq!(footprint(), before);
}

async fn a_parcel_taken_off_its_manifest_is_repacked_onto_the_next_one(app: TestApp) {
    let d = packed(&app).await;
    let staff = d.s.floor.staff_token.clone();
    let sf = manifest_of(&d, "SF");
    let (order_id, _, sscc, _) = d.parcels.iter().find(|p| p.1 == "SF").unwrap().clone();
    app.post(&format!("/api/v1/manifests/{sf}/close"), &staff, json!({}))
        .await
        .ok(200);
    let packing_before = at(&app, "打包台-1", "on_hand");
    let removed = app
        .post(
            &format!("/api/v1/manifests/{sf}/parcels/{sscc}/remove"),
            &staff,
            json!({"reason": "纸箱破损 damaged box"}),
        )
        .await
        .ok(200);
    assert_eq!(removed["status"], "removed");
    assert_eq!(order_status(&app, &order_id), "picked");
    assert!(at(&app, "打包台-1", "on_hand") > packing_before);
    ledger_ok(&app).await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE event_type = 'AggregationEvent' \
             AND action = 'DELETE' AND biz_step = 'unpacking' AND parent_id LIKE '%{}%'",
            &sscc[1..17]
        )),
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE event_type = 'AggregationEvent' \
             AND action = 'ADD' AND parent_id LIKE '%{}%'",
            &sscc[1..17]
        )),
    );
    // Removing it twice is a 409; it is no longer on the manifest's list.
    app.post(
        &format!("/api/v1/manifests/{sf}/parcels/{sscc}/remove"),
        &staff,
        json!({"reason": "again"}),
    )
    .await
    .problem(409);
    let m = app
        .get(&format!("/api/v1/manifests/{sf}"), &staff)
        .await
        .ok(200);
    assert!(!m.to_string().contains(sscc.as_str()), "{m}");
    // Re-packed: the closed manifest takes no more parcels; a new one opens.
    let repacked = app
        .post(
            &format!("/api/v1/orders/{order_id}/parcels"),
            &staff,
            json!({"weight_g": 500}),
        )
        .await
        .ok(201);
    assert_ne!(repacked["manifest_id"], sf.as_str());
    assert_ne!(repacked["sscc"], sscc.as_str());
    assert_eq!(order_status(&app, &order_id), "packed");
    ledger_ok(&app).await;
    // A manifest whose only parcel came off is empty: it cannot be closed.
    let new_manifest = repacked["manifest_id"].as_str().unwrap();
    let new_sscc = repacked["sscc"].as_str().unwrap();
    app.post(
        &format!("/api/v1/manifests/{new_manifest}/parcels/{new_sscc}/remove"),
        &staff,
        json!({"reason": "wrong label"}),
    )
    .await
    .ok(200);
    let p = app
        .post(
            &format!("/api/v1/manifests/{new_manifest}/close"),
            &staff,
            json!({}),
        )
        .await
        .problem(409);
    assert!(p["detail"].as_str().unwrap().contains("no parcels"), "{p}");
    assert_eq!(
        app.text(&format!(
            "SELECT status AS v FROM manifests WHERE id = '{new_manifest}'"
        )),
        "open"
    );
}

async fn a_close_while_two_servers_pack_loses_no_parcel_and_takes_none_after(app: TestApp) {
    let s = live_session(&app).await;
    floor_locations(&app).await;
    batched_and_picked(&app, &s).await;
    let second = app.second_server();
    let staff = s.floor.staff_token.clone();
    // Open SF's manifest with one parcel, then pack the rest from two
    // servers while a dispatcher closes it.
    let sf_orders: Vec<String> = s
        .reserved
        .iter()
        .filter(|o| order_carrier(&app, o) == "SF")
        .cloned()
        .collect();
    let first = app
        .post(
            &format!("/api/v1/orders/{}/parcels", sf_orders[0]),
            &staff,
            json!({"weight_g": 300}),
        )
        .await
        .ok(201);
    let manifest = first["manifest_id"].as_str().unwrap().to_string();
    let packs = sf_orders[1..].iter().enumerate().map(|(i, order)| {
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            second.address.clone()
        };
        let (staff, app, order) = (staff.clone(), &app, order.clone());
        async move {
            app.post_at(
                &base,
                &format!("/api/v1/orders/{order}/parcels"),
                &staff,
                json!({"weight_g": 300}),
            )
            .await
            .ok(201)
        }
    });
    let close = async {
        app.post_at(
            &second.address,
            &format!("/api/v1/manifests/{manifest}/close"),
            &staff,
            json!({}),
        )
        .await
        .ok(200)
    };
    let (parcels, closed) =
        futures_util::future::join(futures_util::future::join_all(packs), close).await;
    // What the close counted is what the manifest holds: no parcel joined
    // it after, none was lost; the rest opened one new manifest.
    let on_closed = app.count(&format!(
        "SELECT COUNT(*) AS n FROM parcels WHERE manifest_id = '{manifest}'"
    ));
    assert_eq!(closed["parcel_count"], on_closed, "{closed}");
    let later: HashSet<&str> = parcels
        .iter()
        .map(|p| p["manifest_id"].as_str().unwrap())
        .filter(|m| *m != manifest)
        .collect();
    assert!(later.len() <= 1, "one new open manifest: {later:?}");
    assert_eq!(
        on_closed as usize
            + parcels
                .iter()
                .filter(|p| p["manifest_id"] != manifest.as_str())
                .count(),
        sf_orders.len()
    );
    assert!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM manifests WHERE status = 'open' AND carrier_id = \
             (SELECT carrier_id FROM manifests WHERE id = '{manifest}')"
        )) <= 1
    );
    ledger_ok(&app).await;
}

fn order_carrier(app: &TestApp, order_id: &str) -> String {
    app.text(&format!(
        "SELECT c.code AS v FROM orders o JOIN carriers c ON c.id = o.carrier_id WHERE o.id = '{order_id}'"
    ))
}
