-- Foundation: partners (merchants, carriers) and API tokens.
-- Ids are depot-generated, time-ordered strings (see domain::ids).

CREATE TABLE merchants (
    id          TEXT PRIMARY KEY NOT NULL,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    created_by  TEXT
);

CREATE TABLE carriers (
    id          TEXT PRIMARY KEY NOT NULL,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    created_by  TEXT
);

-- A token is kept only as the SHA-256 of its secret: the database never holds
-- a usable token.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'merchant', 'carrier')),
    merchant_id  TEXT REFERENCES merchants (id),
    carrier_id   TEXT REFERENCES carriers (id),
    label        TEXT,
    created_at   TIMESTAMP NOT NULL,
    created_by   TEXT,
    revoked_at   TIMESTAMP,
    revoked_by   TEXT,
    CHECK ((role = 'merchant') = (merchant_id IS NOT NULL)),
    CHECK ((role = 'carrier') = (carrier_id IS NOT NULL))
);
