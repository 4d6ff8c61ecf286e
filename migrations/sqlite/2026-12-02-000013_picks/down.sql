PRAGMA writable_schema = ON;
UPDATE sqlite_master
SET sql = replace(sql, 'CHECK (status IN (''reserved'', ''backordered'', ''cancelled'', ''picked''))',
                       'CHECK (status IN (''reserved'', ''backordered'', ''cancelled''))')
WHERE type = 'table' AND name = 'orders';
PRAGMA writable_schema = OFF;

DROP INDEX batch_lines_lot_location;
