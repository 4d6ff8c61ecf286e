//! The test harness: a real depot server on a free port, over a fresh
//! database per test — an SQLite file in a temporary directory, or a schema of
//! its own in the PostgreSQL named by `DEPOT_TEST_PG_URL`.

use std::future::Future;
use std::path::PathBuf;

use actix_web::dev::ServerHandle;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::Value;

use depot::config::{Config, DatabaseUrl};
use depot::db::DbPool;
use depot::startup::{self, Application};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const PG_URL_VAR: &str = "DEPOT_TEST_PG_URL";

/// Declares each named `async fn(TestApp)` as two tests, `<name>::sqlite` and
/// `<name>::postgres`; the PostgreSQL one says it skipped when
/// `DEPOT_TEST_PG_URL` is not set.
///
/// `on_both_backends!(config = f; a, b)` first lets `fn f(&mut Config)`
/// change the server's configuration.
#[macro_export]
macro_rules! on_both_backends {
    (config = $configure:ident; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    $crate::helpers::run_test_with($crate::helpers::Backend::Sqlite, super::$configure, super::$name).await
                }
                #[actix_web::test]
                async fn postgres() {
                    $crate::helpers::run_test_with($crate::helpers::Backend::Postgres, super::$configure, super::$name).await
                }
            }
        )*
    };
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    $crate::helpers::run_test($crate::helpers::Backend::Sqlite, super::$name).await
                }
                #[actix_web::test]
                async fn postgres() {
                    $crate::helpers::run_test($crate::helpers::Backend::Postgres, super::$name).await
                }
            }
        )*
    };
}

pub async fn run_test<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    run_test_with(backend, |_| {}, test).await
}

/// [`run_test`] on a server whose configuration `configure` changed.
pub async fn run_test_with<F, Fut>(backend: Backend, configure: fn(&mut Config), test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    match spawn_app_with(backend, configure).await {
        Some(app) => {
            // Kept past the test, so the database outlives it for the check.
            let database = app._database.clone();
            let pool = app.pool.clone();
            test(app).await;
            // After every scenario: stock equals the ledger, nothing is negative.
            let mut conn = pool.get().expect("a connection for the ledger check");
            let check =
                depot::services::storage::check_ledger(&mut conn).expect("the ledger check runs");
            assert!(
                check.ok,
                "the ledger check failed after the test: {check:?}"
            );
            drop(conn);
            drop(pool);
            drop(database);
        }
        None => {
            eprintln!("skipped: {PG_URL_VAR} is not set, so this test did not run on PostgreSQL")
        }
    }
}

/// A fresh database of `backend`, migrated; None for PostgreSQL when no
/// test database is configured.
pub struct TestDatabase {
    pub url: DatabaseUrl,
    pub dir: tempfile::TempDir,
    /// (admin URL, schema) of a PostgreSQL test schema, dropped with the database.
    pg_schema: Option<(String, String)>,
}

impl TestDatabase {
    pub fn new(backend: Backend) -> Option<TestDatabase> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        match backend {
            Backend::Sqlite => {
                let path = dir.path().join("depot.db");
                Some(TestDatabase {
                    url: DatabaseUrl::Sqlite(path.display().to_string()),
                    dir,
                    pg_schema: None,
                })
            }
            Backend::Postgres => {
                let admin_url = std::env::var(PG_URL_VAR).ok().filter(|u| !u.is_empty())?;
                let schema = format!("depot_test_{}", random_suffix());
                let mut conn =
                    PgConnection::establish(&admin_url).expect("connect to DEPOT_TEST_PG_URL");
                diesel::sql_query(format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .expect("create a test schema");
                let separator = if admin_url.contains('?') { '&' } else { '?' };
                let url = format!("{admin_url}{separator}options=-csearch_path%3D{schema}");
                Some(TestDatabase {
                    url: DatabaseUrl::Postgres(url),
                    dir,
                    pg_schema: Some((admin_url, schema)),
                })
            }
        }
    }

    pub fn config(&self) -> Config {
        Config {
            database_url: self.url.clone(),
            bind: "127.0.0.1:0".parse().expect("an address"),
            data_dir: self.dir.path().join("data"),
            pool_size: 4,
            workers: 2,
            warehouse: Default::default(),
            ship_by_hours: Default::default(),
            label_font: None,
            label_zpl_font: depot::config::DEFAULT_LABEL_ZPL_FONT.into(),
            webhooks: Default::default(),
            seal: Default::default(),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, schema)) = &self.pg_schema {
            if let Ok(mut conn) = PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .execute(&mut conn);
            }
        }
    }
}

fn random_suffix() -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

pub struct TestApp {
    pub address: String,
    pub admin_token: String,
    pub pool: DbPool,
    pub backend: Backend,
    /// The server's data directory (`DEPOT_DATA_DIR`): evidence files live under it.
    pub data_dir: PathBuf,
    handle: ServerHandle,
    /// The served application, until [`TestApp::stop`] awaits it.
    running: Option<actix_web::rt::task::JoinHandle<std::io::Result<()>>>,
    client: awc::Client,
    // Dropped last: the schema goes after the server has been told to stop.
    _database: std::sync::Arc<TestDatabase>,
}

pub async fn spawn_app_with(backend: Backend, configure: fn(&mut Config)) -> Option<TestApp> {
    let database = TestDatabase::new(backend)?;
    let mut config = database.config();
    configure(&mut config);
    let pool = startup::open_database(&config).expect("open and migrate the test database");
    let admin = startup::bootstrap_admin(&pool)
        .expect("bootstrap")
        .expect("a fresh database gets a first admin token");
    let app = Application::build(&config, pool.clone()).expect("bind a free port");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let running = Some(actix_web::rt::spawn(app.run()));
    Some(TestApp {
        address,
        admin_token: admin.token,
        pool,
        backend,
        data_dir: config.data_dir.clone(),
        handle,
        running,
        client: awc::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .finish(),
        _database: std::sync::Arc::new(database),
    })
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command now; the workers wind down on their own.
        drop(self.handle.stop(false));
    }
}

/// A second depot server on a test's database, stopped when dropped.
pub struct SecondServer {
    pub address: String,
    handle: ServerHandle,
}

impl Drop for SecondServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// What a test needs of a response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: awc::http::header::HeaderMap,
    pub text: String,
    /// The body as received, for binary answers.
    pub bytes: Vec<u8>,
}

impl Reply {
    /// The body as JSON (Null when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// Asserts the response is an RFC 9457 problem with this status, and returns it.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "expected {status}, got {}: {}",
            self.status, self.text
        );
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "expected problem+json, got {:?}: {}",
            self.content_type,
            self.text
        );
        let body = self.json();
        assert_eq!(body["status"], status, "problem status member: {body}");
        for member in ["type", "title", "detail"] {
            assert!(body[member].is_string(), "problem without {member}: {body}");
        }
        body
    }

    /// Asserts the status and returns the JSON body.
    pub fn ok(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "expected {status}, got {}: {}",
            self.status, self.text
        );
        self.json()
    }
}

impl TestApp {
    /// The database as `DATABASE_URL` names it, for running the `depot` binary on it.
    pub fn database_url(&self) -> String {
        match &self._database.url {
            DatabaseUrl::Sqlite(path) => path.clone(),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Stops the server gracefully and waits until it has stopped, its
    /// background workers included (a depot that was shut down).
    pub async fn stop(&mut self) {
        self.handle.stop(true).await;
        if let Some(running) = self.running.take() {
            let _ = running.await;
        }
    }

    /// Starts a second depot server, with a pool of its own, on the same
    /// database — two instances behind a load balancer. Answers its handle.
    pub fn second_server(&self) -> SecondServer {
        self.second_server_with(|_| {})
    }

    /// [`TestApp::second_server`] with its configuration changed by `configure`.
    pub fn second_server_with(&self, configure: fn(&mut Config)) -> SecondServer {
        let mut config = self._database.config();
        configure(&mut config);
        let pool = depot::db::connect(&config.database_url, config.pool_size)
            .expect("a second pool on the test database");
        let app = Application::build(&config, pool).expect("bind a free port");
        let address = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        actix_web::rt::spawn(app.run());
        SecondServer { address, handle }
    }

    /// POSTs JSON to another server of the same database.
    pub async fn post_at(&self, base: &str, path: &str, token: &str, body: Value) -> Reply {
        let response = self
            .client
            .post(format!("{base}{path}"))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send_json(&body)
            .await;
        read(response.expect("the server answers")).await
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        let response = match body {
            Some(body) => request.send_json(body).await,
            None => request.send().await,
        };
        read(response.expect("the server answers")).await
    }

    /// Sends raw bytes with the given content type (None: no Content-Type header).
    pub async fn call_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        if let Some(content_type) = content_type {
            request = request.insert_header(("Content-Type", content_type));
        }
        read(request.send_body(body).await.expect("the server answers")).await
    }

    /// Sends `chunks` as a chunked body (no Content-Length), so that the
    /// server learns the size only while reading.
    pub async fn call_chunked(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        chunks: Vec<Vec<u8>>,
    ) -> Reply {
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self
            .client
            .request(method, self.url(path))
            .insert_header(("Content-Type", content_type));
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        let stream = futures_util::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, std::io::Error>(actix_web::web::Bytes::from(c))),
        );
        read(
            request
                .send_stream(stream)
                .await
                .expect("the server answers"),
        )
        .await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, Some(token), None).await
    }

    /// A GET with one more request header (`If-None-Match`, …).
    pub async fn get_with(&self, path: &str, token: &str, header: (&str, &str)) -> Reply {
        let request = self
            .client
            .get(self.url(path))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header(header);
        read(request.send().await.expect("the server answers")).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call("POST", path, Some(token), Some(&body)).await
    }

    /// Creates a merchant as admin and returns its id.
    pub async fn merchant(&self, code: &str) -> String {
        let body = self
            .post(
                "/api/v1/merchants",
                &self.admin_token,
                serde_json::json!({"code": code, "name": format!("{code} Ltd")}),
            )
            .await
            .ok(201);
        body["id"].as_str().expect("merchant id").to_string()
    }

    /// Creates a carrier as admin and returns its id.
    pub async fn carrier(&self, code: &str) -> String {
        let body = self
            .post(
                "/api/v1/carriers",
                &self.admin_token,
                serde_json::json!({"code": code, "name": format!("{code} Express")}),
            )
            .await
            .ok(201);
        body["id"].as_str().expect("carrier id").to_string()
    }

    /// Issues a token as admin; returns (id, secret).
    pub async fn token(
        &self,
        role: &str,
        merchant_id: Option<&str>,
        carrier_id: Option<&str>,
    ) -> (String, String) {
        let body = self
            .post(
                "/api/v1/tokens",
                &self.admin_token,
                serde_json::json!({"role": role, "merchant_id": merchant_id, "carrier_id": carrier_id, "label": format!("test {role}")}),
            )
            .await
            .ok(201);
        (
            body["id"].as_str().expect("token id").to_string(),
            body["token"].as_str().expect("token secret").to_string(),
        )
    }

    /// Creates a merchant as admin and issues it a merchant token; returns
    /// (merchant id, token secret).
    pub async fn merchant_token(&self, code: &str) -> (String, String) {
        let merchant = self.merchant(code).await;
        let (_, token) = self.token("merchant", Some(&merchant), None).await;
        (merchant, token)
    }

    /// Announces receipt `reference` with the one line `line` (`sku_code`,
    /// `lot_code`, `expected_qty`, …) as `merchant_token`, and records its
    /// arrival in full as `staff_token`; returns the lot id.
    pub async fn receive_lot(
        &self,
        merchant_token: &str,
        staff_token: &str,
        reference: &str,
        line: Value,
    ) -> String {
        let qty = line["expected_qty"].clone();
        let receipt = self
            .post(
                "/api/v1/receipts",
                merchant_token,
                serde_json::json!({"reference": reference, "lines": [line]}),
            )
            .await
            .ok(201);
        let arrival = self
            .post(
                &format!(
                    "/api/v1/receipts/{}/arrival",
                    receipt["id"].as_str().expect("receipt id")
                ),
                staff_token,
                serde_json::json!({"lines": [{"line_id": receipt["lines"][0]["id"], "received_qty": qty}]}),
            )
            .await
            .ok(200);
        arrival["lots"][0]["id"]
            .as_str()
            .expect("lot id")
            .to_string()
    }

    /// Creates the return inspection template, as `token`, with these
    /// (code, description, defect class) checks.
    pub async fn return_template(&self, token: &str, checks: &[(&str, &str, &str)]) {
        let checks: Vec<Value> = checks
            .iter()
            .map(|(code, description, class)| {
                serde_json::json!({"code": code, "description": description, "defect_class": class})
            })
            .collect();
        self.post(
            "/api/v1/inspection-templates",
            token,
            serde_json::json!({"category": "return", "checks": checks}),
        )
        .await
        .ok(201);
    }

    /// The one text value (column `v`) of `sql`.
    pub fn text(&self, sql: &str) -> String {
        #[derive(diesel::QueryableByName)]
        struct Text {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: String,
        }
        let mut conn = self.pool.get().expect("a connection");
        let row: Text = diesel::sql_query(sql)
            .get_result(&mut *conn)
            .expect("the text query runs");
        row.v
    }

    /// Runs `sql` (a `SELECT COUNT(*) AS n …`) against the test database.
    pub fn count(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.pool.get().expect("a connection");
        let row: Count = diesel::sql_query(sql)
            .get_result(&mut *conn)
            .expect("the count query runs");
        row.n
    }

    /// Inspects the received lot `lot_id` through the API (as admin, finding
    /// nothing) citing the uploaded file `sha256` as evidence; returns the
    /// inspection id.
    pub async fn attach_evidence(&self, lot_id: &str, sha256: &str) -> String {
        let started = self
            .post(
                &format!("/api/v1/lots/{lot_id}/inspections"),
                &self.admin_token,
                serde_json::json!({}),
            )
            .await
            .ok(201);
        let id = started["id"].as_str().expect("inspection id").to_string();
        self.post(
            &format!("/api/v1/inspections/{id}/results"),
            &self.admin_token,
            serde_json::json!({"inspected_qty": started["required_units"],
                               "evidence": [{"uri": format!("/api/v1/evidence/{sha256}"), "sha256": sha256}]}),
        )
        .await
        .ok(200);
        id
    }
}

async fn read<S>(mut response: awc::ClientResponse<S>) -> Reply
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>> + Unpin,
{
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = response
        .body()
        .limit(16 * 1024 * 1024)
        .await
        .expect("a readable body");
    Reply {
        status,
        content_type,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
        bytes: bytes.to_vec(),
    }
}
