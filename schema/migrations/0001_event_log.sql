-- The append-only event log. Every fact firefly knows is one row here.
CREATE TABLE events (
    position INTEGER PRIMARY KEY,            -- global order; never reused (no deletes)
    id TEXT NOT NULL UNIQUE,                 -- ULID: sortable, unique across workers
    type TEXT NOT NULL,                      -- the event's tag (firefly/events.py)
    stream TEXT NOT NULL,                    -- the entity it belongs to, e.g. tool:git/git_log
    time TEXT NOT NULL,                      -- UTC, ISO 8601
    run TEXT NOT NULL,                       -- the run that wrote it
    idempotency_key TEXT UNIQUE,             -- a second append with the same key is a no-op
    payload TEXT NOT NULL CHECK (json_valid(payload))
);
CREATE INDEX events_stream ON events(stream, position);
CREATE INDEX events_type ON events(type, position);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'firefly events are append-only: UPDATE is not allowed (append a correcting event instead)');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'firefly events are append-only: DELETE is not allowed (append a correcting event instead)');
END;

-- Each projection's checkpoint: the last event position it has applied.
CREATE TABLE _projections (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL DEFAULT 0
);
