DROP INDEX lots_lot_code;
DROP INDEX orders_external;
ALTER TABLE order_lines DROP COLUMN line_refs;
