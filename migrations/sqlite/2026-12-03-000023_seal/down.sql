DROP TABLE trace_blocks;
DROP INDEX trace_events_by_seq;
ALTER TABLE trace_events DROP COLUMN hash;
ALTER TABLE trace_events DROP COLUMN seq;
