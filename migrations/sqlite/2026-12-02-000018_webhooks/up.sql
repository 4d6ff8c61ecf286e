-- Re-read the schema first (earlier migrations edited table definitions
-- through writable_schema).
PRAGMA writable_schema = RESET;

-- Webhooks: a merchant's URLs that depot POSTs its order and parcel events
-- to, signed with the webhook's secret (HMAC-SHA256, RFC 2104). The secret
-- is kept as given: signing needs it (unlike a bearer token, which is kept
-- only as its hash). A deleted webhook is kept, inactive, for its deliveries.
CREATE TABLE webhooks (
    id           TEXT PRIMARY KEY NOT NULL,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    url          TEXT NOT NULL,
    secret       TEXT NOT NULL,
    active       BOOLEAN NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    created_by   TEXT,
    deleted_at   TIMESTAMP,
    deleted_by   TEXT
);
CREATE INDEX webhooks_merchant ON webhooks (merchant_id, active, id);

-- The outbox: one row per event and webhook, written in the transaction of
-- the change, sent by the background worker. `payload` is the body exactly
-- as it is POSTed (every attempt sends the same bytes). A worker claims a
-- due row by setting `locked_until` (its lease) and `lease`; another
-- instance takes it only once the lease has run out.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY NOT NULL,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id),
    merchant_id      TEXT NOT NULL REFERENCES merchants (id),
    event            TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at  TIMESTAMP,
    locked_until     TIMESTAMP,
    lease            TEXT,
    last_status      INTEGER,
    last_error       TEXT,
    created_at       TIMESTAMP NOT NULL,
    delivered_at     TIMESTAMP
);
-- The worker's poll: pending rows by due time.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_merchant ON webhook_deliveries (merchant_id, id);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, status);
