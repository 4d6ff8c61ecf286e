//! Storage: putaway into bins (depot suggests one when none is named), moves
//! between bins or into quarantine, holds, cycle counts, expiry, and the
//! queries and the ledger check over stock.
//!
//! Every change of quantity goes through `ledger::post` and records its trace
//! event in the same transaction.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::backend::{self, SkuLock};
use crate::db::schema::{ledger_entries, locations, lots, skus, stock, stock_counts, stock_holds};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::csv::write_record;
use crate::domain::ids::new_id;
use crate::domain::inspection::LotStatus;
use crate::domain::page::{Page, PageRequest};
use crate::domain::storage::{self as rules, Bin, PutawayRequest};
use crate::domain::time;
use crate::domain::trace::{biz_tx, Action, BizStep, Disposition};
use crate::error::AppError;
use crate::services::catalog::{self, Location};
use crate::services::ledger::{self, Movement, MovementKind};
use crate::services::lots::{self as lot_service, LotRow};
use crate::services::reservations::{self, OrderMoved, Shortfall};
use crate::services::{orders, picking, trace};

// ------------------------------------------------------------------ putaway

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PutawayDone {
    pub lot_id: String,
    pub location_code: String,
    pub qty: i64,
    /// depot chose the bin (no `location_code` was given).
    pub suggested: bool,
    /// Why that bin (suggested only): same_lot, same_sku, empty_in_zone (the
    /// SKU's zone), empty_without_zone (the SKU has no zone, nor the bin) or
    /// empty_any_zone (the SKU has no zone; only a zoned empty bin had room).
    pub reason: Option<String>,
    /// The reason in words: what the suggestion considered and passed over.
    pub reason_detail: Option<String>,
    pub movement_id: String,
}

/// Puts `qty` units of an accepted lot away from receiving into a storage bin:
/// the one named, or the one [`rules::suggest_bin`] picks.
pub fn putaway(
    conn: &mut AnyConnection,
    who: &Principal,
    lot_id: &str,
    location_code: Option<String>,
    qty: i64,
) -> Result<PutawayDone, AppError> {
    db::write(conn, |c| {
        let lot = lot_service::row(c, who, lot_id)?;
        // First: new sellable stock serves the back-order queue below.
        backend::lock_skus(c, std::slice::from_ref(&lot.sku_id), SkuLock::Exclusive)?;
        if lot.status != LotStatus::Accepted {
            return Err(AppError::InvalidState(format!(
                "lot {lot_id} is {}; only an accepted lot can be put away",
                lot.status
            )));
        }
        let waiting: Vec<(String, i64)> = units_at(c, &lot.id, &["receiving"])?;
        // Units a later delivery added wait there for their own inspection.
        let total: i64 = waiting.iter().map(|(_, q)| q).sum::<i64>() - lot.uninspected_qty;
        if qty > total {
            return Err(AppError::InvalidState(format!(
                "only {} unit(s) of lot {lot_id} may be put away from receiving; {qty} were asked for{}",
                total.max(0),
                if lot.uninspected_qty > 0 {
                    format!(
                        " ({} unit(s) added by a later delivery wait for their own inspection)",
                        lot.uninspected_qty
                    )
                } else {
                    String::new()
                }
            )));
        }
        let (target, suggested, reason, reason_detail) = match location_code {
            Some(code) => {
                let bin = catalog::location_by_code(c, &code, "storage", "location_code")?;
                catalog::ensure_takes_stock(&bin, "location_code")?;
                (bin, false, None, None)
            }
            None => {
                let zone: Option<String> = skus::table
                    .find(&lot.sku_id)
                    .select(skus::storage_zone)
                    .first(c)?;
                let bins = storage_bins(c)?;
                let request = PutawayRequest {
                    sku_id: &lot.sku_id,
                    lot_id: &lot.id,
                    zone: zone.as_deref(),
                    qty,
                };
                let Some((bin, why)) = rules::suggest_bin(&bins, request) else {
                    return Err(AppError::InvalidState(format!(
                        "no storage bin has room for {qty} unit(s) of this SKU; name one with location_code"
                    )));
                };
                let code = bin.code.clone();
                let detail = why.explain(bin, request);
                let bin = catalog::location_by_code(c, &code, "storage", "location_code")?;
                (bin, true, Some(why.as_str().to_string()), Some(detail))
            }
        };
        check_room(c, &target, qty)?;
        let mut legs: Vec<(&str, i64)> = take(&waiting, qty)
            .into_iter()
            .map(|(id, q)| (id, -q))
            .collect();
        legs.push((&target.id, qty));
        let movement_id = ledger::post(
            c,
            &Movement {
                kind: MovementKind::Putaway,
                lot_id: &lot.id,
                reference: Some(("lot", &lot.id)),
                reason: None,
                actor: Some(&who.token_id),
            },
            &legs,
        )?;
        trace::record(
            c,
            event(
                &lot,
                who,
                BizStep::Storing,
                Disposition::SellableAccessible,
                qty,
                &target.id,
            ),
        )?;
        // New sellable stock serves the backorder queue first, in order time.
        orders::serve_backorders(c, who, std::slice::from_ref(&lot.sku_id))?;
        Ok(PutawayDone {
            lot_id: lot.id,
            location_code: target.code,
            qty,
            suggested,
            reason,
            reason_detail,
            movement_id,
        })
    })
}

/// A storage location's id, code, zone, walk sequence and capacity.
type BinRow = (String, String, Option<String>, i32, Option<i64>);

/// Every storage bin with what it holds.
fn storage_bins(c: &mut AnyConnection) -> Result<Vec<Bin>, AppError> {
    let rows: Vec<BinRow> = locations::table
        .filter(locations::kind.eq("storage"))
        // An inactive bin takes no new stock, so it is never suggested.
        .filter(locations::active.eq(true))
        .select((
            locations::id,
            locations::code,
            locations::zone,
            locations::walk_seq,
            locations::capacity,
        ))
        .load(c)?;
    let held: Vec<(String, String, String, i64)> = stock::table
        .inner_join(locations::table)
        .inner_join(lots::table)
        .filter(locations::kind.eq("storage"))
        .filter(stock::on_hand.gt(0))
        .select((
            stock::location_id,
            lots::sku_id,
            stock::lot_id,
            stock::on_hand,
        ))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|(location_id, code, zone, walk_seq, capacity)| Bin {
            contents: held
                .iter()
                .filter(|h| h.0 == location_id)
                .map(|h| (h.1.clone(), h.2.clone(), h.3))
                .collect(),
            location_id,
            code,
            zone,
            walk_seq,
            capacity,
        })
        .collect())
}

/// Refuses (409) a putaway or move that would overfill a bin. The bin's row
/// is locked first (PostgreSQL), so two requests cannot both fill the last room.
fn check_room(c: &mut AnyConnection, bin: &Location, qty: i64) -> Result<(), AppError> {
    let Some(capacity) = bin.capacity else {
        return Ok(());
    };
    diesel::update(locations::table.find(&bin.id))
        .set(locations::id.eq(locations::id))
        .execute(c)?;
    let on_hand: Vec<i64> = stock::table
        .filter(stock::location_id.eq(&bin.id))
        .select(stock::on_hand)
        .load(c)?;
    let room = capacity - on_hand.iter().sum::<i64>();
    if qty > room {
        return Err(AppError::InvalidState(format!(
            "bin {} has room for {} more unit(s); {qty} were asked for",
            bin.code,
            room.max(0)
        )));
    }
    Ok(())
}

/// Units of the lot per location of the given kinds: (location id, on hand).
fn units_at(
    c: &mut AnyConnection,
    lot_id: &str,
    kinds: &[&str],
) -> Result<Vec<(String, i64)>, AppError> {
    Ok(stock::table
        .inner_join(locations::table)
        .filter(stock::lot_id.eq(lot_id))
        .filter(stock::on_hand.gt(0))
        .filter(locations::kind.eq_any(kinds))
        .order((locations::walk_seq.asc(), locations::code.asc()))
        .select((stock::location_id, stock::on_hand - stock::reserved))
        .load(c)?)
}

/// Takes `qty` from the sources in order.
fn take(sources: &[(String, i64)], qty: i64) -> Vec<(&str, i64)> {
    let mut wanted = qty;
    let mut legs = Vec::new();
    for (id, available) in sources {
        let q = wanted.min(*available);
        if q > 0 {
            legs.push((id.as_str(), q));
            wanted -= q;
        }
    }
    legs
}

fn event<'a>(
    lot: &'a LotRow,
    who: &'a Principal,
    biz_step: BizStep,
    disposition: Disposition,
    quantity: i64,
    location_id: &'a str,
) -> trace::LotEvent<'a> {
    trace::LotEvent {
        action: Action::Observe,
        biz_step,
        disposition,
        lot_id: &lot.id,
        what_class: &lot.what_class,
        quantity: Some(quantity),
        location_id: Some(location_id),
        biz_tx: Some((
            biz_tx::DESPATCH_ADVICE,
            trace::tx_uri("receipt", &lot.receipt_id),
        )),
        actor: Some(&who.token_id),
    }
}

// -------------------------------------------------------------------- moves

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MoveDone {
    pub movement_id: String,
    pub lot_id: String,
    pub from_location_code: String,
    pub to_location_code: String,
    pub qty: i64,
    /// The hold created when the units went into quarantine.
    pub hold_id: Option<String>,
}

pub struct MoveRequest {
    pub lot_id: String,
    pub from_location_code: String,
    pub to_location_code: String,
    pub qty: i64,
    pub reason: Option<String>,
}

/// Moves units of a lot from one storage bin to another, or into quarantine
/// (damage found in storage: a reason is required, and a hold is recorded).
/// More than the bin holds unreserved is a 409 naming what is available.
pub fn move_stock(
    conn: &mut AnyConnection,
    who: &Principal,
    request: MoveRequest,
) -> Result<MoveDone, AppError> {
    db::write(conn, |c| {
        let lot = lot_service::row(c, who, &request.lot_id)?;
        let from = any_location(c, &request.from_location_code, "from_location_code")?;
        let to = any_location(c, &request.to_location_code, "to_location_code")?;
        catalog::ensure_takes_stock(&to, "to_location_code")?;
        match from.kind.as_str() {
            "storage" => {}
            "quarantine" => return release_from_quarantine(c, who, &lot, &from, &to, &request),
            other => {
                return Err(AppError::field(
                    "from_location_code",
                    format!(
                        "{} is a {other} location; move from storage (or quarantine)",
                        from.code
                    ),
                ))
            }
        }
        let into_quarantine = match to.kind.as_str() {
            "storage" => false,
            "quarantine" => true,
            other => {
                return Err(AppError::field(
                    "to_location_code",
                    format!(
                        "{} is a {other} location; move to storage or quarantine",
                        to.code
                    ),
                ))
            }
        };
        if from.id == to.id {
            return Err(AppError::field(
                "to_location_code",
                "is the location the units are in",
            ));
        }
        let reason = match (&request.reason, into_quarantine) {
            (Some(r), _) => Some(r.as_str()),
            (None, true) => {
                return Err(AppError::field(
                    "reason",
                    "is required when moving into quarantine: what is wrong with the units",
                ))
            }
            (None, false) => None,
        };
        if !into_quarantine {
            check_room(c, &to, request.qty)?;
        }
        let kind = if into_quarantine {
            MovementKind::Hold
        } else {
            MovementKind::Move
        };
        let movement_id = ledger::post(
            c,
            &Movement {
                kind,
                lot_id: &lot.id,
                reference: Some(("lot", &lot.id)),
                reason,
                actor: Some(&who.token_id),
            },
            &[(&from.id, -request.qty), (&to.id, request.qty)],
        )?;
        let mut hold_id = None;
        if into_quarantine {
            let id = new_id("hld");
            diesel::insert_into(stock_holds::table)
                .values((
                    stock_holds::id.eq(&id),
                    stock_holds::lot_id.eq(&lot.id),
                    stock_holds::location_id.eq(&to.id),
                    stock_holds::reason.eq(reason.unwrap_or_default()),
                    stock_holds::kind.eq("damage"),
                    stock_holds::created_at.eq(time::now()),
                    stock_holds::created_by.eq(&who.token_id),
                ))
                .execute(c)?;
            trace::record(
                c,
                event(
                    &lot,
                    who,
                    BizStep::Holding,
                    Disposition::Damaged,
                    request.qty,
                    &to.id,
                ),
            )?;
            hold_id = Some(id);
        } else {
            trace::record(
                c,
                event(
                    &lot,
                    who,
                    BizStep::Storing,
                    Disposition::SellableAccessible,
                    request.qty,
                    &to.id,
                ),
            )?;
        }
        Ok(MoveDone {
            movement_id,
            lot_id: lot.id,
            from_location_code: from.code,
            to_location_code: to.code,
            qty: request.qty,
            hold_id,
        })
    })
}

/// Units of an accepted lot that were moved into quarantine as damaged go
/// back to a storage bin once they were found fine and their damage hold was
/// released (a `release` movement). A rejected lot's units leave quarantine
/// only by a disposition.
fn release_from_quarantine(
    c: &mut AnyConnection,
    who: &Principal,
    lot: &LotRow,
    from: &Location,
    to: &Location,
    request: &MoveRequest,
) -> Result<MoveDone, AppError> {
    // First: units back from quarantine serve the back-order queue.
    backend::lock_skus(c, std::slice::from_ref(&lot.sku_id), SkuLock::Exclusive)?;
    if lot.status != LotStatus::Accepted {
        return Err(AppError::InvalidState(format!(
            "lot {} is {}: its units leave quarantine by a disposition (POST /api/v1/lots/{}/disposition)",
            lot.id, lot.status, lot.id
        )));
    }
    if to.kind != "storage" {
        return Err(AppError::field(
            "to_location_code",
            format!(
                "{} is a {} location; units leave quarantine for a storage bin",
                to.code, to.kind
            ),
        ));
    }
    let holding: Option<String> = stock_holds::table
        .filter(stock_holds::lot_id.eq(&lot.id))
        .filter(stock_holds::location_id.eq(&from.id))
        .filter(stock_holds::released_at.is_null())
        .select(stock_holds::id)
        .first(c)
        .optional()?;
    if let Some(hold) = holding {
        return Err(AppError::InvalidState(format!(
            "the units of lot {} at {} are on hold {hold}; release it first (POST /api/v1/holds/{hold}/release)",
            lot.id, from.code
        )));
    }
    check_room(c, to, request.qty)?;
    let movement_id = ledger::post(
        c,
        &Movement {
            kind: MovementKind::Release,
            lot_id: &lot.id,
            reference: Some(("lot", &lot.id)),
            reason: request.reason.as_deref(),
            actor: Some(&who.token_id),
        },
        &[(&from.id, -request.qty), (&to.id, request.qty)],
    )?;
    let disposition = disposition_now(c, lot, to)?;
    trace::record(
        c,
        event(lot, who, BizStep::Storing, disposition, request.qty, &to.id),
    )?;
    orders::serve_backorders(c, who, std::slice::from_ref(&lot.sku_id))?;
    Ok(MoveDone {
        movement_id,
        lot_id: lot.id.clone(),
        from_location_code: from.code.clone(),
        to_location_code: to.code.clone(),
        qty: request.qty,
        hold_id: None,
    })
}

// -------------------------------------------------------------------- scrap

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScrapDone {
    pub movement_id: String,
    pub lot_id: String,
    pub location_code: String,
    pub qty: i64,
    pub reason: String,
    /// Damage holds at that location that ended because no units are left there.
    pub released_holds: Vec<String>,
    /// Orders that held the scrapped units (re-reserved from other stock or
    /// back-ordered), and back-orders served by what they gave back.
    pub orders_moved: Vec<OrderMoved>,
}

/// Destroys units of an accepted lot at a storage bin or in quarantine
/// (damage found, units not worth keeping): a `scrap` movement and a
/// destroying event. Units that orders hold may be scrapped too: the
/// youngest of those orders give back what the bin can no longer cover and
/// are placed again (`services::reservations`). A rejected lot is scrapped
/// whole by its disposition instead. A damage hold at a quarantine location
/// ends when its last unit is scrapped.
pub fn scrap(
    conn: &mut AnyConnection,
    who: &Principal,
    lot_id: &str,
    location_code: &str,
    qty: i64,
    reason: &str,
) -> Result<ScrapDone, AppError> {
    db::write(conn, |c| {
        let lot = lot_service::row(c, who, lot_id)?;
        let location = any_location(c, location_code, "location_code")?;
        if location.kind != "storage" && location.kind != "quarantine" {
            return Err(AppError::field(
                "location_code",
                format!(
                    "{} is a {} location; scrap from a storage bin or quarantine",
                    location.code, location.kind
                ),
            ));
        }
        if lot.status != LotStatus::Accepted {
            return Err(AppError::InvalidState(format!(
                "lot {} is {}: a lot that is not accepted is scrapped by its disposition",
                lot.id, lot.status
            )));
        }
        // The reservations the scrap takes away are placed again. A unit
        // another request takes meanwhile makes the scrap's guarded
        // decrement a 409, never an oversell.
        let on_hand = on_hand_at(c, &lot.id, &location.id)?;
        if qty > on_hand {
            return Err(AppError::InvalidState(format!(
                "only {on_hand} unit(s) of lot {} are at {}; {qty} were asked for",
                lot.id, location.code
            )));
        }
        let shortfall = [Shortfall::Bin {
            lot_id: &lot.id,
            location_id: &location.id,
            keep: on_hand - qty,
        }];
        let (done, orders_moved) = reservations::release_and_replace(
            c,
            who,
            &shortfall,
            Disposition::SellableAccessible,
            |c| destroy(c, who, &lot, &location, qty, reason),
        )?;
        Ok(ScrapDone {
            orders_moved,
            ..done
        })
    })
}

/// The scrap itself: the movement, the destroying event, and the end of a
/// damage hold whose last unit went.
fn destroy(
    c: &mut AnyConnection,
    who: &Principal,
    lot: &LotRow,
    location: &Location,
    qty: i64,
    reason: &str,
) -> Result<ScrapDone, AppError> {
    let movement_id = ledger::post(
        c,
        &Movement {
            kind: MovementKind::Scrap,
            lot_id: &lot.id,
            reference: Some(("lot", &lot.id)),
            reason: Some(reason),
            actor: Some(&who.token_id),
        },
        &[(&location.id, -qty)],
    )?;
    trace::record(
        c,
        trace::LotEvent {
            action: Action::Delete,
            ..event(
                lot,
                who,
                BizStep::Destroying,
                Disposition::Destroyed,
                qty,
                &location.id,
            )
        },
    )?;
    let mut released_holds = Vec::new();
    if on_hand_at(c, &lot.id, &location.id)? == 0 {
        let ended: Vec<String> = stock_holds::table
            .filter(stock_holds::lot_id.eq(&lot.id))
            .filter(stock_holds::location_id.eq(&location.id))
            .filter(stock_holds::kind.eq("damage"))
            .filter(stock_holds::released_at.is_null())
            .select(stock_holds::id)
            .load(c)?;
        if !ended.is_empty() {
            diesel::update(stock_holds::table.filter(stock_holds::id.eq_any(&ended)))
                .set((
                    stock_holds::released_at.eq(time::now()),
                    stock_holds::released_by.eq(&who.token_id),
                ))
                .execute(c)?;
        }
        released_holds = ended;
    }
    Ok(ScrapDone {
        movement_id,
        lot_id: lot.id.clone(),
        location_code: location.code.clone(),
        qty,
        reason: reason.to_string(),
        released_holds,
        orders_moved: Vec::new(),
    })
}

fn any_location(c: &mut AnyConnection, code: &str, field: &str) -> Result<Location, AppError> {
    locations::table
        .filter(locations::code.eq(code))
        .select(Location::as_select())
        .first(c)
        .optional()?
        .ok_or_else(|| AppError::field(field, format!("no location with code {code}")))
}

/// The disposition a trace event gives a lot's units at a location as they
/// stand now (`domain::storage::disposition_at`): the lot's state, the kind
/// of location, expiry, and any hold in force there.
fn disposition_now(
    c: &mut AnyConnection,
    lot: &LotRow,
    location: &Location,
) -> Result<Disposition, AppError> {
    let location_id = location.id.as_str();
    let expiry: Option<NaiveDate> = lots::table
        .find(&lot.id)
        .select(lots::expiry_date)
        .first(c)?;
    let holds: i64 = stock_holds::table
        .filter(stock_holds::lot_id.eq(&lot.id))
        .filter(stock_holds::released_at.is_null())
        .filter(
            stock_holds::location_id
                .is_null()
                .or(stock_holds::location_id.eq(location_id)),
        )
        .count()
        .get_result(c)?;
    let today = time::now().date();
    Ok(rules::disposition_at(
        lot.status,
        &location.kind,
        rules::is_expired(expiry, today),
        holds > 0,
    ))
}

// ------------------------------------------------------------------- counts

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountDone {
    pub count_id: String,
    pub lot_id: String,
    pub location_code: String,
    /// What depot had on hand before the count.
    pub expected_qty: i64,
    pub counted_qty: i64,
    /// counted − expected, posted to the ledger as an `adjust` movement.
    pub adjustment: i64,
    pub movement_id: Option<String>,
    pub reason: String,
    /// Orders whose reservation the count could no longer cover (re-reserved
    /// from other stock or back-ordered), and back-orders it served.
    pub orders_moved: Vec<OrderMoved>,
}

/// Records a cycle count of a lot at a location and posts the difference as
/// an adjustment. The stock row is locked while it is read, so the adjustment
/// brings on-hand exactly to the count. The shelf is the truth: when fewer
/// units are found than orders hold there, the youngest orders give theirs
/// back and are placed again (`services::reservations`); units found over
/// the ledger serve the back-order queue. An open count task of that lot ×
/// bin (a short pick) is done with this count, and the bin's units of the
/// lot may be reserved again.
pub fn count(
    conn: &mut AnyConnection,
    who: &Principal,
    lot_id: &str,
    location_code: &str,
    counted: i64,
    reason: &str,
) -> Result<CountDone, AppError> {
    db::write(conn, |c| {
        let lot = lot_service::row(c, who, lot_id)?;
        let location = any_location(c, location_code, "location_code")?;
        let shortfall = [Shortfall::Bin {
            lot_id: &lot.id,
            location_id: &location.id,
            keep: counted,
        }];
        let (done, orders_moved) = reservations::release_and_replace(
            c,
            who,
            &shortfall,
            Disposition::SellableAccessible,
            |c| record_count(c, who, &lot, &location, counted, reason),
        )?;
        // A count of a bin that came up short at a pick settles it: its
        // task closes and what the count confirmed serves the back-orders.
        if picking::close_count_task(c, &lot.id, &location.id, &done.count_id)? {
            orders::serve_backorders(c, who, std::slice::from_ref(&lot.sku_id))?;
        }
        Ok(CountDone {
            orders_moved,
            ..done
        })
    })
}

/// The count itself: the stock row read under its lock, the `adjust`
/// movement, the `stock_counts` row and the cycle-counting event.
fn record_count(
    c: &mut AnyConnection,
    who: &Principal,
    lot: &LotRow,
    location: &Location,
    counted: i64,
    reason: &str,
) -> Result<CountDone, AppError> {
    let row = stock::table
        .filter(stock::lot_id.eq(&lot.id))
        .filter(stock::location_id.eq(&location.id));
    diesel::update(row)
        .set(stock::on_hand.eq(stock::on_hand))
        .execute(c)?;
    let on_hand: i64 = row.select(stock::on_hand).first(c).optional()?.unwrap_or(0);
    let adjustment =
        rules::count_adjustment(on_hand, counted).map_err(|m| AppError::field("counted_qty", m))?;
    let count_id = new_id("cnt");
    let movement_id = if adjustment == 0 {
        None
    } else {
        Some(ledger::post(
            c,
            &Movement {
                kind: MovementKind::Adjust,
                lot_id: &lot.id,
                reference: Some(("count", &count_id)),
                reason: Some(reason),
                actor: Some(&who.token_id),
            },
            &[(&location.id, adjustment)],
        )?)
    };
    diesel::insert_into(stock_counts::table)
        .values((
            stock_counts::id.eq(&count_id),
            stock_counts::lot_id.eq(&lot.id),
            stock_counts::location_id.eq(&location.id),
            stock_counts::expected_qty.eq(on_hand),
            stock_counts::counted_qty.eq(counted),
            stock_counts::movement_id.eq(&movement_id),
            stock_counts::reason.eq(reason),
            stock_counts::created_at.eq(time::now()),
            stock_counts::created_by.eq(&who.token_id),
        ))
        .execute(c)?;
    let disposition = disposition_now(c, lot, location)?;
    trace::record(
        c,
        event(
            lot,
            who,
            BizStep::CycleCounting,
            disposition,
            counted,
            &location.id,
        ),
    )?;
    Ok(CountDone {
        count_id,
        lot_id: lot.id.clone(),
        location_code: location.code.clone(),
        expected_qty: on_hand,
        counted_qty: counted,
        adjustment,
        movement_id,
        reason: reason.to_string(),
        orders_moved: Vec::new(),
    })
}

// ------------------------------------------------------------ holds, expiry

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Hold {
    pub id: String,
    pub lot_id: String,
    /// null: every location of the lot.
    pub location_code: Option<String>,
    /// damage, expired or quality.
    pub kind: String,
    pub reason: String,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub released_at: Option<NaiveDateTime>,
    pub released_by: Option<String>,
}

type HoldRow = (
    String,
    String,
    Option<String>,
    String,
    String,
    NaiveDateTime,
    Option<String>,
    Option<NaiveDateTime>,
    Option<String>,
);

fn to_hold(c: &mut AnyConnection, row: HoldRow) -> Result<Hold, AppError> {
    let (id, lot_id, location_id, kind, reason, created_at, created_by, released_at, released_by) =
        row;
    let location_code = match location_id {
        Some(l) => Some(catalog::location_code(c, &l)?),
        None => None,
    };
    Ok(Hold {
        id,
        lot_id,
        location_code,
        kind,
        reason,
        created_at,
        created_by,
        released_at,
        released_by,
    })
}

fn hold_columns() -> (
    stock_holds::id,
    stock_holds::lot_id,
    stock_holds::location_id,
    stock_holds::kind,
    stock_holds::reason,
    stock_holds::created_at,
    stock_holds::created_by,
    stock_holds::released_at,
    stock_holds::released_by,
) {
    (
        stock_holds::id,
        stock_holds::lot_id,
        stock_holds::location_id,
        stock_holds::kind,
        stock_holds::reason,
        stock_holds::created_at,
        stock_holds::created_by,
        stock_holds::released_at,
        stock_holds::released_by,
    )
}

/// Holds, newest last; `active` only those not released; a merchant sees its own lots'.
pub fn list_holds(
    conn: &mut AnyConnection,
    who: &Principal,
    lot_id: Option<String>,
    active: bool,
    page: &PageRequest,
) -> Result<Page<Hold>, AppError> {
    let mut query = stock_holds::table
        .inner_join(lots::table)
        .select(hold_columns())
        .order(stock_holds::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(stock_holds::id.gt(after.clone()));
    }
    if let Some(own) = &who.merchant_id {
        query = query.filter(lots::merchant_id.eq(own.clone()));
    }
    if let Some(lot) = lot_id {
        query = query.filter(stock_holds::lot_id.eq(lot));
    }
    if active {
        query = query.filter(stock_holds::released_at.is_null());
    }
    let rows: Vec<HoldRow> = query.load(conn)?;
    let holds = rows
        .into_iter()
        .map(|r| to_hold(conn, r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(holds, page, |h| &h.id))
}

/// A hold just placed, and the orders it took stock from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoldPlaced {
    #[serde(flatten)]
    pub hold: Hold,
    /// Orders that held units of the held stock, re-reserved from other
    /// stock (FEFO) or back-ordered, and back-orders served by what they gave back.
    pub orders_moved: Vec<OrderMoved>,
}

/// Puts a lot on hold for quality (at one location, or everywhere): its
/// stock there stops being sellable until the hold is released. No unit
/// moves; orders holding that stock give it back and are placed again from
/// other stock, oldest first, or back-ordered (`services::reservations`).
pub fn create_hold(
    conn: &mut AnyConnection,
    who: &Principal,
    lot_id: &str,
    location_code: Option<String>,
    reason: &str,
) -> Result<HoldPlaced, AppError> {
    db::write(conn, |c| {
        let lot = lot_service::row(c, who, lot_id)?;
        let location = match location_code {
            Some(code) => Some(any_location(c, &code, "location_code")?),
            None => None,
        };
        let shortfall = [match &location {
            Some(l) => Shortfall::Bin {
                lot_id: &lot.id,
                location_id: &l.id,
                keep: 0,
            },
            None => Shortfall::Lot { lot_id: &lot.id },
        }];
        let (hold, orders_moved) = reservations::release_and_replace(
            c,
            who,
            &shortfall,
            Disposition::NonSellableOther,
            |c| {
                place_quality_hold(
                    c,
                    who,
                    &lot,
                    location.as_ref(),
                    reason,
                    Disposition::NonSellableOther,
                )
            },
        )?;
        Ok(HoldPlaced { hold, orders_moved })
    })
}

/// The quality hold's row and its holding event, with `disposition`
/// (`non_sellable_other`; a recall's hold `recalled`).
pub(crate) fn place_quality_hold(
    c: &mut AnyConnection,
    who: &Principal,
    lot: &LotRow,
    location: Option<&Location>,
    reason: &str,
    disposition: Disposition,
) -> Result<Hold, AppError> {
    let id = new_id("hld");
    diesel::insert_into(stock_holds::table)
        .values((
            stock_holds::id.eq(&id),
            stock_holds::lot_id.eq(&lot.id),
            stock_holds::location_id.eq(location.map(|l| l.id.clone())),
            stock_holds::reason.eq(reason),
            stock_holds::kind.eq("quality"),
            stock_holds::created_at.eq(time::now()),
            stock_holds::created_by.eq(&who.token_id),
        ))
        .execute(c)?;
    let (main, total) = lot_total(c, &lot.id)?;
    let at = location.map(|l| l.id.clone()).or(main);
    if let Some(at) = at {
        trace::record(
            c,
            event(lot, who, BizStep::Holding, disposition, total, &at),
        )?;
    }
    let row: HoldRow = stock_holds::table
        .find(&id)
        .select(hold_columns())
        .first(c)?;
    to_hold(c, row)
}

/// Releases a hold; releasing twice changes nothing. Units a damage hold
/// moved into quarantine stay there until moved or disposed of.
pub fn release_hold(
    conn: &mut AnyConnection,
    who: &Principal,
    hold_id: &str,
) -> Result<Hold, AppError> {
    db::write(conn, |c| {
        let row: HoldRow = stock_holds::table
            .find(hold_id)
            .select(hold_columns())
            .first(c)
            .optional()?
            .ok_or_else(|| AppError::not_found("hold", hold_id))?;
        let lot =
            lot_service::row(c, who, &row.1).map_err(|_| AppError::not_found("hold", hold_id))?;
        // First: stock that becomes sellable serves the back-order queue.
        backend::lock_skus(c, std::slice::from_ref(&lot.sku_id), SkuLock::Exclusive)?;
        if row.7.is_none() {
            diesel::update(
                stock_holds::table
                    .find(hold_id)
                    .filter(stock_holds::released_at.is_null()),
            )
            .set((
                stock_holds::released_at.eq(time::now()),
                stock_holds::released_by.eq(&who.token_id),
            ))
            .execute(c)?;
            // Where the hold was (else where most of the lot is), and what
            // the units are now: sellable again, or still not (another hold,
            // expiry, quarantine).
            let (at, on_hand) = match &row.2 {
                Some(location_id) => (
                    Some(location_id.clone()),
                    on_hand_at(c, &lot.id, location_id)?,
                ),
                None => lot_total(c, &lot.id)?,
            };
            if let Some(location_id) = at {
                let location: Location = locations::table
                    .find(&location_id)
                    .select(Location::as_select())
                    .first(c)?;
                let disposition = disposition_now(c, &lot, &location)?;
                trace::record(
                    c,
                    event(
                        &lot,
                        who,
                        BizStep::Storing,
                        disposition,
                        on_hand,
                        &location_id,
                    ),
                )?;
            }
            orders::serve_backorders(c, who, std::slice::from_ref(&lot.sku_id))?;
        }
        let row: HoldRow = stock_holds::table
            .find(hold_id)
            .select(hold_columns())
            .first(c)?;
        to_hold(c, row)
    })
}

/// Units of a lot on hand at a location (0 where it has none).
fn on_hand_at(c: &mut AnyConnection, lot_id: &str, location_id: &str) -> Result<i64, AppError> {
    Ok(stock::table
        .filter(stock::lot_id.eq(lot_id))
        .filter(stock::location_id.eq(location_id))
        .select(stock::on_hand)
        .first(c)
        .optional()?
        .unwrap_or(0))
}

/// Where most of a lot is, and its units in all.
fn lot_total(c: &mut AnyConnection, lot_id: &str) -> Result<(Option<String>, i64), AppError> {
    let rows: Vec<(String, i64)> = stock::table
        .filter(stock::lot_id.eq(lot_id))
        .filter(stock::on_hand.gt(0))
        .select((stock::location_id, stock::on_hand))
        .load(c)?;
    let total = rows.iter().map(|r| r.1).sum();
    Ok((rows.into_iter().max_by_key(|r| r.1).map(|r| r.0), total))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExpiringLot {
    pub lot_id: String,
    pub lot_code: String,
    pub merchant_id: String,
    pub sku_code: String,
    #[schema(value_type = String, format = Date)]
    pub expiry_date: NaiveDate,
    /// Days from today to the expiry date; 0 or less: expired.
    pub days_left: i64,
    pub on_hand: i64,
    /// An `expired` hold is in force.
    pub held: bool,
}

/// Accepted lots with units on hand that expire within `days` of `today`
/// (expired ones included), soonest first.
pub fn expiring(
    conn: &mut AnyConnection,
    who: &Principal,
    days: i64,
    today: NaiveDate,
) -> Result<Vec<ExpiringLot>, AppError> {
    let horizon = today + chrono::Duration::days(days);
    let mut query = lots::table
        .inner_join(skus::table)
        .filter(lots::status.eq(LotStatus::Accepted.as_str()))
        .filter(lots::expiry_date.le(horizon))
        .select((
            lots::id,
            lots::lot_code,
            lots::merchant_id,
            skus::code,
            lots::expiry_date,
        ))
        .order((lots::expiry_date.asc(), lots::id.asc()))
        .into_boxed();
    if let Some(own) = &who.merchant_id {
        query = query.filter(lots::merchant_id.eq(own.clone()));
    }
    let rows: Vec<(String, String, String, String, Option<NaiveDate>)> = query.load(conn)?;
    let mut out = Vec::new();
    for (lot_id, lot_code, merchant_id, sku_code, expiry) in rows {
        let Some(expiry_date) = expiry else { continue };
        let (_, on_hand) = lot_total(conn, &lot_id)?;
        if on_hand == 0 {
            continue;
        }
        let held: i64 = stock_holds::table
            .filter(stock_holds::lot_id.eq(&lot_id))
            .filter(stock_holds::kind.eq("expired"))
            .filter(stock_holds::released_at.is_null())
            .count()
            .get_result(conn)?;
        out.push(ExpiringLot {
            days_left: (expiry_date - today).num_days(),
            lot_id,
            lot_code,
            merchant_id,
            sku_code,
            expiry_date,
            on_hand,
            held: held > 0,
        });
    }
    Ok(out)
}

/// One page of [`expiring`]; the cursor is `<YYYYMMDD>_<lot id>` of the last lot.
pub fn expiring_page(
    conn: &mut AnyConnection,
    who: &Principal,
    days: i64,
    today: NaiveDate,
    page: &PageRequest,
) -> Result<Page<ExpiringLot>, AppError> {
    let key = |l: &ExpiringLot| format!("{}_{}", l.expiry_date.format("%Y%m%d"), l.lot_id);
    let mut rows: Vec<(String, ExpiringLot)> = expiring(conn, who, days, today)?
        .into_iter()
        .map(|l| (key(&l), l))
        .filter(|(k, _)| page.after.as_deref().is_none_or(|after| k.as_str() > after))
        .collect();
    rows.truncate(page.fetch() as usize);
    let keyed = Page::from_rows(rows, page, |(k, _)| k);
    Ok(Page {
        items: keyed.items.into_iter().map(|(_, l)| l).collect(),
        next_cursor: keyed.next_cursor,
    })
}

/// What the expiry job held, and the orders it took stock from.
#[derive(Debug, Clone)]
pub struct ExpiredHeld {
    pub holds: Vec<Hold>,
    pub orders_moved: Vec<OrderMoved>,
}

/// The expiry job: every accepted lot with units on hand that is expired on
/// `today` ([`rules::is_expired`]) and not yet held gets an `expired` hold and
/// a `holding / expired` trace event. Running it twice holds nothing twice.
/// Orders still holding units of those lots give them back and are placed
/// again from other stock, oldest first, or back-ordered
/// (`services::reservations`).
pub fn hold_expired(
    conn: &mut AnyConnection,
    who: &Principal,
    today: NaiveDate,
) -> Result<ExpiredHeld, AppError> {
    db::write(conn, |c| {
        let expired: Vec<ExpiringLot> = expiring(c, who, 0, today)?
            .into_iter()
            .filter(|l| !l.held && rules::is_expired(Some(l.expiry_date), today))
            .collect();
        let shortfalls: Vec<Shortfall> = expired
            .iter()
            .map(|l| Shortfall::Lot { lot_id: &l.lot_id })
            .collect();
        let (holds, orders_moved) =
            reservations::release_and_replace(c, who, &shortfalls, Disposition::Expired, |c| {
                place_expired_holds(c, who, &expired)
            })?;
        Ok(ExpiredHeld {
            holds,
            orders_moved,
        })
    })
}

/// An `expired` hold and its holding event per lot.
fn place_expired_holds(
    c: &mut AnyConnection,
    who: &Principal,
    expired: &[ExpiringLot],
) -> Result<Vec<Hold>, AppError> {
    let mut held = Vec::new();
    for lot in expired {
        let row = lot_service::row(c, who, &lot.lot_id)?;
        let id = new_id("hld");
        diesel::insert_into(stock_holds::table)
            .values((
                stock_holds::id.eq(&id),
                stock_holds::lot_id.eq(&lot.lot_id),
                stock_holds::location_id.eq(None::<String>),
                stock_holds::reason.eq(format!("expired on {}", lot.expiry_date)),
                stock_holds::kind.eq("expired"),
                stock_holds::created_at.eq(time::now()),
                stock_holds::created_by.eq(&who.token_id),
            ))
            .execute(c)?;
        let (location_id, on_hand) = lot_total(c, &lot.lot_id)?;
        if let Some(location_id) = location_id {
            trace::record(
                c,
                event(
                    &row,
                    who,
                    BizStep::Holding,
                    Disposition::Expired,
                    on_hand,
                    &location_id,
                ),
            )?;
        }
        let hold: HoldRow = stock_holds::table
            .find(&id)
            .select(hold_columns())
            .first(c)?;
        held.push(to_hold(c, hold)?);
    }
    Ok(held)
}

// ------------------------------------------------------------------ queries

/// Stock of one lot at one location.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockLine {
    pub lot_id: String,
    pub lot_code: String,
    pub merchant_id: String,
    pub sku_id: String,
    pub sku_code: String,
    pub location_code: String,
    pub location_kind: String,
    pub on_hand: i64,
    pub reserved: i64,
    /// What orders may still take: on_hand − reserved where the line is
    /// sellable, 0 where it is not (held, expired, quarantined, in receiving).
    pub available: i64,
    pub lot_status: LotStatus,
    #[schema(value_type = Option<String>, format = Date)]
    pub expiry_date: Option<NaiveDate>,
    /// A hold of this lot (here or everywhere) is in force.
    pub on_hold: bool,
    /// Accepted, in storage, not expired, not on hold: orders may take it.
    pub sellable: bool,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct StockTotals {
    pub on_hand: i64,
    pub reserved: i64,
    /// The lines' `available`: only sellable lines count.
    pub available: i64,
    /// Available units that are sellable (equal to `available`, which
    /// counts sellable lines only).
    pub sellable: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockPage {
    pub items: Vec<StockLine>,
    pub next_cursor: Option<String>,
    /// Over every line the filter matches, not only this page.
    pub totals: StockTotals,
}

#[derive(Debug, Clone, Default)]
pub struct StockFilter {
    pub sku_code: Option<String>,
    pub lot_id: Option<String>,
    pub location_code: Option<String>,
    /// Only sellable (true) or only unsellable (false) lines.
    pub sellable: Option<bool>,
    /// Only lots in this state.
    pub lot_status: Option<LotStatus>,
}

type StockRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
    Option<NaiveDate>,
);

fn stock_lines(
    c: &mut AnyConnection,
    who: &Principal,
    filter: &StockFilter,
    today: NaiveDate,
) -> Result<Vec<(String, StockLine)>, AppError> {
    let mut query = stock::table
        .inner_join(locations::table)
        .inner_join(lots::table.inner_join(skus::table))
        .filter(stock::on_hand.gt(0))
        .select((
            stock::lot_id,
            stock::location_id,
            lots::lot_code,
            lots::merchant_id,
            skus::id,
            skus::code,
            locations::code,
            locations::kind,
            stock::on_hand,
            stock::reserved,
            lots::status,
            lots::expiry_date,
        ))
        .order((stock::lot_id.asc(), stock::location_id.asc()))
        .into_boxed();
    if let Some(own) = &who.merchant_id {
        query = query.filter(lots::merchant_id.eq(own.clone()));
    }
    if let Some(code) = &filter.sku_code {
        query = query.filter(skus::code.eq(code.clone()));
    }
    if let Some(lot) = &filter.lot_id {
        query = query.filter(stock::lot_id.eq(lot.clone()));
    }
    if let Some(code) = &filter.location_code {
        query = query.filter(locations::code.eq(code.clone()));
    }
    if let Some(status) = filter.lot_status {
        query = query.filter(lots::status.eq(status.as_str()));
    }
    let rows: Vec<StockRow> = query.load(c)?;
    let lot_ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let mut holds: Vec<(String, Option<String>)> = Vec::new();
    for chunk in lot_ids.chunks(500) {
        holds.extend(
            stock_holds::table
                .filter(stock_holds::lot_id.eq_any(chunk))
                .filter(stock_holds::released_at.is_null())
                .select((stock_holds::lot_id, stock_holds::location_id))
                .load::<(String, Option<String>)>(c)?,
        );
    }
    let mut lines = Vec::new();
    for r in rows {
        let status = LotStatus::parse(&r.10)
            .ok_or_else(|| AppError::Internal(format!("lot {} has status {}", r.0, r.10)))?;
        let on_hold = holds
            .iter()
            .any(|(lot, loc)| *lot == r.0 && loc.as_ref().is_none_or(|l| *l == r.1));
        let sellable = !on_hold && rules::is_sellable(status, &r.7, r.11, today);
        if filter.sellable.is_some_and(|want| want != sellable) {
            continue;
        }
        let key = format!("{}_{}", r.0, r.1);
        lines.push((
            key,
            StockLine {
                lot_id: r.0,
                lot_code: r.2,
                merchant_id: r.3,
                sku_id: r.4,
                sku_code: r.5,
                location_code: r.6,
                location_kind: r.7,
                on_hand: r.8,
                reserved: r.9,
                available: if sellable { r.8 - r.9 } else { 0 },
                lot_status: status,
                expiry_date: r.11,
                on_hold,
                sellable,
            },
        ));
    }
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(lines)
}

/// Stock per lot × location, one page, with totals over the whole filter.
/// The cursor is `<lot id>_<location id>` of the last line.
pub fn stock_page(
    conn: &mut AnyConnection,
    who: &Principal,
    filter: &StockFilter,
    page: &PageRequest,
    today: NaiveDate,
) -> Result<StockPage, AppError> {
    let all = stock_lines(conn, who, filter, today)?;
    let totals = all.iter().fold(StockTotals::default(), |mut t, (_, l)| {
        t.on_hand += l.on_hand;
        t.reserved += l.reserved;
        t.available += l.available;
        if l.sellable {
            t.sellable += l.available;
        }
        t
    });
    let mut rest: Vec<(String, StockLine)> = all
        .into_iter()
        .filter(|(key, _)| {
            page.after
                .as_deref()
                .is_none_or(|after| key.as_str() > after)
        })
        .collect();
    rest.truncate(page.fetch() as usize);
    let keyed = Page::from_rows(rest, page, |(key, _)| key);
    Ok(StockPage {
        items: keyed.items.into_iter().map(|(_, l)| l).collect(),
        next_cursor: keyed.next_cursor,
        totals,
    })
}

/// Stock as CSV (RFC 4180): one record per lot × location.
pub fn stock_csv(
    conn: &mut AnyConnection,
    who: &Principal,
    filter: &StockFilter,
    today: NaiveDate,
) -> Result<String, AppError> {
    let mut out = String::new();
    write_record(
        &mut out,
        &[
            "merchant_id",
            "sku_code",
            "lot_id",
            "lot_code",
            "expiry_date",
            "lot_status",
            "location_code",
            "location_kind",
            "on_hand",
            "reserved",
            "available",
            "on_hold",
            "sellable",
        ],
    );
    for (_, l) in stock_lines(conn, who, filter, today)? {
        write_record(
            &mut out,
            &[
                l.merchant_id,
                l.sku_code,
                l.lot_id,
                l.lot_code,
                l.expiry_date.map(|d| d.to_string()).unwrap_or_default(),
                l.lot_status.as_str().to_string(),
                l.location_code,
                l.location_kind,
                l.on_hand.to_string(),
                l.reserved.to_string(),
                l.available.to_string(),
                l.on_hold.to_string(),
                l.sellable.to_string(),
            ],
        );
    }
    Ok(out)
}

/// One row of the ledger.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerLine {
    pub id: String,
    pub movement_id: String,
    /// receive, putaway, move, pick, adjust, ship, return, scrap, hold, release.
    pub kind: String,
    pub lot_id: String,
    pub location_code: String,
    /// Signed change of on-hand at the location.
    pub delta: i64,
    pub reference_type: Option<String>,
    pub reference_id: Option<String>,
    pub reason: Option<String>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
}

type LedgerRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
    Option<String>,
);

/// The ledger, oldest first; a merchant sees its own lots' rows.
pub fn ledger_page(
    conn: &mut AnyConnection,
    who: &Principal,
    lot_id: Option<String>,
    page: &PageRequest,
) -> Result<Page<LedgerLine>, AppError> {
    let mut query = ledger_entries::table
        .inner_join(locations::table)
        .inner_join(lots::table)
        .select((
            ledger_entries::id,
            ledger_entries::movement_id,
            ledger_entries::kind,
            ledger_entries::lot_id,
            locations::code,
            ledger_entries::delta,
            ledger_entries::reference_type,
            ledger_entries::reference_id,
            ledger_entries::reason,
            ledger_entries::created_at,
            ledger_entries::created_by,
        ))
        .order(ledger_entries::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(ledger_entries::id.gt(after.clone()));
    }
    if let Some(own) = &who.merchant_id {
        query = query.filter(lots::merchant_id.eq(own.clone()));
    }
    if let Some(lot) = lot_id {
        query = query.filter(ledger_entries::lot_id.eq(lot));
    }
    let rows: Vec<LedgerRow> = query.load(conn)?;
    let lines = rows
        .into_iter()
        .map(|r| LedgerLine {
            id: r.0,
            movement_id: r.1,
            kind: r.2,
            lot_id: r.3,
            location_code: r.4,
            delta: r.5,
            reference_type: r.6,
            reference_id: r.7,
            reason: r.8,
            created_at: r.9,
            created_by: r.10,
        })
        .collect();
    Ok(Page::from_rows(lines, page, |l| &l.id))
}

// ------------------------------------------------------------ ledger check

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerDiscrepancy {
    pub lot_id: String,
    pub location_id: String,
    /// The sum of the ledger's deltas.
    pub ledger: i64,
    /// What the stock table says.
    pub stock: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerCheck {
    /// Stock equals the ledger everywhere and nothing is negative.
    pub ok: bool,
    /// Lot × location pairs compared.
    pub pairs: usize,
    pub ledger_entries: i64,
    pub discrepancies: Vec<LedgerDiscrepancy>,
}

#[derive(QueryableByName)]
struct LedgerSum {
    #[diesel(sql_type = Text)]
    lot_id: String,
    #[diesel(sql_type = Text)]
    location_id: String,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Recomputes on-hand per lot × location from the ledger and compares it with
/// the stock table ([`rules::check_ledger`]). Read in one transaction, so it
/// sees one consistent state even while writes go on.
pub fn check_ledger(conn: &mut AnyConnection) -> Result<LedgerCheck, AppError> {
    db::write(conn, |c| {
        let sums: Vec<LedgerSum> = diesel::sql_query(
            "SELECT lot_id, location_id, CAST(SUM(delta) AS BIGINT) AS total \
             FROM ledger_entries GROUP BY lot_id, location_id",
        )
        .load(c)?;
        let entries: i64 = ledger_entries::table.count().get_result(c)?;
        let stock_rows: Vec<(String, String, i64)> = stock::table
            .select((stock::lot_id, stock::location_id, stock::on_hand))
            .load(c)?;
        let sums: Vec<(String, String, i64)> = sums
            .into_iter()
            .map(|s| (s.lot_id, s.location_id, s.total))
            .collect();
        let mut pairs: std::collections::BTreeSet<(&str, &str)> =
            sums.iter().map(|s| (s.0.as_str(), s.1.as_str())).collect();
        pairs.extend(stock_rows.iter().map(|s| (s.0.as_str(), s.1.as_str())));
        let pairs = pairs.len();
        let discrepancies: Vec<LedgerDiscrepancy> = rules::check_ledger(&sums, &stock_rows)
            .into_iter()
            .map(|d| LedgerDiscrepancy {
                lot_id: d.lot_id,
                location_id: d.location_id,
                ledger: d.ledger,
                stock: d.stock,
            })
            .collect();
        Ok(LedgerCheck {
            ok: discrepancies.is_empty(),
            pairs,
            ledger_entries: entries,
            discrepancies,
        })
    })
}
