//! A parcel's public trace page: made by its merchant, readable without a
//! token, showing product, lot, origin, inspection and the parcel's way and
//! nothing personal or of another parcel; revocable.

use serde_json::json;

use crate::dispatch::packed;
use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(a_shared_parcel_page_shows_its_origin_and_no_personal_data);

async fn a_shared_parcel_page_shows_its_origin_and_no_personal_data(app: TestApp) {
    let d = packed(&app).await;
    let staff = d.s.floor.staff_token.clone();
    let merchant = d.s.floor.merchant_token.clone();
    let (order_id, _, sscc, manifest) = d.parcels.iter().find(|p| p.1 == "SF").unwrap().clone();
    app.post(
        &format!("/api/v1/manifests/{manifest}/close"),
        &staff,
        json!({}),
    )
    .await
    .ok(200);
    app.post(
        &format!("/api/v1/manifests/{manifest}/handover"),
        &staff,
        json!({"sscc": [sscc]}),
    )
    .await
    .ok(200);

    // The merchant makes the link; carriers and other merchants cannot.
    let link = app
        .post(
            &format!("/api/v1/parcels/{sscc}/share"),
            &merchant,
            json!({}),
        )
        .await
        .ok(201);
    let url = link["url"].as_str().unwrap().to_string();
    let token = url.rsplit('/').next().unwrap().to_string();
    assert_eq!(token.len(), 64, "{url}");
    assert!(url.starts_with(&app.address), "{url} on {}", app.address);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM share_links WHERE token_hash = '{token}'"
        )),
        0,
        "only the token's hash is stored"
    );
    let carrier_id = &d.s.carriers.iter().find(|c| c.0 == "SF").unwrap().1;
    let (_, carrier) = app.token("carrier", None, Some(carrier_id)).await;
    app.post(
        &format!("/api/v1/parcels/{sscc}/share"),
        &carrier,
        json!({}),
    )
    .await
    .problem(403);
    let (_, other_token) = app.merchant_token("OTHERSHOP").await;
    app.post(
        &format!("/api/v1/parcels/{sscc}/share"),
        &other_token,
        json!({}),
    )
    .await
    .problem(404);

    // The page needs no token.
    let page = app.call("GET", &format!("/p/{token}"), None, None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    let html = &page.text;
    assert!(html.contains("洋槐蜂蜜"), "the product: {html}");
    assert!(
        html.contains("HONEYSHOP") || html.contains("Honey") || html.contains("honey"),
        "the merchant: {html}"
    );
    assert!(html.contains("accepted"), "the verdict: {html}");
    assert!(html.contains("ISO 2859-1"), "the plan: {html}");
    assert!(html.contains("已交付承运商"), "the handover: {html}");
    // Nothing personal, nothing of another parcel.
    let order = app
        .get(&format!("/api/v1/orders/{order_id}"), &merchant)
        .await
        .ok(200);
    for personal in [
        order["ship_to"]["name"].as_str().unwrap(),
        order["ship_to"]["phone"].as_str().unwrap(),
        order["ship_to"]["address"].as_str().unwrap(),
        "韩梅梅",
        "13912345678",
        "文三路",
    ] {
        assert!(!html.contains(personal), "{personal:?} on the public page");
    }
    for (_, _, other_sscc, _) in d.parcels.iter().filter(|p| p.2 != sscc) {
        assert!(!html.contains(&other_sscc[8..17]), "another parcel's SSCC");
    }
    assert!(!html.contains(&order_id), "no order id");

    // A guessed token, and a revoked link, are 404 pages.
    let guessed = app
        .call("GET", &format!("/p/{}", "ab".repeat(32)), None, None)
        .await;
    assert_eq!(guessed.status, 404);
    let id = link["id"].as_str().unwrap();
    let revoke = app
        .call(
            "DELETE",
            &format!("/api/v1/parcels/{sscc}/share/{id}"),
            Some(&merchant),
            None,
        )
        .await;
    assert_eq!(revoke.status, 204, "{}", revoke.text);
    assert_eq!(
        app.call("GET", &format!("/p/{token}"), None, None)
            .await
            .status,
        404
    );
}
