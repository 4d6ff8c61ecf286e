DROP INDEX orders_ship_by;
ALTER TABLE orders DROP COLUMN ship_by;
