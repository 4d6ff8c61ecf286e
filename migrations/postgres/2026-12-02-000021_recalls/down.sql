DROP INDEX trace_events_parent;
DROP INDEX trace_events_biz_tx;
