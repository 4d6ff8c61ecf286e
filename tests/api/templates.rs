//! Inspection templates: created by staff, read by merchants too, the newest
//! of a category used for inspections — and bad templates refused whole.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::inspection::Floor;
use crate::on_both_backends;

on_both_backends!(
    a_template_is_created_read_and_listed,
    the_newest_template_of_a_category_is_the_one_used,
    aqls_and_level_are_stored_as_the_tables_write_them,
    bad_templates_are_refused_and_change_nothing,
    every_bad_field_is_reported_at_once,
    merchants_read_templates_but_only_staff_write_them,
    templates_page_with_a_cursor,
    a_template_for_a_category_and_scope_that_has_one_is_its_next_version,
    a_merchants_own_template_wins_over_the_general_one_for_its_skus_only,
    an_inspection_keeps_the_template_version_it_started_with,
);

fn cosmetics() -> Value {
    json!({
        "category": "cosmetics",
        "checks": [
            {"code": "seal", "description": "Tamper seal intact", "defect_class": "critical"},
            {"code": "fill", "description": "Filled to the declared volume", "defect_class": "major"},
            {"code": "print", "description": "Label print sharp and straight", "defect_class": "minor"}
        ]
    })
}

fn templates(app: &TestApp) -> (i64, i64) {
    (
        app.count("SELECT COUNT(*) AS n FROM inspection_templates"),
        app.count("SELECT COUNT(*) AS n FROM inspection_checks"),
    )
}

/// The template `template_for` picks for a SKU of `category` of a merchant
/// without templates of its own.
fn template_for(app: &TestApp, category: Option<&str>) -> String {
    scoped_template_for(app, "mer_without_templates", category)
}

/// The template `template_for` picks for a SKU of `merchant_id` and `category`.
fn scoped_template_for(app: &TestApp, merchant_id: &str, category: Option<&str>) -> String {
    let mut conn = app.pool.get().expect("a connection");
    depot::services::catalog::template_for(&mut conn, merchant_id, category)
        .expect("a template")
        .id
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

async fn a_template_is_created_read_and_listed(app: TestApp) {
    let (staff_id, staff) = app.token("staff", None, None).await;

    let created = app
        .post("/api/v1/inspection-templates", &staff, cosmetics())
        .await
        .ok(201);
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("tpl_"), "{created}");
    assert_eq!(created["category"], "cosmetics");
    assert_eq!(
        created["checks"],
        cosmetics()["checks"],
        "checks keep their order"
    );
    assert_eq!(
        created["aql"],
        json!({"critical": "0", "major": "2.5", "minor": "4.0"})
    );
    assert_eq!(created["level"], "II");
    assert_eq!(created["created_by"], json!(staff_id));
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));

    let read = app
        .get(&format!("/api/v1/inspection-templates/{id}"), &staff)
        .await
        .ok(200);
    assert_eq!(read, created);

    let all = app
        .get("/api/v1/inspection-templates", &staff)
        .await
        .ok(200);
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        2,
        "the seeded default and this one"
    );
    assert!(ids(&all).contains(&id.to_string()));
    let only = app
        .get("/api/v1/inspection-templates?category=cosmetics", &staff)
        .await
        .ok(200);
    assert_eq!(only["items"], json!([created]));
    assert_eq!(only["next_cursor"], Value::Null);

    assert_eq!(templates(&app), (2, 8));
    app.get("/api/v1/inspection-templates/tpl_NOPE", &staff)
        .await
        .problem(404);
}

async fn the_newest_template_of_a_category_is_the_one_used(app: TestApp) {
    let first = app
        .post(
            "/api/v1/inspection-templates",
            &app.admin_token,
            cosmetics(),
        )
        .await
        .ok(201);
    let mut stricter = cosmetics();
    stricter["aql"] = json!({"major": "1.0"});
    let second = app
        .post("/api/v1/inspection-templates", &app.admin_token, stricter)
        .await
        .ok(201);

    let listed = app
        .get(
            "/api/v1/inspection-templates?category=cosmetics",
            &app.admin_token,
        )
        .await
        .ok(200);
    assert_eq!(
        ids(&listed),
        [
            first["id"].as_str().unwrap(),
            second["id"].as_str().unwrap()
        ],
        "in the order they were made"
    );
    assert_eq!(template_for(&app, Some("cosmetics")), second["id"]);

    // A category without a template falls back to the default; a new default
    // takes over from the seeded one.
    assert_eq!(template_for(&app, Some("toys")), "tpl_default");
    let mut default = cosmetics();
    default["category"] = json!("default");
    let new_default = app
        .post("/api/v1/inspection-templates", &app.admin_token, default)
        .await
        .ok(201);
    assert_eq!(template_for(&app, Some("toys")), new_default["id"]);
    assert_eq!(template_for(&app, None), new_default["id"]);
}

async fn aqls_and_level_are_stored_as_the_tables_write_them(app: TestApp) {
    let mut body = cosmetics();
    body["aql"] = json!({"critical": 0.0, "major": "2.50", "minor": 6.5});
    body["level"] = json!("s-3");
    let created = app
        .post("/api/v1/inspection-templates", &app.admin_token, body)
        .await
        .ok(201);
    assert_eq!(
        created["aql"],
        json!({"critical": "0", "major": "2.5", "minor": "6.5"})
    );
    assert_eq!(created["level"], "S3");

    let mut body = cosmetics();
    body["aql"] = json!({"critical": "0.65", "minor": "10"});
    body["level"] = json!("III");
    let created = app
        .post("/api/v1/inspection-templates", &app.admin_token, body)
        .await
        .ok(201);
    assert_eq!(
        created["aql"],
        json!({"critical": "0.65", "major": "2.5", "minor": "10"})
    );
    assert_eq!(created["level"], "III");
}

async fn bad_templates_are_refused_and_change_nothing(app: TestApp) {
    let before = templates(&app);
    assert_eq!(before.0, 1, "the seeded default template");
    // The cosmetics template with the field at `pointer` set to `value`.
    let with = |pointer: &str, value: Value| {
        let mut body = cosmetics();
        match pointer.strip_prefix('/').filter(|key| !key.contains('/')) {
            Some(key) => body[key] = value,
            None => *body.pointer_mut(pointer).expect("a field of the body") = value,
        }
        body
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (with("/checks/1/code", json!("seal")), 422, "checks[1].code"),
        (with("/checks/0/defect_class", json!("fatal")), 422, "checks[0].defect_class"),
        (with("/checks/2/description", json!("")), 422, "checks[2].description"),
        (with("/checks/2/description", json!("d".repeat(501))), 422, "checks[2].description"),
        (with("/checks/0/code", json!("has space")), 422, "checks[0].code"),
        (with("/checks", json!([])), 422, "checks"),
        (
            with(
                "/checks",
                Value::Array(
                    (0..101)
                        .map(|i| json!({"code": format!("c{i}"), "description": "d", "defect_class": "minor"}))
                        .collect(),
                ),
            ),
            422,
            "checks",
        ),
        (with("/category", json!("bad category")), 422, "category"),
        (with("/category", json!("")), 422, "category"),
        (with("/level", json!("IV")), 422, "level"),
        (with("/aql", json!({"major": "3.0"})), 422, "aql.major"),
        (with("/aql", json!({"critical": "-1"})), 422, "aql.critical"),
        (with("/aql", json!({"minor": 15})), 422, "aql.minor"),
        (with("/aql", json!({"major": true})), 400, "aql.major"),
        (with("/checks/0/defect_class", json!(1)), 400, "checks[0].defect_class"),
        (with("/aql", json!({"severe": "1.0"})), 400, ""),
    ];
    for (body, status, field) in cases {
        let problem = app
            .post(
                "/api/v1/inspection-templates",
                &app.admin_token,
                body.clone(),
            )
            .await
            .problem(status);
        if !field.is_empty() {
            let fields: Vec<_> = problem["errors"]
                .as_array()
                .map(|errors| errors.iter().map(|e| e["field"].clone()).collect())
                .unwrap_or_default();
            assert_eq!(fields, [json!(field)], "{body}: {problem}");
        }
    }
    // No checks at all, and a body that is not JSON.
    app.post(
        "/api/v1/inspection-templates",
        &app.admin_token,
        json!({"category": "cosmetics"}),
    )
    .await
    .problem(400);
    app.call_raw(
        "POST",
        "/api/v1/inspection-templates",
        Some(&app.admin_token),
        Some("text/plain"),
        b"category=cosmetics".to_vec(),
    )
    .await
    .problem(415);
    assert_eq!(templates(&app), before);
}

async fn every_bad_field_is_reported_at_once(app: TestApp) {
    let problem = app
        .post(
            "/api/v1/inspection-templates",
            &app.admin_token,
            json!({
                "category": "食品 x",
                "checks": [
                    {"code": "seal", "description": "ok", "defect_class": "critical"},
                    {"code": "seal", "description": "", "defect_class": "severe"}
                ],
                "aql": {"critical": "3.0"},
                "level": "IV"
            }),
        )
        .await
        .problem(422);
    let mut fields: Vec<_> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "aql.critical",
            "category",
            "checks[1].code",
            "checks[1].defect_class",
            "checks[1].description",
            "level"
        ],
        "{problem}"
    );
    assert_eq!(templates(&app).0, 1);
}

async fn merchants_read_templates_but_only_staff_write_them(app: TestApp) {
    let (_, token) = app.merchant_token("GLOW").await;
    app.get("/api/v1/inspection-templates", &token)
        .await
        .ok(200);
    let default = app
        .get("/api/v1/inspection-templates/tpl_default", &token)
        .await
        .ok(200);
    assert_eq!(default["category"], "default");
    assert_eq!(default["checks"].as_array().unwrap().len(), 5);
    app.post("/api/v1/inspection-templates", &token, cosmetics())
        .await
        .problem(403);

    let carrier = app.carrier("FAST").await;
    let (_, carrier_token) = app.token("carrier", None, Some(&carrier)).await;
    app.get("/api/v1/inspection-templates", &carrier_token)
        .await
        .problem(403);
    assert_eq!(templates(&app).0, 1);
}

async fn templates_page_with_a_cursor(app: TestApp) {
    for category in ["a", "b", "c"] {
        let mut body = cosmetics();
        body["category"] = json!(category);
        app.post("/api/v1/inspection-templates", &app.admin_token, body)
            .await
            .ok(201);
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(
                &format!("/api/v1/inspection-templates?limit=2&cursor={cursor}"),
                &app.admin_token,
            )
            .await
            .ok(200);
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4, "three made here and the seeded default");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "each once, in id order");
}

fn tea() -> Value {
    json!({
        "category": "tea",
        "checks": [
            {"code": "mould", "description": "No mould on the leaves", "defect_class": "critical"},
            {"code": "broken", "description": "Broken leaves under 5 %", "defect_class": "major"}
        ]
    })
}

async fn a_template_for_a_category_and_scope_that_has_one_is_its_next_version(app: TestApp) {
    let merchant = app.merchant("tea-co").await;
    let seeded = app
        .get("/api/v1/inspection-templates/tpl_default", &app.admin_token)
        .await
        .ok(200);
    assert_eq!(
        (&seeded["version"], &seeded["merchant_id"]),
        (&json!(1), &Value::Null)
    );

    let first = app
        .post("/api/v1/inspection-templates", &app.admin_token, tea())
        .await
        .ok(201);
    let mut stricter = tea();
    stricter["aql"] = json!({"major": "1.0"});
    let second = app
        .post("/api/v1/inspection-templates", &app.admin_token, stricter)
        .await
        .ok(201);
    let mut own = tea();
    own["merchant_id"] = json!(merchant);
    let own_first = app
        .post(
            "/api/v1/inspection-templates",
            &app.admin_token,
            own.clone(),
        )
        .await
        .ok(201);
    let own_second = app
        .post("/api/v1/inspection-templates", &app.admin_token, own)
        .await
        .ok(201);

    let versions = |t: &Value| (t["version"].as_i64().unwrap(), t["merchant_id"].clone());
    assert_eq!(versions(&first), (1, Value::Null));
    assert_eq!(versions(&second), (2, Value::Null));
    assert_eq!(
        versions(&own_first),
        (1, json!(merchant)),
        "each scope counts its own"
    );
    assert_eq!(versions(&own_second), (2, json!(merchant)));
    // The old version stays readable, unchanged.
    let old = app
        .get(
            &format!(
                "/api/v1/inspection-templates/{}",
                first["id"].as_str().unwrap()
            ),
            &app.admin_token,
        )
        .await
        .ok(200);
    assert_eq!(old, first);
    let general = app
        .get(
            "/api/v1/inspection-templates?category=tea",
            &app.admin_token,
        )
        .await
        .ok(200);
    assert_eq!(
        general["items"].as_array().unwrap().len(),
        4,
        "every version is listed"
    );
    let scoped = app
        .get(
            &format!("/api/v1/inspection-templates?merchant_id={merchant}"),
            &app.admin_token,
        )
        .await
        .ok(200);
    assert_eq!(
        ids(&scoped),
        [
            own_first["id"].as_str().unwrap(),
            own_second["id"].as_str().unwrap()
        ]
    );
    assert_eq!(
        scoped_template_for(&app, &merchant, Some("tea")),
        own_second["id"]
    );
    assert_eq!(template_for(&app, Some("tea")), second["id"]);
}

async fn a_merchants_own_template_wins_over_the_general_one_for_its_skus_only(app: TestApp) {
    let mine = Floor::new(&app, "mine-co", "TEA").await;
    let theirs = Floor::new(&app, "theirs-co", "TEA").await;
    let mine_id = app.text("SELECT id AS v FROM merchants WHERE code = 'mine-co'");
    let theirs_id = app.text("SELECT id AS v FROM merchants WHERE code = 'theirs-co'");
    for floor in [&mine, &theirs] {
        app.post(
            "/api/v1/skus",
            &floor.merchant_token,
            json!({"code": "LONGJING", "name": "Longjing", "category": "tea"}),
        )
        .await
        .ok(201);
    }
    let general = app
        .post("/api/v1/inspection-templates", &mine.staff_token, tea())
        .await
        .ok(201);
    let mut own = tea();
    own["merchant_id"] = json!(mine_id);
    own["level"] = json!("III");
    let own = app
        .post("/api/v1/inspection-templates", &mine.staff_token, own)
        .await
        .ok(201);

    let my_lot = mine.receive(&app, "LONGJING", "RCV-A", &[200]).await;
    let their_lot = theirs.receive(&app, "LONGJING", "RCV-B", &[200]).await;
    let my_inspection = mine.start(&app, &my_lot[0]).await;
    let their_inspection = theirs.start(&app, &their_lot[0]).await;
    assert_eq!(my_inspection["template_id"], own["id"]);
    assert_eq!(
        my_inspection["level"], "III",
        "the merchant's own template's level"
    );
    assert_eq!(their_inspection["template_id"], general["id"]);

    // A merchant's own `default` serves its SKUs of categories without one.
    let mut own_default = tea();
    own_default["category"] = json!("default");
    own_default["merchant_id"] = json!(mine_id);
    let own_default = app
        .post(
            "/api/v1/inspection-templates",
            &mine.staff_token,
            own_default,
        )
        .await
        .ok(201);
    assert_eq!(
        scoped_template_for(&app, &mine_id, Some("toys")),
        own_default["id"]
    );
    assert_eq!(
        scoped_template_for(&app, &theirs_id, Some("toys")),
        "tpl_default"
    );
    assert_eq!(scoped_template_for(&app, &mine_id, Some("tea")), own["id"]);

    // Another merchant's template looks like a missing one.
    let path = format!(
        "/api/v1/inspection-templates/{}",
        own["id"].as_str().unwrap()
    );
    app.get(&path, &theirs.merchant_token).await.problem(404);
    app.get(&path, &mine.merchant_token).await.ok(200);
    let seen = app
        .get("/api/v1/inspection-templates", &theirs.merchant_token)
        .await
        .ok(200);
    assert!(!ids(&seen).contains(&own["id"].as_str().unwrap().to_string()));
    assert!(ids(&seen).contains(&general["id"].as_str().unwrap().to_string()));

    // A scope must be a merchant.
    for bad in [json!("mer_NOPE"), json!("  ")] {
        let mut body = tea();
        body["merchant_id"] = bad;
        let problem = app
            .post("/api/v1/inspection-templates", &mine.staff_token, body)
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], "merchant_id");
    }
}

async fn an_inspection_keeps_the_template_version_it_started_with(app: TestApp) {
    let floor = Floor::new(&app, "ver-co", "TEA").await;
    app.post(
        "/api/v1/skus",
        &floor.merchant_token,
        json!({"code": "LONGJING", "name": "Longjing", "category": "tea"}),
    )
    .await
    .ok(201);
    let v1 = app
        .post("/api/v1/inspection-templates", &floor.staff_token, tea())
        .await
        .ok(201);
    let lots = floor.receive(&app, "LONGJING", "RCV-V", &[200, 200]).await;
    let started = floor.start(&app, &lots[0]).await;
    assert_eq!(
        (&started["template_id"], &started["template_version"]),
        (&v1["id"], &json!(1))
    );

    let mut body = tea();
    body["checks"][1]["description"] = json!("Broken leaves under 3 %");
    let v2 = app
        .post("/api/v1/inspection-templates", &floor.staff_token, body)
        .await
        .ok(201);
    assert_eq!(v2["version"], 2);

    let finished = app
        .post(
            &format!(
                "/api/v1/inspections/{}/results",
                started["id"].as_str().unwrap()
            ),
            &floor.staff_token,
            json!({"inspected_qty": started["required_units"], "findings": []}),
        )
        .await
        .ok(200);
    assert_eq!(
        (&finished["template_id"], &finished["template_version"]),
        (&v1["id"], &json!(1)),
        "the old inspection keeps its version"
    );
    assert_eq!(
        finished["checks"][1]["description"],
        "Broken leaves under 5 %"
    );
    let next = floor.start(&app, &lots[1]).await;
    assert_eq!(
        (&next["template_id"], &next["template_version"]),
        (&v2["id"], &json!(2)),
        "new inspections use the newest version"
    );

    // The report shows it, as JSON and as CSV.
    let report = app
        .get("/api/v1/reports/inspections", &floor.merchant_token)
        .await
        .ok(200);
    let line = &report["items"][0];
    assert_eq!(
        (&line["template_id"], &line["template_version"]),
        (&v1["id"], &json!(1))
    );
    let csv = app
        .get(
            "/api/v1/reports/inspections?format=csv",
            &floor.merchant_token,
        )
        .await;
    assert_eq!(csv.status, 200);
    let records: Vec<&str> = csv.text.lines().collect();
    assert!(
        records[0].ends_with(",template_id,template_version"),
        "{}",
        records[0]
    );
    assert!(
        records[1].ends_with(&format!(",{},1", v1["id"].as_str().unwrap())),
        "{}",
        records[1]
    );

    // So do the trace events of each inspection.
    let details = |lot: &str, disposition: &str| -> Value {
        serde_json::from_str(&app.text(&format!(
            "SELECT details AS v FROM trace_events WHERE lot_id = '{lot}' \
             AND biz_step = 'inspecting' AND disposition = '{disposition}'"
        )))
        .unwrap()
    };
    for disposition in ["in_progress", "conformant"] {
        let event = details(&lots[0], disposition);
        assert_eq!(event["template_id"], v1["id"], "{disposition}");
        assert_eq!(event["template_version"], 1, "{disposition}");
    }
    assert_eq!(details(&lots[1], "in_progress")["template_version"], 2);
}
