-- Storage: bin capacity, the SKU's storage zone, holds that take stock out of
-- sellable status, and the record of cycle counts.

-- Units a bin can hold in all (NULL: no limit).
ALTER TABLE locations ADD COLUMN capacity BIGINT CHECK (capacity IS NULL OR capacity > 0);
-- The zone whose bins a SKU is put away to, when depot suggests one.
ALTER TABLE skus ADD COLUMN storage_zone TEXT;

-- A hold makes a lot's stock (at one location, or everywhere when
-- location_id is NULL) unsellable until it is released: damage found in
-- storage, expiry, a quality concern.
CREATE TABLE stock_holds (
    id           TEXT PRIMARY KEY NOT NULL,
    lot_id       TEXT NOT NULL REFERENCES lots (id),
    location_id  TEXT REFERENCES locations (id),
    reason       TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('damage', 'expired', 'quality')),
    created_at   TIMESTAMP NOT NULL,
    created_by   TEXT,
    released_at  TIMESTAMP,
    released_by  TEXT
);
CREATE INDEX stock_holds_lot ON stock_holds (lot_id, id);

-- Cycle counts: what was expected, what was counted, and the adjustment posted.
CREATE TABLE stock_counts (
    id            TEXT PRIMARY KEY NOT NULL,
    lot_id        TEXT NOT NULL REFERENCES lots (id),
    location_id   TEXT NOT NULL REFERENCES locations (id),
    expected_qty  BIGINT NOT NULL,
    counted_qty   BIGINT NOT NULL CHECK (counted_qty >= 0),
    movement_id   TEXT,
    reason        TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    created_by    TEXT
);
CREATE INDEX stock_counts_lot ON stock_counts (lot_id, id);

CREATE INDEX stock_location ON stock (location_id, lot_id);
CREATE INDEX lots_expiry ON lots (expiry_date, id);
