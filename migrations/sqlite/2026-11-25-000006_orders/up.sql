-- Orders from live sessions: idempotent on (merchant, channel, external id),
-- reserved against sellable stock line by line, or back-ordered whole.

CREATE TABLE orders (
    id             TEXT PRIMARY KEY NOT NULL,
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    channel        TEXT NOT NULL CHECK (channel IN ('douyin', 'kuaishou', 'taobao_live', 'wechat_channels', 'other')),
    external_id    TEXT NOT NULL,
    live_session   TEXT,
    carrier_id     TEXT REFERENCES carriers (id),
    ship_name      TEXT NOT NULL,
    ship_phone     TEXT NOT NULL,
    ship_address   TEXT NOT NULL,
    ship_city      TEXT NOT NULL,
    ship_province  TEXT NOT NULL,
    ship_postcode  TEXT,
    status         TEXT NOT NULL CHECK (status IN ('reserved', 'backordered', 'cancelled')),
    units          BIGINT NOT NULL CHECK (units > 0),
    -- SHA-256 of the order as pushed (canonical JSON): a retry with another
    -- body for the same key is a conflict, not an overwrite.
    body_hash      TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    created_by     TEXT,
    updated_at     TIMESTAMP NOT NULL,
    UNIQUE (merchant_id, channel, external_id)
);
-- The backorder queue is served in order-time order: by id.
CREATE INDEX orders_status ON orders (status, id);
CREATE INDEX orders_merchant ON orders (merchant_id, id);
CREATE INDEX orders_session ON orders (live_session, id);

CREATE TABLE order_lines (
    order_id  TEXT NOT NULL REFERENCES orders (id),
    line_no   INTEGER NOT NULL,
    sku_id    TEXT NOT NULL REFERENCES skus (id),
    qty       BIGINT NOT NULL CHECK (qty > 0),
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_lines_sku ON order_lines (sku_id, order_id);

-- What each line holds of which lot at which bin; stock.reserved is their sum.
CREATE TABLE reservations (
    order_id     TEXT NOT NULL REFERENCES orders (id),
    line_no      INTEGER NOT NULL,
    lot_id       TEXT NOT NULL REFERENCES lots (id),
    location_id  TEXT NOT NULL REFERENCES locations (id),
    qty          BIGINT NOT NULL CHECK (qty > 0),
    PRIMARY KEY (order_id, line_no, lot_id, location_id)
);
CREATE INDEX reservations_stock ON reservations (lot_id, location_id);
