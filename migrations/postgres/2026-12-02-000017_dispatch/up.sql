-- Dispatch: when a manifest was handed over, and by whom.
ALTER TABLE manifests ADD COLUMN handed_over_at TIMESTAMP;
ALTER TABLE manifests ADD COLUMN handed_over_by TEXT;
CREATE INDEX manifests_created ON manifests (created_at, id);
-- Missing parcels of a manifest: those still packed on it.
CREATE INDEX parcels_manifest_status ON parcels (manifest_id, status);

-- The order states dispatch and returns add; the ledger's `unpack` (a parcel
-- taken off its manifest: dispatch -> packing) and `restock` (returned units
-- made sellable again) movements; the `returns` location kind.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('reserved', 'backordered', 'cancelled', 'picked', 'packed', 'dispatched', 'delivered', 'returned'));
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('receive', 'putaway', 'move', 'pick', 'adjust', 'ship', 'return', 'scrap', 'hold', 'release', 'pack', 'unpack', 'restock'));
ALTER TABLE locations DROP CONSTRAINT locations_kind_check;
ALTER TABLE locations ADD CONSTRAINT locations_kind_check
    CHECK (kind IN ('receiving', 'quarantine', 'storage', 'packing', 'dispatch', 'returns'));
