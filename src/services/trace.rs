//! The trace log: one function records an event, inside the caller's
//! transaction, so an event exists exactly when the change it describes does.

use diesel::prelude::*;

use crate::db::schema::trace_events;
use crate::db::AnyConnection;
use crate::domain::ids::new_id;
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
    let details = details.map(|d| d.to_string());
    let id = new_id("evt");
    let now = time::now();
    let (tx_type, tx_id) = match event.biz_tx {
        Some((kind, id)) => (Some(kind), Some(id)),
        None => (None, None),
    };
    diesel::insert_into(trace_events::table)
        .values((
            trace_events::id.eq(&id),
            trace_events::event_type.eq("ObjectEvent"),
            trace_events::action.eq(event.action.as_str()),
            trace_events::event_time.eq(now),
            trace_events::event_tz_offset.eq("+00:00"),
            trace_events::biz_step.eq(event.biz_step.as_str()),
            trace_events::disposition.eq(event.disposition.as_str()),
            trace_events::lot_id.eq(event.lot_id),
            trace_events::what_class.eq(event.what_class),
            trace_events::quantity.eq(event.quantity),
            trace_events::location_id.eq(event.location_id),
            trace_events::biz_tx_type.eq(tx_type),
            trace_events::biz_tx_id.eq(tx_id),
            trace_events::actor.eq(event.actor),
            trace_events::recorded_at.eq(now),
            trace_events::details.eq(details),
        ))
        .execute(conn)?;
    Ok(id)
}

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
    // 17 columns a row: well under SQLite's 32,766 bound parameters.
    for chunk in events.chunks(1_000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|e| {
                (
                    trace_events::id.eq(new_id("evt")),
                    trace_events::event_type.eq("AggregationEvent"),
                    trace_events::action.eq(e.action.as_str()),
                    trace_events::event_time.eq(now),
                    trace_events::event_tz_offset.eq("+00:00"),
                    trace_events::biz_step.eq(e.biz_step.as_str()),
                    trace_events::disposition.eq(e.disposition.as_str()),
                    trace_events::lot_id.eq(Some(e.lot_id)),
                    trace_events::what_class.eq(e.what_class),
                    trace_events::quantity.eq(Some(e.quantity)),
                    trace_events::location_id.eq(Some(e.location_id)),
                    trace_events::biz_tx_type.eq(Some(e.biz_tx.0)),
                    trace_events::biz_tx_id.eq(Some(e.biz_tx.1.as_str())),
                    trace_events::actor.eq(e.actor),
                    trace_events::recorded_at.eq(now),
                    trace_events::details.eq(None::<String>),
                    trace_events::parent_id.eq(Some(e.parent_id)),
                )
            })
            .collect();
        crate::on_backend!(conn, |inner| diesel::insert_into(trace_events::table)
            .values(rows)
            .execute(inner))?;
    }
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
    for chunk in events.chunks(1_000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|e| {
                (
                    trace_events::id.eq(new_id("evt")),
                    trace_events::event_type.eq(e.event_type),
                    trace_events::action.eq(e.action.as_str()),
                    trace_events::event_time.eq(e.event_time),
                    trace_events::event_tz_offset.eq("+00:00"),
                    trace_events::biz_step.eq(e.biz_step.as_str()),
                    trace_events::disposition.eq(e.disposition.map_or("", Disposition::as_str)),
                    trace_events::lot_id.eq(Some(e.lot_id)),
                    trace_events::what_class.eq(e.what_class),
                    trace_events::quantity.eq(Some(e.quantity)),
                    trace_events::location_id.eq(e.location_id),
                    trace_events::biz_tx_type.eq(e.biz_tx.as_ref().map(|t| t.0)),
                    trace_events::biz_tx_id.eq(e.biz_tx.as_ref().map(|t| t.1.as_str())),
                    trace_events::actor.eq(e.actor),
                    trace_events::recorded_at.eq(now),
                    trace_events::details.eq(e.details.as_ref().map(|d| d.to_string())),
                    trace_events::parent_id.eq(e.parent_id),
                )
            })
            .collect();
        crate::on_backend!(conn, |inner| diesel::insert_into(trace_events::table)
            .values(rows)
            .execute(inner))?;
    }
    Ok(())
}
