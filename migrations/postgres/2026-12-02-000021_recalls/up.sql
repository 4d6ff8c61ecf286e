-- Backward trace: the events of an order (its business transaction) and of
-- its parcels (an SSCC's EPC URI as parent), found by index, not by
-- scanning a busy lot's log.
CREATE INDEX trace_events_biz_tx ON trace_events (biz_tx_id, id);
CREATE INDEX trace_events_parent ON trace_events (parent_id, id);
