//! Health, readiness, metrics, the OpenAPI document and the docs page.

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    healthz_needs_no_token,
    readyz_reports_the_database,
    metrics_count_requests_by_route_and_show_the_pool,
    the_openapi_document_describes_every_route_and_its_problems,
    the_docs_page_loads_nothing_from_the_network,
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
