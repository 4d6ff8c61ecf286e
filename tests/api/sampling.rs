//! `GET /api/v1/sampling-plan` over HTTP. Every cell of ISO 2859-1 Tables 1,
//! 2-A, 2-B and 2-C is tested in `src/domain/sampling.rs`; here, that the endpoint
//! answers with them, including an arrow and 100% inspection.

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    sampling_plans_follow_iso_2859_1,
    bad_sampling_parameters_are_refused
);

async fn sampling_plans_follow_iso_2859_1(app: TestApp) {
    let (_, carrier_token) = app
        .token("carrier", None, Some(&app.carrier("SF").await))
        .await;
    // Table 1: lot 1000 at level II is J; Table 2-A: J at AQL 2.5 is n=80, Ac 5, Re 6.
    let plan = app
        .get(
            "/api/v1/sampling-plan?lot_size=1000&level=II&aql=2.5",
            &carrier_token,
        )
        .await
        .ok(200);
    assert_eq!(
        (
            plan["code_letter"].clone(),
            plan["sample_size"].clone(),
            plan["accept"].clone(),
            plan["reject"].clone()
        ),
        (json!("J"), json!(80), json!(5), json!(6))
    );
    assert_eq!(plan["severity"], "normal");
    // Table 2-A: J at AQL 0.40 is a ↓ to K's plan, n=125, Ac 1, Re 2.
    let arrow = app
        .get(
            "/api/v1/sampling-plan?lot_size=1000&aql=0.40",
            &app.admin_token,
        )
        .await
        .ok(200);
    assert_eq!(
        (arrow["code_letter"].clone(), arrow["plan_letter"].clone()),
        (json!("J"), json!("K"))
    );
    assert_eq!(
        (arrow["sample_size"].clone(), arrow["accept"].clone()),
        (json!(125), json!(1))
    );
    // A lot of 10 at AQL 0.65: the plan's sample (20) exceeds the lot, so all 10 are inspected.
    let all = app
        .get(
            "/api/v1/sampling-plan?lot_size=10&aql=0.65",
            &app.admin_token,
        )
        .await
        .ok(200);
    assert_eq!(
        (all["sample_size"].clone(), all["hundred_percent"].clone()),
        (json!(10), json!(true))
    );
    // Tightened inspection never accepts more than normal.
    let tightened = app
        .get(
            "/api/v1/sampling-plan?lot_size=1000&aql=2.5&severity=tightened",
            &app.admin_token,
        )
        .await
        .ok(200);
    assert!(tightened["accept"].as_u64().unwrap() < 5, "{tightened}");
    // Table 2-C: J's reduced sample is 32, and J at AQL 2.5 is Ac 3, Re 4.
    let reduced = app
        .get(
            "/api/v1/sampling-plan?lot_size=1000&aql=2.5&severity=reduced",
            &carrier_token,
        )
        .await
        .ok(200);
    assert_eq!(
        (
            reduced["severity"].clone(),
            reduced["sample_size"].clone(),
            reduced["accept"].clone(),
            reduced["reject"].clone()
        ),
        (json!("reduced"), json!(32), json!(3), json!(4))
    );
    // Table 2-C: G at AQL 1.0 is ↓ past H to J's 1/2 (n = 32); lot 125 at III is G.
    let arrow = app
        .get(
            "/api/v1/sampling-plan?lot_size=125&level=III&aql=1.0&severity=reduced",
            &app.admin_token,
        )
        .await
        .ok(200);
    assert_eq!(
        (arrow["code_letter"].clone(), arrow["plan_letter"].clone()),
        (json!("G"), json!("J"))
    );
    assert_eq!(
        (arrow["sample_size"].clone(), arrow["accept"].clone()),
        (json!(32), json!(1))
    );
}

async fn bad_sampling_parameters_are_refused(app: TestApp) {
    let cases = [
        ("lot_size=0&aql=2.5", "lot_size"),
        ("lot_size=100&aql=3.0", "aql"),
        ("lot_size=100&aql=2.5&level=IV", "level"),
        ("lot_size=100&aql=2.5&severity=skip-lot", "severity"),
    ];
    for (query, field) in cases {
        let problem = app
            .get(&format!("/api/v1/sampling-plan?{query}"), &app.admin_token)
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
    app.get(
        "/api/v1/sampling-plan?lot_size=many&aql=2.5",
        &app.admin_token,
    )
    .await
    .problem(400);
    app.call(
        "GET",
        "/api/v1/sampling-plan?lot_size=10&aql=2.5",
        None,
        None,
    )
    .await
    .problem(401);
}
