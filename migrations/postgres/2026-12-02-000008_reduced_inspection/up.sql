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

CREATE TRIGGER reduced_inspection_approvals_append_only
    BEFORE UPDATE OR DELETE ON reduced_inspection_approvals
    FOR EACH ROW EXECUTE FUNCTION depot_append_only();

-- An inspection may now be on reduced inspection.
ALTER TABLE inspections DROP CONSTRAINT inspections_severity_check;
ALTER TABLE inspections ADD CONSTRAINT inspections_severity_check
    CHECK (severity IN ('normal', 'tightened', 'reduced'));
