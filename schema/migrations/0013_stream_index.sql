-- The stream index keys on the stream alone (0007 made it (stream, type)).
--
-- Appending is most of what the log does, and every append writes one entry into each index
-- at a random place: an entry without the type is a quarter smaller, so a batch dirties
-- fewer pages (scripts/bench_log.py: 3.6 us of about 34 us per event). A stream holds few
-- events (a tool's versions, an exploration's calls, a task's verdicts), so "events of type
-- T in stream S" reads the stream's entries and checks their type; queries that name both
-- write the type as `+type` so that SQLite uses this index, not the one on type.
DROP INDEX events_stream;

CREATE INDEX events_stream ON events(stream);
