-- Lines of one SKU in a pushed order are merged into one order line; the
-- merchant's references of the lines merged into it are kept, as a JSON
-- array of strings (NULL: none were given).
ALTER TABLE order_lines ADD COLUMN line_refs TEXT;

-- Filters that users reach for: an order by the merchant's own id, lots by
-- lot code.
CREATE INDEX orders_external ON orders (external_id, id);
CREATE INDEX lots_lot_code ON lots (lot_code, id);

-- Codes may be Chinese (C-冷-01). Locations are listed and chosen in
-- (walk_seq, code) order; under a linguistic collation (en_US.UTF-8, zh_CN)
-- PostgreSQL would order codes otherwise than SQLite, which compares bytes.
-- "C" compares bytes too, and UTF-8 bytes sort as code points: the same
-- order on both backends, whatever collation the database was created with.
ALTER TABLE locations ALTER COLUMN code TYPE TEXT COLLATE "C";
