DROP TABLE return_evidence;
DROP TABLE return_findings;
DROP TABLE return_lines;
DROP TABLE returns;
