PRAGMA writable_schema = ON;
UPDATE sqlite_master
SET sql = replace(sql, '''cancelled'', ''picked'', ''packed''))', '''cancelled'', ''picked''))')
WHERE type = 'table' AND name = 'orders';
UPDATE sqlite_master
SET sql = replace(sql, '''hold'', ''release'', ''pack''))', '''hold'', ''release''))')
WHERE type = 'table' AND name = 'ledger_entries';
PRAGMA writable_schema = OFF;
DROP TABLE counters;
ALTER TABLE trace_events DROP COLUMN parent_id;
DROP TABLE parcel_statuses;
DROP TABLE parcel_lines;
DROP TABLE parcels;
DROP TABLE manifests;
