-- Tamper evidence for the trace log (issue 12, part 5; docs/ARCHITECTURE.md,
-- "Tamper evidence"). Every event gets its place in one total order (seq)
-- and its hash (domain::seal: the RFC 6962 leaf hash of all its columns,
-- seq included), both written by the writer in its own transaction; the
-- sealer folds events in seq order into trace_blocks.
--
-- Events written before this migration get seq in (recorded_at, id) order
-- and no hash (SQL cannot compute it here); the first sealing covers them
-- by their content as it is then.

ALTER TABLE trace_events ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE trace_events ADD COLUMN hash TEXT;

DROP TRIGGER trace_events_no_update;
UPDATE trace_events SET seq = n.seq
FROM (SELECT id, row_number() OVER (ORDER BY recorded_at, id) AS seq FROM trace_events) AS n
WHERE n.id = trace_events.id;
CREATE TRIGGER trace_events_no_update BEFORE UPDATE ON trace_events
BEGIN SELECT RAISE(ABORT, 'trace_events is append-only'); END;

CREATE UNIQUE INDEX trace_events_by_seq ON trace_events (seq);

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

CREATE TRIGGER trace_blocks_no_update BEFORE UPDATE ON trace_blocks
BEGIN SELECT RAISE(ABORT, 'trace_blocks is append-only'); END;
CREATE TRIGGER trace_blocks_no_delete BEFORE DELETE ON trace_blocks
BEGIN SELECT RAISE(ABORT, 'trace_blocks is append-only'); END;
