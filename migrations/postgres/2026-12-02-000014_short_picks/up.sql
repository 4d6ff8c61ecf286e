-- Count tasks: a bin that gave fewer units than a pick line asked (a short
-- pick) waits for a count. While a task is open the reservation engine does
-- not reserve the lot at that bin; a count of that lot x bin closes it.
CREATE TABLE count_tasks (
    id            TEXT PRIMARY KEY NOT NULL,
    lot_id        TEXT NOT NULL REFERENCES lots (id),
    location_id   TEXT NOT NULL REFERENCES locations (id),
    batch_id      TEXT REFERENCES batches (id),
    reason        TEXT NOT NULL,
    -- What depot had on hand at the bin when the task was opened.
    expected_qty  BIGINT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'done')),
    count_id      TEXT REFERENCES stock_counts (id),
    created_at    TIMESTAMP NOT NULL,
    created_by    TEXT,
    done_at       TIMESTAMP
);
CREATE INDEX count_tasks_lot_location ON count_tasks (lot_id, location_id, status);
CREATE INDEX count_tasks_status ON count_tasks (status, id);

-- A batch whose orders all left it is 'cancelled'.
ALTER TABLE batches DROP CONSTRAINT batches_status_check;
ALTER TABLE batches ADD CONSTRAINT batches_status_check
    CHECK (status IN ('open', 'picking', 'picked', 'cancelled'));
