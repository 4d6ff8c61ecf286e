ALTER TABLE inspections DROP CONSTRAINT inspections_severity_check;
ALTER TABLE inspections ADD CONSTRAINT inspections_severity_check
    CHECK (severity IN ('normal', 'tightened'));

DROP TRIGGER reduced_inspection_approvals_append_only ON reduced_inspection_approvals;
DROP TABLE reduced_inspection_approvals;
