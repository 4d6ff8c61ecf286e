-- Picking: an order whose every unit left its bin for the packing location
-- is 'picked'.

-- Batch lines by lot x bin: what a pick (and later a short pick or a count)
-- of a bin looks up. Also changes the schema version, so that every
-- connection opened after this one reads the widened CHECK below.
CREATE INDEX batch_lines_lot_location ON batch_lines (lot_id, location_id);

-- SQLite cannot alter a CHECK constraint; widening one (no stored row can
-- break it) is the case its documentation allows through writable_schema
-- (lang_altertable, "Making other kinds of table schema changes").
PRAGMA writable_schema = ON;
UPDATE sqlite_master
SET sql = replace(sql, 'CHECK (status IN (''reserved'', ''backordered'', ''cancelled''))',
                       'CHECK (status IN (''reserved'', ''backordered'', ''cancelled'', ''picked''))')
WHERE type = 'table' AND name = 'orders';
PRAGMA writable_schema = OFF;
