-- Pick batches (waves): which reserved orders a picker collects in one walk,
-- and the walk-ordered pick list of each. An order's ship-by deadline is not
-- stored yet: the service computes it as order time + 48 h (the channel
-- default of domain::batching) until merchants send one.

CREATE TABLE batches (
    id          TEXT PRIMARY KEY NOT NULL,
    strategy    TEXT NOT NULL CHECK (strategy IN ('hot_sku', 'identical', 'cluster')),
    -- NULL: orders that name no carrier (a batch never mixes carriers).
    carrier_id  TEXT REFERENCES carriers (id),
    status      TEXT NOT NULL CHECK (status IN ('open', 'picking', 'picked')),
    created_at  TIMESTAMP NOT NULL,
    created_by  TEXT
);
CREATE INDEX batches_status ON batches (status, id);

-- An order is in at most one batch: order_id is unique.
CREATE TABLE batch_orders (
    batch_id  TEXT NOT NULL REFERENCES batches (id),
    order_id  TEXT NOT NULL UNIQUE REFERENCES orders (id),
    PRIMARY KEY (batch_id, order_id)
);

-- The pick list: the batch's reservations merged per lot x bin.
CREATE TABLE batch_lines (
    id           TEXT PRIMARY KEY NOT NULL,
    batch_id     TEXT NOT NULL REFERENCES batches (id),
    lot_id       TEXT NOT NULL REFERENCES lots (id),
    location_id  TEXT NOT NULL REFERENCES locations (id),
    qty          BIGINT NOT NULL CHECK (qty > 0),
    picked_qty   BIGINT NOT NULL DEFAULT 0 CHECK (picked_qty >= 0 AND picked_qty <= qty),
    walk_seq     INTEGER NOT NULL
);
CREATE INDEX batch_lines_batch ON batch_lines (batch_id, walk_seq);

-- The claim: set once, by a guarded UPDATE (… WHERE batch_id IS NULL), so
-- that two instances building at once never batch an order twice. No
-- REFERENCES here: SQLite cannot drop a column that has one (down.sql).
ALTER TABLE orders ADD COLUMN batch_id TEXT;
CREATE INDEX orders_batch ON orders (batch_id);
