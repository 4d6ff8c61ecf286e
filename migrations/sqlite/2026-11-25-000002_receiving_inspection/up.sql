-- Receiving and inspection: master data (SKUs, locations, inspection
-- templates), receipts (ASNs), lots, inspections, the inventory ledger with
-- its stock table, and the trace log every stage writes to.

CREATE TABLE skus (
    id               TEXT PRIMARY KEY NOT NULL,
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    code             TEXT NOT NULL,
    name             TEXT NOT NULL,
    gtin             TEXT,
    category         TEXT,
    shelf_life_days  INTEGER CHECK (shelf_life_days IS NULL OR shelf_life_days > 0),
    created_at       TIMESTAMP NOT NULL,
    created_by       TEXT,
    UNIQUE (merchant_id, code)
);

CREATE TABLE locations (
    id          TEXT PRIMARY KEY NOT NULL,
    code        TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('receiving', 'quarantine', 'storage', 'packing', 'dispatch')),
    zone        TEXT,
    walk_seq    INTEGER NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL,
    created_by  TEXT
);

-- Templates are never edited: a new one for the same category replaces the
-- old for new inspections, and an inspection keeps the one it was made with.
CREATE TABLE inspection_templates (
    id            TEXT PRIMARY KEY NOT NULL,
    category      TEXT NOT NULL,
    aql_critical  TEXT NOT NULL,
    aql_major     TEXT NOT NULL,
    aql_minor     TEXT NOT NULL,
    level         TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    created_by    TEXT
);
CREATE INDEX inspection_templates_category ON inspection_templates (category, id);

CREATE TABLE inspection_checks (
    template_id    TEXT NOT NULL REFERENCES inspection_templates (id),
    position       INTEGER NOT NULL,
    code           TEXT NOT NULL,
    description    TEXT NOT NULL,
    defect_class   TEXT NOT NULL CHECK (defect_class IN ('critical', 'major', 'minor')),
    PRIMARY KEY (template_id, position),
    UNIQUE (template_id, code)
);

CREATE TABLE receipts (
    id           TEXT PRIMARY KEY NOT NULL,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    reference    TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('announced', 'arrived')),
    created_at   TIMESTAMP NOT NULL,
    created_by   TEXT,
    arrived_at   TIMESTAMP,
    arrived_by   TEXT,
    UNIQUE (merchant_id, reference)
);

CREATE TABLE receipt_lines (
    id               TEXT PRIMARY KEY NOT NULL,
    receipt_id       TEXT NOT NULL REFERENCES receipts (id),
    line_no          INTEGER NOT NULL,
    sku_id           TEXT NOT NULL REFERENCES skus (id),
    lot_code         TEXT NOT NULL,
    expected_qty     BIGINT NOT NULL CHECK (expected_qty > 0),
    received_qty     BIGINT CHECK (received_qty IS NULL OR received_qty >= 0),
    production_date  DATE,
    expiry_date      DATE,
    UNIQUE (receipt_id, line_no)
);

CREATE TABLE lots (
    id               TEXT PRIMARY KEY NOT NULL,
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    sku_id           TEXT NOT NULL REFERENCES skus (id),
    receipt_line_id  TEXT NOT NULL UNIQUE REFERENCES receipt_lines (id),
    lot_code         TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('received', 'inspecting', 'accepted', 'quarantined', 'returned', 'scrapped')),
    received_qty     BIGINT NOT NULL CHECK (received_qty > 0),
    production_date  DATE,
    expiry_date      DATE,
    created_at       TIMESTAMP NOT NULL,
    created_by       TEXT,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX lots_merchant_status ON lots (merchant_id, status, id);
CREATE INDEX lots_sku ON lots (sku_id, id);

CREATE TABLE inspections (
    id             TEXT PRIMARY KEY NOT NULL,
    lot_id         TEXT NOT NULL REFERENCES lots (id),
    template_id    TEXT NOT NULL REFERENCES inspection_templates (id),
    supersedes_id  TEXT UNIQUE REFERENCES inspections (id),
    status         TEXT NOT NULL CHECK (status IN ('in_progress', 'finished')),
    level          TEXT NOT NULL,
    severity       TEXT NOT NULL CHECK (severity IN ('normal', 'tightened')),
    lot_size       BIGINT NOT NULL,
    plans          TEXT NOT NULL,
    inspected_qty  BIGINT,
    verdict        TEXT CHECK (verdict IS NULL OR verdict IN ('accepted', 'rejected')),
    notes          TEXT,
    started_at     TIMESTAMP NOT NULL,
    started_by     TEXT,
    finished_at    TIMESTAMP,
    finished_by    TEXT
);
CREATE INDEX inspections_lot ON inspections (lot_id, id);

CREATE TABLE inspection_findings (
    inspection_id  TEXT NOT NULL REFERENCES inspections (id),
    check_code     TEXT NOT NULL,
    defect_class   TEXT NOT NULL CHECK (defect_class IN ('critical', 'major', 'minor')),
    defects        BIGINT NOT NULL CHECK (defects >= 0),
    PRIMARY KEY (inspection_id, check_code)
);

CREATE TABLE inspection_evidence (
    inspection_id  TEXT NOT NULL REFERENCES inspections (id),
    position       INTEGER NOT NULL,
    uri            TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    PRIMARY KEY (inspection_id, position)
);

-- Admin decisions that resume discontinued inspection (ISO 2859-1 clause 9.4)
-- of one merchant's SKU.
CREATE TABLE inspection_resumptions (
    id           TEXT PRIMARY KEY NOT NULL,
    sku_id       TEXT NOT NULL REFERENCES skus (id),
    reason       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    created_by   TEXT
);

-- The inventory ledger: append-only, one row per lot × location change.
-- A move is two rows (−n at the source, +n at the destination).
CREATE TABLE ledger_entries (
    id              TEXT PRIMARY KEY NOT NULL,
    movement_id     TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('receive', 'putaway', 'move', 'pick', 'adjust', 'ship', 'return', 'scrap', 'hold', 'release')),
    lot_id          TEXT NOT NULL REFERENCES lots (id),
    location_id     TEXT NOT NULL REFERENCES locations (id),
    delta           BIGINT NOT NULL CHECK (delta <> 0),
    reference_type  TEXT,
    reference_id    TEXT,
    reason          TEXT,
    created_at      TIMESTAMP NOT NULL,
    created_by      TEXT
);
CREATE INDEX ledger_entries_lot ON ledger_entries (lot_id, id);

-- On-hand per lot × location, kept in the same transaction as the ledger.
CREATE TABLE stock (
    lot_id       TEXT NOT NULL REFERENCES lots (id),
    location_id  TEXT NOT NULL REFERENCES locations (id),
    on_hand      BIGINT NOT NULL CHECK (on_hand >= 0),
    reserved     BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand),
    PRIMARY KEY (lot_id, location_id)
);

-- The trace log (GS1 EPCIS 2.0 / CBV 2.0 model), append-only.
CREATE TABLE trace_events (
    id                  TEXT PRIMARY KEY NOT NULL,
    event_type          TEXT NOT NULL,
    action              TEXT NOT NULL CHECK (action IN ('ADD', 'OBSERVE', 'DELETE')),
    event_time          TIMESTAMP NOT NULL,
    event_tz_offset     TEXT NOT NULL,
    biz_step            TEXT NOT NULL,
    disposition         TEXT NOT NULL,
    lot_id              TEXT REFERENCES lots (id),
    what_class          TEXT NOT NULL,
    quantity            BIGINT,
    location_id         TEXT REFERENCES locations (id),
    biz_tx_type         TEXT,
    biz_tx_id           TEXT,
    actor               TEXT,
    recorded_at         TIMESTAMP NOT NULL
);
CREATE INDEX trace_events_lot ON trace_events (lot_id, id);

-- The template for SKUs whose category has none (ISO 2859-1 defaults: general
-- inspection level II; AQL 2.5 for major, 4.0 for minor; any critical defect rejects).
INSERT INTO inspection_templates (id, category, aql_critical, aql_major, aql_minor, level, created_at, created_by)
VALUES ('tpl_default', 'default', '0', '2.5', '4.0', 'II', '2026-11-25 00:00:00', NULL);
INSERT INTO inspection_checks (template_id, position, code, description, defect_class) VALUES
    ('tpl_default', 1, 'safety', 'Hazard to the user: sharp edge, contamination, spoilage, foreign matter', 'critical'),
    ('tpl_default', 2, 'function', 'Does not work or cannot be used as intended; broken or leaking', 'major'),
    ('tpl_default', 3, 'labelling', 'Label, GTIN, lot code or expiry date missing, wrong or unreadable', 'major'),
    ('tpl_default', 4, 'packaging', 'Packaging damaged without harm to the goods', 'minor'),
    ('tpl_default', 5, 'cosmetic', 'Cosmetic flaw: scratch, stain, colour deviation', 'minor');

-- A receiving dock and a quarantine cage, so that goods can arrive and be held
-- before anyone has set up the floor; more are added through the API.
INSERT INTO locations (id, code, kind, zone, walk_seq, created_at, created_by) VALUES
    ('loc_receiving', 'RECV', 'receiving', 'inbound', 0, '2026-11-25 00:00:00', NULL),
    ('loc_quarantine', 'QUAR', 'quarantine', 'inbound', 0, '2026-11-25 00:00:00', NULL);
