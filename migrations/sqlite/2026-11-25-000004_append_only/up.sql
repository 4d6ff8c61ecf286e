-- History is never rewritten: the trace log, the ledger, and the findings and
-- evidence of inspections only grow, and a finished inspection never changes.
-- The services never try; these triggers make the database refuse too.

CREATE TRIGGER trace_events_no_update BEFORE UPDATE ON trace_events
BEGIN SELECT RAISE(ABORT, 'trace_events is append-only'); END;
CREATE TRIGGER trace_events_no_delete BEFORE DELETE ON trace_events
BEGIN SELECT RAISE(ABORT, 'trace_events is append-only'); END;

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;

CREATE TRIGGER inspection_findings_no_update BEFORE UPDATE ON inspection_findings
BEGIN SELECT RAISE(ABORT, 'inspection_findings is append-only'); END;
CREATE TRIGGER inspection_findings_no_delete BEFORE DELETE ON inspection_findings
BEGIN SELECT RAISE(ABORT, 'inspection_findings is append-only'); END;

CREATE TRIGGER inspection_evidence_no_update BEFORE UPDATE ON inspection_evidence
BEGIN SELECT RAISE(ABORT, 'inspection_evidence is append-only'); END;
CREATE TRIGGER inspection_evidence_no_delete BEFORE DELETE ON inspection_evidence
BEGIN SELECT RAISE(ABORT, 'inspection_evidence is append-only'); END;

CREATE TRIGGER inspections_finished_no_update BEFORE UPDATE ON inspections
WHEN OLD.status = 'finished'
BEGIN SELECT RAISE(ABORT, 'a finished inspection is never changed'); END;
CREATE TRIGGER inspections_no_delete BEFORE DELETE ON inspections
BEGIN SELECT RAISE(ABORT, 'inspections are never deleted'); END;
