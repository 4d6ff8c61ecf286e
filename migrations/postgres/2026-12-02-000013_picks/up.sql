-- Picking: an order whose every unit left its bin for the packing location
-- is 'picked'.

-- Batch lines by lot x bin: what a pick (and later a short pick or a count)
-- of a bin looks up.
CREATE INDEX batch_lines_lot_location ON batch_lines (lot_id, location_id);

ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('reserved', 'backordered', 'cancelled', 'picked'));
