//! The `depot` binary as a new user runs it: start-up on an empty SQLite file,
//! the first admin token, the CLI, and a bad configuration value.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `depot serve` and waits for it to say where it listens.
fn serve(mut command: Command) -> Served {
    let child = command
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("depot starts");
    // Owned by `Served` at once, so that it is killed and reaped on every path.
    let mut served = Served {
        child,
        stdout: Vec::new(),
        port: 0,
    };
    let (tx, rx) = mpsc::channel::<(bool, String)>();
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
        let (is_stdout, line) = rx
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
    while let Ok((is_stdout, line)) = rx.recv_timeout(Duration::from_millis(500)) {
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
