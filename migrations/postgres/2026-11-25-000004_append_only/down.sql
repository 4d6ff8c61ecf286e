DROP TRIGGER trace_events_append_only ON trace_events;
DROP TRIGGER trace_events_no_truncate ON trace_events;
DROP TRIGGER ledger_entries_append_only ON ledger_entries;
DROP TRIGGER ledger_entries_no_truncate ON ledger_entries;
DROP TRIGGER inspection_findings_append_only ON inspection_findings;
DROP TRIGGER inspection_evidence_append_only ON inspection_evidence;
DROP TRIGGER inspections_final ON inspections;
DROP FUNCTION depot_finished_inspection_is_final();
DROP FUNCTION depot_append_only();
