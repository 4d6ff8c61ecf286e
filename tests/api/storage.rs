//! Storage: putaway with a suggested bin, moves, counts, holds, expiry, stock
//! and the ledger — and the invariant that stock equals the ledger.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::inspection::{assert_ledger_matches_stock, Floor};
use crate::on_both_backends;

on_both_backends!(
    an_accepted_lot_is_put_away_moved_and_counted,
    only_an_accepted_lot_can_be_put_away,
    taking_more_than_a_bin_holds_is_409_and_changes_nothing,
    bin_capacity_is_honoured,
    damage_found_in_storage_goes_to_quarantine_on_hold,
    an_expired_lot_is_not_sellable_and_the_expiry_run_holds_it,
    bad_storage_requests_are_4xx_and_change_nothing,
    a_merchant_sees_only_its_own_stock_and_ledger,
    parallel_moves_and_counts_keep_the_ledger_equal_to_stock,
    the_ledger_check_finds_stock_that_differs_from_the_ledger,
    damaged_units_found_fine_go_back_to_a_bin_and_the_rest_are_scrapped,
    counts_and_releases_report_the_units_as_they_stand,
    stock_is_filtered_by_the_state_of_its_lot,
    a_putaway_suggestion_says_what_it_considered,
);

/// Bins: A-01 (zone dry, walk 10, capacity 1000), A-02 (dry, walk 20),
/// C-01 (cold, walk 5).
async fn bins(app: &TestApp) {
    for (code, zone, walk, capacity) in [
        ("A-01", "dry", 10, Some(1000)),
        ("A-02", "dry", 20, None),
        ("C-01", "cold", 5, None),
    ] {
        app.post(
            "/api/v1/locations",
            &app.admin_token,
            json!({"code": code, "kind": "storage", "zone": zone, "walk_seq": walk, "capacity": capacity}),
        )
        .await
        .ok(201);
    }
}

/// A floor with a SKU `DRY` stored in zone `dry`, bins, and an accepted lot of `qty`.
async fn accepted_lot(app: &TestApp, qty: i64) -> (Floor, String) {
    let floor = Floor::new(app, "TEAHOUSE", "TEA").await;
    app.post(
        "/api/v1/skus",
        &floor.merchant_token,
        json!({"code": "DRY", "name": "Dried dates", "storage_zone": "dry"}),
    )
    .await
    .ok(201);
    bins(app).await;
    let lots = floor.receive(app, "DRY", "ASN-1", &[qty]).await;
    floor.inspect(app, &lots[0], true).await;
    (floor, lots[0].clone())
}

async fn putaway(app: &TestApp, floor: &Floor, lot: &str, body: Value) -> Value {
    app.post(
        &format!("/api/v1/lots/{lot}/putaway"),
        &floor.staff_token,
        body,
    )
    .await
    .ok(200)
}

fn line<'a>(stock: &'a Value, location: &str) -> &'a Value {
    stock["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["location_code"] == location)
        .unwrap_or_else(|| panic!("no line at {location}: {stock}"))
}

async fn ledger_check(app: &TestApp) -> Value {
    let check = app
        .get("/api/v1/admin/ledger-check", &app.admin_token)
        .await
        .ok(200);
    assert_eq!(check["ok"], true, "{check}");
    check
}

fn counts(app: &TestApp) -> (i64, i64, i64, i64) {
    (
        app.count("SELECT COUNT(*) AS n FROM ledger_entries"),
        app.count("SELECT COUNT(*) AS n FROM trace_events"),
        app.count("SELECT COUNT(*) AS n FROM stock_counts"),
        app.count("SELECT COUNT(*) AS n FROM stock_holds"),
    )
}

async fn an_accepted_lot_is_put_away_moved_and_counted(app: TestApp) {
    let (floor, lot) = accepted_lot(&app, 500).await;

    // Put away: 300 where depot suggests (the empty dry bin first in walk
    // order), 200 into a named bin.
    let suggested = putaway(&app, &floor, &lot, json!({"qty": 300})).await;
    assert_eq!(suggested["location_code"], "A-01");
    assert_eq!(suggested["suggested"], true);
    assert_eq!(suggested["reason"], "empty_in_zone");
    let named = putaway(
        &app,
        &floor,
        &lot,
        json!({"qty": 200, "location_code": "A-02"}),
    )
    .await;
    assert_eq!(named["suggested"], false);
    // A third putaway has nothing left in receiving.
    let problem = app
        .post(
            &format!("/api/v1/lots/{lot}/putaway"),
            &floor.staff_token,
            json!({"qty": 1}),
        )
        .await
        .problem(409);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("only 0 unit(s)"),
        "{problem}"
    );

    // Move 50 from; count A-02 short by 10.
    let moved = app
        .post(
            "/api/v1/stock/moves",
            &floor.staff_token,
            json!({"lot_id": lot, "from_location_code": "A-01", "to_location_code": "A-02", "qty": 50}),
        )
        .await
        .ok(200);
    assert_eq!(moved["hold_id"], Value::Null);
    let counted = app
        .post(
            "/api/v1/stock/adjustments",
            &floor.staff_token,
            json!({"lot_id": lot, "location_code": "A-02", "counted_qty": 240, "reason": "two cartons crushed"}),
        )
        .await
        .ok(200);
    assert_eq!(counted["expected_qty"], 250);
    assert_eq!(counted["adjustment"], -10);

    // Stock, ledger and the check agree.
    let stock = app
        .get(
            &format!("/api/v1/stock?lot_id={lot}"),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(line(&stock, "A-01")["on_hand"], 250);
    assert_eq!(line(&stock, "A-02")["on_hand"], 240);
    assert_eq!(line(&stock, "A-02")["sellable"], true);
    assert_eq!(stock["totals"]["on_hand"], 490);
    assert_eq!(stock["totals"]["sellable"], 490);
    let ledger = app
        .get(
            &format!("/api/v1/ledger?lot_id={lot}"),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    let kinds: Vec<(&str, &str, i64)> = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["location_code"].as_str().unwrap(),
                e["delta"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("receive", "RECV", 500),
            ("putaway", "RECV", -300),
            ("putaway", "A-01", 300),
            ("putaway", "RECV", -200),
            ("putaway", "A-02", 200),
            ("move", "A-01", -50),
            ("move", "A-02", 50),
            ("adjust", "A-02", -10),
        ]
    );
    let check = ledger_check(&app).await;
    assert!(check["ledger_entries"].as_i64().unwrap() >= 8);
    assert_ledger_matches_stock(&app);

    // The merchant's CSV shows the result.
    let csv = app
        .get(
            "/api/v1/stock?format=csv&sku_code=DRY",
            &floor.merchant_token,
        )
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"));
    let records: Vec<&str> = csv.text.split("\r\n").filter(|r| !r.is_empty()).collect();
    assert_eq!(records.len(), 3, "{}", csv.text);
    assert!(
        records[1].contains(",A-01,storage,250,0,250,false,true"),
        "{}",
        csv.text
    );
    assert!(
        records[2].contains(",A-02,storage,240,0,240,false,true"),
        "{}",
        csv.text
    );

    // And a third putaway of a new lot of the same SKU and lot code goes where the SKU is.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE lot_id = '{lot}' AND biz_step = 'storing'"
        )),
        3
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE lot_id = '{lot}' AND biz_step = 'cycle_counting'"
        )),
        1
    );
}

async fn only_an_accepted_lot_can_be_put_away(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    bins(&app).await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[100, 100]).await;
    floor.inspect(&app, &lots[1], false).await;
    let before = counts(&app);

    for (lot, state) in [(&lots[0], "received"), (&lots[1], "quarantined")] {
        let problem = app
            .post(
                &format!("/api/v1/lots/{lot}/putaway"),
                &floor.staff_token,
                json!({"qty": 10, "location_code": "A-01"}),
            )
            .await
            .problem(409);
        assert!(
            problem["detail"].as_str().unwrap().contains(state),
            "{problem}"
        );
    }
    assert_eq!(counts(&app), before);
}

async fn taking_more_than_a_bin_holds_is_409_and_changes_nothing(app: TestApp) {
    let (floor, lot) = accepted_lot(&app, 100).await;
    putaway(
        &app,
        &floor,
        &lot,
        json!({"qty": 100, "location_code": "A-02"}),
    )
    .await;
    let before = counts(&app);

    let problem = app
        .post(
            "/api/v1/stock/moves",
            &floor.staff_token,
            json!({"lot_id": lot, "from_location_code": "A-02", "to_location_code": "A-01", "qty": 101}),
        )
        .await
        .problem(409);

    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("only 100 unit(s)"),
        "{problem}"
    );
    assert_eq!(counts(&app), before);
    ledger_check(&app).await;
}

async fn bin_capacity_is_honoured(app: TestApp) {
    let (floor, lot) = accepted_lot(&app, 1500).await;
    let before = counts(&app);

    // A-01 holds at most 1000.
    let problem = app
        .post(
            &format!("/api/v1/lots/{lot}/putaway"),
            &floor.staff_token,
            json!({"qty": 1001, "location_code": "A-01"}),
        )
        .await
        .problem(409);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("room for 1000"),
        "{problem}"
    );
    assert_eq!(counts(&app), before);

    // The suggestion skips a bin without room: 1200 go to A-02, not A-01.
    let done = putaway(&app, &floor, &lot, json!({"qty": 1200})).await;
    assert_eq!(done["location_code"], "A-02");
    // Then the rest goes where the same lot already is.
    let rest = putaway(&app, &floor, &lot, json!({"qty": 300})).await;
    assert_eq!(rest["location_code"], "A-02");
    assert_eq!(rest["reason"], "same_lot");
}

async fn damage_found_in_storage_goes_to_quarantine_on_hold(app: TestApp) {
    let (floor, lot) = accepted_lot(&app, 100).await;
    putaway(
        &app,
        &floor,
        &lot,
        json!({"qty": 100, "location_code": "A-01"}),
    )
    .await;

    let problem = app
        .post(
            "/api/v1/stock/moves",
            &floor.staff_token,
            json!({"lot_id": lot, "from_location_code": "A-01", "to_location_code": "QUAR", "qty": 5}),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "reason");
    let moved = app
        .post(
            "/api/v1/stock/moves",
            &floor.staff_token,
            json!({"lot_id": lot, "from_location_code": "A-01", "to_location_code": "QUAR", "qty": 5, "reason": "water damage"}),
        )
        .await
        .ok(200);

    let hold_id = moved["hold_id"].as_str().unwrap();
    let stock = app
        .get(&format!("/api/v1/stock?lot_id={lot}"), &floor.staff_token)
        .await
        .ok(200);
    assert_eq!(line(&stock, "QUAR")["sellable"], false);
    assert_eq!(line(&stock, "QUAR")["on_hold"], true);
    assert_eq!(line(&stock, "A-01")["sellable"], true);
    assert_eq!(stock["totals"]["sellable"], 95);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE lot_id = '{lot}' AND biz_step = 'holding' AND disposition = 'damaged'"
        )),
        1
    );
    let holds = app
        .get(
            &format!("/api/v1/holds?lot_id={lot}"),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(holds["items"][0]["id"], hold_id);
    assert_eq!(holds["items"][0]["kind"], "damage");
    let released = app
        .post(
            &format!("/api/v1/holds/{hold_id}/release"),
            &floor.staff_token,
            json!({}),
        )
        .await
        .ok(200);
    assert!(released["released_at"].is_string());
    let active = app
        .get(&format!("/api/v1/holds?lot_id={lot}"), &floor.staff_token)
        .await
        .ok(200);
    assert!(active["items"].as_array().unwrap().is_empty());
    ledger_check(&app).await;
}

async fn an_expired_lot_is_not_sellable_and_the_expiry_run_holds_it(app: TestApp) {
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    bins(&app).await;
    let in_ten_days = (chrono::Utc::now().date_naive() + chrono::Duration::days(10)).to_string();
    let receipt = app
        .post(
            "/api/v1/receipts",
            &floor.merchant_token,
            json!({"reference": "ASN-EXP", "lines": [
                {"sku_code": "TEA", "lot_code": "OLD", "expected_qty": 40, "expiry_date": "2099-01-01"},
                {"sku_code": "TEA", "lot_code": "NEW", "expected_qty": 40, "expiry_date": in_ten_days}]}),
        )
        .await
        .ok(201);
    let lines = receipt["lines"].as_array().unwrap();
    let arrival = app
        .post(
            &format!("/api/v1/receipts/{}/arrival", receipt["id"].as_str().unwrap()),
            &floor.staff_token,
            json!({"lines": [{"line_id": lines[0]["id"], "received_qty": 40}, {"line_id": lines[1]["id"], "received_qty": 40}]}),
        )
        .await
        .ok(200);
    let old = arrival["lots"][0]["id"].as_str().unwrap().to_string();
    let new = arrival["lots"][1]["id"].as_str().unwrap().to_string();
    for lot in [&old, &new] {
        floor.inspect(&app, lot, true).await;
        putaway(
            &app,
            &floor,
            lot,
            json!({"qty": 40, "location_code": "A-02"}),
        )
        .await;
    }
    // Time passes: the first lot reaches its expiry date.
    {
        use diesel::RunQueryDsl;
        let mut conn = app.pool.get().unwrap();
        diesel::sql_query(format!(
            "UPDATE lots SET expiry_date = CURRENT_DATE WHERE id = '{old}'"
        ))
        .execute(&mut *conn)
        .unwrap();
    }

    let stock = app
        .get("/api/v1/stock?location_code=A-02", &floor.staff_token)
        .await
        .ok(200);
    let sellable: Vec<(&str, bool)> = stock["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["lot_code"].as_str().unwrap(),
                l["sellable"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(sellable.contains(&("OLD", false)), "{stock}");
    assert!(sellable.contains(&("NEW", true)), "{stock}");
    let watch = app
        .get("/api/v1/stock/expiring?days=0", &floor.merchant_token)
        .await
        .ok(200);
    assert_eq!(watch["items"].as_array().unwrap().len(), 1);
    assert_eq!(watch["items"][0]["lot_id"], json!(old));
    assert_eq!(watch["items"][0]["days_left"], 0);
    let later = app
        .get("/api/v1/stock/expiring?days=36500", &floor.merchant_token)
        .await;
    later.problem(422);

    let run = app
        .post("/api/v1/stock/expiry-run", &floor.staff_token, json!({}))
        .await
        .ok(200);
    assert_eq!(run["items"].as_array().unwrap().len(), 1);
    assert_eq!(run["items"][0]["kind"], "expired");
    let again = app
        .post("/api/v1/stock/expiry-run", &floor.staff_token, json!({}))
        .await
        .ok(200);
    assert!(
        again["items"].as_array().unwrap().is_empty(),
        "a lot is held once"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM trace_events WHERE lot_id = '{old}' AND biz_step = 'holding' AND disposition = 'expired'"
        )),
        1
    );
    let stock = app
        .get(&format!("/api/v1/stock?lot_id={old}"), &floor.staff_token)
        .await
        .ok(200);
    assert_eq!(stock["items"][0]["on_hold"], true);
}

async fn bad_storage_requests_are_4xx_and_change_nothing(app: TestApp) {
    let (floor, lot) = accepted_lot(&app, 100).await;
    putaway(
        &app,
        &floor,
        &lot,
        json!({"qty": 50, "location_code": "A-01"}),
    )
    .await;
    let before = counts(&app);
    let putaway_path = format!("/api/v1/lots/{lot}/putaway");

    for (path, body, status, field) in [
        (putaway_path.as_str(), json!({"qty": 0}), 422, "qty"),
        (putaway_path.as_str(), json!({"qty": -5}), 422, "qty"),
        (
            putaway_path.as_str(),
            json!({"qty": 5, "location_code": "QUAR"}),
            422,
            "location_code",
        ),
        (
            putaway_path.as_str(),
            json!({"qty": 5, "location_code": "NOPE"}),
            422,
            "location_code",
        ),
        (putaway_path.as_str(), json!({"qty": "five"}), 400, "qty"),
        (
            "/api/v1/stock/moves",
            json!({"lot_id": lot, "from_location_code": "A-01", "to_location_code": "A-01", "qty": 1}),
            422,
            "to_location_code",
        ),
        (
            "/api/v1/stock/moves",
            json!({"lot_id": lot, "from_location_code": "A-01", "to_location_code": "RECV", "qty": 1}),
            422,
            "to_location_code",
        ),
        (
            "/api/v1/stock/moves",
            json!({"lot_id": lot, "from_location_code": "RECV", "to_location_code": "A-01", "qty": 1}),
            422,
            "from_location_code",
        ),
        (
            "/api/v1/stock/adjustments",
            json!({"lot_id": lot, "location_code": "A-01", "counted_qty": 40, "reason": " "}),
            422,
            "reason",
        ),
        (
            "/api/v1/stock/adjustments",
            json!({"lot_id": lot, "location_code": "A-01", "counted_qty": -1, "reason": "x"}),
            422,
            "counted_qty",
        ),
        (
            "/api/v1/stock/adjustments",
            json!({"lot_id": lot, "location_code": "A-01", "counted_qty": 40}),
            400,
            "reason",
        ),
    ] {
        let problem = app
            .post(path, &floor.staff_token, body.clone())
            .await
            .problem(status);
        assert_eq!(
            problem["errors"][0]["field"], field,
            "{path} {body}: {problem}"
        );
    }
    app.post(
        "/api/v1/lots/lot_nope/putaway",
        &floor.staff_token,
        json!({"qty": 1}),
    )
    .await
    .problem(404);
    app.get("/api/v1/stock?format=xml", &floor.staff_token)
        .await
        .problem(422);
    app.get("/api/v1/stock?cursor=a%20b", &floor.staff_token)
        .await
        .problem(400);
    app.post(
        "/api/v1/holds/hld_nope/release",
        &floor.staff_token,
        json!({}),
    )
    .await
    .problem(404);
    assert_eq!(counts(&app), before);
    ledger_check(&app).await;
}

async fn a_merchant_sees_only_its_own_stock_and_ledger(app: TestApp) {
    let (floor, lot) = accepted_lot(&app, 100).await;
    putaway(&app, &floor, &lot, json!({"qty": 100})).await;
    let (_, rival_token) = app.merchant_token("RIVAL").await;

    for path in [
        "/api/v1/stock",
        "/api/v1/ledger",
        "/api/v1/holds?active=false",
        "/api/v1/stock/expiring?days=3650",
    ] {
        let seen = app.get(path, &rival_token).await.ok(200);
        assert!(
            seen["items"].as_array().unwrap().is_empty(),
            "{path}: {seen}"
        );
    }
    let own = app
        .get("/api/v1/stock", &floor.merchant_token)
        .await
        .ok(200);
    assert_eq!(own["items"].as_array().unwrap().len(), 1);
    // Paging one line at a time covers every line once.
    let lots = floor.receive(&app, "DRY", "ASN-2", &[10]).await;
    floor.inspect(&app, &lots[0], true).await;
    let first = app
        .get("/api/v1/stock?limit=1", &floor.merchant_token)
        .await
        .ok(200);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/stock?limit=1&cursor={cursor}"),
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_ne!(first["items"][0], second["items"][0]);
    assert_eq!(second["next_cursor"], Value::Null);
    assert_eq!(second["totals"]["on_hand"], 110);
    // Stock and ledger writes are for staff.
    app.post(
        &format!("/api/v1/lots/{lot}/putaway"),
        &floor.merchant_token,
        json!({"qty": 1}),
    )
    .await
    .problem(403);
    app.get("/api/v1/admin/ledger-check", &floor.staff_token)
        .await
        .problem(403);
}

async fn parallel_moves_and_counts_keep_the_ledger_equal_to_stock(app: TestApp) {
    let (floor, lot) = accepted_lot(&app, 600).await;
    putaway(
        &app,
        &floor,
        &lot,
        json!({"qty": 300, "location_code": "A-02"}),
    )
    .await;
    putaway(
        &app,
        &floor,
        &lot,
        json!({"qty": 300, "location_code": "C-01"}),
    )
    .await;

    // 48 requests at once: moves both ways between the bins, some larger
    // than a bin can give, and counts of both bins.
    let requests = (0..48).map(|i| {
        let (from, to) = if i % 2 == 0 { ("A-02", "C-01") } else { ("C-01", "A-02") };
        let (path, body) = match i % 6 {
            5 => (
                "/api/v1/stock/adjustments",
                json!({"lot_id": lot, "location_code": from, "counted_qty": 150 + i, "reason": "recount"}),
            ),
            4 => (
                "/api/v1/stock/moves",
                json!({"lot_id": lot, "from_location_code": from, "to_location_code": to, "qty": 400}),
            ),
            _ => (
                "/api/v1/stock/moves",
                json!({"lot_id": lot, "from_location_code": from, "to_location_code": to, "qty": 20 + i}),
            ),
        };
        app.post(path, &floor.staff_token, body)
    });
    let replies = futures_util::future::join_all(requests).await;

    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert!(
        statuses.iter().all(|s| [200, 409, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 200).count() >= 24,
        "{statuses:?}"
    );
    ledger_check(&app).await;
    assert_ledger_matches_stock(&app);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM stock WHERE on_hand < 0"),
        0
    );
}

async fn the_ledger_check_finds_stock_that_differs_from_the_ledger(app: TestApp) {
    use diesel::RunQueryDsl;
    let (floor, lot) = accepted_lot(&app, 100).await;
    putaway(
        &app,
        &floor,
        &lot,
        json!({"qty": 60, "location_code": "A-01"}),
    )
    .await;
    let tamper = |sql: &str| {
        let mut conn = app.pool.get().unwrap();
        diesel::sql_query(sql).execute(&mut *conn).unwrap();
    };

    // Someone edits a number in place, behind the ledger's back.
    tamper(&format!(
        "UPDATE stock SET on_hand = on_hand + 7 WHERE lot_id = '{lot}' AND on_hand = 60"
    ));
    let check = app
        .get("/api/v1/admin/ledger-check", &app.admin_token)
        .await
        .ok(200);

    assert_eq!(check["ok"], false);
    let found = check["discrepancies"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{check}");
    assert_eq!(found[0]["lot_id"], json!(lot));
    assert_eq!(found[0]["ledger"], 60);
    assert_eq!(found[0]["stock"], 67);

    tamper(&format!(
        "UPDATE stock SET on_hand = on_hand - 7 WHERE lot_id = '{lot}' AND on_hand = 67"
    ));
    ledger_check(&app).await;
}

fn last_disposition(app: &TestApp, lot: &str, step: &str) -> String {
    // The newest event of this step (recorded to the microsecond).
    let rows = app.count(&format!(
        "SELECT COUNT(*) AS n FROM trace_events WHERE lot_id = '{lot}' AND biz_step = '{step}'"
    ));
    assert!(rows > 0, "no {step} event for {lot}");
    app.text(&format!(
        "SELECT disposition AS v FROM trace_events WHERE lot_id = '{lot}' AND biz_step = '{step}' \
         ORDER BY recorded_at DESC, id DESC LIMIT 1"
    ))
}

async fn damaged_units_found_fine_go_back_to_a_bin_and_the_rest_are_scrapped(app: TestApp) {
    let (floor, lot) = accepted_lot(&app, 100).await;
    putaway(
        &app,
        &floor,
        &lot,
        json!({"qty": 100, "location_code": "A-01"}),
    )
    .await;
    let moved = app
        .post(
            "/api/v1/stock/moves",
            &floor.staff_token,
            json!({"lot_id": lot, "from_location_code": "A-01", "to_location_code": "QUAR", "qty": 10, "reason": "carton wet"}),
        )
        .await
        .ok(200);
    let hold_id = moved["hold_id"].as_str().unwrap().to_string();

    // Out of quarantine while the damage hold is in force: 409, nothing moves.
    let before = counts(&app);
    let problem = app
        .post(
            "/api/v1/stock/moves",
            &floor.staff_token,
            json!({"lot_id": lot, "from_location_code": "QUAR", "to_location_code": "A-02", "qty": 6}),
        )
        .await
        .problem(409);
    assert!(
        problem["detail"].as_str().unwrap().contains(&hold_id),
        "{problem}"
    );
    assert_eq!(counts(&app), before);

    // Six were fine: the hold is released, they go back to a bin, sellable.
    app.post(
        &format!("/api/v1/holds/{hold_id}/release"),
        &floor.staff_token,
        json!({}),
    )
    .await
    .ok(200);
    let back = app
        .post(
            "/api/v1/stock/moves",
            &floor.staff_token,
            json!({"lot_id": lot, "from_location_code": "QUAR", "to_location_code": "A-02", "qty": 6}),
        )
        .await
        .ok(200);
    assert_eq!(back["to_location_code"], "A-02");
    assert_eq!(
        last_disposition(&app, &lot, "storing"),
        "sellable_accessible"
    );

    // The other four are scrapped; none left in quarantine.
    let problem = app
        .post(
            "/api/v1/stock/scrap",
            &floor.staff_token,
            json!({"lot_id": lot, "location_code": "QUAR", "qty": 5, "reason": "mould"}),
        )
        .await
        .problem(409);
    assert!(
        problem["detail"].as_str().unwrap().contains('4'),
        "{problem}"
    );
    let scrapped = app
        .post(
            "/api/v1/stock/scrap",
            &floor.staff_token,
            json!({"lot_id": lot, "location_code": "QUAR", "qty": 4, "reason": "mould"}),
        )
        .await
        .ok(200);
    assert_eq!(scrapped["qty"], 4);
    assert_eq!(last_disposition(&app, &lot, "destroying"), "destroyed");

    let stock = app
        .get(&format!("/api/v1/stock?lot_id={lot}"), &floor.staff_token)
        .await
        .ok(200);
    assert_eq!(stock["totals"]["on_hand"], 96);
    assert_eq!(stock["totals"]["sellable"], 96);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM ledger_entries WHERE lot_id = '{lot}' AND kind = 'scrap'"
        )),
        1
    );
    ledger_check(&app).await;
    assert_ledger_matches_stock(&app);
}

async fn counts_and_releases_report_the_units_as_they_stand(app: TestApp) {
    let (floor, lot) = accepted_lot(&app, 50).await;
    putaway(
        &app,
        &floor,
        &lot,
        json!({"qty": 40, "location_code": "A-01"}),
    )
    .await;
    app.post(
        "/api/v1/stock/moves",
        &floor.staff_token,
        json!({"lot_id": lot, "from_location_code": "A-01", "to_location_code": "QUAR", "qty": 3, "reason": "dented"}),
    )
    .await
    .ok(200);

    // A count in quarantine: the units there are damaged, not sellable.
    app.post(
        "/api/v1/stock/adjustments",
        &floor.staff_token,
        json!({"lot_id": lot, "location_code": "QUAR", "counted_qty": 3, "reason": "weekly count"}),
    )
    .await
    .ok(200);
    assert_eq!(last_disposition(&app, &lot, "cycle_counting"), "damaged");
    // In receiving, accepted and waiting for putaway: sellable, not yet accessible.
    app.post(
        "/api/v1/stock/adjustments",
        &floor.staff_token,
        json!({"lot_id": lot, "location_code": "RECV", "counted_qty": 10, "reason": "weekly count"}),
    )
    .await
    .ok(200);
    assert_eq!(
        last_disposition(&app, &lot, "cycle_counting"),
        "sellable_not_accessible"
    );

    // Two quality holds; releasing one leaves the lot held by the other.
    let first = app
        .post(
            "/api/v1/holds",
            &floor.staff_token,
            json!({"lot_id": lot, "reason": "lab test"}),
        )
        .await
        .ok(201);
    let second = app
        .post(
            "/api/v1/holds",
            &floor.staff_token,
            json!({"lot_id": lot, "reason": "customer complaint"}),
        )
        .await
        .ok(201);
    app.post(
        &format!("/api/v1/holds/{}/release", first["id"].as_str().unwrap()),
        &floor.staff_token,
        json!({}),
    )
    .await
    .ok(200);
    assert_eq!(
        last_disposition(&app, &lot, "storing"),
        "non_sellable_other"
    );
    app.post(
        &format!("/api/v1/holds/{}/release", second["id"].as_str().unwrap()),
        &floor.staff_token,
        json!({}),
    )
    .await
    .ok(200);
    assert_eq!(
        last_disposition(&app, &lot, "storing"),
        "sellable_accessible"
    );
    // A count in storage now: sellable.
    app.post(
        "/api/v1/stock/adjustments",
        &floor.staff_token,
        json!({"lot_id": lot, "location_code": "A-01", "counted_qty": 37, "reason": "weekly count"}),
    )
    .await
    .ok(200);
    assert_eq!(
        last_disposition(&app, &lot, "cycle_counting"),
        "sellable_accessible"
    );
    ledger_check(&app).await;
}

async fn stock_is_filtered_by_the_state_of_its_lot(app: TestApp) {
    let (floor, good) = accepted_lot(&app, 40).await;
    let bad = floor.receive(&app, "DRY", "ASN-2", &[500]).await;
    floor.inspect(&app, &bad[0], false).await;
    let waiting = floor.receive(&app, "DRY", "ASN-3", &[7]).await;

    let lots_in = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                format!(
                    "{}@{}",
                    l["lot_id"].as_str().unwrap(),
                    l["location_code"].as_str().unwrap()
                )
            })
            .collect()
    };
    let quarantined = app
        .get(
            "/api/v1/stock?lot_status=quarantined",
            &floor.merchant_token,
        )
        .await
        .ok(200);
    assert_eq!(lots_in(&quarantined), [format!("{}@QUAR", bad[0])]);
    assert_eq!(quarantined["totals"]["on_hand"], 500);
    let accepted = app
        .get("/api/v1/stock?lot_status=accepted", &floor.staff_token)
        .await
        .ok(200);
    assert_eq!(lots_in(&accepted), [format!("{good}@RECV")]);
    let received = app
        .get(
            "/api/v1/stock?lot_status=received&format=csv",
            &floor.merchant_token,
        )
        .await;
    assert_eq!(received.status, 200);
    assert_eq!(received.text.lines().count(), 2, "{}", received.text);
    assert!(received.text.contains(&waiting[0]));
    let problem = app
        .get("/api/v1/stock?lot_status=lost", &floor.staff_token)
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "lot_status");
}

async fn a_putaway_suggestion_says_what_it_considered(app: TestApp) {
    // TEA has no storage zone; every bin has one.
    let floor = Floor::new(&app, "TEAHOUSE", "TEA").await;
    bins(&app).await;
    let lots = floor.receive(&app, "TEA", "ASN-1", &[30, 30]).await;
    for lot in &lots {
        floor.inspect(&app, lot, true).await;
    }

    let zoned = putaway(&app, &floor, &lots[0], json!({"qty": 10})).await;

    // The first empty bin on the walk, C-01 (cold): not "in the SKU's zone".
    assert_eq!(zoned["location_code"], "C-01");
    assert_eq!(zoned["reason"], "empty_any_zone");
    let detail = zoned["reason_detail"].as_str().unwrap();
    assert!(detail.contains("the SKU has no zone"), "{detail}");
    assert!(detail.contains("in zone cold"), "{detail}");

    // A bin without a zone is preferred once there is one.
    app.post(
        "/api/v1/locations",
        &app.admin_token,
        json!({"code": "Z-01", "kind": "storage", "walk_seq": 90}),
    )
    .await
    .ok(201);
    let other_sku = app
        .post(
            "/api/v1/skus",
            &floor.merchant_token,
            json!({"code": "CUP", "name": "茶杯"}),
        )
        .await
        .ok(201);
    assert!(other_sku["storage_zone"].is_null(), "{other_sku}");
    let cups = floor.receive(&app, "CUP", "ASN-2", &[5]).await;
    floor.inspect(&app, &cups[0], true).await;
    let bare = putaway(&app, &floor, &cups[0], json!({"qty": 5})).await;
    assert_eq!(bare["location_code"], "Z-01");
    assert_eq!(bare["reason"], "empty_without_zone");

    // The same lot again: the bin that holds it, and it says so.
    let again = putaway(&app, &floor, &lots[0], json!({"qty": 5})).await;
    assert_eq!(again["location_code"], "C-01");
    assert_eq!(again["reason"], "same_lot");
    assert_eq!(
        again["reason_detail"],
        "C-01 already holds this lot and has room for 5"
    );
    // A named bin has no reason.
    let named = putaway(
        &app,
        &floor,
        &lots[1],
        json!({"qty": 5, "location_code": "A-02"}),
    )
    .await;
    assert_eq!(named["reason"], Value::Null);
    assert_eq!(named["reason_detail"], Value::Null);
}
