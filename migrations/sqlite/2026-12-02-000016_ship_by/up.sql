-- Ship-by deadlines: every order carries the time it must leave by — its
-- channel's dispatch promise after the order time (DEPOT_SHIP_BY_HOURS), or
-- the one the merchant sent. Orders stored before get created_at + 48 h.

-- SQLite adds a NOT NULL column only with a default. Every row is then
-- rewritten by the backfill, so no row relies on the default any more, and
-- it is removed below: an insert that forgot the deadline fails instead of
-- getting a made-up one. Removing a column's default is a change SQLite's
-- documentation allows through writable_schema (lang_altertable, "Making
-- other kinds of table schema changes").
--
-- First the connection re-reads the schema (RESET: writable_schema off, and
-- the schema reloaded — pragma.html#pragma_writable_schema): an earlier
-- migration edited the orders table's text through writable_schema on this
-- same connection, and ADD COLUMN splices the new column into that text at
-- an offset remembered from the last parse, which would be stale.
PRAGMA writable_schema = RESET;
ALTER TABLE orders ADD COLUMN ship_by TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';

-- Stored as diesel writes timestamps ('YYYY-MM-DD HH:MM:SS[.ffffff]'):
-- datetime() drops the fraction, which is added back unchanged.
UPDATE orders SET ship_by = datetime(created_at, '+48 hours') || substr(created_at, 20);

PRAGMA writable_schema = ON;
UPDATE sqlite_master
SET sql = replace(sql, 'ship_by TIMESTAMP NOT NULL DEFAULT ''1970-01-01 00:00:00''',
                       'ship_by TIMESTAMP NOT NULL')
WHERE type = 'table' AND name = 'orders';
-- RESET rather than OFF: this connection, and any migration after this one
-- on it, reads the edited definition.
PRAGMA writable_schema = RESET;

-- GET /orders?ship_by_before= lists the most urgent first, and batching
-- takes them in that order. Also changes the schema version, so that every
-- connection opened after this one reads the edited table definition.
CREATE INDEX orders_ship_by ON orders (ship_by, id);
