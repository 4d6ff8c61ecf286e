//! Storage rules: where a putaway should go, which lots a pick takes (FEFO),
//! what stock is sellable, and the invariant that the stock table equals the
//! inventory ledger.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};

use super::inspection::LotStatus;
use super::trace::Disposition;

/// The location kind whose stock may be sold; receiving, quarantine, packing
/// and dispatch locations hold units that are not (or no longer) on the shelf.
const STORAGE_KIND: &str = "storage";
const QUARANTINE_KIND: &str = "quarantine";

/// A storage bin as the putaway suggestion sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bin {
    pub location_id: String,
    pub code: String,
    pub zone: Option<String>,
    pub walk_seq: i32,
    /// Units the bin can hold in all; None: no limit.
    pub capacity: Option<i64>,
    /// What the bin holds now: (sku_id, lot_id, on_hand) per lot; empty when the bin is empty.
    pub contents: Vec<(String, String, i64)>,
}

impl Bin {
    /// Units in the bin, all SKUs and lots together, since capacity counts
    /// every unit whatever it is.
    pub fn on_hand(&self) -> i64 {
        self.contents.iter().map(|(_, _, qty)| *qty).sum()
    }

    /// Units that still fit; None when the bin has no limit. An overfilled
    /// bin (capacity lowered after it was filled) has no room rather than a
    /// negative one.
    pub fn room(&self) -> Option<i64> {
        self.capacity
            .map(|capacity| capacity.saturating_sub(self.on_hand()).max(0))
    }

    /// Whether `qty` units fit in the bin at once.
    pub fn fits(&self, qty: i64) -> bool {
        self.room().is_none_or(|room| qty <= room)
    }

    /// A stock row left at zero after a pick does not make the bin hold the
    /// SKU any more, so only positive quantities count.
    fn holds(&self, sku_id: &str, lot_id: Option<&str>) -> bool {
        self.contents.iter().any(|(sku, lot, qty)| {
            *qty > 0 && sku == sku_id && lot_id.is_none_or(|wanted| lot == wanted)
        })
    }

    fn is_empty(&self) -> bool {
        self.on_hand() <= 0
    }
}

/// What is to be put away.
#[derive(Debug, Clone, Copy)]
pub struct PutawayRequest<'a> {
    pub sku_id: &'a str,
    pub lot_id: &'a str,
    /// The SKU's home zone; None when the SKU has none.
    pub zone: Option<&'a str>,
    pub qty: i64,
}

/// The bin depot suggests for a putaway, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuggestionReason {
    /// The bin already holds units of the same SKU and lot.
    SameLot,
    /// The bin already holds the same SKU, from another lot.
    SameSku,
    /// The bin is empty and in the SKU's zone.
    EmptyInZone,
    /// The SKU has no zone, and the bin is empty and has no zone either.
    EmptyWithoutZone,
    /// The SKU has no zone and no empty bin without a zone had room, so an
    /// empty bin of some zone was taken.
    EmptyAnyZone,
}

impl SuggestionReason {
    /// The reason's name in answers.
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestionReason::SameLot => "same_lot",
            SuggestionReason::SameSku => "same_sku",
            SuggestionReason::EmptyInZone => "empty_in_zone",
            SuggestionReason::EmptyWithoutZone => "empty_without_zone",
            SuggestionReason::EmptyAnyZone => "empty_any_zone",
        }
    }

    /// What the suggestion considered, in words, for the bin it chose: each
    /// rule passed over says why it found nothing.
    pub fn explain(self, bin: &Bin, request: PutawayRequest<'_>) -> String {
        let code = &bin.code;
        let qty = request.qty;
        let no_lot = format!("no bin with room for {qty} holds this lot");
        let no_sku = format!("no bin with room for {qty} holds this SKU");
        match self {
            SuggestionReason::SameLot => {
                format!("{code} already holds this lot and has room for {qty}")
            }
            SuggestionReason::SameSku => {
                format!("{no_lot}; {code} already holds this SKU (another lot) and has room")
            }
            SuggestionReason::EmptyInZone => format!(
                "{no_sku}; {code} is empty and in the SKU's zone {}",
                request.zone.unwrap_or_default()
            ),
            SuggestionReason::EmptyWithoutZone => {
                format!("{no_sku}; the SKU has no zone, and {code} is an empty bin without a zone")
            }
            SuggestionReason::EmptyAnyZone => format!(
                "{no_sku}; the SKU has no zone and no empty bin without a zone has room, \
                 so {code}, empty, in zone {}",
                bin.zone.as_deref().unwrap_or_default()
            ),
        }
    }
}

/// Suggests a bin for a putaway.
///
/// Consolidating keeps a lot in as few bins as possible, which keeps picks
/// short and a recall quick, so the rules are tried in order:
///
/// 1. a bin that already holds the same SKU and lot ([`SuggestionReason::SameLot`]);
/// 2. else a bin that holds the same SKU, any lot ([`SuggestionReason::SameSku`]);
/// 3. else an empty bin in the SKU's zone ([`SuggestionReason::EmptyInZone`]).
///    A SKU without a zone may go to any empty bin, zone-less bins first
///    ([`SuggestionReason::EmptyWithoutZone`]), so that zoned bins stay free
///    for the SKUs that belong there ([`SuggestionReason::EmptyAnyZone`]
///    when only a zoned one has room).
///
/// Rules 1 and 2 ignore zones: the SKU is already in that bin. Every rule
/// considers only bins with room for the whole quantity, since a putaway
/// suggestion that overfills a bin would be refused on the floor. Among bins
/// of the same rule the lowest walk sequence wins, then the lowest code.
/// Returns None when no bin qualifies.
pub fn suggest_bin<'b>(
    bins: &'b [Bin],
    request: PutawayRequest<'_>,
) -> Option<(&'b Bin, SuggestionReason)> {
    let with_room = || bins.iter().filter(|bin| bin.fits(request.qty));
    let first_on_walk = |bin: &&'b Bin| (bin.walk_seq, bin.code.as_str());

    if let Some(bin) = with_room()
        .filter(|bin| bin.holds(request.sku_id, Some(request.lot_id)))
        .min_by_key(first_on_walk)
    {
        return Some((bin, SuggestionReason::SameLot));
    }
    if let Some(bin) = with_room()
        .filter(|bin| bin.holds(request.sku_id, None))
        .min_by_key(first_on_walk)
    {
        return Some((bin, SuggestionReason::SameSku));
    }
    let empty = with_room().filter(|bin| bin.is_empty());
    match request.zone {
        Some(zone) => empty
            .filter(|bin| bin.zone.as_deref() == Some(zone))
            .min_by_key(first_on_walk)
            .map(|bin| (bin, SuggestionReason::EmptyInZone)),
        None => empty
            .min_by_key(|bin| (bin.zone.is_some(), bin.walk_seq, bin.code.as_str()))
            .map(|bin| {
                let reason = if bin.zone.is_some() {
                    SuggestionReason::EmptyAnyZone
                } else {
                    SuggestionReason::EmptyWithoutZone
                };
                (bin, reason)
            }),
    }
}

/// One place sellable units of a SKU could come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockCandidate {
    pub lot_id: String,
    pub location_id: String,
    pub location_code: String,
    pub expiry_date: Option<NaiveDate>,
    /// When the lot was received (its arrival).
    pub received_at: NaiveDateTime,
    pub walk_seq: i32,
    /// Units that can be taken: on_hand - reserved.
    pub available: i64,
}

/// One take of a FEFO allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub lot_id: String,
    pub location_id: String,
    pub qty: i64,
}

/// Allocates `qty` units first-expired, first-out, so that stock is sold
/// before it spoils.
///
/// Order: earliest expiry first, lots without an expiry date last (they never
/// spoil, so they can wait); then oldest receipt (first in, first out among
/// equal expiries); then walk sequence, so a lot split across bins is taken on
/// the way; then location code and lot id, so the answer never depends on the
/// order of the input. Takes greedily, each candidate as far as needed.
///
/// Candidates with nothing available are skipped. A quantity of zero or less
/// asks for nothing and gets `Ok(vec![])`. When the candidates cannot cover
/// `qty`, nothing is allocated and the error carries the total available, so
/// the caller can back-order or report the shortfall.
pub fn fefo(candidates: &[StockCandidate], qty: i64) -> Result<Vec<Allocation>, i64> {
    if qty <= 0 {
        return Ok(Vec::new());
    }
    let mut usable: Vec<&StockCandidate> = candidates.iter().filter(|c| c.available > 0).collect();
    let total = usable
        .iter()
        .fold(0_i64, |sum, c| sum.saturating_add(c.available));
    if total < qty {
        return Err(total);
    }
    usable.sort_by(|a, b| {
        (a.expiry_date.is_none(), a.expiry_date)
            .cmp(&(b.expiry_date.is_none(), b.expiry_date))
            .then(a.received_at.cmp(&b.received_at))
            .then(a.walk_seq.cmp(&b.walk_seq))
            .then(a.location_code.cmp(&b.location_code))
            .then(a.lot_id.cmp(&b.lot_id))
    });
    let mut wanted = qty;
    let mut takes = Vec::new();
    for candidate in usable {
        if wanted == 0 {
            break;
        }
        let take = candidate.available.min(wanted);
        takes.push(Allocation {
            lot_id: candidate.lot_id.clone(),
            location_id: candidate.location_id.clone(),
            qty: take,
        });
        wanted -= take;
    }
    Ok(takes)
}

/// Whether a lot is expired on `today`: the expiry date has been reached
/// (expiry_date <= today), the same rule receiving uses (it refuses lots with
/// expiry <= today), so a lot cannot be receivable and already unsellable. A
/// lot without an expiry date never expires.
pub fn is_expired(expiry_date: Option<NaiveDate>, today: NaiveDate) -> bool {
    expiry_date.is_some_and(|expiry| expiry <= today)
}

/// Sellable: the lot is accepted (it passed inspection), the units sit in a
/// `storage` location (not still in receiving, not held in quarantine, not
/// already on their way out in packing or dispatch), and the lot is not
/// expired on `today`.
pub fn is_sellable(
    lot_status: LotStatus,
    location_kind: &str,
    expiry_date: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    lot_status == LotStatus::Accepted
        && location_kind == STORAGE_KIND
        && !is_expired(expiry_date, today)
}

/// What a trace event says of a lot's units at a location after a storage
/// step — a count, a released hold — as a CBV 2.0 disposition (§7.2): the
/// lot's state first, then where the units are, then expiry and holds.
pub fn disposition_at(
    lot_status: LotStatus,
    location_kind: &str,
    expired: bool,
    held: bool,
) -> Disposition {
    match lot_status {
        LotStatus::Received | LotStatus::Inspecting => Disposition::InProgress,
        LotStatus::Quarantined => Disposition::NonConformant,
        LotStatus::Returned => Disposition::Returned,
        LotStatus::Scrapped => Disposition::Destroyed,
        // An accepted lot's units in quarantine were moved there as damaged.
        LotStatus::Accepted if location_kind == QUARANTINE_KIND => Disposition::Damaged,
        LotStatus::Accepted if expired => Disposition::Expired,
        LotStatus::Accepted if held => Disposition::NonSellableOther,
        LotStatus::Accepted if location_kind == STORAGE_KIND => Disposition::SellableAccessible,
        LotStatus::Accepted => Disposition::SellableNotAccessible,
    }
}

/// A difference between the ledger and the stock table for one lot × location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discrepancy {
    pub lot_id: String,
    pub location_id: String,
    pub ledger: i64,
    pub stock: i64,
}

/// The ledger invariant: for every lot × location, stock on_hand equals the
/// sum of the ledger deltas, and nothing is negative.
///
/// The stock table is a cache of the append-only ledger; this check is what
/// proves the cache honest. Inputs: ledger sums as (lot_id, location_id, sum)
/// and stock rows as (lot_id, location_id, on_hand). A pair missing on one
/// side counts as 0 there, so a ledger balance of zero with no stock row is
/// fine. Rows repeated for the same pair are added up. Returns every pair
/// whose figures differ or where either figure is negative, sorted by
/// (lot_id, location_id).
pub fn check_ledger(
    ledger_sums: &[(String, String, i64)],
    stock: &[(String, String, i64)],
) -> Vec<Discrepancy> {
    // (ledger, stock) per (lot_id, location_id); the BTreeMap gives the order.
    let mut pairs: BTreeMap<(&str, &str), (i64, i64)> = BTreeMap::new();
    for (lot_id, location_id, sum) in ledger_sums {
        let entry = pairs.entry((lot_id, location_id)).or_default();
        entry.0 = entry.0.saturating_add(*sum);
    }
    for (lot_id, location_id, on_hand) in stock {
        let entry = pairs.entry((lot_id, location_id)).or_default();
        entry.1 = entry.1.saturating_add(*on_hand);
    }
    pairs
        .into_iter()
        .filter(|(_, (ledger, stock))| ledger != stock || *ledger < 0 || *stock < 0)
        .map(|((lot_id, location_id), (ledger, stock))| Discrepancy {
            lot_id: lot_id.to_string(),
            location_id: location_id.to_string(),
            ledger,
            stock,
        })
        .collect()
}

/// Cycle count: the ledger delta that brings `on_hand` to `counted`
/// (counted - on_hand); positive when units were found, negative when they
/// were missing. A negative count cannot be true of a shelf, so it is refused.
pub fn count_adjustment(on_hand: i64, counted: i64) -> Result<i64, String> {
    if counted < 0 {
        return Err(format!(
            "a count cannot be negative (got {counted}); count the units in the bin, 0 if there are none"
        ));
    }
    counted
        .checked_sub(on_hand)
        .ok_or_else(|| format!("the adjustment from {on_hand} to {counted} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_or_release_reports_the_units_as_they_stand() {
        use Disposition as D;
        use LotStatus as L;
        assert_eq!(
            disposition_at(L::Accepted, "storage", false, false),
            D::SellableAccessible
        );
        assert_eq!(
            disposition_at(L::Accepted, "storage", false, true),
            D::NonSellableOther
        );
        assert_eq!(
            disposition_at(L::Accepted, "storage", true, false),
            D::Expired
        );
        assert_eq!(
            disposition_at(L::Accepted, "receiving", false, false),
            D::SellableNotAccessible
        );
        assert_eq!(
            disposition_at(L::Accepted, "quarantine", false, false),
            D::Damaged
        );
        assert_eq!(
            disposition_at(L::Accepted, "quarantine", true, true),
            D::Damaged
        );
        assert_eq!(
            disposition_at(L::Quarantined, "quarantine", false, false),
            D::NonConformant
        );
        assert_eq!(
            disposition_at(L::Received, "receiving", false, false),
            D::InProgress
        );
        assert_eq!(
            disposition_at(L::Inspecting, "storage", false, false),
            D::InProgress
        );
        assert_eq!(
            disposition_at(L::Scrapped, "quarantine", false, false),
            D::Destroyed
        );
    }

    // ---- putaway -------------------------------------------------------

    /// A builder for bins: an empty, unlimited, zone-less bin at walk 0.
    struct BinBuilder(Bin);

    fn bin(code: &str) -> BinBuilder {
        BinBuilder(Bin {
            location_id: format!("loc-{code}"),
            code: code.to_string(),
            zone: None,
            walk_seq: 0,
            capacity: None,
            contents: Vec::new(),
        })
    }

    impl BinBuilder {
        fn zone(mut self, zone: &str) -> Self {
            self.0.zone = Some(zone.to_string());
            self
        }
        fn walk(mut self, walk_seq: i32) -> Self {
            self.0.walk_seq = walk_seq;
            self
        }
        fn capacity(mut self, capacity: i64) -> Self {
            self.0.capacity = Some(capacity);
            self
        }
        fn holding(mut self, sku_id: &str, lot_id: &str, qty: i64) -> Self {
            self.0
                .contents
                .push((sku_id.to_string(), lot_id.to_string(), qty));
            self
        }
        fn build(self) -> Bin {
            self.0
        }
    }

    fn request(zone: Option<&'static str>, qty: i64) -> PutawayRequest<'static> {
        PutawayRequest {
            sku_id: "TEA",
            lot_id: "L1",
            zone,
            qty,
        }
    }

    fn suggested(bins: &[Bin], request: PutawayRequest<'_>) -> Option<(String, SuggestionReason)> {
        suggest_bin(bins, request).map(|(bin, reason)| (bin.code.clone(), reason))
    }

    #[test]
    fn a_bin_counts_every_unit_against_its_capacity() {
        let b = bin("A-01")
            .capacity(100)
            .holding("TEA", "L1", 30)
            .holding("RICE", "R1", 50)
            .build();
        assert_eq!(b.on_hand(), 80);
        assert_eq!(b.room(), Some(20));
        assert!(b.fits(20));
        assert!(!b.fits(21));
    }

    #[test]
    fn an_unlimited_bin_has_no_room_figure_and_fits_anything() {
        let b = bin("A-01").holding("TEA", "L1", 1_000_000).build();
        assert_eq!(b.room(), None);
        assert!(b.fits(i64::MAX));
    }

    #[test]
    fn an_overfilled_bin_has_no_room_rather_than_negative_room() {
        let b = bin("A-01").capacity(10).holding("TEA", "L1", 15).build();
        assert_eq!(b.room(), Some(0));
        assert!(!b.fits(1));
    }

    #[test]
    fn a_bin_holding_the_same_lot_comes_first() {
        let bins = [
            bin("EMPTY").zone("DRY").walk(1).build(),
            bin("SKU").walk(2).holding("TEA", "L0", 5).build(),
            bin("LOT").walk(3).holding("TEA", "L1", 5).build(),
        ];
        assert_eq!(
            suggested(&bins, request(Some("DRY"), 10)),
            Some(("LOT".into(), SuggestionReason::SameLot))
        );
    }

    #[test]
    fn a_bin_holding_the_same_sku_comes_before_an_empty_one() {
        let bins = [
            bin("EMPTY").zone("DRY").walk(1).build(),
            bin("OTHER").walk(0).holding("RICE", "L1", 5).build(),
            bin("SKU").walk(2).holding("TEA", "L0", 5).build(),
        ];
        assert_eq!(
            suggested(&bins, request(Some("DRY"), 10)),
            Some(("SKU".into(), SuggestionReason::SameSku))
        );
    }

    #[test]
    fn another_skus_lot_with_the_same_lot_id_is_not_the_same_lot() {
        let bins = [
            bin("RICE-L1").walk(0).holding("RICE", "L1", 5).build(),
            bin("EMPTY").zone("DRY").walk(1).build(),
        ];
        assert_eq!(
            suggested(&bins, request(Some("DRY"), 10)),
            Some(("EMPTY".into(), SuggestionReason::EmptyInZone))
        );
    }

    #[test]
    fn a_zero_stock_row_does_not_make_a_bin_hold_the_lot() {
        let bins = [
            bin("PICKED-CLEAN")
                .zone("COLD")
                .walk(0)
                .holding("TEA", "L1", 0)
                .build(),
            bin("EMPTY").zone("DRY").walk(1).build(),
        ];
        assert_eq!(
            suggested(&bins, request(Some("DRY"), 10)),
            Some(("EMPTY".into(), SuggestionReason::EmptyInZone))
        );
    }

    #[test]
    fn an_empty_bin_must_be_in_the_skus_zone() {
        let bins = [
            bin("COLD").zone("COLD").walk(0).build(),
            bin("NONE").walk(1).build(),
            bin("DRY").zone("DRY").walk(2).build(),
        ];
        assert_eq!(
            suggested(&bins, request(Some("DRY"), 10)),
            Some(("DRY".into(), SuggestionReason::EmptyInZone))
        );
    }

    #[test]
    fn a_bin_holding_anything_is_not_empty() {
        let bins = [bin("BUSY").zone("DRY").holding("RICE", "R1", 1).build()];
        assert_eq!(suggested(&bins, request(Some("DRY"), 1)), None);
    }

    #[test]
    fn a_sku_without_a_zone_prefers_a_zone_less_empty_bin() {
        let bins = [
            bin("DRY").zone("DRY").walk(0).build(),
            bin("NONE").walk(5).build(),
        ];
        assert_eq!(
            suggested(&bins, request(None, 10)),
            Some(("NONE".into(), SuggestionReason::EmptyWithoutZone))
        );
    }

    #[test]
    fn a_sku_without_a_zone_takes_a_zoned_empty_bin_when_no_other_is_free() {
        let bins = [
            bin("NONE-BUSY").walk(0).holding("RICE", "R1", 1).build(),
            bin("DRY").zone("DRY").walk(3).build(),
        ];
        assert_eq!(
            suggested(&bins, request(None, 10)),
            Some(("DRY".into(), SuggestionReason::EmptyAnyZone))
        );
    }

    #[test]
    fn a_reason_never_claims_a_zone_the_sku_does_not_have() {
        let zoneless = [bin("冷-01").zone("冷").walk(1).build()];
        let (chosen, reason) = suggest_bin(&zoneless, request(None, 10)).unwrap();
        assert_eq!(reason.as_str(), "empty_any_zone");
        let said = reason.explain(chosen, request(None, 10));
        assert!(said.contains("the SKU has no zone"), "{said}");
        assert!(
            said.contains("冷-01") && said.contains("in zone 冷"),
            "{said}"
        );

        let bare = [bin("B-01").walk(1).build()];
        let (chosen, reason) = suggest_bin(&bare, request(None, 10)).unwrap();
        assert_eq!(reason.as_str(), "empty_without_zone");
        let said = reason.explain(chosen, request(None, 10));
        assert!(said.contains("without a zone"), "{said}");
        assert!(!said.contains("SKU's zone"), "{said}");
    }

    #[test]
    fn each_reason_says_what_it_passed_over() {
        let bins = [
            bin("LOT")
                .walk(1)
                .capacity(100)
                .holding("TEA", "L1", 95)
                .build(),
            bin("SKU").walk(2).holding("TEA", "L0", 5).build(),
            bin("DRY-1").zone("DRY").walk(3).build(),
        ];
        let (chosen, reason) = suggest_bin(&bins, request(Some("DRY"), 3)).unwrap();
        assert_eq!(reason, SuggestionReason::SameLot);
        assert_eq!(
            reason.explain(chosen, request(Some("DRY"), 3)),
            "LOT already holds this lot and has room for 3"
        );
        let (chosen, reason) = suggest_bin(&bins, request(Some("DRY"), 10)).unwrap();
        assert_eq!(reason, SuggestionReason::SameSku);
        assert_eq!(
            reason.explain(chosen, request(Some("DRY"), 10)),
            "no bin with room for 10 holds this lot; SKU already holds this SKU (another lot) and has room"
        );
        let (chosen, reason) = suggest_bin(&bins[2..], request(Some("DRY"), 10)).unwrap();
        assert_eq!(reason.as_str(), "empty_in_zone");
        assert_eq!(
            reason.explain(chosen, request(Some("DRY"), 10)),
            "no bin with room for 10 holds this SKU; DRY-1 is empty and in the SKU's zone DRY"
        );
    }

    #[test]
    fn a_bin_without_room_for_the_whole_quantity_is_passed_over() {
        let bins = [
            bin("LOT-FULL")
                .walk(0)
                .capacity(20)
                .holding("TEA", "L1", 15)
                .build(),
            bin("SKU").walk(1).holding("TEA", "L0", 5).build(),
        ];
        assert_eq!(
            suggested(&bins, request(None, 10)),
            Some(("SKU".into(), SuggestionReason::SameSku))
        );
        // Exactly enough room is room.
        assert_eq!(
            suggested(&bins, request(None, 5)),
            Some(("LOT-FULL".into(), SuggestionReason::SameLot))
        );
    }

    #[test]
    fn a_small_empty_bin_is_passed_over() {
        let bins = [
            bin("SMALL").zone("DRY").walk(0).capacity(9).build(),
            bin("BIG").zone("DRY").walk(1).capacity(10).build(),
        ];
        assert_eq!(
            suggested(&bins, request(Some("DRY"), 10)),
            Some(("BIG".into(), SuggestionReason::EmptyInZone))
        );
    }

    #[test]
    fn ties_go_to_the_lowest_walk_sequence_then_the_lowest_code() {
        let bins = [
            bin("B-02").walk(2).holding("TEA", "L1", 1).build(),
            bin("B-01").walk(3).holding("TEA", "L1", 1).build(),
            bin("A-09").walk(7).holding("TEA", "L1", 1).build(),
        ];
        assert_eq!(
            suggested(&bins, request(None, 1)),
            Some(("B-02".into(), SuggestionReason::SameLot))
        );
        let same_walk = [
            bin("B-02").zone("DRY").walk(4).build(),
            bin("A-09").zone("DRY").walk(4).build(),
            bin("B-01").zone("DRY").walk(4).build(),
        ];
        assert_eq!(
            suggested(&same_walk, request(Some("DRY"), 1)),
            Some(("A-09".into(), SuggestionReason::EmptyInZone))
        );
    }

    #[test]
    fn no_qualifying_bin_gives_no_suggestion() {
        assert_eq!(suggested(&[], request(Some("DRY"), 1)), None);
        let bins = [
            bin("FULL")
                .zone("DRY")
                .capacity(5)
                .holding("TEA", "L1", 5)
                .build(),
            bin("COLD").zone("COLD").build(),
        ];
        assert_eq!(suggested(&bins, request(Some("DRY"), 1)), None);
    }

    // ---- FEFO ----------------------------------------------------------

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    fn at(d: u32) -> NaiveDateTime {
        day(d).and_hms_opt(9, 0, 0).unwrap()
    }

    /// A builder for candidates: no expiry, received on day 1, walk 0.
    struct CandidateBuilder(StockCandidate);

    fn candidate(lot_id: &str, location_code: &str, available: i64) -> CandidateBuilder {
        CandidateBuilder(StockCandidate {
            lot_id: lot_id.to_string(),
            location_id: format!("loc-{location_code}"),
            location_code: location_code.to_string(),
            expiry_date: None,
            received_at: at(1),
            walk_seq: 0,
            available,
        })
    }

    impl CandidateBuilder {
        fn expires(mut self, d: u32) -> Self {
            self.0.expiry_date = Some(day(d));
            self
        }
        fn received(mut self, d: u32) -> Self {
            self.0.received_at = at(d);
            self
        }
        fn walk(mut self, walk_seq: i32) -> Self {
            self.0.walk_seq = walk_seq;
            self
        }
        fn build(self) -> StockCandidate {
            self.0
        }
    }

    fn takes(result: Result<Vec<Allocation>, i64>) -> Vec<(String, String, i64)> {
        result
            .unwrap()
            .into_iter()
            .map(|a| (a.lot_id, a.location_id, a.qty))
            .collect()
    }

    fn take(lot_id: &str, location_code: &str, qty: i64) -> (String, String, i64) {
        (lot_id.to_string(), format!("loc-{location_code}"), qty)
    }

    #[test]
    fn the_lot_that_expires_first_goes_first() {
        let candidates = [
            candidate("LATE", "A-01", 10)
                .expires(20)
                .received(1)
                .build(),
            candidate("SOON", "A-09", 10)
                .expires(10)
                .received(5)
                .walk(9)
                .build(),
        ];
        assert_eq!(takes(fefo(&candidates, 4)), [take("SOON", "A-09", 4)]);
    }

    #[test]
    fn among_equal_expiries_the_oldest_receipt_goes_first() {
        let candidates = [
            candidate("NEW", "A-01", 10).expires(10).received(3).build(),
            candidate("OLD", "A-09", 10)
                .expires(10)
                .received(2)
                .walk(9)
                .build(),
        ];
        assert_eq!(takes(fefo(&candidates, 4)), [take("OLD", "A-09", 4)]);
    }

    #[test]
    fn among_equal_receipts_the_walk_sequence_decides() {
        let candidates = [
            candidate("L1", "A-01", 10).expires(10).walk(5).build(),
            candidate("L1", "A-09", 10).expires(10).walk(2).build(),
        ];
        assert_eq!(takes(fefo(&candidates, 4)), [take("L1", "A-09", 4)]);
    }

    #[test]
    fn then_the_location_code_and_the_lot_id_decide() {
        let candidates = [
            candidate("L2", "B-01", 1).build(),
            candidate("L2", "A-01", 1).build(),
            candidate("L1", "B-01", 1).build(),
        ];
        assert_eq!(
            takes(fefo(&candidates, 3)),
            [
                take("L2", "A-01", 1),
                take("L1", "B-01", 1),
                take("L2", "B-01", 1)
            ]
        );
    }

    #[test]
    fn lots_without_an_expiry_date_go_last() {
        let candidates = [
            candidate("NEVER", "A-01", 10).received(1).build(),
            candidate("FAR", "A-02", 10).expires(31).received(9).build(),
        ];
        assert_eq!(
            takes(fefo(&candidates, 12)),
            [take("FAR", "A-02", 10), take("NEVER", "A-01", 2)]
        );
    }

    #[test]
    fn an_allocation_spans_several_lots_and_bins() {
        let candidates = [
            candidate("L2", "C-01", 50).expires(20).build(),
            candidate("L1", "A-02", 3).expires(10).walk(2).build(),
            candidate("L1", "A-01", 4).expires(10).walk(1).build(),
        ];
        assert_eq!(
            takes(fefo(&candidates, 10)),
            [
                take("L1", "A-01", 4),
                take("L1", "A-02", 3),
                take("L2", "C-01", 3),
            ]
        );
    }

    #[test]
    fn an_exact_cover_takes_everything() {
        let candidates = [
            candidate("L1", "A-01", 4).expires(10).build(),
            candidate("L2", "A-02", 6).expires(11).build(),
        ];
        assert_eq!(
            takes(fefo(&candidates, 10)),
            [take("L1", "A-01", 4), take("L2", "A-02", 6)]
        );
    }

    #[test]
    fn a_shortfall_allocates_nothing_and_reports_what_is_available() {
        let candidates = [
            candidate("L1", "A-01", 4).build(),
            candidate("L2", "A-02", 6).build(),
            candidate("L3", "A-03", -2).build(),
        ];
        assert_eq!(fefo(&candidates, 11), Err(10));
        assert_eq!(fefo(&[], 1), Err(0));
    }

    #[test]
    fn candidates_with_nothing_available_are_skipped() {
        let candidates = [
            candidate("ZERO", "A-01", 0).expires(2).build(),
            candidate("OWED", "A-02", -3).expires(3).build(),
            candidate("L1", "A-03", 5).expires(20).build(),
        ];
        assert_eq!(takes(fefo(&candidates, 5)), [take("L1", "A-03", 5)]);
    }

    #[test]
    fn asking_for_nothing_allocates_nothing() {
        let candidates = [candidate("L1", "A-01", 5).build()];
        assert_eq!(fefo(&candidates, 0), Ok(Vec::new()));
        assert_eq!(fefo(&candidates, -1), Ok(Vec::new()));
    }

    // ---- sellable ------------------------------------------------------

    #[test]
    fn a_lot_is_expired_on_its_expiry_date_not_the_day_before() {
        let today = day(10);
        assert!(is_expired(Some(day(9)), today));
        assert!(is_expired(Some(day(10)), today));
        assert!(!is_expired(Some(day(11)), today));
        assert!(!is_expired(None, today));
    }

    #[test]
    fn accepted_unexpired_stock_in_storage_is_sellable() {
        assert!(is_sellable(
            LotStatus::Accepted,
            "storage",
            Some(day(11)),
            day(10)
        ));
        assert!(is_sellable(LotStatus::Accepted, "storage", None, day(10)));
    }

    #[test]
    fn a_lot_that_is_not_accepted_is_not_sellable() {
        for status in LotStatus::ALL {
            if status != LotStatus::Accepted {
                assert!(
                    !is_sellable(status, "storage", None, day(10)),
                    "{status} must not be sellable"
                );
            }
        }
    }

    #[test]
    fn stock_outside_a_storage_location_is_not_sellable() {
        for kind in ["receiving", "quarantine", "packing", "dispatch", "Storage"] {
            assert!(
                !is_sellable(LotStatus::Accepted, kind, None, day(10)),
                "{kind} must not be sellable"
            );
        }
    }

    #[test]
    fn an_expired_lot_is_not_sellable() {
        assert!(!is_sellable(
            LotStatus::Accepted,
            "storage",
            Some(day(10)),
            day(10)
        ));
    }

    // ---- ledger --------------------------------------------------------

    fn row(lot_id: &str, location_id: &str, qty: i64) -> (String, String, i64) {
        (lot_id.to_string(), location_id.to_string(), qty)
    }

    fn discrepancy(lot_id: &str, location_id: &str, ledger: i64, stock: i64) -> Discrepancy {
        Discrepancy {
            lot_id: lot_id.to_string(),
            location_id: location_id.to_string(),
            ledger,
            stock,
        }
    }

    #[test]
    fn a_stock_table_that_matches_the_ledger_has_no_discrepancies() {
        let ledger = [row("L1", "A-01", 10), row("L1", "A-02", 0)];
        let stock = [row("L1", "A-02", 0), row("L1", "A-01", 10)];
        assert_eq!(check_ledger(&ledger, &stock), []);
    }

    #[test]
    fn a_differing_pair_is_reported_with_both_figures() {
        let ledger = [row("L1", "A-01", 10), row("L2", "A-01", 7)];
        let stock = [row("L1", "A-01", 10), row("L2", "A-01", 8)];
        assert_eq!(
            check_ledger(&ledger, &stock),
            [discrepancy("L2", "A-01", 7, 8)]
        );
    }

    #[test]
    fn a_pair_missing_on_one_side_counts_as_zero_there() {
        let ledger = [row("L1", "A-01", 5), row("L3", "A-01", 0)];
        let stock = [row("L2", "A-01", 4)];
        assert_eq!(
            check_ledger(&ledger, &stock),
            [
                discrepancy("L1", "A-01", 5, 0),
                discrepancy("L2", "A-01", 0, 4),
            ]
        );
    }

    #[test]
    fn negative_figures_are_reported_even_when_they_agree() {
        let ledger = [row("L1", "A-01", -2), row("L2", "A-01", 3)];
        let stock = [row("L1", "A-01", -2), row("L2", "A-01", 3)];
        assert_eq!(
            check_ledger(&ledger, &stock),
            [discrepancy("L1", "A-01", -2, -2)]
        );
    }

    #[test]
    fn discrepancies_come_sorted_by_lot_then_location() {
        let ledger = [
            row("L2", "A-01", 1),
            row("L1", "B-01", 1),
            row("L1", "A-01", 1),
        ];
        let reported: Vec<(String, String)> = check_ledger(&ledger, &[])
            .into_iter()
            .map(|d| (d.lot_id, d.location_id))
            .collect();
        assert_eq!(
            reported,
            [
                ("L1".to_string(), "A-01".to_string()),
                ("L1".to_string(), "B-01".to_string()),
                ("L2".to_string(), "A-01".to_string()),
            ]
        );
    }

    // ---- cycle count ---------------------------------------------------

    #[test]
    fn a_count_adjusts_by_the_difference() {
        assert_eq!(count_adjustment(10, 7), Ok(-3));
        assert_eq!(count_adjustment(10, 12), Ok(2));
        assert_eq!(count_adjustment(10, 10), Ok(0));
        assert_eq!(count_adjustment(4, 0), Ok(-4));
    }

    #[test]
    fn a_negative_count_is_refused() {
        let err = count_adjustment(10, -1).unwrap_err();
        assert!(err.contains("negative"), "{err}");
    }
}
