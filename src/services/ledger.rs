//! The inventory ledger: every change of quantity is appended here, and the
//! stock table (on-hand per lot × location) is updated in the same
//! transaction, so that stock always equals the sum of the ledger.

use diesel::prelude::*;

use crate::db::schema::{ledger_entries, stock};
use crate::db::AnyConnection;
use crate::domain::ids::new_id;
use crate::domain::time;
use crate::error::AppError;

/// Kinds of movement, as the ledger names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovementKind {
    Receive,
    Putaway,
    Move,
    Pick,
    Adjust,
    Ship,
    Return,
    Scrap,
    Hold,
    Release,
    /// Packing location → dispatch location, into a parcel.
    Pack,
    /// Dispatch location → packing location: a parcel taken off its
    /// manifest, its units back for re-packing.
    Unpack,
    /// Returned units made sellable again (a return inspection).
    Restock,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Receive => "receive",
            MovementKind::Putaway => "putaway",
            MovementKind::Move => "move",
            MovementKind::Pick => "pick",
            MovementKind::Adjust => "adjust",
            MovementKind::Ship => "ship",
            MovementKind::Return => "return",
            MovementKind::Scrap => "scrap",
            MovementKind::Hold => "hold",
            MovementKind::Release => "release",
            MovementKind::Pack => "pack",
            MovementKind::Unpack => "unpack",
            MovementKind::Restock => "restock",
        }
    }
}

/// One movement: its kind, lot, why, and who.
pub struct Movement<'a> {
    pub kind: MovementKind,
    pub lot_id: &'a str,
    /// What caused it: ("receipt", id), ("inspection", id)…
    pub reference: Option<(&'a str, &'a str)>,
    pub reason: Option<&'a str>,
    pub actor: Option<&'a str>,
}

/// Posts a movement as signed legs (location, delta): a receipt is one
/// positive leg, a move a negative and a positive one, a scrap one negative
/// leg. A negative leg never takes more than the location holds unreserved;
/// if it would, nothing is written and the answer is a 409 naming what is
/// available.
pub fn post(
    conn: &mut AnyConnection,
    movement: &Movement<'_>,
    legs: &[(&str, i64)],
) -> Result<String, AppError> {
    let movement_id = new_id("mov");
    let now = time::now();
    // Stock rows are updated in location order, whatever the legs' order, so
    // that two movements between the same locations in opposite directions
    // take their row locks in the same order and cannot deadlock (PostgreSQL).
    let mut by_location: Vec<&(&str, i64)> = legs.iter().filter(|l| l.1 != 0).collect();
    by_location.sort_by(|a, b| a.0.cmp(b.0));
    for (location_id, delta) in by_location {
        apply_to_stock(conn, movement.lot_id, location_id, *delta)?;
    }
    for (location_id, delta) in legs {
        if *delta == 0 {
            continue;
        }
        diesel::insert_into(ledger_entries::table)
            .values((
                ledger_entries::id.eq(new_id("led")),
                ledger_entries::movement_id.eq(&movement_id),
                ledger_entries::kind.eq(movement.kind.as_str()),
                ledger_entries::lot_id.eq(movement.lot_id),
                ledger_entries::location_id.eq(*location_id),
                ledger_entries::delta.eq(*delta),
                ledger_entries::reference_type.eq(movement.reference.map(|r| r.0)),
                ledger_entries::reference_id.eq(movement.reference.map(|r| r.1)),
                ledger_entries::reason.eq(movement.reason),
                ledger_entries::created_at.eq(now),
                ledger_entries::created_by.eq(movement.actor),
            ))
            .execute(conn)?;
    }
    Ok(movement_id)
}

/// One movement's entry for [`append`]: (lot, location, delta) under a
/// reference such as ("parcel", sscc).
pub struct Entry<'a> {
    pub movement_id: &'a str,
    pub lot_id: &'a str,
    pub location_id: &'a str,
    pub delta: i64,
    pub reference: (&'a str, &'a str),
}

/// Appends many movements' entries in multi-row inserts, leaving the stock
/// table to the caller: for set-based moves of reserved units (packing a
/// batch), which [`post`] does not take. The caller changes stock by the
/// same amounts in the same transaction, so stock still equals the ledger
/// (which `GET /admin/ledger-check` verifies).
pub fn append(
    conn: &mut AnyConnection,
    kind: MovementKind,
    actor: Option<&str>,
    entries: &[Entry<'_>],
) -> Result<(), AppError> {
    let now = time::now();
    // 11 columns a row: well under SQLite's 32,766 bound parameters.
    for chunk in entries.chunks(1_000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|e| {
                (
                    ledger_entries::id.eq(new_id("led")),
                    ledger_entries::movement_id.eq(e.movement_id),
                    ledger_entries::kind.eq(kind.as_str()),
                    ledger_entries::lot_id.eq(e.lot_id),
                    ledger_entries::location_id.eq(e.location_id),
                    ledger_entries::delta.eq(e.delta),
                    ledger_entries::reference_type.eq(Some(e.reference.0)),
                    ledger_entries::reference_id.eq(Some(e.reference.1)),
                    ledger_entries::reason.eq(None::<&str>),
                    ledger_entries::created_at.eq(now),
                    ledger_entries::created_by.eq(actor),
                )
            })
            .collect();
        crate::on_backend!(conn, |inner| diesel::insert_into(ledger_entries::table)
            .values(rows)
            .execute(inner))?;
    }
    Ok(())
}

fn apply_to_stock(
    conn: &mut AnyConnection,
    lot_id: &str,
    location_id: &str,
    delta: i64,
) -> Result<(), AppError> {
    let row = stock::table
        .filter(stock::lot_id.eq(lot_id))
        .filter(stock::location_id.eq(location_id));
    if delta < 0 {
        // A guarded update: it takes effect only if enough unreserved stock is there.
        let updated = diesel::update(row.filter((stock::on_hand - stock::reserved).ge(-delta)))
            .set(stock::on_hand.eq(stock::on_hand + delta))
            .execute(conn)?;
        if updated == 0 {
            let available: Option<(i64, i64)> = row
                .select((stock::on_hand, stock::reserved))
                .first(conn)
                .optional()?;
            let available = available.map_or(0, |(on_hand, reserved)| on_hand - reserved);
            return Err(AppError::InvalidState(format!(
                "only {available} unit(s) of lot {lot_id} are available at that location; {} were asked for",
                -delta
            )));
        }
        return Ok(());
    }
    let updated = diesel::update(row)
        .set(stock::on_hand.eq(stock::on_hand + delta))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(stock::table)
            .values((
                stock::lot_id.eq(lot_id),
                stock::location_id.eq(location_id),
                stock::on_hand.eq(delta),
                stock::reserved.eq(0i64),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// On-hand of a lot at each location holding some, ordered by location id.
pub fn lot_stock(conn: &mut AnyConnection, lot_id: &str) -> Result<Vec<(String, i64)>, AppError> {
    Ok(stock::table
        .filter(stock::lot_id.eq(lot_id))
        .filter(stock::on_hand.gt(0))
        .select((stock::location_id, stock::on_hand))
        .order(stock::location_id.asc())
        .load(conn)?)
}
