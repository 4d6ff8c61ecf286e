//! Pick batches (waves) for the fragmented orders of live sessions: which
//! reserved orders a picker collects in one walk, and the walk-ordered pick
//! list of each batch. Pure: the caller loads the orders and their
//! reservations, and stores what comes out.
//!
//! # Strategies
//!
//! Eligible orders (ordered at or before the cut-off, of the carrier asked
//! for) are split by carrier first — a batch never mixes carriers, and orders
//! without a carrier are a group of their own — and ranked by urgency:
//! ship-by deadline, then order time, then id. Within each carrier the
//! strategies run in this order, each consuming the orders it takes:
//!
//! 1. `hot_sku` — orders of a single line (one SKU, one quantity), grouped by
//!    SKU × quantity: the picker takes N units from the fewest bins and the
//!    packer scans and packs one item after another.
//! 2. `identical` — orders of two lines or more with the same multiset of
//!    SKU × quantity (lines of one SKU are summed first, so their order and
//!    splitting do not matter).
//! 3. `cluster` — the rest, greedy: seed with the most urgent unbatched order,
//!    then repeatedly add the order that adds the fewest new pick locations
//!    (ties: the most urgent), and when no order sharing a location fits, the
//!    next most urgent order that fits.
//!
//! A group of `hot_sku` or `identical` is cut into batches in urgency order
//! up to the limits; a batch of those strategies has at least [`MIN_GROUP`]
//! orders: a smaller group, or the remainder of a cut, is left to `cluster`
//! (one order alone gains nothing from being picked "as a hot SKU").
//! Which bins a batch visits is what its orders reserved (FEFO, at order
//! time): batching groups, it does not re-allocate, so a `hot_sku` batch
//! takes its N units from the few bins the reservations already point at.
//!
//! Limits: a batch has at most `max_orders` orders and `max_units` units,
//! except that an order bigger than `max_units` alone forms its own batch (it
//! cannot be split here: splitting an order across batches is a packing
//! problem, and refusing it would leave it unshipped). Limits below 1 count
//! as 1. Every order lands in at most one batch — in exactly one, when it is
//! eligible; an id given twice counts once (its first occurrence). Batches
//! come out most urgent first (by their most urgent order), and a batch lists
//! its orders most urgent first.
//!
//! # Complexity
//!
//! Grouping is a sort and map inserts: O(n log n). The cluster pass keeps, for
//! every location, a doubly linked list of the unbatched orders that visit it
//! (in urgency order), and one list of all unbatched orders in urgency order;
//! taking an order unlinks it from the lists of its own locations, O(its
//! locations). When a location enters a batch, only the first
//! [`CANDIDATES_PER_LOCATION`] (K) orders of its list become candidates, in a
//! heap keyed by (new locations, urgency); a stale key is recomputed when it
//! is popped. So the pass costs O(P · K · (d + log P)) for P order × location
//! pairs and d locations per order — linear in the session for fixed K, never
//! O(n²), even when one hot location is visited by a third of all orders.
//! The price of the bound: an order sharing a location but beyond the first K
//! of its list is not seen from that location; the most urgent ones, which
//! the next seeds would take anyway, are. (Measured in a debug build: 100,000
//! multi-line orders in under 2 s; K = 8 or 128 change the quality by a few
//! per cent only.) There is no swap/shift improvement pass yet.
//!
//! # What the service must add
//!
//! This module decides; it does not claim. The service loads reserved,
//! unbatched orders, calls [`build_batches`], and then must claim every order
//! with a guarded update (`UPDATE orders SET batch_id = ? WHERE id = ? AND
//! batch_id IS NULL AND status = 'reserved'`, counting the rows) in the same
//! transaction that creates the batch, so that two depot instances building
//! at once never put one order into two batches: an order claimed by the
//! other instance in the meantime drops out of the batch (and its pick lines
//! with it). A guarded update rather than `SELECT … FOR UPDATE`: it works the
//! same on SQLite (no row locks) and PostgreSQL, and under PostgreSQL's READ
//! COMMITTED the second updater re-checks `batch_id IS NULL` after the first
//! commits, so exactly one claim wins. `dry_run` returns the batches without
//! that step. The picks passed in must be the orders' current reservations:
//! held, expired or quarantined stock has already been re-reserved away by
//! the hold rules, so it never reaches a pick list from here.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};

use chrono::{Duration, NaiveDateTime};

/// Hours after the order time that a channel promises dispatch by, when its
/// configuration names none.
pub const DEFAULT_SHIP_BY_HOURS: u32 = 48;
/// Orders of a batch when the caller names no limit.
pub const DEFAULT_MAX_ORDERS: usize = 30;
/// Units of a batch when the caller names no limit (what a pick cart holds).
pub const DEFAULT_MAX_UNITS: i64 = 300;
/// The fewest orders a `hot_sku` or `identical` batch has.
pub const MIN_GROUP: usize = 2;
/// Orders of one location's list that become cluster candidates when the
/// location enters a batch (the K of the complexity argument).
pub const CANDIDATES_PER_LOCATION: usize = 32;

/// The ship-by deadline of an order: the one the merchant gave wins, else the
/// order time plus the channel's configured hours (else
/// [`DEFAULT_SHIP_BY_HOURS`]).
pub fn ship_by(
    ordered_at: NaiveDateTime,
    channel_hours: Option<u32>,
    given: Option<NaiveDateTime>,
) -> NaiveDateTime {
    given.unwrap_or_else(|| {
        ordered_at + Duration::hours(i64::from(channel_hours.unwrap_or(DEFAULT_SHIP_BY_HOURS)))
    })
}

/// How a batch was formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strategy {
    HotSku,
    Identical,
    Cluster,
    /// The baseline of [`fifo_baseline`] only: [`build_batches`] never makes it.
    Fifo,
}

impl Strategy {
    /// The name stored on the batch and shown by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::HotSku => "hot_sku",
            Strategy::Identical => "identical",
            Strategy::Cluster => "cluster",
            Strategy::Fifo => "fifo",
        }
    }
}

/// A line of an order: what the customer bought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub sku_code: String,
    pub qty: i64,
}

/// A reservation of an order, as a picker will take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    pub lot_id: String,
    pub sku_code: String,
    pub location_code: String,
    pub walk_seq: i64,
    pub aisle: String,
    pub qty: i64,
}

/// A reserved, unbatched order with its reservations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOrder {
    pub id: String,
    pub ordered_at: NaiveDateTime,
    pub ship_by: NaiveDateTime,
    pub carrier_code: Option<String>,
    pub lines: Vec<OrderLine>,
    pub picks: Vec<Pick>,
}

impl BatchOrder {
    /// Units of the order (its lines; a reserved order's picks sum to the same).
    pub fn units(&self) -> i64 {
        self.lines.iter().map(|l| l.qty.max(0)).sum()
    }
}

/// What to batch and how big.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub max_orders: usize,
    pub max_units: i64,
    /// Only orders of this carrier; `None` takes every carrier (each in its
    /// own batches).
    pub carrier_code: Option<String>,
    /// Only orders placed at or before this time.
    pub cut_off: Option<NaiveDateTime>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_orders: DEFAULT_MAX_ORDERS,
            max_units: DEFAULT_MAX_UNITS,
            carrier_code: None,
            cut_off: None,
        }
    }
}

/// One line of a pick list: a lot at a location, merged over the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickLine {
    pub lot_id: String,
    pub sku_code: String,
    pub location_code: String,
    pub walk_seq: i64,
    pub aisle: String,
    pub qty: i64,
}

/// A batch as built: its orders (most urgent first) and its pick list in
/// walk order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub strategy: Strategy,
    pub carrier_code: Option<String>,
    pub order_ids: Vec<String>,
    pub units: i64,
    /// The earliest ship-by deadline of its orders.
    pub ship_by: NaiveDateTime,
    pub lines: Vec<PickLine>,
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    orders: usize,
    units: i64,
}

impl Limits {
    fn of(options: &Options) -> Self {
        Limits {
            orders: options.max_orders.max(1),
            units: options.max_units.max(1),
        }
    }
}

fn urgency(o: &BatchOrder) -> (NaiveDateTime, NaiveDateTime, &str) {
    (o.ship_by, o.ordered_at, o.id.as_str())
}

/// Indices of the orders the options select, first of each id only.
fn eligible(orders: &[BatchOrder], options: &Options) -> Vec<usize> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(orders.len());
    (0..orders.len())
        .filter(|&i| {
            let o = &orders[i];
            options.cut_off.is_none_or(|c| o.ordered_at <= c)
                && options
                    .carrier_code
                    .as_ref()
                    .is_none_or(|c| o.carrier_code.as_ref() == Some(c))
                && seen.insert(o.id.as_str())
        })
        .collect()
}

/// The indices split by carrier, each keeping the order given.
fn by_carrier<'a>(
    orders: &'a [BatchOrder],
    idx: &[usize],
) -> BTreeMap<Option<&'a str>, Vec<usize>> {
    let mut groups: BTreeMap<Option<&str>, Vec<usize>> = BTreeMap::new();
    for &i in idx {
        groups
            .entry(orders[i].carrier_code.as_deref())
            .or_default()
            .push(i);
    }
    groups
}

/// The lines as a multiset: SKU → units, sorted by SKU.
fn multiset(o: &BatchOrder) -> Vec<(&str, i64)> {
    let mut m: BTreeMap<&str, i64> = BTreeMap::new();
    for l in &o.lines {
        *m.entry(l.sku_code.as_str()).or_insert(0) += l.qty;
    }
    m.into_iter().collect()
}

/// Cuts `members` (in the order given) into consecutive batches within the
/// limits; an order above the unit limit stands alone.
fn cut(orders: &[BatchOrder], members: &[usize], limits: Limits) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut units = 0;
    for &i in members {
        let u = orders[i].units();
        if !current.is_empty() && (current.len() >= limits.orders || units + u > limits.units) {
            out.push(std::mem::take(&mut current));
            units = 0;
        }
        current.push(i);
        units += u;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The batches for `orders`, most urgent first. See the module documentation.
pub fn build_batches(orders: &[BatchOrder], options: &Options) -> Vec<Batch> {
    let limits = Limits::of(options);
    let mut idx = eligible(orders, options);
    idx.sort_by(|&a, &b| urgency(&orders[a]).cmp(&urgency(&orders[b])));
    let mut built: Vec<(Strategy, Vec<usize>)> = Vec::new();
    for group in by_carrier(orders, &idx).into_values() {
        let mut hot: BTreeMap<(&str, i64), Vec<usize>> = BTreeMap::new();
        let mut identical: BTreeMap<Vec<(&str, i64)>, Vec<usize>> = BTreeMap::new();
        let mut rest: Vec<usize> = Vec::new();
        for &i in &group {
            let m = multiset(&orders[i]);
            match m.len() {
                1 => hot.entry(m[0]).or_default().push(i),
                0 => rest.push(i),
                _ => identical.entry(m).or_default().push(i),
            }
        }
        let grouped = hot
            .into_values()
            .map(|m| (Strategy::HotSku, m))
            .chain(identical.into_values().map(|m| (Strategy::Identical, m)));
        for (strategy, members) in grouped {
            for batch in cut(orders, &members, limits) {
                if batch.len() >= MIN_GROUP {
                    built.push((strategy, batch));
                } else {
                    rest.extend(batch);
                }
            }
        }
        rest.sort_by(|&a, &b| urgency(&orders[a]).cmp(&urgency(&orders[b])));
        for batch in cluster(orders, &rest, limits) {
            built.push((Strategy::Cluster, batch));
        }
    }
    for (_, batch) in &mut built {
        batch.sort_by(|&a, &b| urgency(&orders[a]).cmp(&urgency(&orders[b])));
    }
    built.sort_by(|(sa, a), (sb, b)| {
        urgency(&orders[a[0]])
            .cmp(&urgency(&orders[b[0]]))
            .then(sa.cmp(sb))
    });
    built
        .into_iter()
        .map(|(strategy, batch)| make_batch(orders, strategy, &batch))
        .collect()
}

const NIL: usize = usize::MAX;

/// The greedy cluster pass over `members` (in urgency order, one carrier).
/// Returns batches of indices into `orders`.
fn cluster(orders: &[BatchOrder], members: &[usize], limits: Limits) -> Vec<Vec<usize>> {
    let n = members.len();
    // Orders are ranked 0..n by urgency; locations interned as 0..m.
    let mut location_ids: HashMap<&str, usize> = HashMap::new();
    let mut pair_location: Vec<usize> = Vec::new();
    let mut pair_rank: Vec<usize> = Vec::new();
    let mut start: Vec<usize> = Vec::with_capacity(n + 1);
    let mut units: Vec<i64> = Vec::with_capacity(n);
    start.push(0);
    for (rank, &i) in members.iter().enumerate() {
        let o = &orders[i];
        let mut locs: Vec<usize> = o
            .picks
            .iter()
            .map(|p| {
                let next = location_ids.len();
                *location_ids.entry(p.location_code.as_str()).or_insert(next)
            })
            .collect();
        locs.sort_unstable();
        locs.dedup();
        pair_rank.extend(std::iter::repeat_n(rank, locs.len()));
        pair_location.extend(locs);
        start.push(pair_location.len());
        units.push(o.units());
    }
    let m = location_ids.len();

    let mut lists = Unbatched::new(n, m, &pair_location);
    let mut taken = vec![false; n];
    let mut in_batch = vec![usize::MAX; m];
    let mut rejected = vec![usize::MAX; n];
    let mut heap: BinaryHeap<Reverse<(usize, usize)>> = BinaryHeap::new();
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let new_locations = |r: usize, in_batch: &[usize], stamp: usize| {
        (start[r]..start[r + 1])
            .filter(|&p| in_batch[pair_location[p]] != stamp)
            .count()
    };

    let mut first = lists.first();
    let mut stamp = 0;
    while first != lists.end() {
        let seed = first;
        taken[seed] = true;
        first = lists.take(seed, &start, &pair_location);
        let mut batch = vec![seed];
        let mut batch_units = units[seed];
        let mut added = seed;
        heap.clear();
        while batch.len() < limits.orders && batch_units < limits.units {
            // The locations the last order brought: their first K orders are candidates.
            for &l in &pair_location[start[added]..start[added + 1]] {
                if in_batch[l] == stamp {
                    continue;
                }
                in_batch[l] = stamp;
                let mut q = lists.head[l];
                let mut seen = 0;
                while q != NIL && seen < CANDIDATES_PER_LOCATION {
                    let c = pair_rank[q];
                    heap.push(Reverse((new_locations(c, &in_batch, stamp), c)));
                    seen += 1;
                    q = lists.next[q];
                }
            }
            let mut pick = None;
            while let Some(Reverse((recorded, c))) = heap.pop() {
                if taken[c] || rejected[c] == stamp {
                    continue;
                }
                if batch_units + units[c] > limits.units {
                    rejected[c] = stamp;
                    continue;
                }
                let actual = new_locations(c, &in_batch, stamp);
                if actual < recorded {
                    heap.push(Reverse((actual, c)));
                    continue;
                }
                pick = Some(c);
                break;
            }
            if pick.is_none() {
                // No order sharing a location fits: the next most urgent that does.
                let mut r = first;
                let mut seen = 0;
                while r != lists.end() && seen < CANDIDATES_PER_LOCATION {
                    if rejected[r] != stamp && batch_units + units[r] <= limits.units {
                        pick = Some(r);
                        break;
                    }
                    seen += 1;
                    r = lists.next_u[r];
                }
            }
            let Some(c) = pick else { break };
            taken[c] = true;
            first = lists.take(c, &start, &pair_location);
            batch.push(c);
            batch_units += units[c];
            added = c;
        }
        batches.push(batch.into_iter().map(|r| members[r]).collect());
        stamp += 1;
    }
    batches
}

/// The unbatched orders of a cluster pass: per location a doubly linked list
/// of its order × location pairs (in urgency order), and one list of all
/// order ranks in urgency order with `n` as its sentinel. Taking an order
/// unlinks it everywhere in O(its locations).
struct Unbatched {
    next: Vec<usize>,
    prev: Vec<usize>,
    head: Vec<usize>,
    next_u: Vec<usize>,
    prev_u: Vec<usize>,
}

impl Unbatched {
    fn new(n: usize, locations: usize, pair_location: &[usize]) -> Self {
        let pairs = pair_location.len();
        let mut next = vec![NIL; pairs];
        let mut prev = vec![NIL; pairs];
        let mut head = vec![NIL; locations];
        let mut tail = vec![NIL; locations];
        for (p, &l) in pair_location.iter().enumerate() {
            if tail[l] == NIL {
                head[l] = p;
            } else {
                next[tail[l]] = p;
                prev[p] = tail[l];
            }
            tail[l] = p;
        }
        // Ranks 0..n in a ring through the sentinel n.
        let next_u = (0..=n).map(|r| if r == n { 0 } else { r + 1 }).collect();
        let prev_u = (0..=n).map(|r| if r == 0 { n } else { r - 1 }).collect();
        Unbatched {
            next,
            prev,
            head,
            next_u,
            prev_u,
        }
    }

    fn end(&self) -> usize {
        self.next_u.len() - 1
    }

    /// The most urgent unbatched order, or `end()`.
    fn first(&self) -> usize {
        self.next_u[self.end()]
    }

    /// Unlinks order `r` from every list; answers the new first.
    fn take(&mut self, r: usize, start: &[usize], pair_location: &[usize]) -> usize {
        let (a, b) = (self.prev_u[r], self.next_u[r]);
        self.next_u[a] = b;
        self.prev_u[b] = a;
        let pairs = start[r]..start[r + 1];
        for (p, &l) in pairs.clone().zip(&pair_location[pairs]) {
            let (before, after) = (self.prev[p], self.next[p]);
            if before == NIL {
                self.head[l] = after;
            } else {
                self.next[before] = after;
            }
            if after != NIL {
                self.prev[after] = before;
            }
        }
        self.first()
    }
}

/// The batch of exactly `members` (indices into `orders`, most urgent first;
/// at least one), its pick list merged and walk-ordered as [`build_batches`]
/// does: what the service stores when another instance claimed some orders
/// of a built batch in the meantime. `None` for no members.
pub fn batch_of(orders: &[BatchOrder], strategy: Strategy, members: &[usize]) -> Option<Batch> {
    (!members.is_empty()).then(|| make_batch(orders, strategy, members))
}

fn make_batch(orders: &[BatchOrder], strategy: Strategy, batch: &[usize]) -> Batch {
    let mut merged: BTreeMap<(&str, &str), PickLine> = BTreeMap::new();
    for &i in batch {
        for p in &orders[i].picks {
            merged
                .entry((p.lot_id.as_str(), p.location_code.as_str()))
                .and_modify(|line| {
                    line.qty += p.qty;
                    line.walk_seq = line.walk_seq.min(p.walk_seq);
                })
                .or_insert_with(|| PickLine {
                    lot_id: p.lot_id.clone(),
                    sku_code: p.sku_code.clone(),
                    location_code: p.location_code.clone(),
                    walk_seq: p.walk_seq,
                    aisle: p.aisle.clone(),
                    qty: p.qty,
                });
        }
    }
    let mut lines: Vec<PickLine> = merged.into_values().collect();
    lines.sort_by(|a, b| {
        (a.walk_seq, &a.location_code, &a.lot_id).cmp(&(b.walk_seq, &b.location_code, &b.lot_id))
    });
    let first = &orders[batch[0]];
    Batch {
        strategy,
        carrier_code: first.carrier_code.clone(),
        order_ids: batch.iter().map(|&i| orders[i].id.clone()).collect(),
        units: batch.iter().map(|&i| orders[i].units()).sum(),
        ship_by: batch
            .iter()
            .map(|&i| orders[i].ship_by)
            .min()
            .unwrap_or(first.ship_by),
        lines,
    }
}

/// The baseline the benchmark compares with: fixed-size batches filled in
/// order-time order (then id), ignoring strategy and urgency, within the same
/// limits and carrier separation, first order first.
pub fn fifo_baseline(orders: &[BatchOrder], options: &Options) -> Vec<Batch> {
    let limits = Limits::of(options);
    let mut idx = eligible(orders, options);
    let fifo = |i: usize| (orders[i].ordered_at, orders[i].id.as_str());
    idx.sort_by(|&a, &b| fifo(a).cmp(&fifo(b)));
    let mut built: Vec<Vec<usize>> = by_carrier(orders, &idx)
        .into_values()
        .flat_map(|group| cut(orders, &group, limits))
        .collect();
    built.sort_by(|a, b| fifo(a[0]).cmp(&fifo(b[0])));
    built
        .iter()
        .map(|batch| make_batch(orders, Strategy::Fifo, batch))
        .collect()
}

/// Distinct pick locations of a batch (each one a stop of the picker).
pub fn distinct_locations(batch: &Batch) -> usize {
    batch
        .lines
        .iter()
        .map(|l| l.location_code.as_str())
        .collect::<HashSet<_>>()
        .len()
}

/// Aisles a picker enters walking the batch's list in order: a new entry each
/// time the aisle changes. When walk sequences keep an aisle together, as
/// they should, this is the number of distinct aisles.
pub fn aisles_entered(batch: &Batch) -> usize {
    let mut entered = 0;
    let mut last: Option<&str> = None;
    for l in &batch.lines {
        if last != Some(l.aisle.as_str()) {
            entered += 1;
            last = Some(l.aisle.as_str());
        }
    }
    entered
}

/// How good a set of batches is for the pickers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quality {
    pub batches: usize,
    pub orders: usize,
    /// Stops summed over batches: distinct locations of each batch.
    pub location_visits: usize,
    /// Aisle entries summed over batches.
    pub aisle_entries: usize,
}

impl Quality {
    /// Location visits per order (lower is better).
    pub fn locations_per_order(&self) -> f64 {
        ratio(self.location_visits, self.orders)
    }

    /// Aisles entered per batch.
    pub fn aisles_per_batch(&self) -> f64 {
        ratio(self.aisle_entries, self.batches)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The quality figures of a set of batches.
pub fn quality(batches: &[Batch]) -> Quality {
    Quality {
        batches: batches.len(),
        orders: batches.iter().map(|b| b.order_ids.len()).sum(),
        location_visits: batches.iter().map(distinct_locations).sum(),
        aisle_entries: batches.iter().map(aisles_entered).sum(),
    }
}

/// A pick line as a batch has it, for [`follow_lines`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineState {
    pub id: String,
    /// (lot id, location id).
    pub at: (String, String),
    pub qty: i64,
    pub picked_qty: i64,
}

/// A change [`follow_lines`] asks of the batch's lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineChange {
    /// The line asks `by` more (an order was re-reserved to its lot × bin).
    Grow { id: String, by: i64 },
    /// The line asks `by` less, keeping what was picked of it.
    Shrink { id: String, by: i64 },
    /// Nothing of the line was picked and nothing is asked of it any more.
    Delete { id: String },
    /// A lot × bin no line has yet: a new line asking `qty`.
    New { at: (String, String), qty: i64 },
}

/// The changes that bring a batch's lines back to what its orders hold
/// unpicked (`need`, per lot × bin): per lot × bin, what the lines still ask
/// (qty − picked) becomes the need. A shortfall of lines grows the first
/// line there (by id); a surplus shrinks them from the last, never below
/// what was picked, and a line left asking 0 with nothing picked goes. A
/// lot × bin with no line gets a new one.
pub fn follow_lines(
    lines: &[LineState],
    need: &BTreeMap<(String, String), i64>,
) -> Vec<LineChange> {
    let mut by_at: BTreeMap<&(String, String), Vec<&LineState>> = BTreeMap::new();
    for l in lines {
        by_at.entry(&l.at).or_default().push(l);
    }
    let mut changes = Vec::new();
    for (at, mut rows) in by_at {
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        let open: i64 = rows.iter().map(|l| l.qty - l.picked_qty).sum();
        let want = need.get(at).copied().unwrap_or(0);
        if want > open {
            changes.push(LineChange::Grow {
                id: rows[0].id.clone(),
                by: want - open,
            });
        } else if want < open {
            let mut cut = open - want;
            for l in rows.iter().rev() {
                if cut == 0 {
                    break;
                }
                let take = (l.qty - l.picked_qty).min(cut);
                cut -= take;
                if l.qty - take == 0 {
                    changes.push(LineChange::Delete { id: l.id.clone() });
                } else if take > 0 {
                    changes.push(LineChange::Shrink {
                        id: l.id.clone(),
                        by: take,
                    });
                }
            }
        }
    }
    for (at, qty) in need {
        if *qty > 0 && !lines.iter().any(|l| &l.at == at) {
            changes.push(LineChange::New {
                at: at.clone(),
                qty: *qty,
            });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    fn lot_bin(lot: &str, bin: &str) -> (String, String) {
        (lot.to_string(), bin.to_string())
    }

    fn state(id: &str, lot: &str, bin: &str, qty: i64, picked_qty: i64) -> LineState {
        LineState {
            id: id.to_string(),
            at: lot_bin(lot, bin),
            qty,
            picked_qty,
        }
    }

    #[test]
    fn follow_lines_shrinks_keeps_picked_grows_and_adds() {
        let lines = vec![
            // 3 asked, 1 picked, nothing more needed: shrinks to what was picked.
            state("bln_1", "lot_a", "A", 3, 1),
            // Nothing picked, nothing needed: goes.
            state("bln_2", "lot_b", "B", 2, 0),
            // 1 asked, 1 more needed (a re-reserved order): grows.
            state("bln_3", "lot_c", "C", 1, 0),
            // As needed: unchanged.
            state("bln_4", "lot_d", "D", 2, 0),
        ];
        let need = BTreeMap::from([
            (lot_bin("lot_c", "C"), 2),
            (lot_bin("lot_d", "D"), 2),
            (lot_bin("lot_e", "E"), 4),
        ]);
        assert_eq!(
            follow_lines(&lines, &need),
            vec![
                LineChange::Shrink {
                    id: "bln_1".into(),
                    by: 2
                },
                LineChange::Delete { id: "bln_2".into() },
                LineChange::Grow {
                    id: "bln_3".into(),
                    by: 1
                },
                LineChange::New {
                    at: lot_bin("lot_e", "E"),
                    qty: 4
                },
            ]
        );
    }

    #[test]
    fn follow_lines_cuts_two_lines_of_one_bin_from_the_last() {
        let lines = vec![
            state("bln_1", "lot_a", "A", 2, 0),
            state("bln_2", "lot_a", "A", 2, 1),
        ];
        let need = BTreeMap::from([(lot_bin("lot_a", "A"), 1)]);
        assert_eq!(
            follow_lines(&lines, &need),
            vec![
                LineChange::Shrink {
                    id: "bln_2".into(),
                    by: 1
                },
                LineChange::Shrink {
                    id: "bln_1".into(),
                    by: 1
                },
            ]
        );
    }

    use super::*;
    use chrono::NaiveDate;

    fn at(minute: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 11)
            .and_then(|d| d.and_hms_opt(20, 0, 0))
            .map(|t| t + Duration::minutes(minute))
            .expect("a valid time")
    }

    /// A line bought and picked: (SKU, qty, location, walk sequence); the lot
    /// is the SKU's, the aisle the location's first part.
    type Bought<'a> = (&'a str, i64, &'a str, i64);

    fn order(id: &str, minute: i64, carrier: Option<&str>, bought: &[Bought]) -> BatchOrder {
        BatchOrder {
            id: id.into(),
            ordered_at: at(minute),
            ship_by: ship_by(at(minute), None, None),
            carrier_code: carrier.map(str::to_string),
            lines: bought
                .iter()
                .map(|(sku, qty, _, _)| OrderLine {
                    sku_code: sku.to_string(),
                    qty: *qty,
                })
                .collect(),
            picks: bought
                .iter()
                .map(|(sku, qty, loc, walk)| Pick {
                    lot_id: format!("批-{sku}"),
                    sku_code: sku.to_string(),
                    location_code: loc.to_string(),
                    walk_seq: *walk,
                    aisle: loc.split('-').next().unwrap_or("").to_string(),
                    qty: *qty,
                })
                .collect(),
        }
    }

    fn opts(max_orders: usize, max_units: i64) -> Options {
        Options {
            max_orders,
            max_units,
            ..Options::default()
        }
    }

    fn ids(b: &Batch) -> Vec<&str> {
        b.order_ids.iter().map(String::as_str).collect()
    }

    const SF: Option<&str> = Some("顺丰");
    const ZTO: Option<&str> = Some("中通");

    #[test]
    fn a_batch_of_the_orders_left_merges_only_their_picks_in_walk_order() {
        let orders = vec![
            order("o1", 0, SF, &[("茶", 1, "B-01", 2), ("蜜", 2, "A-01", 1)]),
            order("o2", 1, SF, &[("茶", 3, "B-01", 2)]),
            order("o3", 2, SF, &[("罐", 1, "C-01", 3)]),
        ];

        // o3 was claimed elsewhere: the batch keeps o1 and o2.
        let left = batch_of(&orders, Strategy::Cluster, &[0, 1]).expect("two orders");

        assert_eq!(ids(&left), vec!["o1", "o2"]);
        assert_eq!(left.units, 6);
        let lines: Vec<(&str, i64)> = left
            .lines
            .iter()
            .map(|l| (l.location_code.as_str(), l.qty))
            .collect();
        assert_eq!(lines, vec![("A-01", 2), ("B-01", 4)]);
        assert!(batch_of(&orders, Strategy::Cluster, &[]).is_none());
    }

    #[test]
    fn hot_sku_orders_batch_together_in_urgency_order() {
        let mut late_but_urgent = order("o3", 3, SF, &[("口红-红", 1, "A-01", 1)]);
        late_but_urgent.ship_by = at(60);
        let orders = vec![
            order("o1", 1, SF, &[("口红-红", 1, "A-01", 1)]),
            order("o2", 2, SF, &[("口红-红", 1, "A-01", 1)]),
            late_but_urgent,
            order("o4", 4, SF, &[("口红-红", 2, "A-01", 1)]),
        ];

        let batches = build_batches(&orders, &Options::default());

        let hot: Vec<&Batch> = batches
            .iter()
            .filter(|b| b.strategy == Strategy::HotSku)
            .collect();
        assert_eq!(hot.len(), 1);
        assert_eq!(ids(hot[0]), ["o3", "o1", "o2"]);
        assert_eq!(hot[0].lines.len(), 1);
        assert_eq!(hot[0].lines[0].qty, 3);
        // The one order of two units has no partner: cluster takes it.
        let rest: Vec<&Batch> = batches
            .iter()
            .filter(|b| b.strategy == Strategy::Cluster)
            .collect();
        assert_eq!(rest.len(), 1);
        assert_eq!(ids(rest[0]), ["o4"]);
    }

    #[test]
    fn a_remainder_of_one_hot_sku_order_is_left_to_cluster() {
        let orders: Vec<BatchOrder> = (0..5)
            .map(|i| order(&format!("o{i}"), i, SF, &[("面膜", 1, "B-02", 7)]))
            .collect();

        let batches = build_batches(&orders, &opts(2, 100));

        let strategies: Vec<&str> = batches.iter().map(|b| b.strategy.as_str()).collect();
        assert_eq!(strategies, ["hot_sku", "hot_sku", "cluster"]);
        assert_eq!(ids(&batches[2]), ["o4"]);
    }

    #[test]
    fn batches_respect_max_orders_and_max_units() {
        let orders: Vec<BatchOrder> = (0..10)
            .map(|i| {
                order(
                    &format!("o{i}"),
                    i,
                    SF,
                    &[("面膜", 3, "B-02", 7), ("口红", 1, "A-01", 1)],
                )
            })
            .collect();

        let by_orders = build_batches(&orders, &opts(3, 1000));
        let by_units = build_batches(&orders, &opts(100, 10));

        assert_eq!(
            by_orders
                .iter()
                .map(|b| b.order_ids.len())
                .collect::<Vec<_>>(),
            [3, 3, 3, 1]
        );
        assert!(by_units.iter().all(|b| b.units <= 10));
        assert_eq!(
            by_units.iter().map(|b| b.order_ids.len()).sum::<usize>(),
            10
        );
        assert_eq!(by_units[0].order_ids.len(), 2);
    }

    #[test]
    fn an_order_bigger_than_max_units_forms_its_own_batch() {
        let orders = vec![
            order(
                "big",
                0,
                SF,
                &[("矿泉水", 24, "C-01", 20), ("口红", 1, "A-01", 1)],
            ),
            order(
                "o1",
                1,
                SF,
                &[("口红", 1, "A-01", 1), ("面膜", 1, "B-02", 7)],
            ),
            order(
                "o2",
                2,
                SF,
                &[("口红", 1, "A-01", 1), ("面膜", 2, "B-02", 7)],
            ),
        ];

        let batches = build_batches(&orders, &opts(10, 12));

        assert_eq!(batches.len(), 2);
        assert_eq!(ids(&batches[0]), ["big"]);
        assert_eq!(batches[0].units, 25);
        assert_eq!(ids(&batches[1]), ["o1", "o2"]);
    }

    #[test]
    fn limits_below_one_count_as_one() {
        let orders: Vec<BatchOrder> = (0..3)
            .map(|i| order(&format!("o{i}"), i, SF, &[("口红", 1, "A-01", 1)]))
            .collect();

        let batches = build_batches(&orders, &opts(0, 0));

        assert_eq!(batches.len(), 3);
        assert!(batches.iter().all(|b| b.order_ids.len() == 1));
        assert!(batches.iter().all(|b| b.strategy == Strategy::Cluster));
    }

    #[test]
    fn carriers_never_mix_and_no_carrier_is_a_group_of_its_own() {
        let orders = vec![
            order("sf1", 0, SF, &[("口红", 1, "A-01", 1)]),
            order("zto1", 1, ZTO, &[("口红", 1, "A-01", 1)]),
            order("none1", 2, None, &[("口红", 1, "A-01", 1)]),
            order("sf2", 3, SF, &[("口红", 1, "A-01", 1)]),
            order("zto2", 4, ZTO, &[("口红", 1, "A-01", 1)]),
            order("none2", 5, None, &[("口红", 1, "A-01", 1)]),
        ];

        let batches = build_batches(&orders, &Options::default());

        assert_eq!(batches.len(), 3);
        for b in &batches {
            assert_eq!(b.strategy, Strategy::HotSku);
            let carrier = b.carrier_code.as_deref();
            for id in &b.order_ids {
                let o = orders.iter().find(|o| &o.id == id).expect("a known order");
                assert_eq!(o.carrier_code.as_deref(), carrier);
            }
        }
        assert_eq!(ids(&batches[2]), ["none1", "none2"]);
    }

    #[test]
    fn identical_multisets_group_whatever_the_line_order() {
        let orders = vec![
            order(
                "o1",
                0,
                SF,
                &[("口红", 1, "A-01", 1), ("面膜", 2, "B-02", 7)],
            ),
            order(
                "o2",
                1,
                SF,
                &[("面膜", 2, "B-02", 7), ("口红", 1, "A-01", 1)],
            ),
            order(
                "o3",
                2,
                SF,
                &[
                    ("面膜", 1, "B-02", 7),
                    ("口红", 1, "A-01", 1),
                    ("面膜", 1, "B-02", 7),
                ],
            ),
            order(
                "o4",
                3,
                SF,
                &[("口红", 1, "A-01", 1), ("面膜", 1, "B-02", 7)],
            ),
        ];

        let batches = build_batches(&orders, &Options::default());

        assert_eq!(batches[0].strategy, Strategy::Identical);
        assert_eq!(ids(&batches[0]), ["o1", "o2", "o3"]);
        // The multiset (口红 1, 面膜 1) is alone: not an identical batch.
        assert_eq!(batches[1].strategy, Strategy::Cluster);
        assert_eq!(ids(&batches[1]), ["o4"]);
    }

    #[test]
    fn cluster_prefers_orders_sharing_locations() {
        let orders = vec![
            order(
                "seed",
                0,
                SF,
                &[("口红", 1, "A-01", 1), ("面膜", 1, "B-02", 7)],
            ),
            order(
                "far",
                1,
                SF,
                &[("矿泉水", 1, "C-01", 20), ("纸巾", 1, "D-01", 30)],
            ),
            order(
                "near",
                2,
                SF,
                &[("口红", 2, "A-01", 1), ("纸巾", 1, "D-01", 30)],
            ),
            order(
                "same",
                3,
                SF,
                &[("口红", 1, "A-01", 1), ("面膜", 3, "B-02", 7)],
            ),
        ];

        let batches = build_batches(&orders, &opts(3, 100));

        assert_eq!(batches.len(), 2);
        // "same" adds no location, "near" one, "far" two.
        assert_eq!(ids(&batches[0]), ["seed", "near", "same"]);
        assert_eq!(ids(&batches[1]), ["far"]);
    }

    #[test]
    fn cluster_takes_the_next_most_urgent_order_when_none_shares_a_location() {
        let orders = vec![
            order(
                "o1",
                0,
                SF,
                &[("口红", 1, "A-01", 1), ("面膜", 1, "B-02", 7)],
            ),
            order(
                "o2",
                1,
                SF,
                &[("矿泉水", 1, "C-01", 20), ("纸巾", 1, "D-01", 30)],
            ),
            order(
                "o3",
                2,
                SF,
                &[("牙刷", 1, "E-01", 40), ("毛巾", 1, "F-01", 50)],
            ),
        ];

        let batches = build_batches(&orders, &opts(2, 100));

        assert_eq!(ids(&batches[0]), ["o1", "o2"]);
        assert_eq!(ids(&batches[1]), ["o3"]);
    }

    #[test]
    fn cut_off_and_carrier_filter_select_the_orders() {
        let orders = vec![
            order("sf-early", 0, SF, &[("口红", 1, "A-01", 1)]),
            order("zto-early", 1, ZTO, &[("口红", 1, "A-01", 1)]),
            order("sf-at", 10, SF, &[("口红", 1, "A-01", 1)]),
            order("sf-late", 11, SF, &[("口红", 1, "A-01", 1)]),
        ];
        let options = Options {
            carrier_code: SF.map(str::to_string),
            cut_off: Some(at(10)),
            ..Options::default()
        };

        let batches = build_batches(&orders, &options);

        assert_eq!(batches.len(), 1);
        assert_eq!(ids(&batches[0]), ["sf-early", "sf-at"]);
        assert_eq!(batches[0].carrier_code.as_deref(), SF);
    }

    #[test]
    fn pick_lines_merge_per_lot_and_location_in_walk_order() {
        let mut o1 = order(
            "o1",
            0,
            SF,
            &[("面膜", 1, "B-02", 7), ("口红", 1, "A-09", 3)],
        );
        // 口红 reserved from two lots at A-09 and one more bin with the same walk step.
        o1.picks.push(Pick {
            lot_id: "批-口红-2".into(),
            sku_code: "口红".into(),
            location_code: "A-08".into(),
            walk_seq: 3,
            aisle: "A".into(),
            qty: 1,
        });
        o1.lines[1].qty = 2;
        let o2 = order(
            "o2",
            1,
            SF,
            &[("口红", 2, "A-09", 3), ("纸巾", 1, "D-01", 30)],
        );

        let batches = build_batches(&[o1, o2], &opts(2, 100));

        assert_eq!(batches.len(), 1);
        let lines: Vec<(&str, &str, i64, i64)> = batches[0]
            .lines
            .iter()
            .map(|l| {
                (
                    l.location_code.as_str(),
                    l.lot_id.as_str(),
                    l.walk_seq,
                    l.qty,
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                ("A-08", "批-口红-2", 3, 1),
                ("A-09", "批-口红", 3, 3),
                ("B-02", "批-面膜", 7, 1),
                ("D-01", "批-纸巾", 30, 1),
            ]
        );
    }

    #[test]
    fn batches_come_out_most_urgent_first() {
        let mut urgent = order("urgent", 50, ZTO, &[("纸巾", 1, "D-01", 30)]);
        urgent.ship_by = at(55);
        let orders = vec![
            order("o1", 0, SF, &[("口红", 1, "A-01", 1)]),
            order("o2", 1, SF, &[("口红", 1, "A-01", 1)]),
            order(
                "o3",
                2,
                SF,
                &[("面膜", 1, "B-02", 7), ("口红", 1, "A-01", 1)],
            ),
            urgent,
        ];

        let batches = build_batches(&orders, &Options::default());

        let firsts: Vec<&str> = batches.iter().map(|b| b.order_ids[0].as_str()).collect();
        assert_eq!(firsts, ["urgent", "o1", "o3"]);
        assert_eq!(batches[0].ship_by, at(55));
    }

    #[test]
    fn ship_by_given_deadline_wins_else_channel_hours_else_48() {
        let t = at(0);

        assert_eq!(ship_by(t, Some(24), Some(at(90))), at(90));
        assert_eq!(ship_by(t, Some(24), None), t + Duration::hours(24));
        assert_eq!(ship_by(t, None, None), t + Duration::hours(48));
    }

    #[test]
    fn quality_counts_location_visits_and_aisle_entries() {
        let orders = vec![
            order(
                "o1",
                0,
                SF,
                &[("口红", 1, "A-01", 1), ("面膜", 1, "A-02", 2)],
            ),
            order(
                "o2",
                1,
                SF,
                &[("纸巾", 1, "D-01", 30), ("面膜", 1, "A-02", 2)],
            ),
        ];

        let batches = build_batches(&orders, &opts(2, 100));
        let q = quality(&batches);

        assert_eq!(q.batches, 1);
        assert_eq!(q.orders, 2);
        assert_eq!(q.location_visits, 3);
        assert_eq!(q.aisle_entries, 2);
        assert!((q.locations_per_order() - 1.5).abs() < 1e-9);
        assert!((q.aisles_per_batch() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn fifo_baseline_fills_fixed_size_batches_in_order_time_per_carrier() {
        let mut o3 = order("o3", 2, SF, &[("口红", 1, "A-01", 1)]);
        o3.ship_by = at(3);
        let orders = vec![
            order("o1", 0, SF, &[("口红", 1, "A-01", 1)]),
            order("z1", 1, ZTO, &[("口红", 1, "A-01", 1)]),
            o3,
            order("o4", 3, SF, &[("面膜", 1, "B-02", 7)]),
        ];

        let batches = fifo_baseline(&orders, &opts(2, 100));

        let got: Vec<(&str, Vec<&str>)> = batches
            .iter()
            .map(|b| (b.strategy.as_str(), ids(b)))
            .collect();
        assert_eq!(
            got,
            [
                ("fifo", vec!["o1", "o3"]),
                ("fifo", vec!["z1"]),
                ("fifo", vec!["o4"])
            ]
        );
    }

    /// splitmix64: a small deterministic generator, so that sessions repeat.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// A live session: SKU popularity Zipf-like (weight 1/rank), each SKU in
    /// one bin (SKU k at walk step k, 20 bins an aisle), most orders one
    /// unit, some two to four lines, three carrier groups.
    fn session(seed: u64, n: usize, skus: usize) -> Vec<BatchOrder> {
        generated(seed, n, skus, 1.0)
    }

    /// The same with SKU popularity weight 1/rank^s: s = 0 is a wide
    /// assortment with no hot SKU.
    fn generated(seed: u64, n: usize, skus: usize, s: f64) -> Vec<BatchOrder> {
        let mut rng = Rng(seed);
        let cumulative: Vec<f64> = (1..=skus)
            .scan(0.0, |sum, k| {
                *sum += 1.0 / (k as f64).powf(s);
                Some(*sum)
            })
            .collect();
        let total = cumulative[skus - 1];
        let carriers = [Some("顺丰"), Some("中通"), None];
        (0..n)
            .map(|i| {
                let lines = if rng.below(10) < 6 {
                    1
                } else {
                    2 + rng.below(3) as usize
                };
                let mut bought: Vec<(usize, i64)> = Vec::new();
                for _ in 0..lines {
                    let u = rng.unit() * total;
                    let k = cumulative.partition_point(|&c| c < u).min(skus - 1);
                    bought.push((k, 1 + (rng.below(10) / 8) as i64));
                }
                let ordered_at = at(0) + Duration::seconds(i as i64);
                let given = (rng.below(20) == 0).then(|| ordered_at + Duration::hours(6));
                BatchOrder {
                    id: format!("单{i:06}"),
                    ordered_at,
                    ship_by: ship_by(ordered_at, Some(48), given),
                    carrier_code: carriers[rng.below(3) as usize].map(str::to_string),
                    lines: bought
                        .iter()
                        .map(|&(k, qty)| OrderLine {
                            sku_code: format!("SKU-{k}"),
                            qty,
                        })
                        .collect(),
                    picks: bought
                        .iter()
                        .map(|&(k, qty)| Pick {
                            lot_id: format!("LOT-{k}"),
                            sku_code: format!("SKU-{k}"),
                            location_code: format!("{:02}-{:02}", k / 20, k % 20),
                            walk_seq: k as i64,
                            aisle: format!("{:02}", k / 20),
                            qty,
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// Every order at most once, limits and carriers kept; answers how many
    /// orders the batches hold.
    fn assert_sound(orders: &[BatchOrder], batches: &[Batch], options: &Options) -> usize {
        let by_id: HashMap<&str, &BatchOrder> = orders.iter().map(|o| (o.id.as_str(), o)).collect();
        let mut seen: HashSet<&str> = HashSet::new();
        for b in batches {
            assert!(!b.order_ids.is_empty());
            assert!(b.order_ids.len() <= options.max_orders.max(1));
            assert!(b.units <= options.max_units || b.order_ids.len() == 1);
            for id in &b.order_ids {
                assert!(seen.insert(id.as_str()), "order {id} in two batches");
                assert_eq!(by_id[id.as_str()].carrier_code, b.carrier_code);
            }
            if matches!(b.strategy, Strategy::HotSku | Strategy::Identical) {
                assert!(b.order_ids.len() >= MIN_GROUP);
            }
        }
        seen.len()
    }

    #[test]
    fn every_order_lands_in_exactly_one_batch_over_generated_sessions() {
        for seed in 0..20 {
            let orders = session(seed, 400, 60);
            let mut rng = Rng(seed + 1000);
            let options = Options {
                max_orders: 1 + rng.below(25) as usize,
                max_units: 1 + rng.below(40) as i64,
                ..Options::default()
            };

            let batches = build_batches(&orders, &options);

            assert_eq!(assert_sound(&orders, &batches, &options), orders.len());
            let fifo = fifo_baseline(&orders, &options);
            assert_eq!(assert_sound(&orders, &fifo, &options), orders.len());
        }
    }

    #[test]
    fn duplicate_order_ids_are_batched_once() {
        let o = order("同一单", 0, SF, &[("口红", 1, "A-01", 1)]);
        let batches = build_batches(&[o.clone(), o], &Options::default());

        assert_eq!(batches.len(), 1);
        assert_eq!(ids(&batches[0]), ["同一单"]);
    }

    #[test]
    fn the_cluster_pass_covers_100000_generated_orders_once() {
        // Multi-line orders only over a wide assortment: nearly all of them
        // go through the cluster pass, with hot locations visited by
        // thousands of orders.
        let orders: Vec<BatchOrder> = session(7, 250_000, 500)
            .into_iter()
            .filter(|o| o.lines.len() > 1)
            .take(100_000)
            .collect();
        let options = Options::default();

        let t = std::time::Instant::now();
        let batches = build_batches(&orders, &options);
        eprintln!("{} orders in {:?}", orders.len(), t.elapsed());

        assert_eq!(assert_sound(&orders, &batches, &options), orders.len());
        assert!(batches.iter().any(|b| b.strategy == Strategy::Cluster));
    }

    #[test]
    fn batching_visits_fewer_locations_per_order_than_fifo_on_a_zipf_session() {
        let orders = session(42, 20_000, 200);
        let options = Options::default();

        let ours = quality(&build_batches(&orders, &options));
        let fifo = quality(&fifo_baseline(&orders, &options));

        let ratio = fifo.locations_per_order() / ours.locations_per_order();
        eprintln!(
            "locations/order ours {:.3} fifo {:.3} ratio {ratio:.2}; aisles/batch ours {:.2} fifo {:.2}",
            ours.locations_per_order(),
            fifo.locations_per_order(),
            ours.aisles_per_batch(),
            fifo.aisles_per_batch()
        );
        // 2.77 on this deterministic session (0.38 against 1.06 locations per
        // order); 2.5 leaves room for tuning the candidate bound.
        assert!(ratio > 2.5, "FIFO/ours location visits per order = {ratio}");
        assert!(ours.aisles_per_batch() <= fifo.aisles_per_batch());
    }

    #[test]
    fn the_cluster_strategy_alone_beats_fifo_on_multi_line_orders() {
        // Multi-line orders with no identical twin go to cluster; FIFO takes
        // the same orders.
        for (s, skus) in [(1.0, 200), (0.0, 500)] {
            let orders: Vec<BatchOrder> = generated(3, 12_000, skus, s)
                .into_iter()
                .filter(|o| o.lines.len() > 1)
                .collect();
            let options = Options::default();

            let batches = build_batches(&orders, &options);
            let clustered: Vec<Batch> = batches
                .into_iter()
                .filter(|b| b.strategy == Strategy::Cluster)
                .collect();
            let chosen: HashSet<&str> = clustered
                .iter()
                .flat_map(|b| b.order_ids.iter().map(String::as_str))
                .collect();
            let same: Vec<BatchOrder> = orders
                .iter()
                .filter(|o| chosen.contains(o.id.as_str()))
                .cloned()
                .collect();
            let ours = quality(&clustered);
            let fifo = quality(&fifo_baseline(&same, &options));

            let ratio = fifo.locations_per_order() / ours.locations_per_order();
            eprintln!(
                "s={s} skus={skus}: cluster {:.3} fifo {:.3} locations/order, ratio {ratio:.2}",
                ours.locations_per_order(),
                fifo.locations_per_order()
            );
            // 1.82 (Zipf, 200 SKUs) and 1.64 (uniform, 500 SKUs) here.
            assert!(
                ratio > 1.5,
                "FIFO/cluster location visits per order = {ratio}"
            );
        }
    }

    #[test]
    fn batching_beats_fifo_on_a_wide_assortment_session() {
        let orders = generated(5, 20_000, 500, 0.0);
        let options = Options::default();

        let ours = quality(&build_batches(&orders, &options));
        let fifo = quality(&fifo_baseline(&orders, &options));

        let ratio = fifo.locations_per_order() / ours.locations_per_order();
        eprintln!(
            "wide: ours {:.3} fifo {:.3} locations/order, ratio {ratio:.2}",
            ours.locations_per_order(),
            fifo.locations_per_order()
        );
        // 2.31 here: single-line orders of 500 SKUs still pair up as hot_sku.
        assert!(ratio > 2.0, "FIFO/ours location visits per order = {ratio}");
    }
}
