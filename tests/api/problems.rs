//! RFC 9457: every mistake of the caller is a 4xx problem+json, and changes nothing.

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    malformed_json_is_400,
    a_wrong_type_is_400_naming_the_field,
    a_missing_field_is_400,
    an_unknown_field_is_400,
    a_missing_or_wrong_content_type_is_415,
    a_body_over_the_limit_is_413,
    an_unknown_route_is_404,
    a_wrong_method_is_405_with_allow,
    invalid_fields_are_422_listing_each,
    a_taken_code_is_409,
    a_bad_query_string_is_400_and_a_bad_limit_422,
    problem_types_dereference_to_a_page,
    a_nul_character_anywhere_is_a_4xx,
);

fn merchants(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) AS n FROM merchants")
}

async fn malformed_json_is_400(app: TestApp) {
    let reply = app
        .call_raw(
            "POST",
            "/api/v1/merchants",
            Some(&app.admin_token),
            Some("application/json"),
            b"{".to_vec(),
        )
        .await;
    let problem = reply.problem(400);
    assert_eq!(problem["type"], "/problems/bad-request");
    assert_eq!(merchants(&app), 0);
}

async fn a_wrong_type_is_400_naming_the_field(app: TestApp) {
    let problem = app
        .post(
            "/api/v1/merchants",
            &app.admin_token,
            json!({"code": 7, "name": "Seven"}),
        )
        .await
        .problem(400);
    assert_eq!(problem["errors"][0]["field"], "code");
    assert_eq!(merchants(&app), 0);
}

async fn a_missing_field_is_400(app: TestApp) {
    let problem = app
        .post("/api/v1/merchants", &app.admin_token, json!({"code": "X"}))
        .await
        .problem(400);
    assert_eq!(problem["errors"][0]["field"], "name", "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("name"),
        "{problem}"
    );
}

async fn an_unknown_field_is_400(app: TestApp) {
    let problem = app
        .post(
            "/api/v1/merchants",
            &app.admin_token,
            json!({"code": "X", "name": "X", "nmae": "typo"}),
        )
        .await
        .problem(400);
    assert!(
        problem["detail"].as_str().unwrap().contains("nmae"),
        "{problem}"
    );
    assert_eq!(merchants(&app), 0);
}

async fn a_missing_or_wrong_content_type_is_415(app: TestApp) {
    let body = br#"{"code":"X","name":"X"}"#.to_vec();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let reply = app
            .call_raw(
                "POST",
                "/api/v1/merchants",
                Some(&app.admin_token),
                content_type,
                body.clone(),
            )
            .await;
        let problem = reply.problem(415);
        assert_eq!(problem["type"], "/problems/unsupported-media-type");
    }
    // A charset parameter is fine.
    let reply = app
        .call_raw(
            "POST",
            "/api/v1/merchants",
            Some(&app.admin_token),
            Some("application/json; charset=utf-8"),
            body,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

async fn a_body_over_the_limit_is_413(app: TestApp) {
    let name = "x".repeat(depot::http::body::MAX_JSON_BYTES + 10);
    let body = serde_json::to_vec(&json!({"code": "BIG", "name": name})).unwrap();
    let reply = app
        .call_raw(
            "POST",
            "/api/v1/merchants",
            Some(&app.admin_token),
            Some("application/json"),
            body,
        )
        .await;
    reply.problem(413);
    assert_eq!(merchants(&app), 0);
}

async fn an_unknown_route_is_404(app: TestApp) {
    for path in ["/nowhere", "/api/v1/nowhere", "/api/v1/merchants/a/b"] {
        let problem = app
            .call("GET", path, Some(&app.admin_token), None)
            .await
            .problem(404);
        assert_eq!(problem["type"], "/problems/not-found");
    }
    app.call("GET", "/api/v1/nowhere", None, None)
        .await
        .problem(404);
}

async fn a_wrong_method_is_405_with_allow(app: TestApp) {
    let reply = app
        .call("PUT", "/api/v1/merchants", Some(&app.admin_token), None)
        .await;
    reply.problem(405);
    assert_eq!(reply.headers.get("allow").unwrap(), "GET, POST");
    let reply = app
        .call(
            "PATCH",
            "/api/v1/tokens/tok_1",
            Some(&app.admin_token),
            None,
        )
        .await;
    reply.problem(405);
    assert_eq!(reply.headers.get("allow").unwrap(), "DELETE");
    app.call("POST", "/healthz", None, None).await.problem(405);
}

async fn invalid_fields_are_422_listing_each(app: TestApp) {
    let problem = app
        .post(
            "/api/v1/merchants",
            &app.admin_token,
            json!({"code": "has space", "name": "  "}),
        )
        .await
        .problem(422);
    assert_eq!(problem["type"], "/problems/validation");
    let fields: Vec<_> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(fields, vec![json!("code"), json!("name")]);
    assert_eq!(merchants(&app), 0);
}

async fn a_taken_code_is_409(app: TestApp) {
    app.merchant("ACME").await;
    let problem = app
        .post(
            "/api/v1/merchants",
            &app.admin_token,
            json!({"code": "ACME", "name": "Other"}),
        )
        .await
        .problem(409);
    assert!(problem["detail"].as_str().unwrap().contains("ACME"));
    assert_eq!(merchants(&app), 1);
}

async fn a_bad_query_string_is_400_and_a_bad_limit_422(app: TestApp) {
    app.get("/api/v1/merchants?limit=many", &app.admin_token)
        .await
        .problem(400);
    let problem = app
        .get("/api/v1/merchants?limit=0", &app.admin_token)
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "limit");
    app.get("/api/v1/merchants?limit=501", &app.admin_token)
        .await
        .problem(422);
}

async fn problem_types_dereference_to_a_page(app: TestApp) {
    let reply = app.call("GET", "/problems/validation", None, None).await;
    assert_eq!(reply.status, 200);
    assert!(reply.text.contains("The request has invalid fields"));
    app.call("GET", "/problems/no-such-problem", None, None)
        .await
        .problem(404);
}

/// PostgreSQL refuses U+0000 in text; depot answers 4xx on both backends and
/// stores nothing.
async fn a_nul_character_anywhere_is_a_4xx(app: TestApp) {
    let problem = app
        .get("/api/v1/merchants?cursor=%00", &app.admin_token)
        .await
        .problem(400);
    assert_eq!(problem["errors"][0]["field"], "cursor");
    let reply = app.get("/api/v1/merchants/a%00b", &app.admin_token).await;
    assert!(
        [400, 404].contains(&reply.status),
        "NUL in a path id answered {}",
        reply.status
    );
    let reply = app
        .post(
            "/api/v1/skus",
            &app.admin_token,
            json!({"merchant_id": "m\u{0}", "code": "S1", "name": "Soap"}),
        )
        .await;
    assert!(
        [400, 404, 422].contains(&reply.status),
        "NUL in a body id answered {}",
        reply.status
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM skus"), 0);
}
