//! Recalling a lot: everything of it still in the warehouse stops, in one
//! transaction, and the recall list says where the rest went.
//!
//! `POST /lots/{id}/recall` (staff):
//! - parcels of the lot packed and not yet handed over leave their
//!   manifests (`dispatch::remove_parcel_in`: status `removed`, units back
//!   from dispatch to packing by an `unpack` movement, an AggregationEvent
//!   DELETE), and the recall lists them as stopped;
//! - the lot goes on a lot-wide quality hold (`storage::place_quality_hold`,
//!   a `holding` event with disposition `recalled`), so none of it is
//!   sellable; the reservations it takes back leave with `recalled` too;
//! - the orders holding its units in stock give them back with the path
//!   every hold uses (`reservations::release_and_replace`): placed again from
//!   other stock, oldest first, or back-ordered; with `open_orders: cancel`
//!   those orders are then cancelled (`orders::cancel_in`);
//! - orders whose units of the lot are picked and wait on a packing location
//!   (including those whose parcel was just stopped) are listed as `picked`:
//!   their units are held with the lot (packing refuses them while the
//!   recall's hold stands), and staff take them off the packing table.
//!
//! The recall list (`GET /recalls/{id}`, `.csv`) is every parcel that
//! carried the lot, grouped by carrier and current status, each with its
//! units of the lot and whether the recall stopped it, plus the orders the
//! recall changed. It is read from `parcel_lines (lot_id, parcel_id, qty)` in one grouped
//! query, so a lot that reached 50,000 parcels lists in one read.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{orders, recall_orders, recall_parcels, recalls, stock};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::csv::write_record;
use crate::domain::ids::new_id;
use crate::domain::time;
use crate::domain::trace::Disposition;
use crate::error::AppError;
use crate::services::lots as lot_service;
use crate::services::reservations::{self, OrderState, Shortfall};
use crate::services::{dispatch, orders as order_service, storage};

/// Rows per multi-row insert.
const CHUNK: usize = 500;

/// What happens to open orders holding the recalled lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OpenOrders {
    /// Placed again from other stock, or back-ordered.
    Backorder,
    /// Cancelled.
    Cancel,
}

impl OpenOrders {
    pub fn parse(raw: &str) -> Option<OpenOrders> {
        match raw {
            "backorder" => Some(OpenOrders::Backorder),
            "cancel" => Some(OpenOrders::Cancel),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OpenOrders::Backorder => "backorder",
            OpenOrders::Cancel => "cancel",
        }
    }
}

/// An order the recall changed.
#[derive(Debug, Clone, Serialize, ToSchema, QueryableByName)]
pub struct RecalledOrder {
    #[diesel(sql_type = Text)]
    pub order_id: String,
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Text)]
    pub external_id: String,
    /// What the recall did: backordered, reserved (again, from other
    /// stock), cancelled, or picked (its units of the lot wait on a packing
    /// location: stop them there).
    #[diesel(sql_type = Text)]
    pub action: String,
    /// The order's status now.
    #[diesel(sql_type = Text)]
    pub status: String,
}

/// A parcel that carried units of the lot.
#[derive(Debug, Clone, Serialize, ToSchema, QueryableByName)]
pub struct RecalledParcel {
    #[diesel(sql_type = Text)]
    pub sscc: String,
    #[diesel(sql_type = Text)]
    pub tracking_no: String,
    #[diesel(sql_type = Text)]
    pub order_id: String,
    #[diesel(sql_type = Text)]
    pub external_id: String,
    #[diesel(sql_type = Text)]
    #[serde(skip)]
    pub carrier_code: String,
    #[diesel(sql_type = Text)]
    #[serde(skip)]
    pub status: String,
    /// Units of the lot in it.
    #[diesel(sql_type = BigInt)]
    pub qty: i64,
    /// The recall took it off its manifest before handover.
    #[diesel(sql_type = Bool)]
    pub stopped: bool,
}

/// The parcels of one carrier in one status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParcelGroup {
    pub carrier_code: String,
    pub status: String,
    pub units: i64,
    pub parcels: Vec<RecalledParcel>,
}

/// A recall and its list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Recall {
    pub id: String,
    pub lot_id: String,
    pub merchant_id: String,
    pub reason: String,
    pub open_orders: OpenOrders,
    /// The lot-wide quality hold the recall placed.
    pub hold_id: String,
    /// Units of the lot in the warehouse when recalled, now held.
    pub held_qty: i64,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
    pub orders: Vec<RecalledOrder>,
    /// Every parcel that carried the lot, by carrier and status.
    pub parcels: Vec<ParcelGroup>,
}

/// A recall as asked: the HTTP layer has checked the reason's text.
#[derive(Debug, Clone)]
pub struct RecallLot {
    pub reason: String,
    pub open_orders: OpenOrders,
}

#[derive(QueryableByName)]
struct PackedParcel {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    sscc: String,
    #[diesel(sql_type = Text)]
    manifest_id: String,
}

#[derive(QueryableByName)]
struct StockRow {
    #[diesel(sql_type = Text)]
    location_id: String,
}

#[derive(QueryableByName)]
struct OrderId {
    #[diesel(sql_type = Text)]
    order_id: String,
}

/// Recalls lot `lot_id`, in one transaction (see the module's doc).
pub fn recall(
    conn: &mut AnyConnection,
    who: &Principal,
    lot_id: &str,
    cmd: RecallLot,
) -> Result<Recall, AppError> {
    db::write(conn, |c| {
        let lot = lot_service::row(c, who, lot_id)?;
        let packed: Vec<PackedParcel> = diesel::sql_query(
            "SELECT DISTINCT p.id AS id, p.sscc AS sscc, p.manifest_id AS manifest_id \
             FROM parcel_lines pl JOIN parcels p ON p.id = pl.parcel_id \
             WHERE pl.lot_id = $1 AND p.status = 'packed' AND p.manifest_id IS NOT NULL \
             ORDER BY p.id",
        )
        .bind::<Text, _>(&lot.id)
        .load(c)?;
        // Stock rows whose reservations are still on the shelf (not picked).
        let held_rows: Vec<StockRow> = diesel::sql_query(
            "SELECT s.location_id AS location_id FROM stock s \
             JOIN locations l ON l.id = s.location_id \
             WHERE s.lot_id = $1 AND s.reserved > 0 AND l.kind NOT IN ('packing', 'dispatch') \
             ORDER BY s.location_id",
        )
        .bind::<Text, _>(&lot.id)
        .load(c)?;
        let shortfalls: Vec<Shortfall> = held_rows
            .iter()
            .map(|r| Shortfall::Bin {
                lot_id: &lot.id,
                location_id: &r.location_id,
                keep: 0,
            })
            .collect();
        let stop_reason = format!("recall: {}", cmd.reason);
        let (hold, moved) = reservations::release_and_replace(
            c,
            who,
            &shortfalls,
            // CBV 2.0 §7.2 `recalled`: the stock is held for the recall.
            Disposition::Recalled,
            |c| {
                for p in &packed {
                    dispatch::remove_parcel_in(c, who, &p.manifest_id, &p.sscc, &stop_reason)?;
                }
                storage::place_quality_hold(c, who, &lot, None, &cmd.reason, Disposition::Recalled)
            },
        )?;

        let mut actions: Vec<(String, &'static str)> = Vec::new();
        for m in moved.iter().filter(|m| m.from == OrderState::Reserved) {
            let action = match cmd.open_orders {
                OpenOrders::Cancel => {
                    order_service::cancel_in(c, who, &m.order_id)?;
                    "cancelled"
                }
                OpenOrders::Backorder => match m.to {
                    OrderState::Backordered => "backordered",
                    OrderState::Reserved => "reserved",
                },
            };
            actions.push((m.order_id.clone(), action));
        }
        let picked: Vec<OrderId> = diesel::sql_query(
            "SELECT DISTINCT r.order_id AS order_id FROM reservations r \
             JOIN locations l ON l.id = r.location_id \
             WHERE r.lot_id = $1 AND l.kind = 'packing' ORDER BY r.order_id",
        )
        .bind::<Text, _>(&lot.id)
        .load(c)?;
        let listed: BTreeSet<String> = actions.iter().map(|a| a.0.clone()).collect();
        actions.extend(
            picked
                .into_iter()
                .filter(|p| !listed.contains(&p.order_id))
                .map(|p| (p.order_id, "picked")),
        );

        let held_qty: i64 = stock::table
            .filter(stock::lot_id.eq(&lot.id))
            .select(stock::on_hand)
            .load::<i64>(c)?
            .into_iter()
            .sum();
        let id = new_id("rcl");
        diesel::insert_into(recalls::table)
            .values((
                recalls::id.eq(&id),
                recalls::lot_id.eq(&lot.id),
                recalls::merchant_id.eq(&lot.merchant_id),
                recalls::reason.eq(&cmd.reason),
                recalls::open_orders.eq(cmd.open_orders.as_str()),
                recalls::hold_id.eq(&hold.id),
                recalls::held_qty.eq(held_qty),
                recalls::created_at.eq(time::now()),
                recalls::created_by.eq(&who.token_id),
            ))
            .execute(c)?;
        for chunk in actions.chunks(CHUNK) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|(order_id, action)| {
                    (
                        recall_orders::recall_id.eq(&id),
                        recall_orders::order_id.eq(order_id),
                        recall_orders::action.eq(*action),
                    )
                })
                .collect();
            crate::on_backend!(c, |inner| diesel::insert_into(recall_orders::table)
                .values(rows)
                .execute(inner))?;
        }
        for chunk in packed.chunks(CHUNK) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|p| {
                    (
                        recall_parcels::recall_id.eq(&id),
                        recall_parcels::parcel_id.eq(&p.id),
                    )
                })
                .collect();
            crate::on_backend!(c, |inner| diesel::insert_into(recall_parcels::table)
                .values(rows)
                .execute(inner))?;
        }
        load(c, &id)
    })
}

/// Recall `id`: staff, or the lot's merchant (another's is a 404).
pub fn get(conn: &mut AnyConnection, who: &Principal, id: &str) -> Result<Recall, AppError> {
    let merchant: Option<String> = recalls::table
        .find(id)
        .select(recalls::merchant_id)
        .first(conn)
        .optional()?;
    match merchant {
        Some(m) if who.sees_merchant(&m) => conn.transaction(|c| load(c, id)),
        _ => Err(AppError::not_found("recall", id)),
    }
}

type RecallRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    NaiveDateTime,
    Option<String>,
);

fn load(c: &mut AnyConnection, id: &str) -> Result<Recall, AppError> {
    let (id, lot_id, merchant_id, reason, open_orders, hold_id, held_qty, created_at, created_by): RecallRow =
        recalls::table
            .find(id)
            .select((
                recalls::id,
                recalls::lot_id,
                recalls::merchant_id,
                recalls::reason,
                recalls::open_orders,
                recalls::hold_id,
                recalls::held_qty,
                recalls::created_at,
                recalls::created_by,
            ))
            .first(c)?;
    let open_orders = OpenOrders::parse(&open_orders)
        .ok_or_else(|| AppError::Internal(format!("recall {id} has open_orders {open_orders}")))?;
    let orders: Vec<RecalledOrder> = recall_orders::table
        .inner_join(orders::table)
        .filter(recall_orders::recall_id.eq(&id))
        .select((
            recall_orders::order_id,
            orders::channel,
            orders::external_id,
            recall_orders::action,
            orders::status,
        ))
        .order(recall_orders::order_id.asc())
        .load::<(String, String, String, String, String)>(c)?
        .into_iter()
        .map(
            |(order_id, channel, external_id, action, status)| RecalledOrder {
                order_id,
                channel,
                external_id,
                action,
                status,
            },
        )
        .collect();
    let rows: Vec<RecalledParcel> = diesel::sql_query(
        "SELECT p.sscc AS sscc, p.tracking_no AS tracking_no, p.order_id AS order_id, \
                o.external_id AS external_id, c.code AS carrier_code, p.status AS status, \
                CAST(SUM(pl.qty) AS BIGINT) AS qty, \
                (rp.parcel_id IS NOT NULL) AS stopped \
         FROM parcel_lines pl JOIN parcels p ON p.id = pl.parcel_id \
         JOIN carriers c ON c.id = p.carrier_id \
         JOIN orders o ON o.id = p.order_id \
         LEFT JOIN recall_parcels rp ON rp.parcel_id = p.id AND rp.recall_id = $1 \
         WHERE pl.lot_id = $2 \
         GROUP BY p.id, p.sscc, p.tracking_no, p.order_id, o.external_id, c.code, p.status, rp.parcel_id \
         ORDER BY c.code, p.status, p.id",
    )
    // Bound in the order the parameters first appear: SQLite numbers `$n`
    // parameters by appearance, PostgreSQL by n; this order satisfies both.
    .bind::<Text, _>(&id)
    .bind::<Text, _>(&lot_id)
    .load(c)?;
    let mut parcels: Vec<ParcelGroup> = Vec::new();
    for row in rows {
        match parcels.last_mut() {
            Some(g) if g.carrier_code == row.carrier_code && g.status == row.status => {
                g.units += row.qty;
                g.parcels.push(row);
            }
            _ => parcels.push(ParcelGroup {
                carrier_code: row.carrier_code.clone(),
                status: row.status.clone(),
                units: row.qty,
                parcels: vec![row],
            }),
        }
    }
    Ok(Recall {
        id,
        lot_id,
        merchant_id,
        reason,
        open_orders,
        hold_id,
        held_qty,
        created_at,
        created_by,
        orders,
        parcels,
    })
}

/// The columns of the recall list as CSV.
pub const CSV_HEADER: [&str; 8] = [
    "carrier_code",
    "status",
    "sscc",
    "tracking_no",
    "order_id",
    "external_id",
    "qty",
    "stopped",
];

/// The recall list as CSV (RFC 4180 records, `domain::csv`), one parcel a
/// row, in the list's order.
pub fn to_csv(recall: &Recall) -> String {
    let mut out = String::new();
    write_record(&mut out, &CSV_HEADER);
    for group in &recall.parcels {
        for p in &group.parcels {
            let qty = p.qty.to_string();
            write_record(
                &mut out,
                &[
                    group.carrier_code.as_str(),
                    group.status.as_str(),
                    p.sscc.as_str(),
                    p.tracking_no.as_str(),
                    p.order_id.as_str(),
                    p.external_id.as_str(),
                    qty.as_str(),
                    if p.stopped { "true" } else { "false" },
                ],
            );
        }
    }
    out
}
