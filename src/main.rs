//! The `depot` command line: serve, migrate, admin, check, expire, bench, trace.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use depot::bench::burst::{self, BurstOptions};
use depot::bench::session::SessionShape;
use depot::bench::single::{self, SingleOptions};
use depot::bench::{print_report, ServerOptions, Target};
use depot::config::{self, Config};
use depot::db::{self, DbPool};
use depot::domain::access::{Role, TokenSpec};
use depot::domain::page::PageRequest;
use depot::domain::text::{parse_code, parse_name};
use depot::error::AppError;
use depot::http::catalog::CreateLocation;
use depot::services::{access, carriers, catalog, merchants, storage, trace_seal};
use depot::startup::{self, Application, StopOn};

#[derive(Parser)]
#[command(
    name = "depot",
    version,
    about = "The system of record of a live-commerce base warehouse"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the serve settings costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve the HTTP API. Each setting is a flag or
    /// its environment variable (the flag wins).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Set-up on the database directly: tokens, merchants, carriers, locations.
    #[command(subcommand)]
    Admin(Admin),
    /// Recompute stock from the inventory ledger and report any difference
    /// (exit 1 when there is one).
    Check,
    /// Put every expired lot on hold, so its stock is no longer sellable.
    Expire,
    /// Benchmarks on a fresh database: the live-session burst, single orders.
    #[command(subcommand)]
    Bench(Bench),
    /// The trace log's tamper evidence: seal, verify, checkpoint.
    #[command(subcommand)]
    Trace(TraceCommand),
}

#[derive(Subcommand)]
enum TraceCommand {
    /// Seal every settled event into blocks now (as the sealer of `depot
    /// serve` does every DEPOT_TRACE_SEAL_INTERVAL_MS).
    Seal,
    /// Recompute every event's hash, every block's Merkle root and the chain;
    /// name the first broken event or block (exit 1 when there is one).
    Verify {
        /// A checkpoint printed by `depot trace checkpoint`: also fail when
        /// blocks it counts are gone or differ (the newest ones deleted).
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<std::path::PathBuf>,
        /// Print the report as JSON (as GET /trace/verify answers it).
        #[arg(long)]
        json: bool,
    },
    /// Verify, then print a checkpoint signed with DEPOT_TRACE_SIGNING_KEY
    /// (block count, last seq, root) as JSON, to keep outside the database.
    Checkpoint,
}

/// The settings of `depot serve`. Kept as text here: `Config` checks them,
/// so that a bad value is one line naming its variable, as for every command.
#[derive(Args)]
struct ServeArgs {
    /// An SQLite file path (or sqlite://path, created on first start), or
    /// postgres://user:password@host/db.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = config::DEFAULT_SQLITE_FILE,
        hide_env_values = true
    )]
    database_url: String,
    /// Address and port the HTTP server listens on.
    #[arg(long, env = "DEPOT_BIND", default_value = config::DEFAULT_BIND)]
    bind: String,
    /// Directory for files such as evidence uploads.
    #[arg(long, env = "DEPOT_DATA_DIR", default_value = config::DEFAULT_DATA_DIR)]
    data_dir: String,
    /// Database connections of this depot process (1 to 256).
    #[arg(long, env = "DEPOT_POOL_SIZE", default_value_t = config::DEFAULT_POOL_SIZE.to_string())]
    pool_size: String,
    /// HTTP worker threads (1 to 256; the default is this machine's cores).
    #[arg(long, env = "DEPOT_WORKERS", default_value_t = config::default_workers().to_string())]
    workers: String,
    /// Each channel's dispatch promise in hours after the order time, e.g.
    /// douyin=24,kuaishou=36,*=48 (* is every channel not named); an order's
    /// own ship_by wins.
    #[arg(long, env = "DEPOT_SHIP_BY_HOURS", default_value = "*=48")]
    ship_by_hours: String,
    /// The warehouse's GS1 company prefix (7 to 10 digits) in its parcels'
    /// SSCCs; the default is GS1's example prefix, for trying depot out.
    #[arg(long, env = "DEPOT_GS1_COMPANY_PREFIX", default_value = config::EXAMPLE_COMPANY_PREFIX)]
    gs1_company_prefix: String,
    /// The SSCC extension digit (0 to 9).
    #[arg(long, env = "DEPOT_SSCC_EXTENSION_DIGIT", default_value = "0")]
    sscc_extension_digit: String,
    /// Where depot's own identifiers live in the EPCIS export: an https URI
    /// ending in / (https://wms.example.com/id/) or a URN ending in :.
    #[arg(long, env = "DEPOT_EPCIS_BASE_URI", default_value = "urn:depot:")]
    epcis_base_uri: String,
    /// Font of PDF labels: a TTF/OTF/TTC file, path#index for another face;
    /// auto: the first found of the Debian CJK fonts (fonts-wqy-zenhei, …).
    #[arg(long, env = "DEPOT_LABEL_FONT", default_value = config::AUTO_LABEL_FONT)]
    label_font: String,
    /// Printer font of ZPL labels' text, one holding CJK glyphs.
    #[arg(long, env = "DEPOT_LABEL_ZPL_FONT", default_value = config::DEFAULT_LABEL_ZPL_FONT)]
    label_zpl_font: String,
    /// How often the webhook sender looks for due deliveries, in ms; 0: this
    /// instance sends none (another one does).
    #[arg(long, env = "DEPOT_WEBHOOK_POLL_MS", default_value_t = config::DEFAULT_WEBHOOK_POLL_MS.to_string())]
    webhook_poll_ms: String,
    /// Attempts of a webhook delivery before it is failed (1 to 100).
    #[arg(long, env = "DEPOT_WEBHOOK_MAX_ATTEMPTS", default_value_t = config::DEFAULT_WEBHOOK_MAX_ATTEMPTS.to_string())]
    webhook_max_attempts: String,
    /// Wait after a delivery's first failed attempt, in ms, doubled after
    /// each (with jitter, at most 6 h).
    #[arg(long, env = "DEPOT_WEBHOOK_BACKOFF_MS", default_value_t = config::DEFAULT_WEBHOOK_BACKOFF_MS.to_string())]
    webhook_backoff_ms: String,
    /// Time a webhook receiver has to answer, in ms.
    #[arg(long, env = "DEPOT_WEBHOOK_TIMEOUT_MS", default_value_t = config::DEFAULT_WEBHOOK_TIMEOUT_MS.to_string())]
    webhook_timeout_ms: String,
    /// CA certificates (PEM) that https webhook receivers are verified
    /// against; auto: SSL_CERT_FILE, else the system's CA bundle.
    #[arg(long, env = "DEPOT_WEBHOOK_CA_FILE", default_value = config::AUTO_CA_FILE)]
    webhook_ca_file: String,
    /// How often the trace sealer seals new events into blocks, in ms; 0:
    /// this instance seals none (another one does).
    #[arg(long, env = "DEPOT_TRACE_SEAL_INTERVAL_MS", default_value_t = config::DEFAULT_TRACE_SEAL_INTERVAL_MS.to_string())]
    trace_seal_interval_ms: String,
    /// Events per sealed block at most (1 to 100000).
    #[arg(long, env = "DEPOT_TRACE_BLOCK_SIZE", default_value_t = config::DEFAULT_TRACE_BLOCK_SIZE.to_string())]
    trace_block_size: String,
    /// Ed25519 seed (64 hex digits, e.g. from `openssl rand -hex 32`) that
    /// trace checkpoints are signed with.
    #[arg(
        long,
        env = "DEPOT_TRACE_SIGNING_KEY",
        default_value = "",
        hide_env_values = true
    )]
    trace_signing_key: String,
    /// Log filter, env_logger syntax (e.g. info, depot=debug,warn).
    #[arg(long, env = "RUST_LOG", default_value = config::DEFAULT_LOG)]
    log: String,
}

impl ServeArgs {
    fn config(&self) -> Result<Config, config::ConfigError> {
        Config::from_lookup(|name| {
            let value = match name {
                "DATABASE_URL" => &self.database_url,
                "DEPOT_BIND" => &self.bind,
                "DEPOT_DATA_DIR" => &self.data_dir,
                "DEPOT_POOL_SIZE" => &self.pool_size,
                "DEPOT_WORKERS" => &self.workers,
                "DEPOT_SHIP_BY_HOURS" => &self.ship_by_hours,
                "DEPOT_GS1_COMPANY_PREFIX" => &self.gs1_company_prefix,
                "DEPOT_SSCC_EXTENSION_DIGIT" => &self.sscc_extension_digit,
                "DEPOT_EPCIS_BASE_URI" => &self.epcis_base_uri,
                "DEPOT_LABEL_FONT" => &self.label_font,
                "DEPOT_LABEL_ZPL_FONT" => &self.label_zpl_font,
                "DEPOT_WEBHOOK_POLL_MS" => &self.webhook_poll_ms,
                "DEPOT_WEBHOOK_MAX_ATTEMPTS" => &self.webhook_max_attempts,
                "DEPOT_WEBHOOK_BACKOFF_MS" => &self.webhook_backoff_ms,
                "DEPOT_WEBHOOK_TIMEOUT_MS" => &self.webhook_timeout_ms,
                "DEPOT_WEBHOOK_CA_FILE" => &self.webhook_ca_file,
                "DEPOT_TRACE_SEAL_INTERVAL_MS" => &self.trace_seal_interval_ms,
                "DEPOT_TRACE_BLOCK_SIZE" => &self.trace_block_size,
                "DEPOT_TRACE_SIGNING_KEY" => &self.trace_signing_key,
                _ => return None,
            };
            Some(value.clone())
        })
    }
}

#[derive(Subcommand)]
enum Bench {
    /// A live session's orders pushed in bulk by concurrent clients, with
    /// retries; reports orders/s, latency, the checks and the raw ceiling.
    Burst(BurstArgs),
    /// One order per request at a fixed rate; reports latency percentiles.
    Single(SingleArgs),
}

#[derive(Args)]
struct BenchServerArgs {
    /// sqlite (a new temporary file) or postgres (a new schema, dropped after).
    #[arg(long, default_value = "sqlite")]
    db: String,
    /// The PostgreSQL database to make the schema in.
    #[arg(
        long,
        env = "DEPOT_BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pg_url: String,
    /// HTTP workers of the server (default: DEPOT_WORKERS, else the cores).
    #[arg(long)]
    workers: Option<usize>,
    /// Database connections of the server (default: DEPOT_POOL_SIZE, else 8).
    #[arg(long)]
    pool: Option<u32>,
    /// SKUs of the merchant; the first is the hot one.
    #[arg(long, default_value_t = SessionShape::default().skus)]
    skus: usize,
    /// Seed of the generated session.
    #[arg(long, default_value_t = SessionShape::default().seed)]
    seed: u64,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Run the server without its trace sealer (to measure what sealing costs).
    #[arg(long)]
    no_seal: bool,
}

#[derive(Args)]
struct BurstArgs {
    #[command(flatten)]
    server: BenchServerArgs,
    /// Orders of the live session.
    #[arg(long, default_value_t = burst::defaults::ORDERS)]
    orders: usize,
    /// Orders per bulk request (1 to 1,000).
    #[arg(long, default_value_t = burst::defaults::PER_REQUEST)]
    per_request: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = burst::defaults::CLIENTS)]
    clients: usize,
    /// Share of requests a client sends again (a retry after a timeout).
    #[arg(long, default_value_t = burst::defaults::RETRY_SHARE)]
    retries: f64,
    /// Rows inserted to measure the database's raw ceiling.
    #[arg(long, default_value_t = burst::defaults::RAW_ROWS)]
    raw_rows: usize,
    /// The wide-assortment session: 500 SKUs equally popular, no hot SKU.
    #[arg(long, conflicts_with = "skus")]
    wide: bool,
}

#[derive(Args)]
struct SingleArgs {
    #[command(flatten)]
    server: BenchServerArgs,
    /// Requests per second offered.
    #[arg(long, default_value_t = single::defaults::RATE)]
    rate: u32,
    /// Seconds of the measured run (after one second of warm-up).
    #[arg(long, default_value_t = single::defaults::SECONDS)]
    seconds: u32,
    /// Most requests in flight at once.
    #[arg(long, default_value_t = single::defaults::CONNECTIONS)]
    connections: usize,
}

#[derive(Subcommand)]
enum Admin {
    /// Issue a token; its secret is printed on the last line.
    Token(TokenArgs),
    /// List tokens (never their secrets).
    Tokens,
    /// Revoke a token by id.
    Revoke { id: String },
    /// Register a merchant.
    Merchant(PartnerArgs),
    /// Register a carrier.
    Carrier(PartnerArgs),
    /// List merchants.
    Merchants,
    /// List carriers.
    Carriers,
    /// Create and list locations (bins, docks, quarantine).
    #[command(subcommand)]
    Location(LocationCommand),
}

#[derive(Subcommand)]
enum LocationCommand {
    /// Create a location, as POST /api/v1/locations does.
    Create(LocationArgs),
    /// List locations, optionally of one kind.
    List {
        /// receiving, quarantine, storage, packing, dispatch or returns.
        #[arg(long)]
        kind: Option<String>,
    },
}

#[derive(Args)]
struct LocationArgs {
    /// A location code, e.g. C-01 (the rules of POST /api/v1/locations).
    #[arg(long)]
    code: String,
    /// receiving, quarantine, storage, packing, dispatch or returns.
    #[arg(long)]
    kind: String,
    #[arg(long)]
    zone: Option<String>,
    /// Order in which pickers pass it (default 0).
    #[arg(long)]
    walk_seq: Option<i32>,
    /// Units it can hold in all; absent: no limit.
    #[arg(long)]
    capacity: Option<i64>,
}

#[derive(Args)]
struct TokenArgs {
    /// admin, staff, merchant or carrier.
    #[arg(long)]
    role: String,
    #[arg(long)]
    label: Option<String>,
    /// The merchant a merchant token is bound to.
    #[arg(long)]
    merchant_id: Option<String>,
    /// The carrier a carrier token is bound to.
    #[arg(long)]
    carrier_id: Option<String>,
}

#[derive(Args)]
struct PartnerArgs {
    #[arg(long)]
    code: String,
    #[arg(long)]
    name: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut logger = match &cli.command {
        Command::Serve(args) => {
            // The flag's (or RUST_LOG's) filter; RUST_LOG_STYLE still applies.
            let mut builder = env_logger::Builder::from_env(env_logger::Env::default());
            builder.parse_filters(&args.log);
            builder
        }
        _ => env_logger::Builder::from_env(
            env_logger::Env::default().default_filter_or(config::DEFAULT_LOG),
        ),
    };
    logger.init();
    let config = match &cli.command {
        Command::Serve(args) => args.config(),
        _ => Config::from_env(),
    };
    let config = match config {
        Ok(config) => config,
        Err(e) => {
            eprintln!("depot: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = match cli.command {
        Command::Serve(_) => serve(config),
        Command::Migrate => migrate(&config),
        Command::Admin(admin) => run_admin(&config, admin),
        Command::Check => check(&config),
        Command::Expire => expire(&config),
        Command::Bench(bench) => run_bench(&config, bench),
        Command::Trace(command) => run_trace(&config, command),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("depot: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: Config) -> Result<(), String> {
    // The port before anything else: on a busy port depot stops here, having
    // neither touched the database nor made a token (which it would print
    // with a curl example aimed at whichever server holds the port).
    let listener = startup::listen(&config).map_err(|e| e.to_string())?;
    let port = listener.port();
    let pool = startup::open_database(&config).map_err(|e| e.to_string())?;
    if let Some(token) = startup::bootstrap_admin(&pool).map_err(|e| e.to_string())? {
        println!("depot: this database is new, so depot created its first admin token.");
        println!("It is shown only this once; keep it somewhere safe:");
        println!();
        println!("    {}", token.token);
        println!();
        println!("Use it as a bearer token, for example:");
        println!(
            "    curl -H 'Authorization: Bearer {}' http://{}:{port}/api/v1/merchants",
            token.token,
            config.bind.ip()
        );
        println!();
    }
    actix_web::rt::System::new().block_on(async move {
        let app = Application::serve(listener, &config, pool, StopOn::Signals)
            .map_err(|e| e.to_string())?;
        log::info!(
            "depot listening on http://{}:{} ({}); API docs at /docs",
            config.bind.ip(),
            app.port(),
            config.database_url.redacted()
        );
        app.run().await.map_err(|e| e.to_string())?;
        log::info!("depot stopped");
        Ok(())
    })
}

fn migrate(config: &Config) -> Result<(), String> {
    let applied = db::migrate(&config.database_url).map_err(|e| e.to_string())?;
    if applied.is_empty() {
        println!("depot: the database is up to date");
    }
    for version in applied {
        println!("depot: applied migration {version}");
    }
    Ok(())
}

fn check(config: &Config) -> Result<(), String> {
    let pool = db::connect(&config.database_url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let check = storage::check_ledger(&mut conn).map_err(|e| e.to_problem().detail)?;
    for d in &check.discrepancies {
        println!(
            "lot {} at {}: ledger {}, stock {}",
            d.lot_id, d.location_id, d.ledger, d.stock
        );
    }
    if check.ok {
        println!(
            "depot: stock equals the ledger ({} lot × location pairs, {} ledger entries); nothing is negative",
            check.pairs, check.ledger_entries
        );
        Ok(())
    } else {
        Err(format!(
            "{} lot × location pair(s) differ from the ledger",
            check.discrepancies.len()
        ))
    }
}

fn expire(config: &Config) -> Result<(), String> {
    let pool = db::connect(&config.database_url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let who = depot::domain::access::Principal {
        token_id: "cli".into(),
        role: Role::Admin,
        merchant_id: None,
        carrier_id: None,
    };
    let today = chrono::Utc::now().date_naive();
    let run = storage::hold_expired(&mut conn, &who, today).map_err(|e| e.to_problem().detail)?;
    for hold in &run.holds {
        println!("held lot {}: {}", hold.lot_id, hold.reason);
    }
    for moved in &run.orders_moved {
        println!(
            "order {} ({} {}): {} -> {}",
            moved.order_id,
            moved.channel,
            moved.external_id,
            moved.from.as_str(),
            moved.to.as_str()
        );
    }
    println!(
        "depot: {} expired lot(s) put on hold, {} order(s) moved",
        run.holds.len(),
        run.orders_moved.len()
    );
    Ok(())
}

fn run_trace(config: &Config, command: TraceCommand) -> Result<(), String> {
    let pool = db::connect(&config.database_url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let cause = |e: AppError| match e {
        AppError::Internal(cause) => cause,
        other => other.to_problem().detail,
    };
    let key = config.seal.signing_key.as_ref().map(|k| k.key());
    match command {
        TraceCommand::Seal => {
            let (mut blocks, mut events) = (0, 0);
            loop {
                let run = trace_seal::seal(
                    &mut conn,
                    config.seal.block_size,
                    trace_seal::sealer::MAX_BLOCKS_PER_RUN,
                )
                .map_err(cause)?;
                blocks += run.blocks;
                events += run.events;
                if !run.more {
                    break;
                }
            }
            println!("depot: sealed {events} event(s) into {blocks} block(s)");
            Ok(())
        }
        TraceCommand::Checkpoint => {
            let key = key.ok_or(
                "DEPOT_TRACE_SIGNING_KEY is not set: checkpoints are signed with it \
                 (an Ed25519 seed, 64 hex digits; make one with `openssl rand -hex 32` and keep it secret)",
            )?;
            let checkpoint = trace_seal::checkpoint(&mut conn, &key).map_err(cause)?;
            let json = serde_json::to_string_pretty(&checkpoint).map_err(|e| e.to_string())?;
            println!("{json}");
            Ok(())
        }
        TraceCommand::Verify { checkpoint, json } => {
            let report = match checkpoint {
                None => trace_seal::verify(&mut conn).map_err(cause)?,
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    let checkpoint: trace_seal::SignedCheckpoint = serde_json::from_str(&text)
                        .map_err(|e| format!("{} is not a checkpoint: {e}", path.display()))?;
                    trace_seal::verify_with_checkpoint(&mut conn, &checkpoint, key.as_ref())
                        .map_err(cause)?
                }
            };
            if json {
                let out = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
                println!("{out}");
            } else {
                println!(
                    "depot: {} block(s), {} sealed event(s) to seq {}, {} not sealed yet; root {}",
                    report.blocks,
                    report.events_sealed,
                    report.last_seq,
                    report.unsealed,
                    report.root
                );
                if let Some(cp) = &report.checkpoint {
                    println!(
                        "depot: against the checkpoint of {} ({} block(s), key {}{})",
                        cp.issued_at,
                        cp.blocks,
                        cp.public_key,
                        if cp.key_is_configured {
                            ""
                        } else {
                            "; DEPOT_TRACE_SIGNING_KEY is not set, so only the file's own key was checked"
                        }
                    );
                }
            }
            match report.first_broken {
                None => {
                    if !json {
                        println!("depot: the trace log verifies");
                    }
                    Ok(())
                }
                Some(broken) => Err(format!("the trace log does not verify: {broken}")),
            }
        }
    }
}

fn bench_server(config: &Config, args: &BenchServerArgs) -> Result<ServerOptions, String> {
    let target = match args.db.as_str() {
        "sqlite" => Target::Sqlite,
        "postgres" | "postgresql" => Target::Postgres(args.pg_url.clone()),
        other => return Err(format!("--db must be sqlite or postgres, not {other:?}")),
    };
    Ok(ServerOptions {
        target,
        workers: args.workers.unwrap_or(config.workers).max(1),
        pool_size: args.pool.unwrap_or(config.pool_size).max(1),
        seal: !args.no_seal,
    })
}

fn bench_shape(args: &BenchServerArgs) -> Result<SessionShape, String> {
    if args.skus == 0 {
        return Err("--skus must be at least 1".into());
    }
    Ok(SessionShape {
        skus: args.skus,
        seed: args.seed,
        ..SessionShape::default()
    })
}

fn run_bench(config: &Config, bench: Bench) -> Result<(), String> {
    match bench {
        Bench::Burst(args) => {
            if !(0.0..=1.0).contains(&args.retries) {
                return Err("--retries is a share between 0 and 1".into());
            }
            let shape = if args.wide {
                SessionShape {
                    seed: args.server.seed,
                    ..SessionShape::wide()
                }
            } else {
                bench_shape(&args.server)?
            };
            let options = BurstOptions {
                server: bench_server(config, &args.server)?,
                shape,
                orders: args.orders.max(1),
                per_request: args.per_request,
                clients: args.clients,
                retry_share: args.retries,
                raw_rows: args.raw_rows.max(1_000),
                progress: !args.server.quiet,
            };
            let report = burst::run(&options)?;
            print_report(&report, report.failures())
        }
        Bench::Single(args) => {
            let options = SingleOptions {
                server: bench_server(config, &args.server)?,
                shape: bench_shape(&args.server)?,
                rate: args.rate.max(1),
                seconds: args.seconds.max(1),
                connections: args.connections,
                progress: !args.server.quiet,
            };
            let report = single::run(&options)?;
            print_report(&report, report.failures())
        }
    }
}

fn run_admin(config: &Config, command: Admin) -> Result<(), String> {
    let pool = db::connect(&config.database_url, 1).map_err(|e| e.to_string())?;
    admin(&pool, command).map_err(|e| match e {
        // The CLI is the operator's own tool: show the cause itself.
        AppError::Internal(cause) => cause,
        other => other.to_problem().detail,
    })
}

fn admin(pool: &DbPool, command: Admin) -> Result<(), AppError> {
    let mut conn = pool.get()?;
    let conn = &mut conn;
    let all = PageRequest {
        after: None,
        limit: i64::MAX - 1,
    };
    let cli = depot::domain::access::Principal {
        token_id: String::new(),
        role: Role::Admin,
        merchant_id: None,
        carrier_id: None,
    };
    match command {
        Admin::Token(args) => {
            let role = Role::parse(&args.role).ok_or_else(|| {
                AppError::field("role", "must be one of admin, staff, merchant, carrier")
            })?;
            let spec = TokenSpec::parse(role, args.merchant_id, args.carrier_id, args.label)
                .map_err(AppError::Validation)?;
            let issued = access::issue(conn, None, spec)?;
            println!("issued {} token {} (shown once):", issued.role, issued.id);
            println!("{}", issued.token);
        }
        Admin::Tokens => {
            for t in access::list(conn, &all)?.items {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                let owner = t.merchant_id.or(t.carrier_id).unwrap_or_default();
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.role,
                    state,
                    owner,
                    t.label.unwrap_or_default()
                );
            }
        }
        Admin::Revoke { id } => {
            access::revoke(conn, "cli", &id)?;
            println!("revoked {id}");
        }
        Admin::Merchant(args) => {
            let new = merchants::NewMerchant {
                code: parse_code(&args.code).map_err(|m| AppError::field("code", m))?,
                name: parse_name(&args.name).map_err(|m| AppError::field("name", m))?,
            };
            let m = merchants::create(conn, None, new)?;
            println!("{}\t{}\t{}", m.id, m.code, m.name);
        }
        Admin::Carrier(args) => {
            let new = carriers::NewCarrier {
                code: parse_code(&args.code).map_err(|m| AppError::field("code", m))?,
                name: parse_name(&args.name).map_err(|m| AppError::field("name", m))?,
            };
            let c = carriers::create(conn, None, new)?;
            println!("{}\t{}\t{}", c.id, c.code, c.name);
        }
        Admin::Merchants => {
            for m in merchants::list(conn, &cli, &all)?.items {
                println!("{}\t{}\t{}", m.id, m.code, m.name);
            }
        }
        Admin::Carriers => {
            for c in carriers::list(conn, &cli, &all)?.items {
                println!("{}\t{}\t{}", c.id, c.code, c.name);
            }
        }
        Admin::Location(LocationCommand::Create(args)) => {
            // The endpoint's own checks, then the endpoint's service. The
            // update keeps this compiling when the endpoint gains a field.
            #[allow(clippy::needless_update)]
            let new = CreateLocation {
                code: args.code,
                kind: args.kind,
                zone: args.zone,
                walk_seq: args.walk_seq,
                capacity: args.capacity,
                ..CreateLocation::default()
            }
            .parse()?;
            let l = catalog::create_location(conn, &cli, new)?;
            print_location(&l);
        }
        Admin::Location(LocationCommand::List { kind }) => {
            for l in catalog::list_locations(conn, kind, &all)?.items {
                print_location(&l);
            }
        }
    }
    Ok(())
}

/// id, code, kind, zone, walk sequence; tab-separated like the other lists.
fn print_location(l: &catalog::Location) {
    println!(
        "{}\t{}\t{}\t{}\t{}",
        l.id,
        l.code,
        l.kind,
        l.zone.as_deref().unwrap_or_default(),
        l.walk_seq
    );
}
