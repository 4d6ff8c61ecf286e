//! Configuration, read once from the environment at start-up.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | `depot.db` | an SQLite file path (or `sqlite://path`), or `postgres://…` |
//! | `DEPOT_BIND` | `127.0.0.1:8080` | address the HTTP server listens on |
//! | `DEPOT_DATA_DIR` | `depot-data` | directory for files such as evidence uploads |
//! | `DEPOT_POOL_SIZE` | `8` | database connections per depot process |
//! | `DEPOT_WORKERS` | number of cores | HTTP worker threads |
//! | `DEPOT_GS1_COMPANY_PREFIX` | `0614141` | the warehouse's GS1 company prefix (7–10 digits) its parcels' SSCCs carry; the default is GS1's example prefix, for trying depot out |
//! | `DEPOT_SSCC_EXTENSION_DIGIT` | `0` | the SSCC extension digit (0–9) |
//! | `DEPOT_EPCIS_BASE_URI` | `urn:depot:` | where depot's own identifiers (lots without a GTIN, locations, orders, manifests, events) live in the EPCIS export: an `https://` URI ending in `/` that the warehouse owns (`https://wms.example.com/id/`), or a URN ending in `:` |
//! | `DEPOT_SHIP_BY_HOURS` | `*=48` | each channel's dispatch promise in hours after the order time, e.g. `douyin=24,kuaishou=36,*=48` (`*`: every channel not named); an order's own `ship_by` wins |
//! | `DEPOT_LABEL_FONT` | `auto`: the first found of fonts-wqy-zenhei, fonts-noto-cjk, fonts-wqy-microhei (then a Latin font) | font of PDF labels, a TTF/OTF/TTC path, a face other than the first as `path#index` |
//! | `DEPOT_LABEL_ZPL_FONT` | `E:SIMSUN.FNT` | printer font of ZPL labels' text (`^A@`, under `^CI28`), one that holds CJK glyphs |
//! | `DEPOT_WEBHOOK_POLL_MS` | `1000` | how often the webhook sender looks for due deliveries, in ms; `0`: this instance sends none (another one does) |
//! | `DEPOT_WEBHOOK_MAX_ATTEMPTS` | `12` | attempts of a webhook delivery before it is `failed` |
//! | `DEPOT_WEBHOOK_BACKOFF_MS` | `10000` | wait after a delivery's first failed attempt, in ms, doubled after each (with jitter; at most 6 h) |
//! | `DEPOT_WEBHOOK_TIMEOUT_MS` | `10000` | time a webhook receiver has to answer, in ms |
//! | `DEPOT_WEBHOOK_CA_FILE` | `auto`: `SSL_CERT_FILE`, else the system's CA bundle | the CA certificates (PEM) https webhook receivers are verified against |
//! | `DEPOT_TRACE_SEAL_INTERVAL_MS` | `1000` | how often the trace sealer seals the events written since its last run into blocks, in ms; `0`: this instance seals none (another one does) |
//! | `DEPOT_TRACE_BLOCK_SIZE` | `1024` | events per sealed block at most (1 to 100000) |
//! | `DEPOT_TRACE_SIGNING_KEY` | none | Ed25519 seed, 64 hex digits (e.g. `openssl rand -hex 32`), that `depot trace checkpoint` signs with and `depot trace verify --checkpoint` checks against |
//! | `RUST_LOG` | `info` | log filter (env_logger syntax) |
//!
//! A bad value stops start-up with one line naming the variable. `depot serve`
//! also takes each as a flag (`--bind` …; a flag wins over its variable), and
//! `depot serve --help` lists them with these defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::domain::epcis::IdBase;
use crate::domain::gs1::CompanyPrefix;
use crate::domain::orders::ShipByHours;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A path to an SQLite database file, created on first start.
    Sqlite(String),
    /// A libpq connection URL.
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<DatabaseUrl, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(DatabaseUrl::Sqlite(DEFAULT_SQLITE_FILE.into()));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(raw.into()));
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if path.is_empty() {
            return Err("an SQLite URL needs a file path, e.g. sqlite://depot.db".into());
        }
        if path == ":memory:" || path.contains("mode=memory") {
            return Err("an in-memory SQLite database is not shared between pooled connections; give a file path".into());
        }
        if let Some((scheme, _)) = path.split_once("://") {
            return Err(format!(
                "unsupported scheme {scheme:?}: use a file path, sqlite://path or postgres://…"
            ));
        }
        Ok(DatabaseUrl::Sqlite(path.into()))
    }

    /// The URL with any password replaced, safe to log.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite:{path}"),
            DatabaseUrl::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(start), Some(at)) if at > start => {
                    let credentials = &url[start + 3..at];
                    match credentials.split_once(':') {
                        Some((user, _)) => format!("{}{user}:***{}", &url[..start + 3], &url[at..]),
                        None => url.clone(),
                    }
                }
                _ => url.clone(),
            },
        }
    }
}

pub const DEFAULT_SQLITE_FILE: &str = "depot.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "depot-data";
pub const DEFAULT_POOL_SIZE: usize = 8;
pub const DEFAULT_LOG: &str = "info";
/// GS1's example company prefix (it appears in GS1's own SSCC examples):
/// labels print and scan with it, but it is nobody's real prefix.
pub const EXAMPLE_COMPANY_PREFIX: &str = "0614141";
/// The printer font of ZPL labels: SimSun as Zebra ships it for Chinese.
pub const DEFAULT_LABEL_ZPL_FONT: &str = "E:SIMSUN.FNT";
/// `DEPOT_LABEL_FONT` that looks for a font in the known Debian locations
/// (as does an empty or unset one).
pub const AUTO_LABEL_FONT: &str = "auto";

/// `DEPOT_WEBHOOK_CA_FILE` that looks for the CA bundle itself.
pub const AUTO_CA_FILE: &str = "auto";
pub const DEFAULT_WEBHOOK_POLL_MS: usize = 1_000;
pub const DEFAULT_WEBHOOK_MAX_ATTEMPTS: usize = 12;
pub const DEFAULT_WEBHOOK_BACKOFF_MS: usize = 10_000;
pub const DEFAULT_WEBHOOK_TIMEOUT_MS: usize = 10_000;

/// The webhook sender's settings (`DEPOT_WEBHOOK_*`).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    /// How often to look for due deliveries; `None`: this instance sends none.
    pub poll: Option<Duration>,
    /// Attempts of a delivery before it is `failed`.
    pub max_attempts: u32,
    /// The wait after a first failed attempt, doubled after each.
    pub backoff: Duration,
    /// The time a receiver has to answer (connecting included).
    pub timeout: Duration,
    /// CA certificates for https receivers; `None` finds the system's.
    pub ca_file: Option<PathBuf>,
}

impl Default for WebhookSettings {
    fn default() -> WebhookSettings {
        WebhookSettings {
            poll: Some(Duration::from_millis(DEFAULT_WEBHOOK_POLL_MS as u64)),
            max_attempts: DEFAULT_WEBHOOK_MAX_ATTEMPTS as u32,
            backoff: Duration::from_millis(DEFAULT_WEBHOOK_BACKOFF_MS as u64),
            timeout: Duration::from_millis(DEFAULT_WEBHOOK_TIMEOUT_MS as u64),
            ca_file: None,
        }
    }
}

pub const DEFAULT_TRACE_SEAL_INTERVAL_MS: usize = 1_000;
pub const DEFAULT_TRACE_BLOCK_SIZE: usize = 1_024;

/// The trace sealer's settings and the checkpoint key (`DEPOT_TRACE_*`).
#[derive(Debug, Clone, PartialEq)]
pub struct SealSettings {
    /// How often to seal; `None`: this instance seals nothing.
    pub interval: Option<Duration>,
    /// Events per block at most.
    pub block_size: usize,
    /// The key checkpoints are signed with; `None`: none configured.
    pub signing_key: Option<SigningKeySeed>,
}

impl Default for SealSettings {
    fn default() -> SealSettings {
        SealSettings {
            interval: Some(Duration::from_millis(DEFAULT_TRACE_SEAL_INTERVAL_MS as u64)),
            block_size: DEFAULT_TRACE_BLOCK_SIZE,
            signing_key: None,
        }
    }
}

/// An Ed25519 seed (32 bytes), checked at start-up; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeySeed(String);

impl SigningKeySeed {
    pub fn parse(raw: &str) -> Result<SigningKeySeed, String> {
        let raw = raw.trim();
        match crate::domain::seal::signing_key(raw) {
            Some(_) => Ok(SigningKeySeed(raw.to_string())),
            None => Err("expected an Ed25519 seed: 64 hex digits (openssl rand -hex 32)".into()),
        }
    }

    pub fn key(&self) -> ed25519_dalek::SigningKey {
        crate::domain::seal::signing_key(&self.0).expect("checked when parsed")
    }
}

impl std::fmt::Debug for SigningKeySeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKeySeed(***)")
    }
}

/// A font file and the face in it (0 unless it is a collection): the value
/// of `DEPOT_LABEL_FONT`, `path` or `path#index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FontSpec {
    pub path: PathBuf,
    pub index: u32,
}

impl FontSpec {
    pub fn parse(raw: &str) -> Result<FontSpec, String> {
        let raw = raw.trim();
        let (path, index) = match raw.rsplit_once('#') {
            Some((path, index)) => {
                let index = index.parse::<u32>().map_err(|_| {
                    "expected a font file path, or path#index with a face number".to_string()
                })?;
                (path, index)
            }
            None => (raw, 0),
        };
        if path.is_empty() {
            return Err("expected a font file path".into());
        }
        Ok(FontSpec {
            path: PathBuf::from(path),
            index,
        })
    }
}

impl std::fmt::Display for FontSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            0 => write!(f, "{}", self.path.display()),
            i => write!(f, "{}#{i}", self.path.display()),
        }
    }
}

/// HTTP workers by default: one per core.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub pool_size: u32,
    pub workers: usize,
    pub warehouse: Warehouse,
    /// `DEPOT_SHIP_BY_HOURS`: the ship-by deadline of an order that sends none.
    pub ship_by_hours: ShipByHours,
    /// `DEPOT_LABEL_FONT`; `None` (unset, empty or `auto`) looks in the
    /// known Debian locations.
    pub label_font: Option<FontSpec>,
    /// `DEPOT_LABEL_ZPL_FONT`.
    pub label_zpl_font: String,
    /// `DEPOT_WEBHOOK_*`.
    pub webhooks: WebhookSettings,
    /// `DEPOT_TRACE_*`.
    pub seal: SealSettings,
}

/// What the warehouse itself is configured as: the GS1 keys it issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warehouse {
    /// The company prefix of the SSCCs depot gives parcels.
    pub company_prefix: CompanyPrefix,
    /// The SSCC extension digit (GS1 General Specifications §2.2.1: the
    /// company's to choose, e.g. per packing station or kind of unit).
    pub sscc_extension_digit: u8,
    /// `DEPOT_EPCIS_BASE_URI`: where depot's own identifiers (lots without
    /// a GTIN, locations, orders, events) live in an EPCIS export.
    pub epcis_base: IdBase,
}

impl Warehouse {
    /// Whether the company prefix is GS1's example one (worth a warning).
    pub fn uses_example_prefix(&self) -> bool {
        self.company_prefix.as_str() == EXAMPLE_COMPANY_PREFIX
    }
}

impl Default for Warehouse {
    fn default() -> Warehouse {
        Warehouse {
            company_prefix: CompanyPrefix::parse(EXAMPLE_COMPANY_PREFIX)
                .expect("the example prefix is valid"),
            sscc_extension_digit: 0,
            epcis_base: IdBase::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {var}={value:?} is not valid: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need no process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let fail = |var: &'static str, value: &str, reason: String| ConfigError {
            var,
            value: value.to_string(),
            reason,
        };

        let raw_url = lookup("DATABASE_URL").unwrap_or_default();
        let database_url = DatabaseUrl::parse(&raw_url)
            .map_err(|reason| fail("DATABASE_URL", &raw_url, reason))?;

        let raw_bind = lookup("DEPOT_BIND").unwrap_or_else(|| DEFAULT_BIND.into());
        let bind = raw_bind.trim().parse::<SocketAddr>().map_err(|_| {
            fail(
                "DEPOT_BIND",
                &raw_bind,
                "expected an IP address and port, e.g. 127.0.0.1:8080".into(),
            )
        })?;

        let raw_dir = lookup("DEPOT_DATA_DIR").unwrap_or_else(|| DEFAULT_DATA_DIR.into());
        if raw_dir.trim().is_empty() {
            return Err(fail("DEPOT_DATA_DIR", &raw_dir, "must not be empty".into()));
        }
        let data_dir = PathBuf::from(raw_dir.trim());

        let pool_size = parse_count(&lookup, "DEPOT_POOL_SIZE", DEFAULT_POOL_SIZE, 1, 256)? as u32;
        let workers = parse_count(&lookup, "DEPOT_WORKERS", default_workers(), 1, 256)?;

        let raw_prefix =
            lookup("DEPOT_GS1_COMPANY_PREFIX").unwrap_or_else(|| EXAMPLE_COMPANY_PREFIX.into());
        let company_prefix = CompanyPrefix::parse(raw_prefix.trim())
            .map_err(|reason| fail("DEPOT_GS1_COMPANY_PREFIX", &raw_prefix, reason))?;
        let sscc_extension_digit =
            parse_count(&lookup, "DEPOT_SSCC_EXTENSION_DIGIT", 0, 0, 9)? as u8;
        let epcis_base = match lookup("DEPOT_EPCIS_BASE_URI") {
            None => IdBase::default(),
            Some(raw) if raw.trim().is_empty() => IdBase::default(),
            Some(raw) => {
                IdBase::parse(&raw).map_err(|reason| fail("DEPOT_EPCIS_BASE_URI", &raw, reason))?
            }
        };
        let ship_by_hours = match lookup("DEPOT_SHIP_BY_HOURS") {
            None => ShipByHours::default(),
            Some(raw) => ShipByHours::parse(&raw)
                .map_err(|reason| fail("DEPOT_SHIP_BY_HOURS", &raw, reason))?,
        };
        let label_font = match lookup("DEPOT_LABEL_FONT") {
            Some(raw) if !raw.trim().is_empty() && raw.trim() != AUTO_LABEL_FONT => Some(
                FontSpec::parse(&raw).map_err(|reason| fail("DEPOT_LABEL_FONT", &raw, reason))?,
            ),
            _ => None,
        };
        let raw_zpl_font =
            lookup("DEPOT_LABEL_ZPL_FONT").unwrap_or_else(|| DEFAULT_LABEL_ZPL_FONT.into());
        let label_zpl_font = raw_zpl_font.trim().to_string();
        // ZPL's ^A@ takes drive:name.ext; a `^`, `~` or `,` would end the
        // command (labels.rs drops them, but a typo should not pass quietly).
        if label_zpl_font.is_empty()
            || label_zpl_font
                .chars()
                .any(|c| matches!(c, '^' | '~' | ',') || c.is_control())
        {
            return Err(fail(
                "DEPOT_LABEL_ZPL_FONT",
                &raw_zpl_font,
                "expected a printer font name such as E:SIMSUN.FNT".into(),
            ));
        }

        let poll_ms = parse_count(
            &lookup,
            "DEPOT_WEBHOOK_POLL_MS",
            DEFAULT_WEBHOOK_POLL_MS,
            0,
            3_600_000,
        )?;
        let webhooks = WebhookSettings {
            poll: (poll_ms > 0).then(|| Duration::from_millis(poll_ms as u64)),
            max_attempts: parse_count(
                &lookup,
                "DEPOT_WEBHOOK_MAX_ATTEMPTS",
                DEFAULT_WEBHOOK_MAX_ATTEMPTS,
                1,
                100,
            )? as u32,
            backoff: Duration::from_millis(parse_count(
                &lookup,
                "DEPOT_WEBHOOK_BACKOFF_MS",
                DEFAULT_WEBHOOK_BACKOFF_MS,
                1,
                86_400_000,
            )? as u64),
            timeout: Duration::from_millis(parse_count(
                &lookup,
                "DEPOT_WEBHOOK_TIMEOUT_MS",
                DEFAULT_WEBHOOK_TIMEOUT_MS,
                100,
                300_000,
            )? as u64),
            ca_file: lookup("DEPOT_WEBHOOK_CA_FILE")
                .map(|raw| raw.trim().to_string())
                .filter(|raw| !raw.is_empty() && raw != AUTO_CA_FILE)
                .map(PathBuf::from),
        };

        let seal_ms = parse_count(
            &lookup,
            "DEPOT_TRACE_SEAL_INTERVAL_MS",
            DEFAULT_TRACE_SEAL_INTERVAL_MS,
            0,
            3_600_000,
        )?;
        let seal = SealSettings {
            interval: (seal_ms > 0).then(|| Duration::from_millis(seal_ms as u64)),
            block_size: parse_count(
                &lookup,
                "DEPOT_TRACE_BLOCK_SIZE",
                DEFAULT_TRACE_BLOCK_SIZE,
                1,
                100_000,
            )?,
            signing_key: match lookup("DEPOT_TRACE_SIGNING_KEY") {
                Some(raw) if !raw.trim().is_empty() => Some(
                    SigningKeySeed::parse(&raw)
                        // The value is a secret: not repeated in the message.
                        .map_err(|reason| fail("DEPOT_TRACE_SIGNING_KEY", "***", reason))?,
                ),
                _ => None,
            },
        };

        Ok(Config {
            database_url,
            bind,
            data_dir,
            pool_size,
            workers,
            warehouse: Warehouse {
                company_prefix,
                sscc_extension_digit,
                epcis_base,
            },
            ship_by_hours,
            label_font,
            label_zpl_font,
            webhooks,
            seal,
        })
    }
}

fn parse_count(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, ConfigError> {
    let Some(raw) = lookup(var) else {
        return Ok(default);
    };
    match raw.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError {
            var,
            value: raw,
            reason: format!("expected a whole number from {min} to {max}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_to_an_sqlite_file_on_localhost() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, DatabaseUrl::Sqlite("depot.db".into()));
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.pool_size, 8);
    }

    #[test]
    fn recognises_postgres_and_sqlite_urls() {
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db"),
            Ok(DatabaseUrl::Sqlite("/tmp/x.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("data/x.db"),
            Ok(DatabaseUrl::Sqlite("data/x.db".into()))
        );
    }

    #[test]
    fn refuses_unknown_schemes_and_memory_databases() {
        assert!(DatabaseUrl::parse("mysql://h/db").is_err());
        assert!(DatabaseUrl::parse(":memory:").is_err());
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let err = config(&[("DEPOT_POOL_SIZE", "lots")]).unwrap_err();
        assert_eq!(err.var, "DEPOT_POOL_SIZE");
        assert!(err.to_string().contains("DEPOT_POOL_SIZE=\"lots\""));
        assert_eq!(
            config(&[("DEPOT_BIND", "8080")]).unwrap_err().var,
            "DEPOT_BIND"
        );
        assert_eq!(
            config(&[("DEPOT_POOL_SIZE", "0")]).unwrap_err().var,
            "DEPOT_POOL_SIZE"
        );
    }

    #[test]
    fn the_company_prefix_is_validated_and_defaults_to_gs1s_example() {
        let c = config(&[]).unwrap();
        assert_eq!(c.warehouse.company_prefix.as_str(), "0614141");
        assert!(c.warehouse.uses_example_prefix());
        let c = config(&[
            ("DEPOT_GS1_COMPANY_PREFIX", "6901234567"),
            ("DEPOT_SSCC_EXTENSION_DIGIT", "3"),
        ])
        .unwrap();
        assert_eq!(c.warehouse.company_prefix.as_str(), "6901234567");
        assert_eq!(c.warehouse.sscc_extension_digit, 3);
        assert_eq!(c.warehouse.epcis_base, IdBase::default());
        let c = config(&[("DEPOT_EPCIS_BASE_URI", "https://wms.example.com/id/")]).unwrap();
        assert_eq!(
            c.warehouse.epcis_base.as_str(),
            "https://wms.example.com/id/"
        );
        let err = config(&[("DEPOT_EPCIS_BASE_URI", "wms.example.com")]).unwrap_err();
        assert_eq!(err.var, "DEPOT_EPCIS_BASE_URI");
        for bad in ["123456", "12345678901", "69012a4"] {
            let err = config(&[("DEPOT_GS1_COMPANY_PREFIX", bad)]).unwrap_err();
            assert_eq!(err.var, "DEPOT_GS1_COMPANY_PREFIX", "{bad}");
        }
        assert_eq!(
            config(&[("DEPOT_SSCC_EXTENSION_DIGIT", "10")])
                .unwrap_err()
                .var,
            "DEPOT_SSCC_EXTENSION_DIGIT"
        );
    }

    #[test]
    fn label_fonts_default_and_parse() {
        let c = config(&[]).unwrap();
        assert_eq!(c.label_font, None);
        assert_eq!(c.label_zpl_font, "E:SIMSUN.FNT");

        let c = config(&[
            ("DEPOT_LABEL_FONT", "/usr/share/fonts/x.ttc#2"),
            ("DEPOT_LABEL_ZPL_FONT", "E:ANMDJ.TTF"),
        ])
        .unwrap();
        assert_eq!(
            c.label_font,
            Some(FontSpec {
                path: "/usr/share/fonts/x.ttc".into(),
                index: 2
            })
        );
        assert_eq!(
            c.label_font.unwrap().to_string(),
            "/usr/share/fonts/x.ttc#2"
        );
        assert_eq!(c.label_zpl_font, "E:ANMDJ.TTF");
        assert_eq!(
            config(&[("DEPOT_LABEL_FONT", "a.ttf")]).unwrap().label_font,
            Some(FontSpec {
                path: "a.ttf".into(),
                index: 0
            })
        );
        assert_eq!(
            config(&[("DEPOT_LABEL_FONT", "")]).unwrap().label_font,
            None
        );

        assert_eq!(
            config(&[("DEPOT_LABEL_FONT", "x.ttc#one")])
                .unwrap_err()
                .var,
            "DEPOT_LABEL_FONT"
        );
        assert_eq!(
            config(&[("DEPOT_LABEL_FONT", "#1")]).unwrap_err().var,
            "DEPOT_LABEL_FONT"
        );
        assert_eq!(
            config(&[("DEPOT_LABEL_ZPL_FONT", "E:A^XZ")])
                .unwrap_err()
                .var,
            "DEPOT_LABEL_ZPL_FONT"
        );
    }

    #[test]
    fn ship_by_hours_per_channel_default_to_48_and_a_bad_value_names_the_variable() {
        assert_eq!(config(&[]).unwrap().ship_by_hours.hours("douyin"), 48);
        let c = config(&[("DEPOT_SHIP_BY_HOURS", "douyin=24,kuaishou=36,*=48")]).unwrap();
        assert_eq!(c.ship_by_hours.hours("douyin"), 24);
        assert_eq!(c.ship_by_hours.hours("kuaishou"), 36);
        assert_eq!(c.ship_by_hours.hours("other"), 48);
        for bad in ["douyin=0", "tiktok=24", "douyin:24", "*=forever"] {
            let err = config(&[("DEPOT_SHIP_BY_HOURS", bad)]).unwrap_err();
            assert_eq!(err.var, "DEPOT_SHIP_BY_HOURS", "{bad}");
            assert!(err.to_string().contains("DEPOT_SHIP_BY_HOURS="), "{err}");
        }
    }

    #[test]
    fn trace_seal_settings_default_and_a_bad_key_is_refused_without_echoing_it() {
        let c = config(&[]).unwrap();
        assert_eq!(c.seal, SealSettings::default());
        assert_eq!(c.seal.interval, Some(Duration::from_secs(1)));
        assert!(c.seal.signing_key.is_none());
        let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
        let c = config(&[
            ("DEPOT_TRACE_SEAL_INTERVAL_MS", "0"),
            ("DEPOT_TRACE_BLOCK_SIZE", "64"),
            ("DEPOT_TRACE_SIGNING_KEY", seed),
        ])
        .unwrap();
        assert_eq!(c.seal.interval, None);
        assert_eq!(c.seal.block_size, 64);
        assert!(c.seal.signing_key.is_some());
        assert!(
            !format!("{c:?}").contains(seed),
            "the seed is never printed"
        );
        let err = config(&[("DEPOT_TRACE_SIGNING_KEY", "not-a-secret-key")]).unwrap_err();
        assert_eq!(err.var, "DEPOT_TRACE_SIGNING_KEY");
        assert!(!err.to_string().contains("not-a-secret-key"), "{err}");
        assert_eq!(
            config(&[("DEPOT_TRACE_BLOCK_SIZE", "0")]).unwrap_err().var,
            "DEPOT_TRACE_BLOCK_SIZE"
        );
    }

    #[test]
    fn webhook_settings_default_and_zero_poll_turns_the_sender_off() {
        let c = config(&[]).unwrap();
        assert_eq!(c.webhooks, WebhookSettings::default());
        assert_eq!(c.webhooks.poll, Some(Duration::from_secs(1)));
        let c = config(&[
            ("DEPOT_WEBHOOK_POLL_MS", "0"),
            ("DEPOT_WEBHOOK_MAX_ATTEMPTS", "3"),
            ("DEPOT_WEBHOOK_BACKOFF_MS", "50"),
            ("DEPOT_WEBHOOK_TIMEOUT_MS", "2000"),
            (
                "DEPOT_WEBHOOK_CA_FILE",
                "/etc/ssl/certs/ca-certificates.crt",
            ),
        ])
        .unwrap();
        assert_eq!(c.webhooks.poll, None);
        assert_eq!(c.webhooks.max_attempts, 3);
        assert_eq!(c.webhooks.backoff, Duration::from_millis(50));
        assert_eq!(c.webhooks.timeout, Duration::from_secs(2));
        assert!(c.webhooks.ca_file.is_some());
        assert_eq!(
            config(&[("DEPOT_WEBHOOK_CA_FILE", "auto")])
                .unwrap()
                .webhooks
                .ca_file,
            None
        );
        for (var, bad) in [
            ("DEPOT_WEBHOOK_MAX_ATTEMPTS", "0"),
            ("DEPOT_WEBHOOK_TIMEOUT_MS", "5"),
            ("DEPOT_WEBHOOK_POLL_MS", "often"),
        ] {
            assert_eq!(config(&[(var, bad)]).unwrap_err().var, var);
        }
    }

    #[test]
    fn redacts_passwords() {
        let url = DatabaseUrl::Postgres("postgres://depot:secret@db:5432/depot".into());
        assert_eq!(url.redacted(), "postgres://depot:***@db:5432/depot");
    }
}
