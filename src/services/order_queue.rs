//! The single-order writer: orders pushed one per request are ingested
//! together. Each `POST /api/v1/orders` puts its order on a queue and waits;
//! one thread per depot process takes everything that is waiting (up to a
//! bulk push's worth), groups it by caller and ingests each group with
//! [`orders::ingest`] — one transaction, set-based — then answers every
//! waiting request. Under a trickle each order is ingested alone, as soon as
//! it comes; under a burst the orders that arrived during one transaction go
//! together in the next, so a thousand requests cost a few transactions
//! rather than a thousand.
//!
//! Nothing is answered before its transaction commits, so an acknowledged
//! order is stored. Correctness between depot processes (and between this
//! writer and bulk pushes) is the database's, exactly as for bulk pushes.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};

use tokio::sync::oneshot;

use crate::db::DbPool;
use crate::domain::access::Principal;
use crate::domain::orders::MAX_BULK;
use crate::error::AppError;
use crate::services::orders::{self, Incoming, IngestResult, Order};

/// Orders waiting at most; beyond it a push is told to retry (503).
const QUEUE_CAPACITY: usize = 20_000;

/// The answer for one order: how it went, and the order as stored (for
/// new orders and duplicates).
pub type Answer = (IngestResult, Option<Order>);

struct Job {
    who: Principal,
    incoming: Incoming,
    reply: oneshot::Sender<Result<Answer, AppError>>,
}

/// The queue in front of the writer thread. Cloning shares it; the thread
/// ends when the last clone is dropped.
#[derive(Clone)]
pub struct OrderQueue {
    sender: SyncSender<Job>,
}

impl OrderQueue {
    /// Starts the writer thread on `pool`.
    pub fn start(pool: DbPool) -> OrderQueue {
        let (sender, receiver) = mpsc::sync_channel(QUEUE_CAPACITY);
        let spawned = std::thread::Builder::new()
            .name("depot-orders".into())
            .spawn(move || write_orders(pool, receiver));
        if let Err(e) = spawned {
            // Without the thread the queue has no receiver, and each
            // request answers 503 "the order writer has stopped".
            log::error!("cannot start the order writer thread: {e}");
        }
        OrderQueue { sender }
    }

    /// Ingests one order with the others waiting, and answers for it.
    pub async fn ingest(&self, who: Principal, incoming: Incoming) -> Result<Answer, AppError> {
        let (reply, answer) = oneshot::channel();
        match self.sender.try_send(Job {
            who,
            incoming,
            reply,
        }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(AppError::Unavailable(
                    "too many orders are waiting to be written; retry shortly".into(),
                ))
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(AppError::Unavailable("the order writer has stopped".into()))
            }
        }
        answer.await.unwrap_or_else(|_| {
            Err(AppError::Unavailable(
                "the order writer stopped before it answered; retry".into(),
            ))
        })
    }
}

/// The writer thread: waits for a job, takes every job that is waiting as
/// well, and ingests them per caller.
fn write_orders(pool: DbPool, receiver: Receiver<Job>) {
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BULK {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        for group in by_caller(jobs) {
            write_group(&pool, group);
        }
    }
}

/// Jobs grouped by the token that sent them, each group in arrival order
/// (one ingest is on behalf of one caller).
fn by_caller(jobs: Vec<Job>) -> Vec<Vec<Job>> {
    let mut groups: Vec<Vec<Job>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for job in jobs {
        match index.get(&job.who.token_id) {
            Some(&i) => groups[i].push(job),
            None => {
                index.insert(job.who.token_id.clone(), groups.len());
                groups.push(vec![job]);
            }
        }
    }
    groups
}

fn write_group(pool: &DbPool, group: Vec<Job>) {
    let who = group[0].who.clone();
    let (incoming, replies): (Vec<Incoming>, Vec<_>) =
        group.into_iter().map(|j| (j.incoming, j.reply)).unzip();
    let outcome = pool.get().map_err(AppError::from).and_then(|mut conn| {
        // A transaction that lost a race (deadlock, lock timeout, busy) rolled
        // back whole: try the group once more before telling every caller
        // in it to retry.
        let results = match orders::ingest(&mut conn, &who, &incoming) {
            Err(AppError::Unavailable(why)) => {
                log::warn!("order writer: {why}; trying the group again");
                orders::ingest(&mut conn, &who, &incoming)?
            }
            other => other?,
        };
        // Read back after the commit, all at once.
        let ids: Vec<String> = results.iter().filter_map(|r| r.order_id.clone()).collect();
        let stored = orders::get_many(&mut conn, &who, &ids)?;
        Ok((results, stored))
    });
    match outcome {
        // One answer per order (ingest answers each input); a reply that got
        // none would be dropped, and its request told to retry.
        Ok((results, stored)) => {
            for (reply, result) in replies.into_iter().zip(results) {
                // Cloned: a duplicate within the group names the same order.
                let order = result
                    .order_id
                    .as_ref()
                    .and_then(|id| stored.get(id).cloned());
                // A requester that went away no longer needs its answer.
                let _ = reply.send(Ok((result, order)));
            }
        }
        Err(error) => {
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}
