//! Building the server: open the database (migrating it), make sure there is
//! a first admin token, bind the listener and start the workers. Tests call
//! [`Application::build`] with port 0.

use std::net::TcpListener;

use actix_web::dev::{Server, ServerHandle};

use crate::config::Config;
use crate::db::{self, DbPool};
use crate::http::{self, AppState};
use crate::services::access::{self, IssuedToken};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] db::DbSetupError),
    #[error("cannot create the data directory {path}: {cause}")]
    DataDir { path: String, cause: std::io::Error },
    #[error("cannot listen on {bind}: {cause}")]
    Bind { bind: String, cause: std::io::Error },
    #[error("cannot create the first admin token: {0}")]
    Bootstrap(String),
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

pub struct Application {
    server: Server,
    port: u16,
}

impl Application {
    /// Binds `config.bind` (port 0 picks a free port) and prepares the workers.
    pub fn build(config: &Config, pool: DbPool) -> Result<Application, StartupError> {
        let bind_error = |cause| StartupError::Bind {
            bind: config.bind.to_string(),
            cause,
        };
        let listener = TcpListener::bind(config.bind).map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();
        let state = AppState::new(pool, config.data_dir.clone());
        let server = http::wire::serve(listener, config.workers, state).map_err(bind_error)?;
        Ok(Application { server, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until the process is told to stop (SIGINT/SIGTERM stop it gracefully).
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}
