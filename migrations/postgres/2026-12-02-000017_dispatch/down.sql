ALTER TABLE locations DROP CONSTRAINT locations_kind_check;
ALTER TABLE locations ADD CONSTRAINT locations_kind_check
    CHECK (kind IN ('receiving', 'quarantine', 'storage', 'packing', 'dispatch'));
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('receive', 'putaway', 'move', 'pick', 'adjust', 'ship', 'return', 'scrap', 'hold', 'release', 'pack'));
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('reserved', 'backordered', 'cancelled', 'picked', 'packed'));
DROP INDEX parcels_manifest_status;
DROP INDEX manifests_created;
ALTER TABLE manifests DROP COLUMN handed_over_by;
ALTER TABLE manifests DROP COLUMN handed_over_at;
