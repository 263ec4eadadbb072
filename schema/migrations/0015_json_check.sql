-- The log refuses a payload that is not JSON again: CHECK (json_valid(payload)) on events.
--
-- 0007 dropped this CHECK because the store validates every event before writing it; but a
-- raw INSERT (another tool, a hand-written fix, a merge of a damaged file) could then write a
-- payload no replay can read, and every later status, rebuild and run failed on it.
--
-- Why a CHECK, and why added this way:
-- * A BEFORE INSERT trigger costs about as much as the rest of an append (SQLite opens a
--   statement journal for every row of a table with INSERT triggers: an append went from
--   ~20 to ~36 us per event, below half the raw rate); a CHECK is evaluated inline and costs
--   one json_valid() per row (scripts/bench_log.py measures it).
-- * Copying the log into a new table with the CHECK (as 0007 did) rewrites every event, and
--   would fail on a damaged database (an event written while there was no check). ALTER
--   TABLE ... ADD COLUMN with a CHECK tests every existing row too.
-- * So the table's definition gets the CHECK in place, the procedure SQLite documents for
--   schema changes that leave the stored rows as they are ("Making Other Kinds Of Table
--   Schema Changes", https://sqlite.org/lang_altertable.html): edit sqlite_schema under
--   writable_schema, bump the schema cookie so that every connection reads the new
--   definition, reload this connection's schema. No row is read or written; an event
--   written before this migration stays readable (a replay that meets a bad one names it).
--
-- The text replaced is the definition 0007 created (events_lean renamed to events).
PRAGMA writable_schema=ON;

UPDATE sqlite_schema
SET sql = replace(sql, 'idempotency_key TEXT UNIQUE, payload TEXT NOT NULL',
                       'idempotency_key TEXT UNIQUE, payload TEXT NOT NULL CHECK (json_valid(payload))')
WHERE type = 'table' AND name = 'events' AND sql NOT LIKE '%json_valid(payload)%';

-- reload this connection's schema (and turn writable_schema off)
PRAGMA writable_schema=RESET;

-- any DDL bumps the schema cookie: other connections see the CHECK from their next statement
CREATE TABLE _schema_cookie_bump (x);

DROP TABLE _schema_cookie_bump;
