-- Lines of one SKU in a pushed order are merged into one order line; the
-- merchant's references of the lines merged into it are kept, as a JSON
-- array of strings (NULL: none were given).
ALTER TABLE order_lines ADD COLUMN line_refs TEXT;

-- Filters that users reach for: an order by the merchant's own id, lots by
-- lot code.
CREATE INDEX orders_external ON orders (external_id, id);
CREATE INDEX lots_lot_code ON lots (lot_code, id);
