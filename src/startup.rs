//! Building the server. `depot serve` binds its port first ([`listen`]), so
//! that a busy port stops it before it touches the database or creates a
//! first admin token; then it opens the database (migrating it), makes sure
//! there is a first admin token and starts the workers on the bound
//! listener. Tests call [`Application::build`] with port 0.

use std::net::TcpListener;

use actix_web::dev::{Server, ServerHandle};
use actix_web::web;

use crate::config::{Config, SealSettings, WebhookSettings};
use crate::db::{self, DbPool};
use crate::http::{self, AppState};
use crate::labels::LabelSettings;
use crate::services::access::{self, IssuedToken};
use crate::services::order_queue::OrderQueue;
use crate::services::trace_seal::sealer::Sealer;
use crate::services::webhooks::sender::Sender;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] db::DbSetupError),
    #[error("cannot create the data directory {path}: {cause}")]
    DataDir { path: String, cause: std::io::Error },
    #[error("cannot listen on {bind}: {}", bind_cause(.cause))]
    Bind { bind: String, cause: std::io::Error },
    #[error("cannot create the first admin token: {0}")]
    Bootstrap(String),
    #[error("cannot listen for SIGINT and SIGTERM: {0}")]
    Signals(std::io::Error),
    #[error("labels: {0}")]
    Labels(String),
}

/// The usual causes in plain words (the OS's own text ends in "(os error 98)").
fn bind_cause(cause: &std::io::Error) -> String {
    match cause.kind() {
        std::io::ErrorKind::AddrInUse => "address already in use".into(),
        std::io::ErrorKind::AddrNotAvailable => "no such address on this machine".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => cause.to_string(),
    }
}

/// A bound, listening socket, not yet served.
pub struct Listener {
    listener: TcpListener,
    port: u16,
}

impl Listener {
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// Binds `config.bind` (port 0 picks a free port).
pub fn listen(config: &Config) -> Result<Listener, StartupError> {
    let bind_error = |cause| StartupError::Bind {
        bind: config.bind.to_string(),
        cause,
    };
    let listener = TcpListener::bind(config.bind).map_err(bind_error)?;
    let port = listener.local_addr().map_err(bind_error)?.port();
    Ok(Listener { listener, port })
}

/// Opens (and migrates) the configured database and creates the data directory.
pub fn open_database(config: &Config) -> Result<DbPool, StartupError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|cause| StartupError::DataDir {
        path: config.data_dir.display().to_string(),
        cause,
    })?;
    Ok(db::connect(&config.database_url, config.pool_size)?)
}

/// The first admin token of an empty database, if this start created it.
pub fn bootstrap_admin(pool: &DbPool) -> Result<Option<IssuedToken>, StartupError> {
    let mut conn = pool
        .get()
        .map_err(|e| StartupError::Bootstrap(e.to_string()))?;
    access::bootstrap_admin(&mut conn).map_err(|e| StartupError::Bootstrap(e.to_string()))
}

/// What stops the server.
pub enum StopOn {
    /// Only [`Application::handle`] (tests, benchmarks).
    Handle,
    /// SIGINT (Ctrl-C) or SIGTERM, both gracefully, as well as the handle.
    Signals,
}

pub struct Application {
    server: Server,
    port: u16,
    order_queue: web::Data<OrderQueue>,
    /// For the webhook sender, started by [`Application::run`].
    pool: DbPool,
    webhooks: WebhookSettings,
    /// For the trace sealer, started by [`Application::run`] too.
    seal: SealSettings,
}

impl Application {
    /// Binds `config.bind` (port 0 picks a free port) and prepares the
    /// workers; stopped through [`Application::handle`].
    pub fn build(config: &Config, pool: DbPool) -> Result<Application, StartupError> {
        Application::serve(listen(config)?, config, pool, StopOn::Handle)
    }

    /// Prepares the workers on a listener bound by [`listen`].
    pub fn serve(
        listener: Listener,
        config: &Config,
        pool: DbPool,
        stop_on: StopOn,
    ) -> Result<Application, StartupError> {
        let bind_error = |cause| StartupError::Bind {
            bind: config.bind.to_string(),
            cause,
        };
        let port = listener.port;
        if config.warehouse.uses_example_prefix() {
            log::warn!(
                "SSCCs use GS1's example company prefix {}: set DEPOT_GS1_COMPANY_PREFIX to the warehouse's own before labels leave the building",
                config.warehouse.company_prefix.as_str()
            );
        }
        let labels = LabelSettings::from_config(config).map_err(StartupError::Labels)?;
        let state = AppState::new(pool.clone(), config, labels);
        let order_queue = state.order_queue.clone();
        // actix's own handlers stop at once on SIGINT (in-flight requests
        // cut off); depot stops as gracefully on Ctrl-C as on SIGTERM.
        let signals = match stop_on {
            StopOn::Handle => None,
            StopOn::Signals => Some(StopSignals::listen().map_err(StartupError::Signals)?),
        };
        let server =
            http::wire::serve(
                listener.listener,
                config.workers,
                state,
                |builder| match signals {
                    None => builder.disable_signals(),
                    Some(signals) => builder.shutdown_signal(signals.first()),
                },
            )
            .map_err(bind_error)?;
        Ok(Application {
            server,
            port,
            order_queue,
            pool,
            webhooks: config.webhooks.clone(),
            seal: config.seal.clone(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped; then, with every request answered (a graceful
    /// stop waits for those in flight), lets the single-order writer finish
    /// what it was given before returning. The webhook sender runs beside
    /// the server (unless `DEPOT_WEBHOOK_POLL_MS=0`) and stops after it,
    /// once its attempts in flight are recorded; so does the trace sealer
    /// (unless `DEPOT_TRACE_SEAL_INTERVAL_MS=0`), after its run in progress.
    pub async fn run(self) -> std::io::Result<()> {
        let sender = Sender::start(self.pool.clone(), &self.webhooks);
        let sealer = Sealer::start(self.pool, &self.seal);
        let served = self.server.await;
        if let Some(sender) = sender {
            sender.stop().await;
        }
        if let Some(sealer) = sealer {
            sealer.stop().await;
        }
        let queue = self.order_queue;
        let drained = actix_web::rt::task::spawn_blocking(move || queue.drain()).await;
        if drained.is_err() {
            log::error!("the order writer did not stop cleanly");
        }
        served
    }
}

/// SIGINT and SIGTERM, listened for from the moment this is made (so that
/// no signal between "listening" and the first poll takes the default,
/// abrupt, action).
struct StopSignals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Needs the runtime (call it inside `System::block_on`).
    fn listen() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignals {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    /// Resolves on the first of them.
    async fn first(mut self) {
        #[cfg(unix)]
        let name = tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        };
        #[cfg(not(unix))]
        let name = match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => return std::future::pending::<()>().await,
        };
        log::info!("{name} received: finishing the requests in flight, then stopping");
    }
}
