//! The EPCIS 2.0 export: a whole day's pipeline (receive → inspect with
//! evidence → store → order → batch → pick → pack → dispatch → carrier
//! statuses → return → recall) exported page by page, every page validated
//! against GS1's EPCIS 2.0 JSON schema, every CBV value checked; and
//! documents the schema must refuse, so the validation is known to bite.
//!
//! GS1's schema is read from `DEPOT_EPCIS_SCHEMA`, else from
//! `../shared/standards/epcis/EPCIS-JSON-Schema.json` beside the checkout;
//! where neither exists the schema checks say they skipped (the CBV and
//! structure checks still run).

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::returns::{returns_location, upload_pdf};
use crate::trace::{pipeline, Pipeline};

on_both_backends!(
    the_whole_pipeline_exports_as_epcis_that_validates_against_gs1s_schema,
    the_schema_refuses_what_epcis_forbids,
    an_export_is_the_merchants_own_and_its_filters_are_checked,
);

/// CBV 2.0 §7.1 business steps and §7.2 dispositions, written out here
/// independently of depot's own lists.
const CBV_STEPS: &str = "accepting arriving assembling collecting commissioning consigning \
    creating_class_instance cycle_counting decommissioning departing destroying disassembling \
    dispensing encoding entering_exiting holding inspecting installing killing loading other \
    packing picking receiving removing repackaging repairing replacing reserving retail_selling \
    sampling sensor_reporting shipping staging_outbound stock_taking stocking storing \
    transporting unloading unpacking void_shipping";
const CBV_DISPOSITIONS: &str = "active available completeness_inferred completeness_verified \
    conformant container_closed container_open damaged destroyed dispensed disposed encoded \
    expired in_progress in_transit inactive mismatch_class mismatch_instance mismatch_quantity \
    needs_replacement no_pedigree_match non_conformant non_sellable_other partially_dispensed \
    recalled reserved retail_sold returned sellable_accessible sellable_not_accessible stolen \
    unavailable unknown";

fn schema_path() -> Option<PathBuf> {
    let path = match std::env::var("DEPOT_EPCIS_SCHEMA") {
        Ok(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/standards/epcis/EPCIS-JSON-Schema.json"),
    };
    path.exists().then_some(path)
}

/// GS1's validator, with format validation on (`uri`, `date-time`), or
/// None where the schema file is absent.
fn validator() -> Option<jsonschema::Validator> {
    let Some(path) = schema_path() else {
        eprintln!("skipped: GS1's EPCIS 2.0 JSON schema is not here (set DEPOT_EPCIS_SCHEMA)");
        return None;
    };
    let schema: Value = serde_json::from_slice(&std::fs::read(&path).expect("the schema reads"))
        .expect("the schema is JSON");
    Some(
        jsonschema::draft7::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("GS1's schema compiles"),
    )
}

/// The schema's complaints about `doc`, one line each.
fn complaints(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Runs the rest of a day on the trace pipeline: the first parcel
/// delivered, the second returned to sender, received back and re-inspected
/// (half restocked, half scrapped), then the lot recalled (which stops the
/// third parcel and holds the rest).
async fn whole_day(app: &TestApp) -> Pipeline {
    let p = pipeline(app, "HONEYSHOP").await;
    let staff = p.floor.staff_token.clone();
    for (sscc, steps) in [
        (&p.packed[0].1, &["in_transit", "delivered"][..]),
        (&p.packed[1].1, &["returned_to_sender"][..]),
    ] {
        for status in steps {
            app.post(
                &format!("/api/v1/parcels/{sscc}/status"),
                &p.carrier_token,
                json!({ "status": status }),
            )
            .await
            .ok(200);
        }
    }
    returns_location(app).await;
    let received = app
        .post(
            "/api/v1/returns",
            &staff,
            json!({"sscc": p.packed[1].1, "reason": "收件人拒收"}),
        )
        .await
        .ok(201);
    app.return_template(&staff, &[("SEAL", "封口完好", "major")])
        .await;
    let sha = upload_pdf(app, &staff).await;
    let line = &received["lines"][0];
    let qty = line["qty"].as_i64().unwrap();
    app.post(
        &format!(
            "/api/v1/returns/{}/inspection",
            received["id"].as_str().unwrap()
        ),
        &staff,
        json!({
            "lines": [{"line_id": line["id"], "restock_qty": qty - qty / 2, "scrap_qty": qty / 2}],
            "findings": [{"check_code": "SEAL", "defects": 1}],
            "evidence": [{"uri": format!("/api/v1/evidence/{sha}"), "sha256": sha}],
        }),
    )
    .await
    .ok(200);
    app.post(
        &format!("/api/v1/lots/{}/recall", p.lot),
        &staff,
        json!({"reason": "供应商通知：批次抽检不合格", "open_orders": "backorder"}),
    )
    .await
    .ok(201);
    p
}

/// Every page of an export from `path` (a query string without cursor),
/// following `depot:nextCursor`; also checks the `Link` header agrees.
async fn pages(app: &TestApp, path: &str, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            None => path.to_string(),
            Some(c) => format!("{path}&cursor={c}"),
        };
        let reply = app.get(&url, token).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let doc = reply.json();
        let next = doc["depot:nextCursor"].as_str().map(str::to_string);
        let link = reply
            .headers
            .get("link")
            .map(|v| v.to_str().unwrap().to_string());
        match &next {
            Some(next) => {
                let link = link.expect("a next page has a Link header");
                assert!(
                    link.ends_with(&format!("cursor={next}>; rel=\"next\"")),
                    "{link}"
                );
            }
            None => assert!(link.is_none(), "{link:?}"),
        }
        out.push(doc);
        match next {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

fn events(docs: &[Value]) -> Vec<Value> {
    docs.iter()
        .flat_map(|d| d["epcisBody"]["eventList"].as_array().unwrap().clone())
        .collect()
}

async fn the_whole_pipeline_exports_as_epcis_that_validates_against_gs1s_schema(app: TestApp) {
    let p = whole_day(&app).await;
    let staff = &p.floor.staff_token;
    let docs = pages(&app, "/api/v1/epcis/events?limit=5", staff).await;
    let all = events(&docs);
    let stored = app.count("SELECT COUNT(*) AS n FROM trace_events");
    assert!(docs.len() > 3, "paged: {} pages", docs.len());
    assert_eq!(all.len() as i64, stored, "every event exactly once");
    let ids: HashSet<&str> = all.iter().map(|e| e["eventID"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), all.len(), "no event twice");

    // GS1's schema accepts every page.
    if let Some(validator) = validator() {
        for doc in &docs {
            let found = complaints(&validator, doc);
            assert!(found.is_empty(), "{found:#?}\n{doc:#}");
        }
    }

    // The document, and every event, as EPCIS 2.0 and CBV 2.0 say.
    let steps: HashSet<&str> = CBV_STEPS.split_whitespace().collect();
    let dispositions: HashSet<&str> = CBV_DISPOSITIONS.split_whitespace().collect();
    for doc in &docs {
        assert_eq!(doc["type"], "EPCISDocument");
        assert_eq!(doc["schemaVersion"], "2.0");
        assert_eq!(
            doc["@context"][0],
            "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
        );
    }
    let mut seen_steps = BTreeSet::new();
    let mut seen_types = BTreeSet::new();
    let mut tx_types = BTreeSet::new();
    for e in &all {
        let kind = e["type"].as_str().unwrap();
        seen_types.insert(kind.to_string());
        if let Some(step) = e["bizStep"].as_str() {
            assert!(steps.contains(step), "not a CBV 2.0 step: {e}");
            seen_steps.insert(step.to_string());
        }
        if let Some(d) = e["disposition"].as_str() {
            assert!(dispositions.contains(d), "not a CBV 2.0 disposition: {e}");
            assert_ne!(
                d, "reserved",
                "CBV's reserved is not stock for an order: {e}"
            );
        }
        assert_eq!(e["eventTimeZoneOffset"], "+00:00", "{e}");
        assert!(e["eventTime"].as_str().unwrap().ends_with("+00:00"), "{e}");
        let quantities = e
            .get("quantityList")
            .or_else(|| e.get("childQuantityList"))
            .and_then(Value::as_array)
            .expect("every event counts a lot");
        for q in quantities {
            assert!(
                q.get("quantity").is_none_or(Value::is_u64),
                "a JSON number: {e}"
            );
            let class = q["epcClass"].as_str().unwrap();
            assert!(
                class.starts_with("urn:depot:lot:") || class.starts_with("https://id.gs1.org/01/"),
                "{e}"
            );
        }
        if kind == "AggregationEvent" {
            let parent = e["parentID"]
                .as_str()
                .expect("depot always names the parent");
            assert!(parent.starts_with("urn:epc:id:sscc:0614141."), "{e}");
        }
        if kind == "TransactionEvent" {
            if e["action"] == "ADD" {
                assert!(e.get("disposition").is_none(), "{e}");
            }
            assert_eq!(e["bizTransactionList"][0]["type"], "po", "{e}");
        }
        for tx in e["bizTransactionList"].as_array().into_iter().flatten() {
            tx_types.insert(tx["type"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        seen_types,
        ["AggregationEvent", "ObjectEvent", "TransactionEvent"]
            .map(String::from)
            .into(),
    );
    for step in [
        "receiving",
        "inspecting",
        "holding",
        "storing",
        "picking",
        "packing",
        "unpacking",
        "shipping",
        "transporting",
        "arriving",
        "destroying",
    ] {
        assert!(seen_steps.contains(step), "{step} in {seen_steps:?}");
    }
    for kind in ["desadv", "po", "bol", "rma"] {
        assert!(tx_types.contains(kind), "{kind} in {tx_types:?}");
    }
    // The recall's hold is the last holding event, and says why: CBV 2.0
    // `recalled`, where an inspection's hold says `non_sellable_other`.
    let holds: Vec<&str> = all
        .iter()
        .filter(|e| e["bizStep"] == "holding")
        .filter_map(|e| e["disposition"].as_str())
        .collect();
    assert_eq!(holds.last(), Some(&"recalled"), "{holds:?}");
    // Packing ADD and the recall's unpacking DELETE both name the SSCC.
    let s = &p.packed[2].1;
    // GS1 TDS §6.3.2: prefix, then extension digit and serial, no check digit.
    let epc = format!("urn:epc:id:sscc:{}.{}{}", &s[1..8], &s[0..1], &s[8..17]);
    let of_stopped: Vec<&str> = all
        .iter()
        .filter(|e| e["type"] == "AggregationEvent" && e["parentID"] == epc.as_str())
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(of_stopped, ["ADD", "DELETE"]);
    // The carrier is the source of its status events.
    let delivered = all
        .iter()
        .find(|e| e["bizStep"] == "arriving")
        .expect("the delivery");
    assert_eq!(delivered["sourceList"][0]["type"], "possessing_party");
    assert_eq!(delivered["sourceList"][0]["source"], "urn:depot:carrier:SF");

    // JSON-LD on request; the same document.
    let ld = app
        .get_with(
            "/api/v1/epcis/events?limit=5",
            staff,
            ("accept", "application/ld+json"),
        )
        .await;
    assert_eq!(ld.status, 200);
    assert_eq!(ld.content_type, "application/ld+json");
    assert_eq!(
        ld.json()["epcisBody"]["eventList"],
        docs[0]["epcisBody"]["eventList"]
    );
}

async fn the_schema_refuses_what_epcis_forbids(app: TestApp) {
    let p = pipeline(&app, "HONEYSHOP").await;
    let Some(validator) = validator() else { return };
    let doc = app
        .get(
            &format!("/api/v1/epcis/events?lot_id={}&limit=100", p.lot),
            &p.floor.staff_token,
        )
        .await
        .ok(200);
    assert!(complaints(&validator, &doc).is_empty());
    let at = |doc: &Value, kind: &str| {
        doc["epcisBody"]["eventList"]
            .as_array()
            .unwrap()
            .iter()
            .position(|e| e["type"] == kind)
            .unwrap()
    };
    let object = at(&doc, "ObjectEvent");
    let aggregation = at(&doc, "AggregationEvent");
    type Edit = fn(&mut Value, usize, usize);
    let edits: [(&str, Edit); 5] = [
        ("a quantity as a string", |d, o, _| {
            d["epcisBody"]["eventList"][o]["quantityList"][0]["quantity"] = json!("4");
        }),
        ("an offset of +8:00", |d, o, _| {
            d["epcisBody"]["eventList"][o]["eventTimeZoneOffset"] = json!("+8:00");
        }),
        ("an unknown disposition", |d, o, _| {
            d["epcisBody"]["eventList"][o]["disposition"] = json!("sold_out");
        }),
        ("a uom in lower case", |d, _, a| {
            d["epcisBody"]["eventList"][a]["childQuantityList"][0]["uom"] = json!("kgm");
        }),
        ("an event time without its offset", |d, o, _| {
            d["epcisBody"]["eventList"][o]["eventTime"] = json!("2026-12-03T08:00:00");
        }),
    ];
    for (what, edit) in edits {
        let mut bad = doc.clone();
        edit(&mut bad, object, aggregation);
        assert!(
            !complaints(&validator, &bad).is_empty(),
            "the schema accepted {what}"
        );
    }
}

async fn an_export_is_the_merchants_own_and_its_filters_are_checked(app: TestApp) {
    let p = pipeline(&app, "HONEYSHOP").await;
    let staff = &p.floor.staff_token;
    // Another merchant with a lot of its own.
    let (_, other_token) = app.merchant_token("TEASHOP").await;
    app.post(
        "/api/v1/skus",
        &other_token,
        json!({"code": "龙井-100G", "name": "龙井茶 100 克"}),
    )
    .await
    .ok(201);
    let other_lot = app
        .receive_lot(
            &other_token,
            staff,
            "ASN-龙井",
            json!({"sku_code": "龙井-100G", "lot_code": "LJ-01", "expected_qty": 10}),
        )
        .await;
    let mine = events(
        &pages(
            &app,
            "/api/v1/epcis/events?limit=500",
            &p.floor.merchant_token,
        )
        .await,
    );
    let lot_events = app.count(&format!(
        "SELECT COUNT(*) AS n FROM trace_events WHERE lot_id = '{}'",
        p.lot
    ));
    assert_eq!(mine.len() as i64, lot_events, "only its own lot's events");
    let theirs = events(&pages(&app, "/api/v1/epcis/events?limit=500", &other_token).await);
    assert!(
        theirs.iter().all(|e| !e.to_string().contains(&p.lot)),
        "no event of another merchant's lot"
    );
    app.get(
        &format!("/api/v1/epcis/events?lot_id={}", p.lot),
        &other_token,
    )
    .await
    .problem(404);
    app.get(
        &format!("/api/v1/epcis/events?lot_id={other_lot}"),
        &p.floor.merchant_token,
    )
    .await
    .problem(404);
    app.get("/api/v1/epcis/events", &p.carrier_token)
        .await
        .problem(403);

    // Filters: one step, one lot, a time range.
    let shipping = events(&pages(&app, "/api/v1/epcis/events?biz_step=shipping", staff).await);
    assert_eq!(shipping.len(), 2, "two parcels handed over, one lot each");
    assert!(shipping.iter().all(|e| e["bizStep"] == "shipping"));
    let later = events(
        &pages(
            &app,
            "/api/v1/epcis/events?from=2099-01-01T00:00:00%2B08:00",
            staff,
        )
        .await,
    );
    assert!(later.is_empty());
    let bad = app
        .get(
            "/api/v1/epcis/events?biz_step=selling&limit=0&from=tomorrow&cursor=evt_x.00000000",
            staff,
        )
        .await
        .problem(422);
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["from", "biz_step", "limit", "cursor"], "{bad}");
    app.get("/api/v1/epcis/events?lot=L1", staff)
        .await
        .problem(400);
}
