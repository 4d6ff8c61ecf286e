//! Webhooks: a merchant registers a URL and a secret; packing queues signed
//! deliveries in its own transaction; the background sender POSTs them to a
//! receiver listening on 127.0.0.1, retries with backoff, gives up after
//! its attempts, sends each delivery once with two instances polling, and
//! sends what was queued before a restart once a new server runs on the
//! same database.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use openssl::ssl::{SslAcceptor, SslMethod};
use openssl::x509::extension::SubjectAlternativeName;
use openssl::x509::{X509NameBuilder, X509};
use serde_json::{json, Value};

use depot::config::Config;

use crate::batches::live_session;
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::packing::{batched_and_picked, floor_locations};

on_both_backends!(config = fast_webhooks;
    packed_parcels_reach_the_merchants_webhook_signed,
    a_receiver_that_fails_first_gets_the_same_delivery_again,
    a_delivery_that_keeps_failing_is_failed_after_its_attempts,
    private_and_malformed_urls_are_refused_and_nothing_is_stored,
    another_merchants_webhooks_and_deliveries_are_not_found,
);

on_both_backends!(config = trusting_test_ca;
    https_receivers_are_verified_against_the_configured_ca_file,
);

on_both_backends!(config = sender_off;
    an_instance_with_its_sender_off_queues_and_another_one_sends,
);

on_both_backends!(config = patient_webhooks;
    deliveries_queued_while_the_receiver_is_down_arrive_after_a_restart,
);

/// A sender that polls often and retries soon, so that tests run fast.
fn fast_webhooks(config: &mut Config) {
    config.webhooks.poll = Some(Duration::from_millis(50));
    config.webhooks.backoff = Duration::from_millis(50);
    config.webhooks.max_attempts = 3;
    config.webhooks.timeout = Duration::from_secs(3);
}

/// The restart test's servers: enough attempts to outlast the stop.
fn patient_webhooks(config: &mut Config) {
    fast_webhooks(config);
    config.webhooks.max_attempts = 60;
    config.webhooks.backoff = Duration::from_millis(20);
}

/// `DEPOT_WEBHOOK_POLL_MS=0`: an instance that sends nothing itself.
fn sender_off(config: &mut Config) {
    fast_webhooks(config);
    config.webhooks.poll = None;
}

/// A fast sender that trusts only [`test_certificate`] (`DEPOT_WEBHOOK_CA_FILE`).
fn trusting_test_ca(config: &mut Config) {
    fast_webhooks(config);
    config.webhooks.ca_file = Some(trusted_certificate().2.clone());
}

/// A self-signed certificate for 127.0.0.1 and localhost: (key, certificate).
fn test_certificate() -> (PKey<Private>, X509) {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "depot webhook test receiver")
        .unwrap();
    let name = name.build();
    let mut cert = X509::builder().unwrap();
    cert.set_version(2).unwrap();
    let serial = BigNum::from_u32(rand::random::<u32>()).unwrap();
    cert.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(2).unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .ip("127.0.0.1")
        .dns("localhost")
        .build(&cert.x509v3_context(None, None))
        .unwrap();
    cert.append_extension(san).unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    (key, cert.build())
}

/// The certificate depot is configured to trust, once per test process:
/// (key, certificate, its PEM file).
fn trusted_certificate() -> &'static (PKey<Private>, X509, std::path::PathBuf) {
    static TRUSTED: std::sync::OnceLock<(PKey<Private>, X509, std::path::PathBuf)> =
        std::sync::OnceLock::new();
    TRUSTED.get_or_init(|| {
        let (key, cert) = test_certificate();
        let dir = tempfile::tempdir().unwrap().keep();
        let path = dir.join("test-ca.pem");
        std::fs::write(&path, cert.to_pem().unwrap()).unwrap();
        (key, cert, path)
    })
}

fn acceptor(key: &PKey<Private>, cert: &X509) -> SslAcceptor {
    let mut tls = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    tls.set_private_key(key).unwrap();
    tls.set_certificate(cert).unwrap();
    tls.check_private_key().unwrap();
    tls.build()
}

const SECRET: &str = "蜂蜜小铺-webhook-secret-2026";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// An HTTP receiver on 127.0.0.1 (a plain std listener on a thread, one
/// request per connection): `answer` chooses each response's status from
/// how many times that delivery id was seen before.
struct Receiver {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(answer: fn(usize) -> u16) -> Receiver {
        Receiver::on(
            TcpListener::bind("127.0.0.1:0").expect("a free port"),
            answer,
        )
    }

    fn on(listener: TcpListener, answer: fn(usize) -> u16) -> Receiver {
        Receiver::serving(listener, None, answer)
    }

    /// An https receiver presenting `tls`'s certificate.
    fn tls(tls: SslAcceptor, answer: fn(usize) -> u16) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        Receiver::serving(listener, Some(tls), answer)
    }

    fn serving(
        listener: TcpListener,
        tls: Option<SslAcceptor>,
        answer: fn(usize) -> u16,
    ) -> Receiver {
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::<Received>::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                if stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .is_err()
                {
                    continue;
                }
                let mut stream: Box<dyn ReadWrite> = match &tls {
                    None => Box::new(stream),
                    Some(tls) => match tls.accept(stream) {
                        Ok(stream) => Box::new(stream),
                        // depot refused the certificate, as it must.
                        Err(_) => continue,
                    },
                };
                let Some(request) = read_request(&mut stream) else {
                    continue;
                };
                let seen = {
                    let mut log = log.lock().unwrap();
                    let id = request.headers.get("depot-delivery").cloned();
                    let seen = log
                        .iter()
                        .filter(|r| r.headers.get("depot-delivery") == id.as_ref())
                        .count();
                    log.push(request);
                    seen
                };
                let status = answer(seen);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
            }
        });
        Receiver { port, received }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/depot", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests came (at most 20 s).
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..400 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the receiver got {} requests, not {n}: {:?}",
            self.received().len(),
            self.received()
        );
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn read_request(stream: &mut impl Read) -> Option<Received> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?;
    let path = request_line.split(' ').nth(1)?.to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers.get("content-length")?.parse().ok()?;
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some(Received {
        path,
        headers,
        body: String::from_utf8(body).ok()?,
    })
}

/// Checks `Depot-Signature` as a receiver would, with OpenSSL's HMAC (not
/// depot's own code): `t=<secs>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
fn signature_is_valid(r: &Received, secret: &str) -> bool {
    let Some(header) = r.headers.get("depot-signature") else {
        return false;
    };
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = Some(value.to_string()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    // A receiver refuses old deliveries: five minutes either way.
    if (chrono::Utc::now().timestamp() - t).abs() > 300 {
        return false;
    }
    let key = PKey::hmac(secret.as_bytes()).unwrap();
    let mut signer = Signer::new(MessageDigest::sha256(), &key).unwrap();
    signer.update(format!("{t}.{}", r.body).as_bytes()).unwrap();
    let mac: String = signer
        .sign_to_vec()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    mac == v1
}

async fn register(app: &TestApp, token: &str, url: &str) -> Value {
    app.post(
        "/api/v1/webhooks",
        token,
        json!({"url": url, "secret": SECRET}),
    )
    .await
    .ok(201)
}

/// Packs every order of the live session (cluster batches order by order,
/// the others a batch at once): the order ids packed.
async fn pack_everything(
    app: &TestApp,
    staff: &str,
    batches: &[(String, String, String)],
) -> Vec<String> {
    let mut packed = Vec::new();
    for (id, strategy, _) in batches {
        let batch = app
            .get(&format!("/api/v1/batches/{id}"), staff)
            .await
            .ok(200);
        let orders: Vec<String> = batch["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap().to_string())
            .collect();
        if strategy == "cluster" {
            for order in &orders {
                app.post(
                    &format!("/api/v1/orders/{order}/parcels"),
                    staff,
                    json!({"weight_g": 850}),
                )
                .await
                .ok(201);
            }
        } else {
            app.post(
                &format!("/api/v1/batches/{id}/parcels"),
                staff,
                json!({"weight_g": 520}),
            )
            .await
            .ok(201);
        }
        packed.extend(orders);
    }
    packed
}

/// The first order of the first batch, packed whole: its id.
async fn pack_one_order(
    app: &TestApp,
    staff: &str,
    batches: &[(String, String, String)],
) -> String {
    let (id, _, _) = &batches[0];
    let batch = app
        .get(&format!("/api/v1/batches/{id}"), staff)
        .await
        .ok(200);
    let order = batch["orders"][0].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/orders/{order}/parcels"),
        staff,
        json!({"weight_g": 640}),
    )
    .await
    .ok(201);
    order
}

fn deliveries_of(app: &TestApp, status: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = '{status}'"
    ))
}

async fn packed_parcels_reach_the_merchants_webhook_signed(app: TestApp) {
    let receiver = Receiver::start(|_| 200);
    let s = live_session(&app).await;
    floor_locations(&app).await;
    let merchant = &s.floor.merchant_token;
    let staff = s.floor.staff_token.clone();
    // A merchant's own webhook; the secret never comes back.
    let webhook = register(&app, merchant, &receiver.url()).await;
    assert!(webhook["id"].as_str().unwrap().starts_with("whk_"));
    assert_eq!(webhook["url"], receiver.url());
    assert!(webhook.get("secret").is_none(), "{webhook}");
    let listed = app.get("/api/v1/webhooks", merchant).await.ok(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert!(!listed.to_string().contains(SECRET), "{listed}");
    let merchant_id = webhook["merchant_id"].as_str().unwrap().to_string();

    // A second depot instance on the same database, its sender polling
    // too: each delivery is still sent once.
    let _second = app.second_server_with(fast_webhooks);
    let batches = batched_and_picked(&app, &s).await;
    let orders = pack_everything(&app, &staff, &batches).await;
    let parcels = app.count("SELECT COUNT(*) AS n FROM parcels") as usize;
    assert_eq!(parcels, orders.len(), "one parcel per order");

    // One parcel.packed per parcel and one order.packed per order.
    let got = receiver.wait_for(parcels + orders.len()).await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let got_after = receiver.received();
    assert_eq!(
        got_after.len(),
        got.len(),
        "nothing is sent twice: {got_after:?}"
    );
    let mut events: HashMap<String, Vec<Value>> = HashMap::new();
    for r in &got {
        assert_eq!(r.path, "/hooks/depot");
        assert_eq!(r.headers["content-type"], "application/json");
        assert!(signature_is_valid(r, SECRET), "a bad signature: {r:?}");
        assert!(!signature_is_valid(r, "another-secret-of-16"), "{r:?}");
        let body = r.json();
        assert_eq!(body["id"], r.headers["depot-delivery"], "{body}");
        assert_eq!(body["event"], r.headers["depot-event"], "{body}");
        assert_eq!(body["merchant_id"], merchant_id.as_str());
        assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
        events
            .entry(body["event"].as_str().unwrap().to_string())
            .or_default()
            .push(body["data"].clone());
    }
    let parcel_events = &events["parcel.packed"];
    assert_eq!(parcel_events.len(), parcels);
    let mut order_events: Vec<String> = events["order.packed"]
        .iter()
        .map(|d| d["order_id"].as_str().unwrap().to_string())
        .collect();
    order_events.sort();
    let mut expected = orders.clone();
    expected.sort();
    assert_eq!(order_events, expected);
    // The parcel events name the parcels depot made.
    for data in parcel_events {
        let sscc = data["sscc"].as_str().unwrap();
        let parcel = app
            .get(&format!("/api/v1/parcels/{sscc}"), merchant)
            .await
            .ok(200);
        assert_eq!(parcel["order_id"], data["order_id"], "{data}");
        assert_eq!(parcel["tracking_no"], data["tracking_no"]);
        assert_eq!(parcel["manifest_id"], data["manifest_id"]);
        assert_eq!(parcel["carrier_code"], data["carrier_code"]);
    }

    // The merchant sees them delivered, each at its first attempt.
    let list = app
        .get(
            "/api/v1/webhooks/deliveries?status=delivered&limit=500",
            merchant,
        )
        .await
        .ok(200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), got.len(), "{list}");
    for d in items {
        assert_eq!(d["attempts"], 1, "{d}");
        assert_eq!(d["last_status"], 200, "{d}");
        assert!(d["delivered_at"].is_string(), "{d}");
        assert!(d["next_attempt_at"].is_null(), "{d}");
    }
    // Newest first, and paged with a cursor.
    let first = app
        .get("/api/v1/webhooks/deliveries?limit=2", merchant)
        .await
        .ok(200);
    let a = first["items"][0]["id"].as_str().unwrap();
    let b = first["items"][1]["id"].as_str().unwrap();
    assert!(a > b, "newest first: {first}");
    let cursor = first["next_cursor"].as_str().unwrap();
    let next = app
        .get(
            &format!("/api/v1/webhooks/deliveries?limit=2&cursor={cursor}"),
            merchant,
        )
        .await
        .ok(200);
    assert!(next["items"][0]["id"].as_str().unwrap() < b, "{next}");
    app.get("/api/v1/webhooks/deliveries?status=lost", merchant)
        .await
        .problem(422);
}

async fn a_receiver_that_fails_first_gets_the_same_delivery_again(app: TestApp) {
    // 500 to a delivery's first attempt, 200 to the next.
    let receiver = Receiver::start(|seen| if seen == 0 { 500 } else { 200 });
    let s = live_session(&app).await;
    floor_locations(&app).await;
    let merchant = &s.floor.merchant_token;
    register(&app, merchant, &receiver.url()).await;
    let batches = batched_and_picked(&app, &s).await;
    let order = pack_one_order(&app, &s.floor.staff_token, &batches).await;

    // parcel.packed and order.packed, each twice.
    let got = receiver.wait_for(4).await;
    let mut by_id: HashMap<String, Vec<&Received>> = HashMap::new();
    for r in &got {
        by_id
            .entry(r.headers["depot-delivery"].clone())
            .or_default()
            .push(r);
    }
    assert_eq!(by_id.len(), 2, "{got:?}");
    for tries in by_id.values() {
        assert_eq!(tries.len(), 2, "{tries:?}");
        // The same body again, signed afresh.
        assert_eq!(tries[0].body, tries[1].body);
        assert!(tries.iter().all(|r| signature_is_valid(r, SECRET)));
    }
    let order_event = got
        .iter()
        .find(|r| r.json()["event"] == "order.packed")
        .unwrap();
    assert_eq!(order_event.json()["data"]["order_id"], order.as_str());

    wait_until(|| deliveries_of(&app, "delivered") == 2).await;
    let list = app
        .get("/api/v1/webhooks/deliveries", merchant)
        .await
        .ok(200);
    for d in list["items"].as_array().unwrap() {
        assert_eq!(d["status"], "delivered", "{d}");
        assert_eq!(d["attempts"], 2, "{d}");
        assert_eq!(d["last_status"], 200, "{d}");
        assert!(d["last_error"].is_null(), "{d}");
    }
}

async fn a_delivery_that_keeps_failing_is_failed_after_its_attempts(app: TestApp) {
    let receiver = Receiver::start(|_| 503);
    let s = live_session(&app).await;
    floor_locations(&app).await;
    let merchant = &s.floor.merchant_token;
    // localhost: the name is resolved, and loopback is what it may reach.
    let url = format!("http://localhost:{}/hooks/depot", receiver.port);
    register(&app, merchant, &url).await;
    let batches = batched_and_picked(&app, &s).await;
    pack_one_order(&app, &s.floor.staff_token, &batches).await;

    // Three attempts each (DEPOT_WEBHOOK_MAX_ATTEMPTS), then failed.
    wait_until(|| deliveries_of(&app, "failed") == 2).await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 6, "{:?}", receiver.received());
    let list = app
        .get("/api/v1/webhooks/deliveries?status=failed", merchant)
        .await
        .ok(200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    for d in items {
        assert_eq!(d["attempts"], 3, "{d}");
        assert_eq!(d["last_status"], 503, "{d}");
        assert!(d["last_error"].as_str().unwrap().contains("503"), "{d}");
        assert!(d["next_attempt_at"].is_null(), "{d}");
        assert!(d["delivered_at"].is_null(), "{d}");
    }
    let pending = app
        .get("/api/v1/webhooks/deliveries?status=pending", merchant)
        .await
        .ok(200);
    assert_eq!(pending["items"], json!([]));
}

async fn private_and_malformed_urls_are_refused_and_nothing_is_stored(app: TestApp) {
    let (merchant_id, merchant) = app.merchant_token("蜂蜜小铺").await;
    for url in [
        "http://hooks.example.com/depot",
        "https://10.0.0.8/depot",
        "https://192.168.1.20/depot",
        "https://172.20.0.1/depot",
        "https://100.64.1.1/depot",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd12::1]/depot",
        "https://[fe80::1]/depot",
        "https://[::ffff:10.0.0.8]/depot",
        "https://0.0.0.0/depot",
        "https://224.0.0.251/depot",
        "http://2130706433/depot",
        "https://user:password@hooks.example.com/depot",
        "ftp://hooks.example.com/depot",
        "https://hooks.example.com/回调",
        "not a url",
    ] {
        let problem = app
            .post(
                "/api/v1/webhooks",
                &merchant,
                json!({"url": url, "secret": SECRET}),
            )
            .await
            .problem(422);
        assert_eq!(problem["errors"][0]["field"], "url", "{url}: {problem}");
    }
    let problem = app
        .post(
            "/api/v1/webhooks",
            &merchant,
            json!({"url": "https://hooks.example.com/depot", "secret": "too-short"}),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "secret", "{problem}");
    // Staff must name the merchant.
    let (_, staff) = app.token("staff", None, None).await;
    let problem = app
        .post(
            "/api/v1/webhooks",
            &staff,
            json!({"url": "https://hooks.example.com/depot", "secret": SECRET}),
        )
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "merchant_id", "{problem}");
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM webhooks"), 0);

    // A public https URL (name or address) and loopback http are taken.
    for url in [
        "https://hooks.example.com/depot?shop=%E8%9C%82%E8%9C%9C",
        "https://8.8.8.8/depot",
        "http://127.0.0.1:9/depot",
        "http://[::1]:9/depot",
    ] {
        register(&app, &merchant, url).await;
    }
    let created = app
        .post(
            "/api/v1/webhooks",
            &staff,
            json!({"url": "https://hooks.example.com/other", "secret": SECRET, "merchant_id": merchant_id}),
        )
        .await
        .ok(201);
    assert_eq!(created["merchant_id"], merchant_id.as_str());
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM webhooks"), 5);
}

async fn another_merchants_webhooks_and_deliveries_are_not_found(app: TestApp) {
    let receiver = Receiver::start(|_| 200);
    let s = live_session(&app).await;
    floor_locations(&app).await;
    let theirs = &s.floor.merchant_token;
    let webhook = register(&app, theirs, &receiver.url()).await;
    let id = webhook["id"].as_str().unwrap();
    let batches = batched_and_picked(&app, &s).await;
    pack_one_order(&app, &s.floor.staff_token, &batches).await;
    receiver.wait_for(2).await;

    let (_, mine) = app.merchant_token("茶园合作社").await;
    let (_, carrier) = app.token("carrier", None, Some(&s.carriers[0].1)).await;
    // Not listed, not deletable, its deliveries not shown.
    let listed = app.get("/api/v1/webhooks", &mine).await.ok(200);
    assert_eq!(listed["items"], json!([]));
    let deliveries = app.get("/api/v1/webhooks/deliveries", &mine).await.ok(200);
    assert_eq!(deliveries["items"], json!([]));
    let gone = app
        .call(
            "DELETE",
            &format!("/api/v1/webhooks/{id}"),
            Some(&mine),
            None,
        )
        .await
        .problem(404);
    let missing = app
        .call("DELETE", "/api/v1/webhooks/whk_nothing", Some(&mine), None)
        .await
        .problem(404);
    assert_eq!(gone["type"], missing["type"]);
    // Nor may it register for the other merchant.
    let s_merchant = webhook["merchant_id"].as_str().unwrap();
    app.post(
        "/api/v1/webhooks",
        &mine,
        json!({"url": receiver.url(), "secret": SECRET, "merchant_id": s_merchant}),
    )
    .await
    .problem(422);
    // Carriers have no webhooks.
    app.get("/api/v1/webhooks", &carrier).await.problem(403);
    // Staff see every merchant's.
    let all = app
        .get("/api/v1/webhooks/deliveries", &s.floor.staff_token)
        .await
        .ok(200);
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "{all}");

    // Its owner deletes it: nothing more is queued for it.
    let reply = app
        .call(
            "DELETE",
            &format!("/api/v1/webhooks/{id}"),
            Some(theirs),
            None,
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    app.call(
        "DELETE",
        &format!("/api/v1/webhooks/{id}"),
        Some(theirs),
        None,
    )
    .await
    .problem(404);
    assert_eq!(
        app.get("/api/v1/webhooks", theirs).await.ok(200)["items"],
        json!([])
    );
    pack_one_order_of_batch(&app, &s.floor.staff_token, &batches).await;
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM webhook_deliveries"), 2);
}

/// Packs the first still-picked order of the batches.
async fn pack_one_order_of_batch(app: &TestApp, staff: &str, batches: &[(String, String, String)]) {
    for (id, _, _) in batches {
        let batch = app
            .get(&format!("/api/v1/batches/{id}"), staff)
            .await
            .ok(200);
        for order in batch["orders"].as_array().unwrap() {
            let order = order.as_str().unwrap();
            let status = app
                .get(&format!("/api/v1/orders/{order}"), staff)
                .await
                .ok(200);
            if status["status"] == "picked" {
                app.post(
                    &format!("/api/v1/orders/{order}/parcels"),
                    staff,
                    json!({"weight_g": 700}),
                )
                .await
                .ok(201);
                return;
            }
        }
    }
    panic!("no picked order left");
}

async fn deliveries_queued_while_the_receiver_is_down_arrive_after_a_restart(mut app: TestApp) {
    // The receiver's port, free: nothing listens on it yet.
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let s = live_session(&app).await;
    floor_locations(&app).await;
    let merchant = s.floor.merchant_token.clone();
    register(
        &app,
        &merchant,
        &format!("http://127.0.0.1:{port}/hooks/depot"),
    )
    .await;
    let batches = batched_and_picked(&app, &s).await;
    pack_one_order(&app, &s.floor.staff_token, &batches).await;

    // The sender tries, finds no one, and keeps the deliveries pending.
    wait_until(|| {
        app.count(
            "SELECT COUNT(*) AS n FROM webhook_deliveries \
             WHERE status = 'pending' AND attempts >= 1 AND last_error IS NOT NULL",
        ) == 2
    })
    .await;

    // depot stops (its sender with it) with the deliveries still queued.
    app.stop().await;
    assert_eq!(deliveries_of(&app, "pending"), 2);
    let receiver = Receiver::on(
        TcpListener::bind(("127.0.0.1", port)).expect("the receiver's port again"),
        |_| 200,
    );
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert!(
        receiver.received().is_empty(),
        "a stopped depot sent: {:?}",
        receiver.received()
    );
    assert_eq!(deliveries_of(&app, "pending"), 2);

    // A new depot on the same database sends them.
    let _restarted = app.second_server_with(patient_webhooks);
    let got = receiver.wait_for(2).await;
    let mut events: Vec<String> = got
        .iter()
        .map(|r| {
            assert!(signature_is_valid(r, SECRET), "{r:?}");
            r.json()["event"].as_str().unwrap().to_string()
        })
        .collect();
    events.sort();
    assert_eq!(events, ["order.packed", "parcel.packed"]);
    wait_until(|| deliveries_of(&app, "delivered") == 2).await;
}

async fn https_receivers_are_verified_against_the_configured_ca_file(app: TestApp) {
    let (key, cert, _) = trusted_certificate();
    let trusted = Receiver::tls(acceptor(key, cert), |_| 200);
    let (other_key, other_cert) = test_certificate();
    let untrusted = Receiver::tls(acceptor(&other_key, &other_cert), |_| 200);
    let s = live_session(&app).await;
    floor_locations(&app).await;
    let merchant = &s.floor.merchant_token;
    let good = register(
        &app,
        merchant,
        &format!("https://127.0.0.1:{}/hooks/depot", trusted.port),
    )
    .await;
    let bad = register(
        &app,
        merchant,
        &format!("https://127.0.0.1:{}/hooks/depot", untrusted.port),
    )
    .await;
    let batches = batched_and_picked(&app, &s).await;
    pack_one_order(&app, &s.floor.staff_token, &batches).await;

    // Over TLS, signed, to the receiver whose certificate the CA file holds.
    let got = trusted.wait_for(2).await;
    assert!(got.iter().all(|r| signature_is_valid(r, SECRET)), "{got:?}");
    // Never to one whose certificate it does not: failed after the attempts.
    wait_until(|| deliveries_of(&app, "failed") == 2).await;
    assert!(untrusted.received().is_empty());
    let list = app
        .get("/api/v1/webhooks/deliveries?limit=10", merchant)
        .await
        .ok(200);
    for d in list["items"].as_array().unwrap() {
        if d["webhook_id"] == good["id"] {
            assert_eq!(d["status"], "delivered", "{d}");
        } else {
            assert_eq!(d["webhook_id"], bad["id"], "{d}");
            assert_eq!(d["status"], "failed", "{d}");
            assert!(d["last_status"].is_null(), "no answer was read: {d}");
            let error = d["last_error"].as_str().unwrap();
            assert!(error.contains("certificate verify failed"), "{error}");
        }
    }
}

async fn an_instance_with_its_sender_off_queues_and_another_one_sends(app: TestApp) {
    let receiver = Receiver::start(|_| 200);
    let s = live_session(&app).await;
    floor_locations(&app).await;
    let merchant = &s.floor.merchant_token;
    register(&app, merchant, &receiver.url()).await;
    let batches = batched_and_picked(&app, &s).await;
    pack_one_order(&app, &s.floor.staff_token, &batches).await;

    // Queued in packing's transaction, and left alone by this instance.
    assert_eq!(deliveries_of(&app, "pending"), 2);
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE attempts = 0"),
        2
    );
    // An instance whose sender runs picks them up.
    let _sender = app.second_server_with(fast_webhooks);
    receiver.wait_for(2).await;
    wait_until(|| deliveries_of(&app, "delivered") == 2).await;
}

/// Waits until `done` holds (at most 20 s).
async fn wait_until(done: impl Fn() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the condition did not hold within 20 s");
}
