-- Re-read the schema first: migrations 000013 and 000014 edited table
-- definitions through writable_schema, which this connection has not reloaded.
PRAGMA writable_schema = RESET;

-- Manifests: a carrier's list of parcels to hand over. At most one is open
-- per carrier, also with several depot instances packing at once: the
-- partial unique index makes a second open manifest impossible, and packers
-- create the open one with INSERT … ON CONFLICT DO NOTHING.
CREATE TABLE manifests (
    id          TEXT PRIMARY KEY NOT NULL,
    carrier_id  TEXT NOT NULL REFERENCES carriers (id),
    status      TEXT NOT NULL CHECK (status IN ('open', 'closed', 'handed_over')),
    created_at  TIMESTAMP NOT NULL,
    created_by  TEXT,
    closed_at   TIMESTAMP,
    closed_by   TEXT
);
CREATE UNIQUE INDEX manifests_one_open ON manifests (carrier_id) WHERE status = 'open';
CREATE INDEX manifests_carrier ON manifests (carrier_id, status, id);

-- Parcels: one packed box of an order, named by its SSCC (GS1 General
-- Specifications §2.2.1). `company_prefix_len` keeps where the company
-- prefix ends inside the SSCC (the digits alone do not say), so the label
-- and the EPC URI can be written even after the configured prefix changes.
CREATE TABLE parcels (
    id                  TEXT PRIMARY KEY NOT NULL,
    sscc                TEXT NOT NULL UNIQUE,
    company_prefix_len  INTEGER NOT NULL CHECK (company_prefix_len BETWEEN 7 AND 10),
    order_id            TEXT NOT NULL REFERENCES orders (id),
    merchant_id         TEXT NOT NULL REFERENCES merchants (id),
    carrier_id          TEXT NOT NULL REFERENCES carriers (id),
    manifest_id         TEXT REFERENCES manifests (id),
    -- The batch packed at once (POST /batches/{id}/parcels), else NULL.
    batch_id            TEXT,
    tracking_no         TEXT NOT NULL,
    weight_g            BIGINT NOT NULL CHECK (weight_g BETWEEN 1 AND 70000),
    status              TEXT NOT NULL CHECK (status IN ('packed', 'handed_over', 'in_transit', 'delivered', 'failed_delivery', 'returned_to_sender', 'returned', 'removed')),
    created_at          TIMESTAMP NOT NULL,
    created_by          TEXT
);
CREATE UNIQUE INDEX parcels_tracking ON parcels (carrier_id, tracking_no);
CREATE INDEX parcels_order ON parcels (order_id, id);
CREATE INDEX parcels_manifest ON parcels (manifest_id, id);
CREATE INDEX parcels_batch ON parcels (batch_id, id);

-- What went into a parcel: units of an order line from one lot.
CREATE TABLE parcel_lines (
    parcel_id  TEXT NOT NULL REFERENCES parcels (id),
    line_no    INTEGER NOT NULL,
    lot_id     TEXT NOT NULL REFERENCES lots (id),
    qty        BIGINT NOT NULL CHECK (qty > 0),
    PRIMARY KEY (parcel_id, line_no, lot_id)
);
CREATE INDEX parcel_lines_lot ON parcel_lines (lot_id);

-- A parcel's status history: packed, then what dispatch and the carrier add.
CREATE TABLE parcel_statuses (
    parcel_id    TEXT NOT NULL REFERENCES parcels (id),
    seq          INTEGER NOT NULL,
    status       TEXT NOT NULL,
    at           TIMESTAMP NOT NULL,
    recorded_at  TIMESTAMP NOT NULL,
    recorded_by  TEXT,
    PRIMARY KEY (parcel_id, seq)
);

-- AggregationEvents name their parent (the parcel's SSCC as an EPC URI).
ALTER TABLE trace_events ADD COLUMN parent_id TEXT;

-- Serial numbers unique across instances (SSCC serial references and
-- tracking numbers): SQLite has one writer at a time, so a counter row
-- updated inside the packing transaction is enough.
CREATE TABLE counters (
    name   TEXT PRIMARY KEY NOT NULL,
    value  BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('sscc_serial', 0), ('tracking_no', 0);

-- The order states packing adds, and the ledger's `pack` movement (packing
-- location -> dispatch location). SQLite cannot alter a CHECK constraint;
-- widening one (no stored row can break it) is the case its documentation
-- allows through writable_schema (lang_altertable, "Making other kinds of
-- table schema changes").
PRAGMA writable_schema = ON;
UPDATE sqlite_master
SET sql = replace(sql, '''cancelled'', ''picked''))',
                       '''cancelled'', ''picked'', ''packed''))')
WHERE type = 'table' AND name = 'orders';
UPDATE sqlite_master
SET sql = replace(sql, '''hold'', ''release''))',
                       '''hold'', ''release'', ''pack''))')
WHERE type = 'table' AND name = 'ledger_entries';
PRAGMA writable_schema = OFF;
