DROP TABLE lot_dispositions;
DROP TABLE evidence_files;
DROP INDEX inspections_finished;
DROP INDEX inspection_evidence_sha;
DROP INDEX inspection_resumptions_sku;
