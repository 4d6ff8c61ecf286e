-- Master data that can be corrected and retired; templates that are versioned
-- and scoped; the default location of each kind; why a correction was made.

-- An inspection template serves every merchant (merchant_id NULL) or one
-- merchant, and is the `version`-th template of its (category, scope).
-- Templates are never edited: a new one for a (category, scope) is its next
-- version, and the highest version is used for new inspections.
ALTER TABLE inspection_templates ADD COLUMN merchant_id TEXT;  -- a merchants id (no REFERENCES: SQLite could not drop the column again)
ALTER TABLE inspection_templates ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0);
UPDATE inspection_templates SET version = (
    SELECT COUNT(*) FROM inspection_templates AS older
    WHERE older.category = inspection_templates.category
      AND (older.created_at < inspection_templates.created_at
           OR (older.created_at = inspection_templates.created_at
               AND older.id <= inspection_templates.id)));
CREATE UNIQUE INDEX inspection_templates_version
    ON inspection_templates (category, COALESCE(merchant_id, ''), version);

-- Why a correction corrects the inspection it supersedes.
ALTER TABLE inspections ADD COLUMN correction_reason TEXT;

-- Retired master data stays (history refers to it) but takes nothing new.
ALTER TABLE merchants ADD COLUMN active BOOLEAN NOT NULL DEFAULT 1;
ALTER TABLE carriers ADD COLUMN active BOOLEAN NOT NULL DEFAULT 1;
ALTER TABLE locations ADD COLUMN active BOOLEAN NOT NULL DEFAULT 1;

-- The location of a kind that depot uses when a request names none: at most
-- one per kind; the first of each kind (in walk order) to begin with.
ALTER TABLE locations ADD COLUMN is_default BOOLEAN NOT NULL DEFAULT 0;
UPDATE locations SET is_default = 1 WHERE id IN (
    SELECT (SELECT first.id FROM locations AS first
            WHERE first.kind = kinds.kind
            ORDER BY first.walk_seq, first.code LIMIT 1)
    FROM (SELECT DISTINCT kind FROM locations) AS kinds);
CREATE UNIQUE INDEX locations_one_default ON locations (kind) WHERE is_default;

-- Trace events: depot's own fields of an event (the inspection template and
-- version, a correction's reason) as a JSON object, exported as EPCIS
-- extension fields.
ALTER TABLE trace_events ADD COLUMN details TEXT;

-- Every change to master data through PATCH: one row per field changed, with
-- the old and new value (as JSON), who changed it and when. Append-only.
CREATE TABLE master_data_changes (
    id          TEXT PRIMARY KEY NOT NULL,
    entity      TEXT NOT NULL CHECK (entity IN ('sku', 'location', 'merchant', 'carrier')),
    entity_id   TEXT NOT NULL,
    field       TEXT NOT NULL,
    old_value   TEXT NOT NULL,
    new_value   TEXT NOT NULL,
    changed_at  TIMESTAMP NOT NULL,
    changed_by  TEXT
);
CREATE INDEX master_data_changes_entity ON master_data_changes (entity, entity_id, id);
CREATE TRIGGER master_data_changes_no_update BEFORE UPDATE ON master_data_changes
BEGIN SELECT RAISE(ABORT, 'master_data_changes is append-only'); END;
CREATE TRIGGER master_data_changes_no_delete BEFORE DELETE ON master_data_changes
BEGIN SELECT RAISE(ABORT, 'master_data_changes is append-only'); END;
