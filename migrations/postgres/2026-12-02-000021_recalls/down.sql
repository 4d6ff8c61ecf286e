DROP TABLE recall_parcels;
DROP TABLE recall_orders;
DROP INDEX recalls_lot;
DROP TABLE recalls;
DROP INDEX trace_events_parent;
DROP INDEX trace_events_biz_tx;
