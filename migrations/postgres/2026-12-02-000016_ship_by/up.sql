-- Ship-by deadlines: every order carries the time it must leave by — its
-- channel's dispatch promise after the order time (DEPOT_SHIP_BY_HOURS), or
-- the one the merchant sent. Orders stored before get created_at + 48 h.
ALTER TABLE orders ADD COLUMN ship_by TIMESTAMP;
UPDATE orders SET ship_by = created_at + INTERVAL '48 hours';
ALTER TABLE orders ALTER COLUMN ship_by SET NOT NULL;

-- GET /orders?ship_by_before= lists the most urgent first, and batching
-- takes them in that order.
CREATE INDEX orders_ship_by ON orders (ship_by, id);
