DROP INDEX skus_merchant_gtin;
ALTER TABLE inspections DROP COLUMN scope;
DROP INDEX lots_merchant_sku_lot_code;
ALTER TABLE lots DROP COLUMN uninspected_qty;
DROP TABLE receipt_arrival_lines;
DROP TABLE receipt_arrivals;
ALTER TABLE receipts DROP COLUMN closed_by;
ALTER TABLE receipts DROP COLUMN closed_at;
ALTER TABLE receipts DROP COLUMN progress;
