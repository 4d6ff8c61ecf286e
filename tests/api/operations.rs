//! Health, readiness, metrics, the OpenAPI document and the docs page.

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use serde_json::Value;

on_both_backends!(
    healthz_needs_no_token,
    readyz_reports_the_database,
    metrics_count_requests_by_route_and_show_the_pool,
    the_openapi_document_describes_every_route_and_its_problems,
    the_docs_page_loads_nothing_from_the_network,
    every_request_body_has_an_example_that_fits_its_schema,
    the_docs_page_sends_a_picked_file_with_its_content_type,
);

async fn healthz_needs_no_token(app: TestApp) {
    let body = app.call("GET", "/healthz", None, None).await.ok(200);
    assert_eq!(body["status"], "ok");
}

async fn readyz_reports_the_database(app: TestApp) {
    let body = app.call("GET", "/readyz", None, None).await.ok(200);
    assert_eq!(body["status"], "ready");
    let expected = match app.backend {
        Backend::Sqlite => "SQLite ",
        Backend::Postgres => "PostgreSQL ",
    };
    assert!(
        body["database"].as_str().unwrap().starts_with(expected),
        "{body}"
    );
}

async fn metrics_count_requests_by_route_and_show_the_pool(app: TestApp) {
    app.get("/api/v1/merchants", &app.admin_token).await.ok(200);
    app.get("/api/v1/merchants/mer_X", &app.admin_token)
        .await
        .problem(404);
    let reply = app.call("GET", "/metrics", None, None).await;
    assert_eq!(reply.status, 200);
    assert!(reply.content_type.starts_with("text/plain"));
    let text = reply.text;
    assert!(
        text.contains(
            r#"depot_http_requests_total{route="/api/v1/merchants",method="GET",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"depot_http_requests_total{route="/api/v1/merchants/{id}",method="GET",status="404"} 1"#),
        "{text}"
    );
    assert!(text.contains(
        r#"depot_http_request_duration_seconds_bucket{route="/api/v1/merchants",le="+Inf"} 1"#
    ));
    assert!(text.contains("depot_db_pool_max_connections 4"));
    assert!(text.contains(r#"depot_db_pool_connections{state="idle"}"#));
}

async fn the_openapi_document_describes_every_route_and_its_problems(app: TestApp) {
    let doc = app
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .ok(200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
        "/api/v1/merchants/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    let create = &doc["paths"]["/api/v1/merchants"]["post"];
    for status in ["201", "400", "401", "403", "409", "413", "415", "422"] {
        assert!(
            create["responses"][status].is_object(),
            "POST /merchants documents {status}"
        );
    }
    assert!(create["responses"]["422"]["content"]["application/problem+json"].is_object());
    assert_eq!(create["security"][0]["bearer"], serde_json::json!([]));
    assert!(
        doc["paths"]["/healthz"]["get"]["security"].is_null(),
        "health needs no token"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

async fn the_docs_page_loads_nothing_from_the_network(app: TestApp) {
    let reply = app.call("GET", "/docs", None, None).await;
    assert_eq!(reply.status, 200);
    assert!(reply.content_type.starts_with("text/html"));
    assert!(reply.text.contains("/api/v1/openapi.json"));
    for external in ["src=\"http", "href=\"http", "@import", "src=\"//"] {
        assert!(
            !reply.text.contains(external),
            "the docs page refers to the network: {external}"
        );
    }
}

/// Every operation with a request body carries an example on each of its
/// media types (a new endpoint without one fails here, naming itself), and
/// each JSON example fits its schema: CI's schemathesis run sends them.
async fn every_request_body_has_an_example_that_fits_its_schema(app: TestApp) {
    let doc = app
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .ok(200);
    let mut problems = Vec::new();
    let mut bodies = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(content) = op["requestBody"]["content"].as_object() else {
                continue;
            };
            let operation = format!("{} {path}", method.to_uppercase());
            for (media_type, media) in content {
                bodies += 1;
                let example = match (&media["example"], &media["examples"]) {
                    (Value::Null, Value::Object(examples)) if !examples.is_empty() => {
                        examples.values().next().unwrap()["value"].clone()
                    }
                    (Value::Null, _) => {
                        problems.push(format!(
                            "{operation} ({media_type}) has no example: add a row to \
                             src/http/examples.rs, or #[schema(example = json!(…))] on its body's type"
                        ));
                        continue;
                    }
                    (example, _) => example.clone(),
                };
                if media_type.contains("json") {
                    let mut errors = Vec::new();
                    fits(&doc, &media["schema"], &example, "", &mut errors);
                    for error in errors {
                        problems.push(format!(
                            "the example of {operation} ({media_type}) does not fit its schema: {error}"
                        ));
                    }
                }
            }
        }
    }
    for (method, path, media_type, _) in depot::http::examples::table() {
        let key = method.to_lowercase();
        if doc["paths"][path][&key]["requestBody"]["content"][media_type].is_null() {
            problems.push(format!(
                "src/http/examples.rs has an example for {method} {path} ({media_type}), \
                 which the document has no request body for"
            ));
        }
    }
    assert!(bodies >= 20, "request bodies found: {bodies}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Collects in `errors` where `value` breaks `schema` (the keywords utoipa
/// writes: $ref, oneOf/anyOf/allOf, type, enum, required, properties,
/// additionalProperties, items, minimum/maximum, minLength/maxLength).
fn fits(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let here = if at.is_empty() { "the body" } else { at };
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        assert!(!target.is_null(), "no schema {reference}");
        return fits(doc, target, value, at, errors);
    }
    for keyword in ["oneOf", "anyOf"] {
        if let Some(branches) = schema[keyword].as_array() {
            let any = branches.iter().any(|branch| {
                let mut branch_errors = Vec::new();
                fits(doc, branch, value, at, &mut branch_errors);
                branch_errors.is_empty()
            });
            if !any {
                errors.push(format!(
                    "{here} fits none of the {keyword} branches: {value}"
                ));
            }
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        for branch in all {
            fits(doc, branch, value, at, errors);
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let is = |t: &str| match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    };
    if !types.is_empty() && !types.iter().any(|t| is(t)) {
        errors.push(format!("{here} is {value}, not of type {types:?}"));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            errors.push(format!("{here} is {value}, not one of {allowed:?}"));
        }
    }
    if let (Some(min), Some(n)) = (schema["minimum"].as_f64(), value.as_f64()) {
        if n < min {
            errors.push(format!("{here} is below {min}"));
        }
    }
    if let (Some(max), Some(n)) = (schema["maximum"].as_f64(), value.as_f64()) {
        if n > max {
            errors.push(format!("{here} is above {max}"));
        }
    }
    if let Some(text) = value.as_str() {
        let chars = text.chars().count() as u64;
        if schema["minLength"].as_u64().is_some_and(|min| chars < min)
            || schema["maxLength"].as_u64().is_some_and(|max| chars > max)
        {
            errors.push(format!("{here} has a length out of bounds"));
        }
    }
    if let Some(object) = value.as_object() {
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                errors.push(format!("{here} lacks the required {name}"));
            }
        }
        let properties = schema["properties"].as_object();
        for (name, field) in object {
            let field_at = format!(
                "{}{name}",
                if at.is_empty() {
                    String::new()
                } else {
                    format!("{at}.")
                }
            );
            match properties.and_then(|p| p.get(name)) {
                Some(property) => fits(doc, property, field, &field_at, errors),
                None if schema["additionalProperties"] == Value::Bool(false) => {
                    errors.push(format!("{field_at} is not a property of the schema"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (i, item) in values.iter().enumerate() {
            fits(doc, items, item, &format!("{at}[{i}]"), errors);
        }
    }
}

/// The page offers a file picker for a body that is a file (the evidence
/// upload) and sends the file's bytes with the type chosen for it.
async fn the_docs_page_sends_a_picked_file_with_its_content_type(app: TestApp) {
    let page = app.call("GET", "/docs", None, None).await.text;
    assert!(page.contains("type=\"file\""), "a file picker");
    assert!(page.contains("data-file="), "a file picker per operation");
    assert!(page.contains("data-type="), "a content type per operation");
    assert!(
        page.contains("headers[\"Content-Type\"] = type"),
        "sent with its type"
    );
    // And the JSON bodies start from the document's example.
    assert!(page.contains(".example"), "examples fill the body");
}
