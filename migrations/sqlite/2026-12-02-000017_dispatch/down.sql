PRAGMA writable_schema = RESET;
PRAGMA writable_schema = ON;
UPDATE sqlite_master
SET sql = replace(sql, '''cancelled'', ''picked'', ''packed'', ''dispatched'', ''delivered'', ''returned''))',
                       '''cancelled'', ''picked'', ''packed''))')
WHERE type = 'table' AND name = 'orders';
UPDATE sqlite_master
SET sql = replace(sql, '''hold'', ''release'', ''pack'', ''unpack'', ''restock''))',
                       '''hold'', ''release'', ''pack''))')
WHERE type = 'table' AND name = 'ledger_entries';
UPDATE sqlite_master
SET sql = replace(sql, '''storage'', ''packing'', ''dispatch'', ''returns''))',
                       '''storage'', ''packing'', ''dispatch''))')
WHERE type = 'table' AND name = 'locations';
PRAGMA writable_schema = OFF;
DROP INDEX parcels_manifest_status;
DROP INDEX manifests_created;
ALTER TABLE manifests DROP COLUMN handed_over_by;
ALTER TABLE manifests DROP COLUMN handed_over_at;
