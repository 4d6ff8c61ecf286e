//! Tamper evidence for the trace log: sealing events into hash-chained
//! blocks, verifying everything again, and signed checkpoints of the chain
//! (`domain::seal` holds the hashing; docs/ARCHITECTURE.md, "Tamper
//! evidence", the model).
//!
//! - [`seal`] folds the settled events after the last block, in `seq`
//!   order, into blocks of at most `block_size` events, in one write
//!   transaction (on PostgreSQL under a tried advisory lock, so one
//!   instance seals at a time). `sealer::Sealer` calls it in the background.
//! - [`verify`] recomputes every event's hash from its columns, every
//!   block's Merkle root, range and hash, and the chain, and names the first
//!   thing that is broken, in log order.
//! - [`checkpoint`] signs (block count, last seq, root over the block
//!   hashes) to be kept outside the database; [`verify_with_checkpoint`]
//!   then also notices blocks missing at the end of the chain.

pub mod sealer;

use std::collections::VecDeque;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{trace_blocks, trace_events};
use crate::db::{self, backend, AnyConnection};
use crate::domain::seal::{
    self, chain_root, hex, merkle_root, parse_hex, BlockHeader, Checkpoint, Gaps, Hash,
    CHECKPOINT_FORMAT, GENESIS,
};
use crate::domain::time;
use crate::error::AppError;
use crate::services::trace::StoredEvent;

/// How long [`seal`] waits for the transactions that hold sequence numbers
/// to end (PostgreSQL) before it leaves the rest to its next run.
const SETTLE_WAIT: Duration = Duration::from_secs(2);
/// Blocks one [`seal`] run writes at most.
const MAX_BLOCKS: usize = 3_000;
/// Events read per page by [`verify`].
const VERIFY_PAGE: i64 = 5_000;

/// What one [`seal`] run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SealRun {
    pub blocks: usize,
    pub events: usize,
    /// The run stopped at its limit of blocks: there is more to seal now.
    pub more: bool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = trace_blocks)]
struct BlockRow {
    number: i64,
    first_seq: i64,
    last_seq: i64,
    event_count: i64,
    gaps: String,
    merkle_root: String,
    prev_hash: String,
    block_hash: String,
    sealed_at: NaiveDateTime,
}

fn head(conn: &mut AnyConnection) -> Result<Option<BlockRow>, AppError> {
    Ok(trace_blocks::table
        .order(trace_blocks::number.desc())
        .select(BlockRow::as_select())
        .first(conn)
        .optional()?)
}

fn events_after(
    conn: &mut AnyConnection,
    after: i64,
    up_to: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredEvent>, AppError> {
    let mut query = trace_events::table
        .filter(trace_events::seq.gt(after))
        .order(trace_events::seq.asc())
        .limit(limit)
        .select(StoredEvent::as_select())
        .into_boxed();
    if let Some(up_to) = up_to {
        query = query.filter(trace_events::seq.le(up_to));
    }
    Ok(query.load(conn)?)
}

/// Seals the settled events after the last block into blocks of at most
/// `block_size`, at most `max_blocks` of them. A partial last block is
/// sealed too: each run seals all it may, so an event waits at most about
/// one interval of the sealer. Outside a transaction (it opens its own).
pub fn seal(
    conn: &mut AnyConnection,
    block_size: usize,
    max_blocks: usize,
) -> Result<SealRun, AppError> {
    let block_size = block_size.max(1);
    let Some(settled) = backend::settled_trace_seq(conn, SETTLE_WAIT)? else {
        return Ok(SealRun::default());
    };
    // A read first, so that a run with nothing to seal writes nothing.
    if settled <= head(conn)?.map_or(0, |b| b.last_seq) {
        return Ok(SealRun::default());
    }
    db::write(conn, |c| {
        if !backend::try_lock_sealer(c)? {
            return Ok(SealRun::default());
        }
        let head = head(c)?;
        let (mut number, mut prev_hash, mut sealed_to) = match &head {
            Some(b) => (
                b.number,
                parse_hex::<32>(&b.block_hash).ok_or_else(|| {
                    AppError::Internal(format!("block {} has an unreadable hash", b.number))
                })?,
                b.last_seq,
            ),
            None => (0, GENESIS, 0),
        };
        // 9 columns a block, one multi-row insert: within SQLite's 32,766
        // bound parameters.
        let limit = (block_size * max_blocks.clamp(1, MAX_BLOCKS)) as i64;
        let mut events = events_after(c, sealed_to, Some(settled), limit)?;
        let sealed_at = time::now();
        let stopped_at_gap = stop_at_young_gap(&mut events, sealed_to, sealed_at);
        let mut rows = Vec::new();
        for chunk in events.chunks(block_size) {
            let first_seq = sealed_to + 1;
            let last_seq = chunk.last().map_or(sealed_to, |e| e.seq);
            let seqs: Vec<i64> = chunk.iter().map(|e| e.seq).collect();
            // What the writer hashed, where it did (events of before
            // migration 000023 have no hash: their content as it is now).
            let leaves: Vec<Hash> = chunk
                .iter()
                .map(|e| {
                    e.hash
                        .as_deref()
                        .and_then(parse_hex::<32>)
                        .unwrap_or_else(|| e.content().hash())
                })
                .collect();
            number += 1;
            let header = BlockHeader {
                number,
                first_seq,
                last_seq,
                event_count: chunk.len() as i64,
                gaps: Gaps::between(first_seq, last_seq, &seqs),
                merkle_root: merkle_root(&leaves),
                prev_hash,
                sealed_at,
            };
            let block_hash = header.hash();
            rows.push((
                trace_blocks::number.eq(number),
                trace_blocks::first_seq.eq(first_seq),
                trace_blocks::last_seq.eq(last_seq),
                trace_blocks::event_count.eq(header.event_count),
                trace_blocks::gaps.eq(header.gaps.to_string()),
                trace_blocks::merkle_root.eq(hex(&header.merkle_root)),
                trace_blocks::prev_hash.eq(hex(&prev_hash)),
                trace_blocks::block_hash.eq(hex(&block_hash)),
                trace_blocks::sealed_at.eq(sealed_at),
            ));
            prev_hash = block_hash;
            sealed_to = last_seq;
        }
        let run = SealRun {
            blocks: rows.len(),
            events: events.len(),
            more: !stopped_at_gap && events.len() as i64 == limit,
        };
        if !rows.is_empty() {
            crate::on_backend!(c, |inner| diesel::insert_into(trace_blocks::table)
                .values(rows)
                .execute(inner))?;
        }
        Ok(run)
    })
}

/// Cuts `events` (ascending seq, after `sealed_to`) before the first gap in
/// their numbers that is younger than [`GAP_GRACE`]: the number may belong to
/// a transaction that has not committed yet, and sealing past it would
/// leave that event out of its block for good. A second guard beside
/// `settled_trace_seq`, whose first version let an event commit into a
/// range already sealed (it trusted the snapshot's xmax); a gap older than
/// the grace is a rollback's and is sealed as a gap. Answers whether it cut.
fn stop_at_young_gap(events: &mut Vec<StoredEvent>, sealed_to: i64, now: NaiveDateTime) -> bool {
    let young = now - GAP_GRACE;
    let mut prev = sealed_to;
    for (i, e) in events.iter().enumerate() {
        if e.seq != prev + 1 && e.recorded_at > young {
            events.truncate(i);
            return true;
        }
        prev = e.seq;
    }
    false
}

/// How long a gap in the sequence numbers may be waited for (well over
/// PostgreSQL's lock timeout of a statement, 10 s).
const GAP_GRACE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// What is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BrokenKind {
    Event,
    Block,
    Checkpoint,
}

/// The first thing [`verify`] found broken, in log order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Broken {
    pub kind: BrokenKind,
    /// The event's id (none for an event that is gone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The event's place in the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    /// The block it is in, or the broken block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<i64>,
    pub reason: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            BrokenKind::Event => {
                f.write_str("event")?;
                if let Some(id) = &self.id {
                    write!(f, " {id}")?;
                }
                if let Some(seq) = self.seq {
                    write!(f, " (seq {seq})")?;
                }
                if let Some(block) = self.block {
                    write!(f, " in block {block}")?;
                }
            }
            BrokenKind::Block => write!(f, "block {}", self.block.unwrap_or_default())?,
            BrokenKind::Checkpoint => f.write_str("checkpoint")?,
        }
        write!(f, ": {}", self.reason)
    }
}

/// The checkpoint a verification was held against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CheckpointCheck {
    pub blocks: i64,
    pub issued_at: String,
    pub public_key: String,
    /// The key is this depot's own (`DEPOT_TRACE_SIGNING_KEY`); false: the
    /// signature was checked against the key the file names, which proves
    /// only that the file is whole.
    pub key_is_configured: bool,
}

/// The answer of `GET /trace/verify` and `depot trace verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Verification {
    /// Nothing is broken.
    pub ok: bool,
    /// Events checked: sealed and not yet sealed.
    pub events: i64,
    /// Sealed blocks.
    pub blocks: i64,
    /// Events in sealed blocks.
    pub events_sealed: i64,
    /// Events after the last block, not sealed yet (their own hashes are
    /// checked all the same).
    pub unsealed: i64,
    /// The last sequence number the blocks cover.
    pub last_seq: i64,
    /// The RFC 6962 Merkle Tree Hash over the blocks' hashes (hex): what a
    /// checkpoint signs.
    pub root: String,
    pub first_broken: Option<Broken>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointCheck>,
}

/// Events in `seq` order, a page at a time.
struct EventStream {
    after: i64,
    buffered: VecDeque<StoredEvent>,
    done: bool,
}

impl EventStream {
    fn peek_seq(&mut self, conn: &mut AnyConnection) -> Result<Option<i64>, AppError> {
        if self.buffered.is_empty() && !self.done {
            let page = events_after(conn, self.after, None, VERIFY_PAGE)?;
            self.done = (page.len() as i64) < VERIFY_PAGE;
            if let Some(last) = page.last() {
                self.after = last.seq;
            }
            self.buffered.extend(page);
        }
        Ok(self.buffered.front().map(|e| e.seq))
    }

    fn next(&mut self) -> Option<StoredEvent> {
        self.buffered.pop_front()
    }
}

fn event_broken(e: &StoredEvent, block: Option<i64>, reason: &str) -> Broken {
    Broken {
        kind: BrokenKind::Event,
        id: Some(e.id.clone()),
        seq: Some(e.seq),
        block,
        reason: reason.into(),
    }
}

fn missing(seq: i64, block: i64) -> Broken {
    Broken {
        kind: BrokenKind::Event,
        id: None,
        seq: Some(seq),
        block: Some(block),
        reason: format!(
            "is missing: block {block} was sealed with an event at seq {seq}, and it is gone"
        ),
    }
}

fn block_broken(block: i64, reason: String) -> Broken {
    Broken {
        kind: BrokenKind::Block,
        id: None,
        seq: None,
        block: Some(block),
        reason,
    }
}

/// Recomputes everything: each event's hash from its columns, each block's
/// range, count, Merkle root and hash, and the chain of blocks. Reads only;
/// every event is read once, in pages.
pub fn verify(conn: &mut AnyConnection) -> Result<Verification, AppError> {
    verify_scan(conn).map(|(v, _)| v)
}

/// [`verify`], also answering the blocks' hashes as stored (for checkpoints).
fn verify_scan(conn: &mut AnyConnection) -> Result<(Verification, Vec<Hash>), AppError> {
    let blocks: Vec<BlockRow> = trace_blocks::table
        .order(trace_blocks::number.asc())
        .select(BlockRow::as_select())
        .load(conn)?;
    let mut first: Option<Broken> = None;
    let mut note = |b: Broken| {
        if first.is_none() {
            first = Some(b);
        }
    };
    let mut stream = EventStream {
        after: 0,
        buffered: VecDeque::new(),
        done: false,
    };
    let mut hashes: Vec<Hash> = Vec::with_capacity(blocks.len());
    let mut prev_hash = GENESIS;
    let mut prev_last = 0;
    let mut sealed = 0;
    for (i, b) in blocks.iter().enumerate() {
        let expected_number = i as i64 + 1;
        let parsed = (
            Gaps::parse(&b.gaps),
            parse_hex::<32>(&b.merkle_root),
            parse_hex::<32>(&b.prev_hash),
            parse_hex::<32>(&b.block_hash),
        );
        let (Some(gaps), Some(root), Some(stored_prev), Some(stored_hash)) = parsed else {
            note(block_broken(b.number, "a field is unreadable".into()));
            hashes.push([0; 32]);
            continue;
        };
        hashes.push(stored_hash);
        if b.number != expected_number {
            note(block_broken(
                expected_number,
                format!(
                    "is missing: the block after block {} is block {}",
                    i, b.number
                ),
            ));
        }
        let header = BlockHeader {
            number: b.number,
            first_seq: b.first_seq,
            last_seq: b.last_seq,
            event_count: b.event_count,
            gaps: gaps.clone(),
            merkle_root: root,
            prev_hash: stored_prev,
            sealed_at: b.sealed_at,
        };
        if header.hash() != stored_hash {
            note(block_broken(
                b.number,
                "its hash does not match its header (the block row was changed)".into(),
            ));
        }
        if stored_prev != prev_hash {
            note(block_broken(
                b.number,
                format!("does not follow block {i}: its previous-block hash differs"),
            ));
        }
        if b.first_seq != prev_last + 1 || b.last_seq < b.first_seq {
            note(block_broken(
                b.number,
                format!(
                    "its range {}..={} does not follow the previous block's end at {prev_last}",
                    b.first_seq, b.last_seq
                ),
            ));
        }
        // Its events, in seq order.
        let mut leaves: Vec<Hash> = Vec::with_capacity(b.event_count.max(0) as usize);
        let mut next_expected = b.first_seq;
        while let Some(seq) = stream.peek_seq(conn)? {
            if seq > b.last_seq {
                break;
            }
            let Some(e) = stream.next() else { break };
            if e.seq < b.first_seq {
                note(event_broken(
                    &e,
                    None,
                    "lies between blocks: no block holds its seq",
                ));
                continue;
            }
            if let Some(gone) = gaps.first_held_in(next_expected, e.seq - 1) {
                note(missing(gone, b.number));
            }
            next_expected = e.seq + 1;
            if gaps.contains(e.seq) {
                note(event_broken(
                    &e,
                    Some(b.number),
                    "was not in its block when the block was sealed (added since)",
                ));
                continue;
            }
            let leaf = e.content().hash();
            if e.hash.as_deref().is_some_and(|h| h != hex(&leaf)) {
                note(event_broken(
                    &e,
                    Some(b.number),
                    "its columns do not match its hash (the row was changed or moved)",
                ));
            }
            leaves.push(leaf);
        }
        if let Some(gone) = gaps.first_held_in(next_expected, b.last_seq) {
            note(missing(gone, b.number));
        }
        if leaves.len() as i64 != b.event_count {
            note(block_broken(
                b.number,
                format!(
                    "holds {} events; it was sealed with {}",
                    leaves.len(),
                    b.event_count
                ),
            ));
        } else if merkle_root(&leaves) != root {
            note(block_broken(
                b.number,
                "the Merkle root of its events differs from the sealed one \
                 (events were changed together with their hashes, or reordered)"
                    .into(),
            ));
        }
        sealed += leaves.len() as i64;
        prev_hash = stored_hash;
        prev_last = b.last_seq;
    }
    // Events after the last block: not sealed yet, their own hashes checked.
    let mut unsealed = 0;
    while stream.peek_seq(conn)?.is_some() {
        let Some(e) = stream.next() else { break };
        unsealed += 1;
        if e.hash
            .as_deref()
            .is_some_and(|h| h != hex(&e.content().hash()))
        {
            note(event_broken(
                &e,
                None,
                "its columns do not match its hash (the row was changed or moved; not sealed yet)",
            ));
        }
    }
    let verification = Verification {
        ok: first.is_none(),
        events: sealed + unsealed,
        blocks: blocks.len() as i64,
        events_sealed: sealed,
        unsealed,
        last_seq: prev_last,
        root: hex(&chain_root(&hashes)),
        first_broken: first,
        checkpoint: None,
    };
    Ok((verification, hashes))
}

/// A checkpoint as kept outside the database: a JSON file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCheckpoint {
    /// `depot-trace-checkpoint/1`.
    pub format: String,
    pub blocks: i64,
    pub last_seq: i64,
    /// The RFC 6962 Merkle Tree Hash over blocks 1..=blocks' hashes (hex).
    pub root: String,
    pub issued_at: String,
    /// Ed25519 public key (hex, 32 bytes).
    pub public_key: String,
    /// Ed25519 signature (hex, 64 bytes) of `Checkpoint::message`.
    pub signature: String,
}

impl SignedCheckpoint {
    fn statement(&self) -> Option<Checkpoint> {
        Some(Checkpoint {
            blocks: self.blocks,
            last_seq: self.last_seq,
            root: parse_hex::<32>(&self.root)?,
            issued_at: self.issued_at.clone(),
        })
    }
}

/// Verifies the log, then signs a checkpoint of its blocks. A log that does
/// not verify is not signed (a 409 naming what is broken).
pub fn checkpoint(
    conn: &mut AnyConnection,
    key: &SigningKey,
) -> Result<SignedCheckpoint, AppError> {
    let (verification, _) = verify_scan(conn)?;
    if let Some(broken) = verification.first_broken {
        return Err(AppError::Conflict(format!(
            "the trace log does not verify, so no checkpoint is signed: {broken}"
        )));
    }
    let root = parse_hex::<32>(&verification.root)
        .ok_or_else(|| AppError::Internal("unreadable chain root".into()))?;
    let statement = Checkpoint {
        blocks: verification.blocks,
        last_seq: verification.last_seq,
        root,
        issued_at: time::rfc3339(&time::now()),
    };
    let (public_key, signature) = seal::sign(key, &statement);
    Ok(SignedCheckpoint {
        format: CHECKPOINT_FORMAT.into(),
        blocks: statement.blocks,
        last_seq: statement.last_seq,
        root: verification.root,
        issued_at: statement.issued_at,
        public_key,
        signature,
    })
}

/// [`verify`], and then the chain against a checkpoint kept outside: its
/// signature (by `own_key`'s public half when this depot has a signing
/// key), and its first `blocks` blocks, which must all still be there with
/// the same hashes — so that deleting the newest blocks (and their events)
/// is noticed.
pub fn verify_with_checkpoint(
    conn: &mut AnyConnection,
    checkpoint: &SignedCheckpoint,
    own_key: Option<&SigningKey>,
) -> Result<Verification, AppError> {
    let (mut v, hashes) = verify_scan(conn)?;
    let own_public = own_key.map(|k| hex(k.verifying_key().as_bytes()));
    v.checkpoint = Some(CheckpointCheck {
        blocks: checkpoint.blocks,
        issued_at: checkpoint.issued_at.clone(),
        public_key: checkpoint.public_key.clone(),
        key_is_configured: own_public.is_some(),
    });
    let refuse = |reason: String| Broken {
        kind: BrokenKind::Checkpoint,
        id: None,
        seq: None,
        block: None,
        reason,
    };
    let statement = checkpoint
        .statement()
        .filter(|_| checkpoint.format == CHECKPOINT_FORMAT);
    let problem = match statement {
        None => Some(refuse(format!(
            "not a {CHECKPOINT_FORMAT} checkpoint (format or root unreadable)"
        ))),
        Some(_)
            if own_public
                .as_ref()
                .is_some_and(|k| *k != checkpoint.public_key) =>
        {
            Some(refuse(format!(
                "signed by key {}, not by this depot's {}",
                checkpoint.public_key,
                own_public.unwrap_or_default()
            )))
        }
        Some(s) if !seal::signature_holds(&s, &checkpoint.public_key, &checkpoint.signature) => {
            Some(refuse("its signature does not hold".into()))
        }
        Some(s) => {
            let held = hashes.len() as i64;
            if s.blocks < 0 {
                Some(refuse("counts fewer than no blocks".into()))
            } else if held < s.blocks {
                Some(block_broken(
                    held + 1,
                    format!(
                        "is missing: the checkpoint of {} counts {} blocks (to seq {}), the database holds {held}",
                        s.issued_at, s.blocks, s.last_seq
                    ),
                ))
            } else if chain_root(&hashes[..s.blocks as usize]) != s.root {
                Some(block_broken(
                    s.blocks,
                    format!(
                        "blocks 1..={} differ from the checkpoint of {}: its root is not theirs",
                        s.blocks, s.issued_at
                    ),
                ))
            } else {
                None
            }
        }
    };
    if let Some(problem) = problem {
        // A broken chain named already comes first; a checkpoint problem
        // otherwise.
        if v.first_broken.is_none() {
            v.first_broken = Some(problem);
        }
        v.ok = false;
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64, recorded_at: NaiveDateTime) -> StoredEvent {
        StoredEvent {
            seq,
            id: format!("evt_{seq}"),
            event_type: "ObjectEvent".into(),
            action: "OBSERVE".into(),
            event_time: recorded_at,
            event_tz_offset: "+00:00".into(),
            biz_step: "storing".into(),
            disposition: "in_progress".into(),
            lot_id: None,
            what_class: "urn:depot:lot:lot_1".into(),
            quantity: Some(1),
            location_id: None,
            biz_tx_type: None,
            biz_tx_id: None,
            actor: None,
            recorded_at,
            details: None,
            parent_id: None,
            hash: None,
        }
    }

    #[test]
    fn sealing_stops_before_a_young_gap_and_passes_an_old_one() {
        let now = time::now();
        let old = now - chrono::TimeDelta::seconds(120);
        let seqs = |events: &[StoredEvent]| events.iter().map(|e| e.seq).collect::<Vec<_>>();

        // 13 is missing and 14 was written just now: 13 may still commit.
        let mut young = vec![event(11, now), event(12, now), event(14, now)];
        assert!(stop_at_young_gap(&mut young, 10, now));
        assert_eq!(seqs(&young), [11, 12]);

        // The same gap two minutes on: a rolled-back number, sealed as a gap.
        let mut aged = vec![event(11, old), event(12, old), event(14, old)];
        assert!(!stop_at_young_gap(&mut aged, 10, now));
        assert_eq!(seqs(&aged), [11, 12, 14]);

        // A gap right after the last block counts too.
        let mut first = vec![event(12, now)];
        assert!(stop_at_young_gap(&mut first, 10, now));
        assert!(first.is_empty());
    }
}
