-- Re-read the schema first (earlier migrations edited table definitions
-- through writable_schema).
PRAGMA writable_schema = RESET;

-- Dispatch: when a manifest was handed over, and by whom.
ALTER TABLE manifests ADD COLUMN handed_over_at TIMESTAMP;
ALTER TABLE manifests ADD COLUMN handed_over_by TEXT;
CREATE INDEX manifests_created ON manifests (created_at, id);
-- Missing parcels of a manifest: those still packed on it.
CREATE INDEX parcels_manifest_status ON parcels (manifest_id, status);

-- The order states dispatch and returns add; the ledger's `unpack`
-- (a parcel taken off its manifest: dispatch -> packing) and `restock`
-- (returned units made sellable again) movements; the `returns` location
-- kind. Widening a CHECK constraint (no stored row can break it) is the case
-- SQLite's documentation allows through writable_schema (lang_altertable,
-- "Making other kinds of table schema changes").
PRAGMA writable_schema = ON;
UPDATE sqlite_master
SET sql = replace(sql, '''cancelled'', ''picked'', ''packed''))',
                       '''cancelled'', ''picked'', ''packed'', ''dispatched'', ''delivered'', ''returned''))')
WHERE type = 'table' AND name = 'orders';
UPDATE sqlite_master
SET sql = replace(sql, '''hold'', ''release'', ''pack''))',
                       '''hold'', ''release'', ''pack'', ''unpack'', ''restock''))')
WHERE type = 'table' AND name = 'ledger_entries';
UPDATE sqlite_master
SET sql = replace(sql, '''storage'', ''packing'', ''dispatch''))',
                       '''storage'', ''packing'', ''dispatch'', ''returns''))')
WHERE type = 'table' AND name = 'locations';
PRAGMA writable_schema = OFF;
