PRAGMA writable_schema = ON;
UPDATE sqlite_master
SET sql = replace(sql, 'CHECK (severity IN (''normal'', ''tightened'', ''reduced''))',
                       'CHECK (severity IN (''normal'', ''tightened''))')
WHERE type = 'table' AND name = 'inspections';
PRAGMA writable_schema = OFF;

DROP TRIGGER reduced_inspection_approvals_no_delete;
DROP TRIGGER reduced_inspection_approvals_no_update;
DROP TABLE reduced_inspection_approvals;
