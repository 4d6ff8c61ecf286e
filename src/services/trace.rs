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
