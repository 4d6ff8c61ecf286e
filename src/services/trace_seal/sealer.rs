//! The background sealer of the trace log: `depot serve` starts one per
//! process ([`Sealer::start`]) beside the HTTP server, as it starts the
//! webhook sender, and stops it after the server. Every interval it seals
//! what has settled ([`super::seal`]); a run that stopped at its limit runs
//! again at once. Several instances may run one each: on PostgreSQL the
//! sealing transaction tries an advisory lock, so one seals and the others
//! skip their turn.

use std::time::Duration;

use actix_web::rt::time::sleep;
use tokio::sync::watch;

use crate::config::SealSettings;
use crate::db::{self, DbPool};

/// Blocks sealed per run at most, so one run's transaction stays short.
pub const MAX_BLOCKS_PER_RUN: usize = 64;

/// The running sealer of this process.
pub struct Sealer {
    stop: watch::Sender<bool>,
    task: actix_web::rt::task::JoinHandle<()>,
}

impl Sealer {
    /// Starts the sealer on the current actix runtime; `None` when
    /// `DEPOT_TRACE_SEAL_INTERVAL_MS=0` turns it off for this instance.
    pub fn start(pool: DbPool, settings: &SealSettings) -> Option<Sealer> {
        let interval = settings.interval?;
        let block_size = settings.block_size;
        let (stop, stopped) = watch::channel(false);
        let task = actix_web::rt::spawn(run(pool, interval, block_size, stopped));
        Some(Sealer { stop, task })
    }

    /// Stops after the run in progress, if any.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if self.task.await.is_err() {
            log::error!("the trace sealer did not stop cleanly");
        }
    }
}

async fn run(
    pool: DbPool,
    interval: Duration,
    block_size: usize,
    mut stopped: watch::Receiver<bool>,
) {
    log::info!("trace sealer sealing every {interval:?}, blocks of up to {block_size} events");
    loop {
        if *stopped.borrow() {
            break;
        }
        let run = db::run(&pool, move |c| {
            super::seal(c, block_size, MAX_BLOCKS_PER_RUN)
        })
        .await;
        let more = match run {
            Ok(run) => {
                if run.blocks > 0 {
                    log::debug!("sealed {} events into {} blocks", run.events, run.blocks);
                }
                run.more
            }
            Err(e) => {
                log::warn!("trace sealer: cannot seal: {e}");
                false
            }
        };
        if more {
            continue;
        }
        tokio::select! {
            _ = sleep(interval) => {}
            _ = stopped.changed() => {}
        }
    }
    log::info!("trace sealer stopped");
}
