-- History is never rewritten: the trace log, the ledger, and the findings and
-- evidence of inspections only grow, and a finished inspection never changes.
-- The services never try; these triggers make the database refuse too.

CREATE FUNCTION depot_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;

CREATE FUNCTION depot_finished_inspection_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'inspections are never deleted';
    END IF;
    IF OLD.status = 'finished' THEN
        RAISE EXCEPTION 'a finished inspection is never changed';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER trace_events_append_only BEFORE UPDATE OR DELETE ON trace_events
    FOR EACH ROW EXECUTE FUNCTION depot_append_only();
CREATE TRIGGER trace_events_no_truncate BEFORE TRUNCATE ON trace_events
    FOR EACH STATEMENT EXECUTE FUNCTION depot_append_only();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION depot_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION depot_append_only();
CREATE TRIGGER inspection_findings_append_only BEFORE UPDATE OR DELETE ON inspection_findings
    FOR EACH ROW EXECUTE FUNCTION depot_append_only();
CREATE TRIGGER inspection_evidence_append_only BEFORE UPDATE OR DELETE ON inspection_evidence
    FOR EACH ROW EXECUTE FUNCTION depot_append_only();
CREATE TRIGGER inspections_final BEFORE UPDATE OR DELETE ON inspections
    FOR EACH ROW EXECUTE FUNCTION depot_finished_inspection_is_final();
