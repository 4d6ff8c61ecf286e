-- Share links: a parcel's public trace page for its consumer. Only the
-- SHA-256 of the link's token is kept (as for API tokens): the link itself
-- is shown once, to the merchant who made it.
CREATE TABLE share_links (
    id          TEXT PRIMARY KEY NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    parcel_id   TEXT NOT NULL REFERENCES parcels (id),
    created_at  TIMESTAMP NOT NULL,
    created_by  TEXT,
    revoked_at  TIMESTAMP,
    revoked_by  TEXT
);
CREATE INDEX share_links_parcel ON share_links (parcel_id, id);
