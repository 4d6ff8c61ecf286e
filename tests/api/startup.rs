//! The `depot` binary as a new user runs it: start-up on an empty SQLite file,
//! the first admin token, the CLI, a bad configuration value, a busy port,
//! Ctrl-C, `--help` and the request log.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const DEPOT: &str = env!("CARGO_BIN_EXE_depot");

fn depot(dir: &std::path::Path) -> Command {
    let mut command = Command::new(DEPOT);
    command
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("DEPOT_POOL_SIZE")
        .env_remove("DEPOT_WORKERS")
        .env("DEPOT_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info");
    command
}

/// A running `depot serve`, killed when dropped.
struct Served {
    child: Child,
    stdout: Vec<String>,
    port: u16,
    /// Every later line, `(is_stdout, line)`, in the order each stream wrote it.
    lines: mpsc::Receiver<(bool, String)>,
}

impl Served {
    /// Waits (at most 30 s) for a stderr line with `needle`, and answers
    /// every stderr line up to and including it.
    fn stderr_until(&self, needle: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((false, line)) => {
                    let found = line.contains(needle);
                    seen.push(line);
                    if found {
                        return seen;
                    }
                }
                Ok((true, _)) => {}
                Err(_) => panic!("no stderr line with {needle:?} within 30 s; saw {seen:#?}"),
            }
        }
    }

    /// Waits (at most 30 s) for the process to end, and answers its exit code.
    fn wait_for_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "depot serve did not exit within 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Runs a command that must end by itself, killing it after 30 s (so that a
/// server that should have refused to start fails the test, not hangs it).
fn run_bounded(command: &mut Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("depot starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            panic!(
                "still running after 30 s; stdout: {}",
                String::from_utf8_lossy(&output.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `depot serve` and waits for it to say where it listens.
fn serve(command: Command) -> Served {
    serve_with(command, &[])
}

/// Starts `depot serve <flags>` and waits for it to say where it listens.
fn serve_with(mut command: Command, flags: &[&str]) -> Served {
    let child = command
        .arg("serve")
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("depot starts");
    // Owned by `Served` at once, so that it is killed and reaped on every path.
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    let mut served = Served {
        child,
        stdout: Vec::new(),
        port: 0,
        lines: rx,
    };
    for (is_stdout, stream) in [
        (
            true,
            Box::new(served.child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        ),
        (false, Box::new(served.child.stderr.take().unwrap())),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send((is_stdout, line));
            }
        });
    }
    loop {
        let (is_stdout, line) = served
            .lines
            .recv_timeout(Duration::from_secs(30))
            .expect("depot says where it listens within 30 s");
        if is_stdout {
            served.stdout.push(line);
        } else if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
            served.port = rest.split(' ').next().unwrap().parse().expect("a port");
            break;
        }
    }
    // stdout and stderr are read on two threads, so lines depot wrote to stdout
    // before it logged "listening" may still be on their way: collect them.
    // The token is printed before the server starts, so the lines before
    // "listening" are all there is; stdout lines still on their way come
    // within moments. Stderr lines met here are not needed by any test.
    while let Ok((is_stdout, line)) = served.lines.recv_timeout(Duration::from_millis(500)) {
        if is_stdout {
            served.stdout.push(line);
        }
    }
    served
}

/// Sends one raw HTTP/1.1 request and answers status and body. A tiny
/// blocking client is enough here; these tests have no actix runtime.
fn exchange(port: u16, request: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().expect("a status");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

fn get(port: u16, path: &str, token: Option<&str>) -> (u16, String) {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    exchange(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"),
    )
}

fn token_in(lines: &[String]) -> Option<String> {
    lines.iter().find_map(|l| {
        let start = l.find("dpt_")?;
        Some(l[start..start + 68].to_string())
    })
}

#[test]
fn serve_starts_on_an_empty_sqlite_file_and_prints_the_first_admin_token_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("depot.db"), b"").unwrap();

    let first = serve(depot(dir.path()));
    let token = token_in(&first.stdout).expect("the first start prints an admin token");
    assert_eq!(get(first.port, "/readyz", None).0, 200);
    let (status, body) = get(first.port, "/api/v1/tokens", Some(&token));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"role\":\"admin\""));
    drop(first);

    let second = serve(depot(dir.path()));
    assert_eq!(
        token_in(&second.stdout),
        None,
        "the token is printed only once"
    );
    assert_eq!(get(second.port, "/api/v1/tokens", Some(&token)).0, 200);
}

#[test]
fn admin_token_command_prints_a_working_token_on_its_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = depot(dir.path())
        .args(["admin", "token", "--role", "staff", "--label", "floor"])
        .output()
        .expect("depot runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let last = stdout.lines().last().expect("output").to_string();
    assert!(
        last.starts_with("dpt_") && last.len() == 68,
        "last line: {last}"
    );

    let served = serve(depot(dir.path()));
    let (status, body) = get(served.port, "/api/v1/merchants", Some(&last));
    assert_eq!(status, 200, "{body}");
    // A staff token may not list tokens.
    assert_eq!(get(served.port, "/api/v1/tokens", Some(&last)).0, 403);
}

#[test]
fn a_bad_configuration_value_stops_start_up_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("DEPOT_POOL_SIZE", "lots"),
        ("DEPOT_BIND", "8080"),
        ("DATABASE_URL", "mysql://x/y"),
    ] {
        let output = depot(dir.path())
            .env(var, value)
            .arg("serve")
            .output()
            .expect("depot runs");
        assert_eq!(output.status.code(), Some(2), "{var}={value}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(var), "{stderr}");
        assert!(!stderr.contains("panicked"));
    }
}

#[test]
fn migrate_command_reports_what_it_applied() {
    let dir = tempfile::tempdir().unwrap();
    let first = depot(dir.path()).arg("migrate").output().unwrap();
    assert!(first.status.success());
    assert!(String::from_utf8_lossy(&first.stdout).contains("applied migration"));
    let again = depot(dir.path()).arg("migrate").output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("up to date"));
}

#[test]
fn check_command_compares_stock_with_the_ledger() {
    use diesel::{Connection, RunQueryDsl};
    let dir = tempfile::tempdir().unwrap();
    assert!(depot(dir.path())
        .arg("migrate")
        .output()
        .unwrap()
        .status
        .success());

    let clean = depot(dir.path()).arg("check").output().unwrap();
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert!(String::from_utf8_lossy(&clean.stdout).contains("stock equals the ledger"));

    // A stock row no ledger entry explains (with foreign keys off on this
    // connection, so no lot is needed).
    let path = dir.path().join("depot.db");
    let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    diesel::sql_query("PRAGMA foreign_keys = OFF")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query(
        "INSERT INTO stock (lot_id, location_id, on_hand, reserved) VALUES ('lot_GHOST', 'loc_receiving', 5, 0)",
    )
    .execute(&mut conn)
    .unwrap();
    drop(conn);

    let dirty = depot(dir.path()).arg("check").output().unwrap();
    assert_eq!(dirty.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&dirty.stdout);
    assert!(
        stdout.contains("lot lot_GHOST at loc_receiving: ledger 0, stock 5"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&dirty.stderr).contains("differ from the ledger"));
}

#[test]
fn expire_command_reports_what_it_held() {
    let dir = tempfile::tempdir().unwrap();
    let output = depot(dir.path()).arg("expire").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("0 expired lot(s) put on hold"));
}

/// POSTs a JSON body with a bearer token.
fn post(port: u16, path: &str, token: &str, body: &serde_json::Value) -> (u16, String) {
    let body = body.to_string();
    exchange(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn json_of(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Acknowledged orders are stored: the server is killed with SIGKILL right
/// after answering, and on restart every order it acknowledged is there.
fn orders_acknowledged_before_a_kill_survive_it(database_url: Option<String>) {
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let command = || {
        let mut c = depot(dir.path());
        if let Some(url) = &database_url {
            c.env("DATABASE_URL", url);
        }
        c
    };
    let mut first = serve(command());
    let admin = token_in(&first.stdout).expect("a first admin token");
    let port = first.port;
    let (status, merchant) = post(
        port,
        "/api/v1/merchants",
        &admin,
        &json!({"code": "KILLME", "name": "Kill test"}),
    );
    assert_eq!(status, 201, "{merchant}");
    let merchant_id = json_of(&merchant)["id"].as_str().unwrap().to_string();
    let (_, token) = post(
        port,
        "/api/v1/tokens",
        &admin,
        &json!({"role": "merchant", "merchant_id": merchant_id}),
    );
    let token = json_of(&token)["token"].as_str().unwrap().to_string();
    let (status, sku) = post(
        port,
        "/api/v1/skus",
        &token,
        &json!({"code": "HOT", "name": "Hot item"}),
    );
    assert_eq!(status, 201, "{sku}");
    let order = |id: String| {
        json!({"channel": "douyin", "external_id": id,
               "ship_to": {"name": "Li Lei", "phone": "13800138000", "address": "1 Road",
                           "city": "Hangzhou", "province": "Zhejiang"},
               "lines": [{"sku_code": "HOT", "qty": 1}]})
    };
    let mut acknowledged = Vec::new();
    let bulk: Vec<_> = (0..300).map(|i| order(format!("BULK-{i}"))).collect();
    let (status, answer) = post(
        port,
        "/api/v1/orders/bulk",
        &token,
        &json!({"orders": bulk}),
    );
    assert_eq!(status, 200, "{answer}");
    for r in json_of(&answer)["results"].as_array().unwrap() {
        assert_eq!(r["status"], "backordered", "{r}");
        acknowledged.push(r["order_id"].as_str().unwrap().to_string());
    }
    for i in 0..20 {
        let (status, answer) = post(port, "/api/v1/orders", &token, &order(format!("ONE-{i}")));
        assert_eq!(status, 201, "{answer}");
        acknowledged.push(json_of(&answer)["id"].as_str().unwrap().to_string());
    }

    // SIGKILL: no shutdown, no flush, no checkpoint.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    drop(first);

    let second = serve(command());
    for id in &acknowledged {
        let (status, body) = get(second.port, &format!("/api/v1/orders/{id}"), Some(&token));
        assert_eq!(
            status, 200,
            "order {id} was acknowledged, then lost: {body}"
        );
    }
    let (_, page) = get(second.port, "/api/v1/orders?limit=500", Some(&token));
    assert_eq!(json_of(&page)["items"].as_array().unwrap().len(), 320);
}

#[test]
fn orders_acknowledged_before_a_kill_survive_it_on_sqlite() {
    orders_acknowledged_before_a_kill_survive_it(None);
}

#[test]
fn orders_acknowledged_before_a_kill_survive_it_on_postgres() {
    use diesel::{Connection, RunQueryDsl};
    let Some(admin_url) = std::env::var(crate::helpers::PG_URL_VAR)
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!(
            "skipped: {} is not set, so this test did not run on PostgreSQL",
            crate::helpers::PG_URL_VAR
        );
        return;
    };
    let schema = format!("depot_kill_{:016x}", rand::random::<u64>());
    let mut conn = diesel::PgConnection::establish(&admin_url).unwrap();
    diesel::sql_query(format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .unwrap();
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{separator}options=-csearch_path%3D{schema}");
    let outcome =
        std::panic::catch_unwind(|| orders_acknowledged_before_a_kill_survive_it(Some(url)));
    let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut conn);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Sends a signal to a running depot with the system's `kill`.
fn signal(served: &Served, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), served.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} failed");
}

#[test]
fn serve_on_a_busy_port_exits_with_one_line_and_creates_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();

    let output = run_bounded(
        depot(dir.path())
            .env("DEPOT_BIND", format!("127.0.0.1:{port}"))
            .arg("serve"),
    );

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr,
        format!("depot: cannot listen on 127.0.0.1:{port}: address already in use\n")
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!stdout.contains("dpt_"), "no token is printed: {stdout}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        !dir.path().join("depot.db").exists(),
        "the database was not touched"
    );
    assert!(
        !dir.path().join("depot-data").exists(),
        "nor the data directory"
    );
}

/// Ctrl-C while a request is half sent: the request is still answered, the
/// order it carries is kept, and depot exits 0.
fn sigint_lets_the_request_in_flight_finish(database_url: Option<String>) {
    use serde_json::json;
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let command = || {
        let mut c = depot(dir.path());
        if let Some(url) = &database_url {
            c.env("DATABASE_URL", url);
        }
        c
    };
    let mut first = serve(command());
    let admin = token_in(&first.stdout).expect("a first admin token");
    let port = first.port;
    let (status, merchant) = post(
        port,
        "/api/v1/merchants",
        &admin,
        &json!({"code": "HONEY", "name": "蜂蜜小铺旗舰店"}),
    );
    assert_eq!(status, 201, "{merchant}");
    let merchant_id = json_of(&merchant)["id"].as_str().unwrap().to_string();
    let (_, token) = post(
        port,
        "/api/v1/tokens",
        &admin,
        &json!({"role": "merchant", "merchant_id": merchant_id}),
    );
    let token = json_of(&token)["token"].as_str().unwrap().to_string();
    let (status, sku) = post(
        port,
        "/api/v1/skus",
        &token,
        &json!({"code": "HONEY-500G", "name": "椴树蜂蜜 500g"}),
    );
    assert_eq!(status, 201, "{sku}");
    let (status, acknowledged) = post(
        port,
        "/api/v1/orders",
        &token,
        &json!({"channel": "douyin", "external_id": "DY-1202-0001",
                "ship_to": {"name": "李雷", "phone": "13800138000", "address": "文三路 1 号",
                            "city": "杭州", "province": "浙江"},
                "lines": [{"sku_code": "HONEY-500G", "qty": 1}]}),
    );
    assert_eq!(status, 201, "{acknowledged}");
    let acknowledged = json_of(&acknowledged)["id"].as_str().unwrap().to_string();

    // Arrange a request in flight: headers and half of the body sent.
    let body = json!({"channel": "douyin", "external_id": "DY-1202-0002",
                      "ship_to": {"name": "韩梅梅", "phone": "13900000001", "address": "文二路 2 号",
                                  "city": "杭州", "province": "浙江"},
                      "lines": [{"sku_code": "HONEY-500G", "qty": 2}]})
    .to_string();
    let (head, tail) = body.as_bytes().split_at(body.len() / 2);
    let mut in_flight = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    in_flight
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        in_flight,
        "POST /api/v1/orders HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    in_flight.write_all(head).unwrap();
    in_flight.flush().unwrap();
    // depot accepts connections in the order they came: once a later one is
    // answered, the half-sent request's connection has been taken too.
    assert_eq!(get(port, "/healthz", None).0, 200);

    // Act: Ctrl-C, then the rest of the body.
    signal(&first, "INT");
    first.stderr_until("SIGINT received");
    in_flight.write_all(tail).unwrap();
    let mut response = String::new();
    in_flight.read_to_string(&mut response).unwrap();

    // Assert: answered, exit 0, and both orders there after a restart.
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let second_id = json_of(response.split("\r\n\r\n").nth(1).unwrap())["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(first.wait_for_exit(), Some(0), "a graceful stop exits 0");
    drop(first);
    let second = serve(command());
    for id in [acknowledged, second_id] {
        let (status, body) = get(second.port, &format!("/api/v1/orders/{id}"), Some(&token));
        assert_eq!(
            status, 200,
            "order {id} was acknowledged, then lost: {body}"
        );
    }
}

/// Runs `test` with the URL of a new PostgreSQL schema, dropped afterwards;
/// skips (saying so) without DEPOT_TEST_PG_URL.
fn on_a_postgres_schema(prefix: &str, test: impl FnOnce(String) + std::panic::UnwindSafe) {
    use diesel::{Connection, RunQueryDsl};
    let Some(admin_url) = std::env::var(crate::helpers::PG_URL_VAR)
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!(
            "skipped: {} is not set, so this test did not run on PostgreSQL",
            crate::helpers::PG_URL_VAR
        );
        return;
    };
    let schema = format!("{prefix}_{:016x}", rand::random::<u64>());
    let mut conn = diesel::PgConnection::establish(&admin_url).unwrap();
    diesel::sql_query(format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .unwrap();
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{separator}options=-csearch_path%3D{schema}");
    let outcome = std::panic::catch_unwind(|| test(url));
    let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut conn);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn sigint_lets_the_request_in_flight_finish_and_exits_0_on_sqlite() {
    sigint_lets_the_request_in_flight_finish(None);
}

#[test]
fn sigint_lets_the_request_in_flight_finish_and_exits_0_on_postgres() {
    on_a_postgres_schema("depot_sigint", |url| {
        sigint_lets_the_request_in_flight_finish(Some(url))
    });
}

#[test]
fn sigterm_stops_serve_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = serve(depot(dir.path()));
    signal(&served, "TERM");
    served.stderr_until("SIGTERM received");
    assert_eq!(served.wait_for_exit(), Some(0));
}

/// The variables of the table at the top of src/config.rs, so that a new one
/// there without a flag fails this test.
fn configuration_variables() -> Vec<String> {
    let source = include_str!("../../src/config.rs");
    let vars: Vec<String> = source
        .lines()
        .filter_map(|l| l.strip_prefix("//! | `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_string)
        .collect();
    assert!(vars.len() >= 6, "the table of src/config.rs: {vars:?}");
    vars
}

#[test]
fn serve_help_lists_every_environment_variable_with_its_default() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_bounded(depot(dir.path()).args(["serve", "--help"]));
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for var in configuration_variables() {
        let line = help
            .lines()
            .find(|l| l.contains(&format!("[env: {var}")))
            .unwrap_or_else(|| panic!("--help does not list {var}:\n{help}"));
        assert!(line.contains("[default: "), "no default for {var}: {line}");
    }
    assert!(help.contains("[default: 127.0.0.1:8080]"), "{help}");
    assert!(help.contains("[default: depot.db]"), "{help}");
}

#[test]
fn serve_help_never_shows_the_database_password() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_bounded(
        depot(dir.path())
            .env("DATABASE_URL", "postgres://depot:s3cret@db/depot")
            .args(["serve", "--help"]),
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("s3cret"));
}

#[test]
fn the_bind_flag_wins_over_depot_bind() {
    let dir = tempfile::tempdir().unwrap();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = holder.local_addr().unwrap().port();
    let mut command = depot(dir.path());
    command.env("DEPOT_BIND", format!("127.0.0.1:{busy}"));
    let served = serve_with(command, &["--bind", "127.0.0.1:0"]);
    assert_ne!(served.port, busy);
    assert_eq!(get(served.port, "/healthz", None).0, 200);
}

#[test]
fn admin_location_create_and_list_work_like_the_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let admin = |args: &[&str]| {
        let mut command = depot(dir.path());
        command.arg("admin").arg("location").args(args);
        run_bounded(&mut command)
    };

    let created = admin(&[
        "create",
        "--code",
        "C-COLD-01",
        "--kind",
        "storage",
        "--zone",
        "冷库",
        "--walk-seq",
        "10",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let line = String::from_utf8(created.stdout).unwrap();
    let fields: Vec<&str> = line.trim_end().split('\t').collect();
    assert!(fields[0].starts_with("loc_"), "{line}");
    assert_eq!(&fields[1..], ["C-COLD-01", "storage", "冷库", "10"]);
    assert!(admin(&["create", "--code", "Q-01", "--kind", "quarantine"])
        .status
        .success());

    let listed = String::from_utf8(admin(&["list", "--kind", "storage"]).stdout).unwrap();
    assert!(listed.contains(line.trim_end()), "{listed}");
    assert!(!listed.contains("Q-01"), "filtered by kind: {listed}");

    // The endpoint's checks: a taken code, a bad kind (named), a bad code.
    let again = admin(&["create", "--code", "C-COLD-01", "--kind", "storage"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let bad = admin(&["create", "--code", " 空格", "--kind", "shelf"]);
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8(bad.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("code: ") && stderr.contains("kind: must be one of"),
        "{stderr}"
    );

    // The same locations through the API.
    let served = serve(depot(dir.path()));
    let token = token_in(&served.stdout).expect("a first admin token");
    let (status, body) = get(served.port, "/api/v1/locations?kind=storage", Some(&token));
    assert_eq!(status, 200, "{body}");
    let codes: Vec<_> = json_of(&body)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["code"].as_str().unwrap().to_string())
        .collect();
    assert!(codes.contains(&"C-COLD-01".to_string()), "{codes:?}");
}

#[test]
fn each_request_is_one_info_line_with_its_route_and_token_id_but_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(depot(dir.path()));
    let token = token_in(&served.stdout).expect("a first admin token");
    let (_, tokens) = get(served.port, "/api/v1/tokens", Some(&token));
    let token_id = json_of(&tokens)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // A phone in the query string (a parameter the endpoint does not take:
    // 400) and an id in the path: neither is logged.
    let (status, _) = get(
        served.port,
        "/api/v1/merchants/mer_13800138000?phone=13800138000",
        Some(&token),
    );
    assert_eq!(status, 400);
    // A request after it, so that every line of the first has been written
    // by the time this one's appears.
    assert_eq!(get(served.port, "/healthz", None).0, 200);
    let lines = served.stderr_until("GET /healthz 200");

    let logged: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("/api/v1/merchants/"))
        .collect();
    assert_eq!(logged.len(), 1, "one line per request: {lines:#?}");
    let line = logged[0];
    assert!(line.contains(" INFO "), "{line}");
    assert!(line.contains("depot::http"), "{line}");
    assert!(line.contains("GET /api/v1/merchants/{id} 400 "), "{line}");
    assert!(line.contains(&format!("token={token_id}")), "{line}");
    assert!(line.contains("ms "), "a duration: {line}");
    for line in &lines {
        assert!(!line.contains(&token), "the secret is logged: {line}");
        assert!(!line.contains("13800138000"), "a phone is logged: {line}");
    }
    let health = lines.last().unwrap();
    assert!(health.ends_with("token=-"), "no token, no id: {health}");
}
