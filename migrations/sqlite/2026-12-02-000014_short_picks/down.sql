PRAGMA writable_schema = ON;
UPDATE sqlite_master
SET sql = replace(sql, 'CHECK (status IN (''open'', ''picking'', ''picked'', ''cancelled''))',
                       'CHECK (status IN (''open'', ''picking'', ''picked''))')
WHERE type = 'table' AND name = 'batches';
PRAGMA writable_schema = OFF;

DROP INDEX count_tasks_status;
DROP INDEX count_tasks_lot_location;
DROP TABLE count_tasks;
