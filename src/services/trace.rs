//! The trace log: one function records an event, inside the caller's
//! transaction, so an event exists exactly when the change it describes does.

use std::borrow::Cow;

use chrono::{NaiveDateTime, SubsecRound};
use diesel::prelude::*;

use crate::db::schema::trace_events;
use crate::db::{backend, AnyConnection};
use crate::domain::ids::new_id;
use crate::domain::seal::{self, EventContent};
use crate::domain::time;
use crate::domain::trace::{Action, BizStep, Disposition};
use crate::error::AppError;

/// What happened to a lot, in EPCIS terms (an ObjectEvent on the lot's class).
pub struct LotEvent<'a> {
    pub action: Action,
    pub biz_step: BizStep,
    pub disposition: Disposition,
    pub lot_id: &'a str,
    /// The lot's EPC class (see `domain::trace::lot_class`).
    pub what_class: &'a str,
    pub quantity: Option<i64>,
    pub location_id: Option<&'a str>,
    /// (CBV business transaction type, depot URI of the transaction).
    pub biz_tx: Option<(&'a str, String)>,
    /// The token that caused the event.
    pub actor: Option<&'a str>,
}

/// Appends one event. Depot keeps UTC, so the time zone offset is +00:00.
pub fn record(conn: &mut AnyConnection, event: LotEvent<'_>) -> Result<String, AppError> {
    record_with_details(conn, event, None)
}

/// Appends one event with depot's own fields of it (`details`, a JSON
/// object: the inspection template and version, a correction's reason),
/// which EPCIS 2.0 carries as extension fields of the event.
pub fn record_with_details(
    conn: &mut AnyConnection,
    event: LotEvent<'_>,
    details: Option<&serde_json::Value>,
) -> Result<String, AppError> {
    let now = time::now();
    let (tx_type, tx_id) = match event.biz_tx {
        Some((kind, id)) => (Some(kind), Some(id)),
        None => (None, None),
    };
    let draft = EventDraft {
        event_type: "ObjectEvent",
        action: event.action.as_str(),
        event_time: now,
        biz_step: event.biz_step.as_str(),
        disposition: event.disposition.as_str(),
        lot_id: Some(event.lot_id),
        what_class: Cow::Borrowed(event.what_class),
        quantity: event.quantity,
        location_id: event.location_id,
        biz_tx_type: tx_type,
        biz_tx_id: tx_id,
        actor: event.actor,
        details: details.map(|d| d.to_string()),
        parent_id: None,
    };
    let mut ids = insert_events(conn, &[draft], now)?;
    Ok(ids.remove(0))
}

/// One row of the log as it is stored. The one read of `trace_events`:
/// the trace queries, the EPCIS export and the sealer all select it with
/// `StoredEvent::as_select()`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = trace_events)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: String,
    pub event_type: String,
    pub action: String,
    pub event_time: NaiveDateTime,
    pub event_tz_offset: String,
    pub biz_step: String,
    /// Empty where the event states no disposition.
    pub disposition: String,
    pub lot_id: Option<String>,
    pub what_class: String,
    pub quantity: Option<i64>,
    pub location_id: Option<String>,
    pub biz_tx_type: Option<String>,
    pub biz_tx_id: Option<String>,
    pub actor: Option<String>,
    pub recorded_at: NaiveDateTime,
    pub details: Option<String>,
    pub parent_id: Option<String>,
    /// The hash written with the row (None on rows older than sealing).
    pub hash: Option<String>,
}

impl StoredEvent {
    /// The row's canonical content as it is now, which `domain::seal`
    /// hashes.
    pub fn content(&self) -> EventContent<'_> {
        EventContent {
            seq: self.seq,
            id: &self.id,
            event_type: &self.event_type,
            action: &self.action,
            event_time: self.event_time,
            event_tz_offset: &self.event_tz_offset,
            biz_step: &self.biz_step,
            disposition: &self.disposition,
            lot_id: self.lot_id.as_deref(),
            what_class: &self.what_class,
            quantity: self.quantity,
            location_id: self.location_id.as_deref(),
            biz_tx_type: self.biz_tx_type.as_deref(),
            biz_tx_id: self.biz_tx_id.as_deref(),
            actor: self.actor.as_deref(),
            recorded_at: self.recorded_at,
            details: self.details.as_deref(),
            parent_id: self.parent_id.as_deref(),
        }
    }
}

/// A row of the log before it is written: every column but those
/// [`insert_events`] fills in (id, seq, hash, the time zone offset and
/// `recorded_at`).
pub(crate) struct EventDraft<'a> {
    pub event_type: &'a str,
    pub action: &'a str,
    pub event_time: NaiveDateTime,
    pub biz_step: &'a str,
    pub disposition: &'a str,
    pub lot_id: Option<&'a str>,
    pub what_class: Cow<'a, str>,
    pub quantity: Option<i64>,
    pub location_id: Option<&'a str>,
    pub biz_tx_type: Option<&'a str>,
    pub biz_tx_id: Option<String>,
    pub actor: Option<&'a str>,
    pub details: Option<String>,
    pub parent_id: Option<&'a str>,
}

/// Writes events in multi-row inserts inside the caller's transaction, each
/// with its place in the log (`seq`, taken for all of them in one statement)
/// and its hash over every column (`domain::seal`), so that the sealer only
/// reads; answers their ids. Every writer of `trace_events` comes here.
pub(crate) fn insert_events(
    conn: &mut AnyConnection,
    drafts: &[EventDraft<'_>],
    recorded_at: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    let seqs = backend::next_trace_seqs(conn, drafts.len())?;
    let ids: Vec<String> = drafts.iter().map(|_| new_id("evt")).collect();
    // 19 columns a row: well under SQLite's 32,766 bound parameters.
    for ((chunk, seqs), ids) in drafts
        .chunks(1_000)
        .zip(seqs.chunks(1_000))
        .zip(ids.chunks(1_000))
    {
        let rows: Vec<_> = chunk
            .iter()
            .zip(seqs)
            .zip(ids)
            .map(|((e, &seq), id)| {
                // What is hashed is exactly what is stored: times are kept
                // to the microsecond (PostgreSQL would round a finer one).
                let event_time = e.event_time.trunc_subsecs(6);
                let hash = EventContent {
                    seq,
                    id,
                    event_type: e.event_type,
                    action: e.action,
                    event_time,
                    event_tz_offset: TZ_OFFSET,
                    biz_step: e.biz_step,
                    disposition: e.disposition,
                    lot_id: e.lot_id,
                    what_class: &e.what_class,
                    quantity: e.quantity,
                    location_id: e.location_id,
                    biz_tx_type: e.biz_tx_type,
                    biz_tx_id: e.biz_tx_id.as_deref(),
                    actor: e.actor,
                    recorded_at,
                    details: e.details.as_deref(),
                    parent_id: e.parent_id,
                }
                .hash();
                (
                    (
                        trace_events::id.eq(id.as_str()),
                        trace_events::event_type.eq(e.event_type),
                        trace_events::action.eq(e.action),
                        trace_events::event_time.eq(event_time),
                        trace_events::event_tz_offset.eq(TZ_OFFSET),
                        trace_events::biz_step.eq(e.biz_step),
                        trace_events::disposition.eq(e.disposition),
                        trace_events::lot_id.eq(e.lot_id),
                        trace_events::what_class.eq(e.what_class.as_ref()),
                        trace_events::quantity.eq(e.quantity),
                    ),
                    (
                        trace_events::location_id.eq(e.location_id),
                        trace_events::biz_tx_type.eq(e.biz_tx_type),
                        trace_events::biz_tx_id.eq(e.biz_tx_id.as_deref()),
                        trace_events::actor.eq(e.actor),
                        trace_events::recorded_at.eq(recorded_at),
                        trace_events::details.eq(e.details.as_deref()),
                        trace_events::parent_id.eq(e.parent_id),
                        trace_events::seq.eq(seq),
                        trace_events::hash.eq(seal::hex(&hash)),
                    ),
                )
            })
            .collect();
        crate::on_backend!(conn, |inner| diesel::insert_into(trace_events::table)
            .values(rows)
            .execute(inner))?;
    }
    Ok(ids)
}

/// Depot keeps UTC.
const TZ_OFFSET: &str = "+00:00";

/// A depot URI for a business transaction (receipt, inspection, order…).
pub fn tx_uri(kind: &str, id: &str) -> String {
    format!("urn:depot:{kind}:{id}")
}

/// What went into a parcel, in EPCIS terms: an AggregationEvent (EPCIS 2.0
/// §7.4.3) whose parentID is the parcel's SSCC as an EPC pure identity URI
/// and whose childQuantityList is one lot's class and quantity. A parcel of
/// several lots is one event per lot, all with the same parent.
pub struct Aggregation<'a> {
    pub action: Action,
    pub biz_step: BizStep,
    pub disposition: Disposition,
    /// The parent's EPC URI (`urn:epc:id:sscc:…`). EPCIS 2.0's JSON schema
    /// does not require a parentID for ADD and DELETE; depot always has one.
    pub parent_id: &'a str,
    pub lot_id: &'a str,
    pub what_class: &'a str,
    pub quantity: i64,
    pub location_id: &'a str,
    pub biz_tx: (&'a str, String),
    pub actor: Option<&'a str>,
}

/// Appends aggregation events in multi-row inserts, inside the caller's
/// transaction (packing a batch writes one per parcel).
pub fn record_aggregations(
    conn: &mut AnyConnection,
    events: &[Aggregation<'_>],
) -> Result<(), AppError> {
    let now = time::now();
    let drafts: Vec<EventDraft> = events
        .iter()
        .map(|e| EventDraft {
            event_type: "AggregationEvent",
            action: e.action.as_str(),
            event_time: now,
            biz_step: e.biz_step.as_str(),
            disposition: e.disposition.as_str(),
            lot_id: Some(e.lot_id),
            what_class: Cow::Borrowed(e.what_class),
            quantity: Some(e.quantity),
            location_id: Some(e.location_id),
            biz_tx_type: Some(e.biz_tx.0),
            biz_tx_id: Some(e.biz_tx.1.clone()),
            actor: e.actor,
            details: None,
            parent_id: Some(e.parent_id),
        })
        .collect();
    insert_events(conn, &drafts, now)?;
    Ok(())
}

/// Any event, for writers that record many at once (handover, carrier
/// statuses): every column of the log, inserted in multi-row statements.
pub struct NewEvent<'a> {
    /// `ObjectEvent` or `AggregationEvent`.
    pub event_type: &'static str,
    pub action: Action,
    /// When it happened: a carrier's own time for its statuses.
    pub event_time: chrono::NaiveDateTime,
    pub biz_step: BizStep,
    /// None: the event states no disposition (EPCIS 2.0 makes it optional);
    /// stored as an empty string.
    pub disposition: Option<Disposition>,
    pub lot_id: &'a str,
    pub what_class: &'a str,
    pub quantity: i64,
    pub location_id: Option<&'a str>,
    pub biz_tx: Option<(&'a str, String)>,
    pub actor: Option<&'a str>,
    /// The parcel (an SSCC's EPC URI): an aggregation's parent, or the
    /// object an ObjectEvent about a parcel observes.
    pub parent_id: Option<&'a str>,
    pub details: Option<serde_json::Value>,
}

/// Appends `events` in multi-row inserts inside the caller's transaction.
pub fn record_events(conn: &mut AnyConnection, events: &[NewEvent<'_>]) -> Result<(), AppError> {
    let now = time::now();
    let drafts: Vec<EventDraft> = events
        .iter()
        .map(|e| EventDraft {
            event_type: e.event_type,
            action: e.action.as_str(),
            event_time: e.event_time,
            biz_step: e.biz_step.as_str(),
            disposition: e.disposition.map_or("", Disposition::as_str),
            lot_id: Some(e.lot_id),
            what_class: Cow::Borrowed(e.what_class),
            quantity: Some(e.quantity),
            location_id: e.location_id,
            biz_tx_type: e.biz_tx.as_ref().map(|t| t.0),
            biz_tx_id: e.biz_tx.as_ref().map(|t| t.1.clone()),
            actor: e.actor,
            details: e.details.as_ref().map(|d| d.to_string()),
            parent_id: e.parent_id,
        })
        .collect();
    insert_events(conn, &drafts, now)?;
    Ok(())
}
