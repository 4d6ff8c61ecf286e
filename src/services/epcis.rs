//! The EPCIS 2.0 export's reads: which events a page holds, and those events
//! a chunk at a time (so a page of any size streams in bounded memory).
//!
//! Events are in the order they were written (their ids sort by creation),
//! which is also the order the cursor pages by. Filters: event time
//! (`from` inclusive, `to` exclusive), one lot (the `trace_events (lot_id,
//! id)` index), a business step; a merchant sees the events of its own lots.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{locations, lots, trace_events};
use crate::db::AnyConnection;
use crate::domain::access::Principal;
use crate::domain::epcis::SourceEvent;
use crate::domain::trace::location_uri;
use crate::error::AppError;
use crate::services::trace::StoredEvent;

/// What an export asks for.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub lot_id: Option<String>,
    pub biz_step: Option<String>,
}

/// One page of an export: the events after `after` up to and including
/// `last`; `more` when another page follows.
#[derive(Debug, Clone)]
pub struct PagePlan {
    pub last: Option<String>,
    pub more: bool,
}

/// The filtered events as a boxed query (`$select` picks the columns).
macro_rules! filtered {
    ($who:expr, $filter:expr, $select:expr) => {{
        let mut query = trace_events::table
            .left_join(locations::table.on(locations::id.nullable().eq(trace_events::location_id)))
            .select($select)
            .order(trace_events::id.asc())
            .into_boxed();
        if let Some(own) = &$who.merchant_id {
            query = query.filter(
                trace_events::lot_id.eq_any(
                    lots::table
                        .filter(lots::merchant_id.eq(own.clone()))
                        .select(lots::id.nullable()),
                ),
            );
        }
        if let Some(lot) = &$filter.lot_id {
            query = query.filter(trace_events::lot_id.eq(lot.clone()));
        }
        if let Some(from) = $filter.from {
            query = query.filter(trace_events::event_time.ge(from));
        }
        if let Some(to) = $filter.to {
            query = query.filter(trace_events::event_time.lt(to));
        }
        if let Some(step) = &$filter.biz_step {
            query = query.filter(trace_events::biz_step.eq(step.clone()));
        }
        query
    }};
}

/// A lot filter must name a lot the caller may see (else 404, as for any
/// object of another merchant).
pub fn check_filter(
    c: &mut AnyConnection,
    who: &Principal,
    filter: &ExportFilter,
) -> Result<(), AppError> {
    if let Some(lot_id) = &filter.lot_id {
        let owner: Option<String> = lots::table
            .find(lot_id)
            .select(lots::merchant_id)
            .first(c)
            .optional()?;
        match owner {
            Some(owner) if who.sees_merchant(&owner) => {}
            _ => return Err(AppError::not_found("lot", lot_id)),
        }
    }
    Ok(())
}

/// Where the page of `limit` events after `after` ends, found from the
/// index before a byte is sent: so the answer's headers can name the next
/// page, while its events stream.
pub fn plan_page(
    c: &mut AnyConnection,
    who: &Principal,
    filter: &ExportFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<PagePlan, AppError> {
    let mut query = filtered!(who, filter, trace_events::id);
    if let Some(after) = after {
        query = query.filter(trace_events::id.gt(after.to_string()));
    }
    let ids: Vec<String> = query.offset(limit - 1).limit(2).load(c)?;
    Ok(match ids.as_slice() {
        [] => PagePlan {
            // Fewer than `limit` events are left: the page is all of them.
            last: None,
            more: false,
        },
        [last] => PagePlan {
            last: Some(last.clone()),
            more: false,
        },
        [last, ..] => PagePlan {
            last: Some(last.clone()),
            more: true,
        },
    })
}

/// Up to `n` events after `after`, none after `last` (the page's end; None:
/// to the end of the log).
pub fn chunk(
    c: &mut AnyConnection,
    who: &Principal,
    filter: &ExportFilter,
    after: Option<&str>,
    last: Option<&str>,
    n: i64,
) -> Result<Vec<SourceEvent>, AppError> {
    let mut query = filtered!(
        who,
        filter,
        (StoredEvent::as_select(), locations::code.nullable())
    );
    if let Some(after) = after {
        query = query.filter(trace_events::id.gt(after.to_string()));
    }
    if let Some(last) = last {
        query = query.filter(trace_events::id.le(last.to_string()));
    }
    let rows: Vec<(StoredEvent, Option<String>)> = query.limit(n).load(c)?;
    Ok(rows
        .into_iter()
        .map(|(r, code)| SourceEvent {
            id: r.id,
            event_type: r.event_type,
            action: r.action,
            event_time: r.event_time,
            tz_offset: r.event_tz_offset,
            biz_step: r.biz_step,
            disposition: r.disposition,
            what_class: r.what_class,
            quantity: r.quantity,
            location: code.as_deref().map(location_uri),
            biz_tx_type: r.biz_tx_type,
            biz_tx_id: r.biz_tx_id,
            actor: r.actor,
            recorded_at: r.recorded_at,
            details: r.details,
            parent_id: r.parent_id,
        })
        .collect())
}
