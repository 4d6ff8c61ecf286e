-- Backward trace: the events of an order (its business transaction) and of
-- its parcels (an SSCC's EPC URI as parent), found by index, not by
-- scanning a busy lot's log.
CREATE INDEX trace_events_biz_tx ON trace_events (biz_tx_id, id);
CREATE INDEX trace_events_parent ON trace_events (parent_id, id);

-- Recalls: a lot's remaining stock held, its open orders back-ordered or
-- cancelled, its parcels not yet handed over taken off their manifests.
CREATE TABLE recalls (
    id          TEXT PRIMARY KEY NOT NULL,
    lot_id      TEXT NOT NULL REFERENCES lots (id),
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    reason      TEXT NOT NULL,
    open_orders TEXT NOT NULL CHECK (open_orders IN ('backorder', 'cancel')),
    hold_id     TEXT NOT NULL REFERENCES stock_holds (id),
    -- Units of the lot still in the warehouse when it was recalled.
    held_qty    BIGINT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    created_by  TEXT
);
CREATE INDEX recalls_lot ON recalls (lot_id, id);

-- The orders a recall changed, and what it did to each.
CREATE TABLE recall_orders (
    recall_id TEXT NOT NULL REFERENCES recalls (id),
    order_id  TEXT NOT NULL REFERENCES orders (id),
    -- backordered, reserved (again, from other stock), cancelled, or
    -- picked (its units wait on the packing location: stop them there).
    action    TEXT NOT NULL,
    PRIMARY KEY (recall_id, order_id)
);

-- The parcels a recall stopped (taken off their manifests).
CREATE TABLE recall_parcels (
    recall_id TEXT NOT NULL REFERENCES recalls (id),
    parcel_id TEXT NOT NULL REFERENCES parcels (id),
    PRIMARY KEY (recall_id, parcel_id)
);
