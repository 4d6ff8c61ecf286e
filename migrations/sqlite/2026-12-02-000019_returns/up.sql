-- Re-read the schema first (earlier migrations edited table definitions
-- through writable_schema).
PRAGMA writable_schema = RESET;

-- Returns: units of a dispatched order that come back to the warehouse,
-- either a whole parcel (a carrier's return to sender, by SSCC) or units an
-- consumer sends back (by order, with lines). A return is received onto a
-- returns location, then re-inspected once: per line, restocked or scrapped.
CREATE TABLE returns (
    id            TEXT PRIMARY KEY NOT NULL,
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    order_id      TEXT NOT NULL REFERENCES orders (id),
    -- The parcel received back whole; NULL for a consumer return.
    parcel_id     TEXT REFERENCES parcels (id),
    kind          TEXT NOT NULL CHECK (kind IN ('parcel', 'consumer')),
    reason        TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('received', 'inspected')),
    -- Where the units arrived (a location of kind returns).
    location_id   TEXT NOT NULL REFERENCES locations (id),
    created_at    TIMESTAMP NOT NULL,
    created_by    TEXT,
    -- The re-inspection: the template its findings were recorded against.
    template_id   TEXT REFERENCES inspection_templates (id),
    notes         TEXT,
    inspected_at  TIMESTAMP,
    inspected_by  TEXT
);
-- A parcel comes back once: two receptions of one SSCC at once meet here.
CREATE UNIQUE INDEX returns_one_per_parcel ON returns (parcel_id) WHERE parcel_id IS NOT NULL;
CREATE INDEX returns_order ON returns (order_id, id);
CREATE INDEX returns_status ON returns (status, id);
CREATE INDEX returns_merchant ON returns (merchant_id, id);

-- What came back: units of one order line from one lot.
CREATE TABLE return_lines (
    id             TEXT PRIMARY KEY NOT NULL,
    return_id      TEXT NOT NULL REFERENCES returns (id),
    line_no        INTEGER NOT NULL,
    order_line_no  INTEGER NOT NULL,
    sku_id         TEXT NOT NULL REFERENCES skus (id),
    lot_id         TEXT NOT NULL REFERENCES lots (id),
    qty            BIGINT NOT NULL CHECK (qty > 0),
    -- The re-inspection's decision; restock_qty + scrap_qty = qty.
    restock_qty    BIGINT CHECK (restock_qty >= 0),
    scrap_qty      BIGINT CHECK (scrap_qty >= 0),
    CHECK ((restock_qty IS NULL AND scrap_qty IS NULL) OR restock_qty + scrap_qty = qty),
    UNIQUE (return_id, line_no)
);
CREATE INDEX return_lines_lot ON return_lines (lot_id);

-- The re-inspection's findings per check of its template, and its evidence
-- (as inspection_findings and inspection_evidence are for a lot).
CREATE TABLE return_findings (
    return_id     TEXT NOT NULL REFERENCES returns (id),
    check_code    TEXT NOT NULL,
    defect_class  TEXT NOT NULL CHECK (defect_class IN ('critical', 'major', 'minor')),
    defects       BIGINT NOT NULL CHECK (defects >= 0),
    PRIMARY KEY (return_id, check_code)
);
CREATE TABLE return_evidence (
    return_id  TEXT NOT NULL REFERENCES returns (id),
    position   INTEGER NOT NULL,
    uri        TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    PRIMARY KEY (return_id, position)
);
