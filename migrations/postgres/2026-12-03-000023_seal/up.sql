-- Tamper evidence for the trace log (issue 12, part 5; docs/ARCHITECTURE.md,
-- "Tamper evidence"). Every event gets its place in one total order (seq)
-- and its hash (domain::seal: the RFC 6962 leaf hash of all its columns,
-- seq included), both written by the writer in its own transaction; the
-- sealer folds events in seq order into trace_blocks.
--
-- Events written before this migration get seq in (recorded_at, id) order
-- and no hash (SQL cannot compute it here); the first sealing covers them
-- by their content as it is then.

ALTER TABLE trace_events ADD COLUMN seq BIGINT;
ALTER TABLE trace_events ADD COLUMN hash TEXT;

ALTER TABLE trace_events DISABLE TRIGGER trace_events_append_only;
UPDATE trace_events SET seq = n.seq
FROM (SELECT id, row_number() OVER (ORDER BY recorded_at, id) AS seq FROM trace_events) AS n
WHERE n.id = trace_events.id;
ALTER TABLE trace_events ENABLE TRIGGER trace_events_append_only;

ALTER TABLE trace_events ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX trace_events_by_seq ON trace_events (seq);

-- Writers take seq values from this sequence (db::backend::next_trace_seqs),
-- so that they know them before they insert and can hash them.
CREATE SEQUENCE trace_event_seq;
SELECT setval('trace_event_seq', (SELECT COALESCE(MAX(seq), 0) + 1 FROM trace_events), false);

-- A sealed block: events first_seq..=last_seq (less the gaps: numbers no
-- committed event holds), their Merkle root, and the previous block's hash.
-- Hashes are lowercase hex.
CREATE TABLE trace_blocks (
    number       BIGINT PRIMARY KEY NOT NULL,
    first_seq    BIGINT NOT NULL,
    last_seq     BIGINT NOT NULL,
    event_count  BIGINT NOT NULL,
    gaps         TEXT NOT NULL,
    merkle_root  TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    block_hash   TEXT NOT NULL,
    sealed_at    TIMESTAMP NOT NULL
);

CREATE TRIGGER trace_blocks_append_only BEFORE UPDATE OR DELETE ON trace_blocks
    FOR EACH ROW EXECUTE FUNCTION depot_append_only();
CREATE TRIGGER trace_blocks_no_truncate BEFORE TRUNCATE ON trace_blocks
    FOR EACH STATEMENT EXECUTE FUNCTION depot_append_only();
