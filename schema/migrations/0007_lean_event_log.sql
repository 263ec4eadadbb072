-- A leaner events table: appending is most of what a run does, so the log keeps only the
-- constraints and indexes that reads and merges need.
--
-- * No CHECK (json_valid(payload)): every payload is written by the store, which encodes it
--   from a typed event and validates it against its type first (firefly/events.py); the
--   CHECK parsed every payload a second time.
-- * The indexes no longer repeat the position: an index entry already ends with the rowid
--   (= position), so rows with equal keys come in log order anyway. The stream index now
--   includes the type: "the events of type T in stream S" (the latest registration of a
--   server, an exploration's calls) was answered through the type index, reading every
--   event of that type; the stream is by far the more selective column.
-- * id and idempotency_key stay UNIQUE (idempotent appends, merges of several workers' logs).
--
-- SQLite cannot drop a CHECK in place: the table is copied (positions kept) and replaced,
-- and the append-only triggers are created again on the new table.
-- the columns of 0001, without the CHECK
CREATE TABLE events_lean (
    position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, stream TEXT NOT NULL,
    time TEXT NOT NULL, run TEXT NOT NULL, idempotency_key TEXT UNIQUE, payload TEXT NOT NULL
);

INSERT INTO events_lean (position, id, type, stream, time, run, idempotency_key, payload)
SELECT position, id, type, stream, time, run, idempotency_key, payload FROM events ORDER BY position;

DROP TABLE events;

ALTER TABLE events_lean RENAME TO events;

CREATE INDEX events_stream ON events(stream, type);
CREATE INDEX events_type ON events(type);

-- the append-only guard, as in 0001 (a dropped table takes its triggers with it)
CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'firefly events are append-only: UPDATE is not allowed (append a correcting event instead)'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'firefly events are append-only: DELETE is not allowed (append a correcting event instead)'); END;
