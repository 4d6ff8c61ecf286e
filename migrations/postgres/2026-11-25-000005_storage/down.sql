DROP INDEX lots_expiry;
DROP INDEX stock_location;
DROP TABLE stock_counts;
DROP TABLE stock_holds;
ALTER TABLE skus DROP COLUMN storage_zone;
ALTER TABLE locations DROP COLUMN capacity;
