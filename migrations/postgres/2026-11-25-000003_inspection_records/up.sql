-- Inspection records beyond the first migration: evidence files uploaded to
-- depot, the dispositions of quarantined lots, and indexes for the reports
-- and the switching history.

-- Files stored content-addressed under DEPOT_DATA_DIR/evidence; the row
-- records what was checked at upload.
CREATE TABLE evidence_files (
    sha256        TEXT PRIMARY KEY NOT NULL,
    content_type  TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL CHECK (size_bytes > 0),
    created_at    TIMESTAMP NOT NULL,
    created_by    TEXT
);

-- What was done with a quarantined lot: returned to the merchant, scrapped,
-- or screened 100% (good units accepted, the rest scrapped).
CREATE TABLE lot_dispositions (
    id             TEXT PRIMARY KEY NOT NULL,
    lot_id         TEXT NOT NULL REFERENCES lots (id),
    inspection_id  TEXT REFERENCES inspections (id),
    action         TEXT NOT NULL CHECK (action IN ('return', 'scrap', 'screen')),
    good_qty       BIGINT NOT NULL CHECK (good_qty >= 0),
    removed_qty    BIGINT NOT NULL CHECK (removed_qty >= 0),
    notes          TEXT,
    created_at     TIMESTAMP NOT NULL,
    created_by     TEXT
);
CREATE INDEX lot_dispositions_lot ON lot_dispositions (lot_id, id);

CREATE INDEX inspections_finished ON inspections (finished_at, id);
CREATE INDEX inspection_evidence_sha ON inspection_evidence (sha256);
CREATE INDEX inspection_resumptions_sku ON inspection_resumptions (sku_id, id);
