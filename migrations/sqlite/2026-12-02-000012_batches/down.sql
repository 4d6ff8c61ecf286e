DROP INDEX orders_batch;
ALTER TABLE orders DROP COLUMN batch_id;
DROP TABLE batch_lines;
DROP TABLE batch_orders;
DROP TABLE batches;
