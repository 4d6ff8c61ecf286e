//! Merchants and carriers: create, list, get.

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    a_created_merchant_can_be_read_back,
    a_created_carrier_can_be_read_back,
    codes_with_surrounding_space_are_refused_and_names_trimmed,
);

async fn a_created_merchant_can_be_read_back(app: TestApp) {
    let created = app
        .post(
            "/api/v1/merchants",
            &app.admin_token,
            json!({"code": "NGX", "name": "Ningxia Goji Co-op"}),
        )
        .await
        .ok(201);
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("mer_"));
    let read = app
        .get(&format!("/api/v1/merchants/{id}"), &app.admin_token)
        .await
        .ok(200);
    assert_eq!(read, created);
    assert!(
        read["created_at"].as_str().unwrap().ends_with('Z'),
        "RFC 3339 UTC"
    );
    let list = app.get("/api/v1/merchants", &app.admin_token).await.ok(200);
    assert_eq!(list["items"][0], created);
    assert!(list["next_cursor"].is_null());
}

async fn a_created_carrier_can_be_read_back(app: TestApp) {
    let created = app
        .post(
            "/api/v1/carriers",
            &app.admin_token,
            json!({"code": "SF", "name": "SF Express"}),
        )
        .await
        .ok(201);
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("car_"));
    let (_, staff) = app.token("staff", None, None).await;
    let read = app
        .get(&format!("/api/v1/carriers/{id}"), &staff)
        .await
        .ok(200);
    assert_eq!(read, created);
    app.post(
        "/api/v1/carriers",
        &app.admin_token,
        json!({"code": "SF", "name": "Again"}),
    )
    .await
    .problem(409);
}

/// A code is matched exactly later, so a space around it is refused rather
/// than trimmed; a name is trimmed.
async fn codes_with_surrounding_space_are_refused_and_names_trimmed(app: TestApp) {
    let problem = app
        .post(
            "/api/v1/merchants",
            &app.admin_token,
            json!({"code": "  TRIM ", "name": "Trim & Co."}),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "code");
    let created = app
        .post(
            "/api/v1/merchants",
            &app.admin_token,
            json!({"code": "TRIM", "name": " Trim & Co. "}),
        )
        .await
        .ok(201);
    assert_eq!(created["code"], "TRIM");
    assert_eq!(created["name"], "Trim & Co.");
}
