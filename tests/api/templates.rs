//! Inspection templates: created by staff, read by merchants too, the newest
//! of a category used for inspections — and bad templates refused whole.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    a_template_is_created_read_and_listed,
    the_newest_template_of_a_category_is_the_one_used,
    aqls_and_level_are_stored_as_the_tables_write_them,
    bad_templates_are_refused_and_change_nothing,
    every_bad_field_is_reported_at_once,
    merchants_read_templates_but_only_staff_write_them,
    templates_page_with_a_cursor,
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

/// The template `template_for` picks for a SKU of `category`.
fn template_for(app: &TestApp, category: Option<&str>) -> String {
    let mut conn = app.pool.get().expect("a connection");
    depot::services::catalog::template_for(&mut conn, category)
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
    let merchant = app.merchant("GLOW").await;
    let (_, token) = app.token("merchant", Some(&merchant), None).await;
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
