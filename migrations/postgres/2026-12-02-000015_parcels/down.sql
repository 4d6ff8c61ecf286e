ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('receive', 'putaway', 'move', 'pick', 'adjust', 'ship', 'return', 'scrap', 'hold', 'release'));
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('reserved', 'backordered', 'cancelled', 'picked'));
DROP SEQUENCE tracking_no_seq;
DROP SEQUENCE sscc_serial_seq;
ALTER TABLE trace_events DROP COLUMN parent_id;
DROP TABLE parcel_statuses;
DROP TABLE parcel_lines;
DROP TABLE parcels;
DROP TABLE manifests;
