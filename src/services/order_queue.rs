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
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::db::DbPool;
use crate::domain::access::Principal;
use crate::domain::orders::{ShipByHours, MAX_BULK};
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

// Jobs go by value, as before the drain message: boxing each would cost an
// allocation per order for a message sent once per process.
#[allow(clippy::large_enum_variant)]
enum Message {
    Order(Job),
    /// Write what came before, then stop (the server has stopped).
    Drain,
}

/// The queue in front of the writer thread. Cloning shares it; the thread
/// ends when the last clone is dropped, or on [`OrderQueue::drain`].
#[derive(Clone)]
pub struct OrderQueue {
    sender: SyncSender<Message>,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl OrderQueue {
    /// Starts the writer thread on `pool`; new orders get their ship-by
    /// deadline from `ship_by_hours` when they send none.
    pub fn start(pool: DbPool, ship_by_hours: ShipByHours) -> OrderQueue {
        let (sender, receiver) = mpsc::sync_channel(QUEUE_CAPACITY);
        let spawned = std::thread::Builder::new()
            .name("depot-orders".into())
            .spawn(move || write_orders(pool, receiver, ship_by_hours));
        let writer = match spawned {
            Ok(handle) => Some(handle),
            Err(e) => {
                // Without the thread the queue has no receiver, and each
                // request answers 503 "the order writer has stopped".
                log::error!("cannot start the order writer thread: {e}");
                None
            }
        };
        OrderQueue {
            sender,
            writer: Arc::new(Mutex::new(writer)),
        }
    }

    /// Lets the writer write every order it was given, then waits for its
    /// thread to end. Called once the server has stopped, so that a graceful
    /// stop ends no transaction half-way; an order pushed after it answers
    /// 503 (retry).
    pub fn drain(&self) {
        let writer = match self.writer.lock() {
            Ok(mut writer) => writer.take(),
            Err(_) => None,
        };
        if let Some(writer) = writer {
            // Blocks while the queue is full: the writer is emptying it.
            if self.sender.send(Message::Drain).is_ok() {
                let _ = writer.join();
            }
        }
    }

    /// Ingests one order with the others waiting, and answers for it.
    pub async fn ingest(&self, who: Principal, incoming: Incoming) -> Result<Answer, AppError> {
        let (reply, answer) = oneshot::channel();
        match self.sender.try_send(Message::Order(Job {
            who,
            incoming,
            reply,
        })) {
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
/// well, and ingests them per caller; after a drain message, stops.
fn write_orders(pool: DbPool, receiver: Receiver<Message>, ship_by_hours: ShipByHours) {
    let mut draining = false;
    while !draining {
        let Ok(first) = receiver.recv() else {
            return;
        };
        let mut jobs = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Order(job) => jobs.push(job),
                Message::Drain => {
                    draining = true;
                    break;
                }
            }
            if jobs.len() < MAX_BULK {
                next = receiver.try_recv().ok();
            }
        }
        for group in by_caller(jobs) {
            write_group(&pool, group, &ship_by_hours);
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

fn write_group(pool: &DbPool, group: Vec<Job>, ship_by_hours: &ShipByHours) {
    let who = group[0].who.clone();
    let (incoming, replies): (Vec<Incoming>, Vec<_>) =
        group.into_iter().map(|j| (j.incoming, j.reply)).unzip();
    let outcome = pool.get().map_err(AppError::from).and_then(|mut conn| {
        // A transaction that lost a race (deadlock, lock timeout, busy) rolled
        // back whole: try the group once more before telling every caller
        // in it to retry.
        let results = match orders::ingest(&mut conn, &who, &incoming, ship_by_hours) {
            Err(AppError::Unavailable(why)) => {
                log::warn!("order writer: {why}; trying the group again");
                orders::ingest(&mut conn, &who, &incoming, ship_by_hours)?
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
