-- Reduced inspection (ISO 2859-1:1999 clauses 9.3.3, 9.3.4, Table 2-C).

-- Staff's approval of reduced inspection for a merchant × SKU (the SKU
-- belongs to one merchant), and its withdrawal: one row per change, never
-- edited, so the history says who set or cleared it, when and why.
CREATE TABLE reduced_inspection_approvals (
    id          TEXT PRIMARY KEY NOT NULL,
    sku_id      TEXT NOT NULL REFERENCES skus (id),
    enabled     BOOLEAN NOT NULL,
    reason      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    created_by  TEXT
);
CREATE INDEX reduced_inspection_approvals_sku ON reduced_inspection_approvals (sku_id, created_at);

CREATE TRIGGER reduced_inspection_approvals_no_update BEFORE UPDATE ON reduced_inspection_approvals
BEGIN SELECT RAISE(ABORT, 'reduced_inspection_approvals is append-only'); END;
CREATE TRIGGER reduced_inspection_approvals_no_delete BEFORE DELETE ON reduced_inspection_approvals
BEGIN SELECT RAISE(ABORT, 'reduced_inspection_approvals is append-only'); END;

-- An inspection may now be on reduced inspection. SQLite cannot alter a CHECK
-- constraint; widening one (no stored row can break it) is the case its
-- documentation allows through writable_schema (lang_altertable, "Making
-- other kinds of table schema changes"). The CREATE TABLE above changed the
-- schema version, so every connection opened after this one reads the new text.
PRAGMA writable_schema = ON;
UPDATE sqlite_master
SET sql = replace(sql, 'CHECK (severity IN (''normal'', ''tightened''))',
                       'CHECK (severity IN (''normal'', ''tightened'', ''reduced''))')
WHERE type = 'table' AND name = 'inspections';
PRAGMA writable_schema = OFF;
