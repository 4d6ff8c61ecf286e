-- Receiving in several deliveries, one lot per SKU and lot code, GTINs
-- unique per merchant.

-- The receipt's progress: announced → partially_received → received →
-- closed. It is a column of its own because SQLite cannot widen the CHECK of
-- `receipts.status` without rebuilding the table, which the foreign keys of
-- receipt_lines forbid inside a migration's transaction; `status` keeps its
-- first meaning (announced, or arrived: at least one delivery came).
ALTER TABLE receipts ADD COLUMN progress TEXT NOT NULL DEFAULT 'announced'
    CHECK (progress IN ('announced', 'partially_received', 'received', 'closed'));
ALTER TABLE receipts ADD COLUMN closed_at TIMESTAMP;
ALTER TABLE receipts ADD COLUMN closed_by TEXT;

-- Receipts that arrived before deliveries were recorded took their one
-- arrival: they are closed, at the time they arrived.
UPDATE receipts SET progress = 'closed', closed_at = arrived_at, closed_by = arrived_by
    WHERE status = 'arrived';
UPDATE receipt_lines SET received_qty = 0
    WHERE received_qty IS NULL
      AND receipt_id IN (SELECT id FROM receipts WHERE status = 'arrived');

-- One row per delivery (truck) of a receipt, and what it brought per line.
CREATE TABLE receipt_arrivals (
    id           TEXT PRIMARY KEY NOT NULL,
    receipt_id   TEXT NOT NULL REFERENCES receipts (id),
    seq          INTEGER NOT NULL,
    location_id  TEXT REFERENCES locations (id),
    arrived_at   TIMESTAMP NOT NULL,
    arrived_by   TEXT,
    UNIQUE (receipt_id, seq)
);

CREATE TABLE receipt_arrival_lines (
    arrival_id       TEXT NOT NULL REFERENCES receipt_arrivals (id),
    receipt_line_id  TEXT NOT NULL REFERENCES receipt_lines (id),
    received_qty     BIGINT NOT NULL CHECK (received_qty >= 0),
    lot_id           TEXT REFERENCES lots (id),
    PRIMARY KEY (arrival_id, receipt_line_id)
);

-- The single arrival of older receipts, as a first delivery (its location is
-- not known here: null).
INSERT INTO receipt_arrivals (id, receipt_id, seq, location_id, arrived_at, arrived_by)
    SELECT 'arr_' || id, id, 1, NULL, arrived_at, arrived_by
    FROM receipts WHERE status = 'arrived' AND arrived_at IS NOT NULL;
INSERT INTO receipt_arrival_lines (arrival_id, receipt_line_id, received_qty, lot_id)
    SELECT 'arr_' || rl.receipt_id, rl.id, COALESCE(rl.received_qty, 0),
           (SELECT l.id FROM lots l WHERE l.receipt_line_id = rl.id)
    FROM receipt_lines rl
    WHERE rl.receipt_id IN (SELECT id FROM receipts WHERE status = 'arrived' AND arrived_at IS NOT NULL);

-- Units that arrived after the lot's inspection began: they wait in
-- receiving for an inspection of their own and cannot be put away.
ALTER TABLE lots ADD COLUMN uninspected_qty BIGINT NOT NULL DEFAULT 0
    CHECK (uninspected_qty >= 0);
-- One lot per merchant, SKU and merchant lot code.
CREATE UNIQUE INDEX lots_merchant_sku_lot_code ON lots (merchant_id, sku_id, lot_code);

-- `lot`: the inspection of the whole lot; `added_units`: of the units added
-- to an accepted lot by a later delivery (its lot size is their number).
ALTER TABLE inspections ADD COLUMN scope TEXT NOT NULL DEFAULT 'lot'
    CHECK (scope IN ('lot', 'added_units'));

-- A merchant uses a GTIN for one SKU only (NULLs, SKUs without GTIN, repeat).
CREATE UNIQUE INDEX skus_merchant_gtin ON skus (merchant_id, gtin);
